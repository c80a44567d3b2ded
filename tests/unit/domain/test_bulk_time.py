"""Bulk planning with time (pure): each sending HIT's new expiration under the extend
dialog's rule, time only, refusals in words, and the totals."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from decimal import Decimal

import pytest

from turktui.domain.bulk import AddEach, LineStatus, ModeProblem, TimeOnly, plan_bulk
from turktui.domain.models import Hit
from turktui.domain.rules import new_expiration
from turktui.domain.timefmt import format_duration

NOW = datetime(2026, 6, 15, 12, 0, 0, tzinfo=UTC)
DAY = 86400


def hit(hit_id: str, max_assignments: int, expires_in: timedelta) -> Hit:
    return Hit(
        hit_id,
        title=hit_id,
        max_assignments=max_assignments,
        reward=Decimal("0.10"),
        created=NOW - timedelta(days=3),
        expiration=NOW + expires_in,
    )


HITS = [
    hit("live", 12, timedelta(days=2)),
    hit("expired", 12, timedelta(days=-2)),
    hit("ancient", 12, timedelta(days=-400)),
    hit("full", 9, timedelta(days=2)),
]


def test_assignments_and_time_per_hit() -> None:
    preview = plan_bulk(HITS, AddEach(2), Decimal("100"), add_seconds=DAY, now=NOW)
    got = {line.hit.hit_id: line for line in preview.lines}
    assert got["live"].expire_at == NOW + timedelta(days=3)  # added to the expiration
    assert got["expired"].expire_at == NOW + timedelta(days=1)  # from now
    assert got["ancient"].status is LineStatus.REFUSED and got["ancient"].reason.startswith(
        "time: MTurk moves an expiration by at most 365 days"
    )
    assert got["full"].status is LineStatus.REFUSED and got["full"].expire_at is None
    assert preview.time_count == 2 and "+1d on 2" in preview.totals_text()
    assert preview.describe() == (
        "add 2 to each, and 1d added to each expiration (from now if expired)"
    )
    when = preview.expirations()
    assert when(HITS[0]) == NOW + timedelta(days=3) and when(HITS[2]) is None


def test_time_only_sends_to_every_hit_mturk_lets_move() -> None:
    preview = plan_bulk(HITS, TimeOnly(), None, add_seconds=12 * 3600, now=NOW)
    sends = {line.hit.hit_id for line in preview.to_send}
    assert sends == {"live", "expired", "full"}
    assert all(line.n == 0 and line.change_text == "time only" for line in preview.to_send)
    assert preview.total_cost == Decimal("0.00") and preview.cost_known
    assert "assignments" not in preview.totals_text()
    with pytest.raises(ModeProblem, match="Give a time"):
        plan_bulk(HITS, TimeOnly())


def test_the_rule_is_the_extend_dialogs() -> None:
    for line in plan_bulk(HITS, TimeOnly(), add_seconds=90, now=NOW).to_send:
        assert line.expire_at == new_expiration(line.hit.expiration, 90, NOW)
    too_short = plan_bulk(HITS, TimeOnly(), add_seconds=30, now=NOW)
    assert too_short.send_count == 0
    assert all("60 seconds" in line.reason for line in too_short.lines[:2])


def test_format_duration_reads_back() -> None:
    assert [format_duration(s) for s in (86400, 129600, 90, 3600 * 30)] == [
        "1d",
        "1d12h",
        "1m30s",
        "1d6h",
    ]
