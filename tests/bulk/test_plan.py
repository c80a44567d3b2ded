"""plan_bulk for every mode, around the 10 boundary, with too-old and at-target HITs."""

from __future__ import annotations

from decimal import Decimal

import pytest
from hypothesis import given
from hypothesis import strategies as st

from tests.bulk.conftest import hit
from turktui.domain.bulk import (
    AddEach,
    LineStatus,
    ModeProblem,
    TopUpTo,
    TopUpToNine,
    parse_mode,
    plan_bulk,
)
from turktui.domain.rules import extension_cost, extension_range

MIXED = [hit(1), hit(4), hit(7), hit(9), hit(10), hit(25), hit(4, old=True)]


def by_max(preview):  # type: ignore[no-untyped-def]
    return {
        (line.hit.max_assignments, line.hit.hit_id.endswith("OLD")): line for line in preview.lines
    }


def test_add_each_mixed() -> None:
    p = by_max(plan_bulk(MIXED, AddEach(5)))
    assert (p[1, False].status, p[1, False].n, p[1, False].new_max) == (LineStatus.SEND, 5, 6)
    assert (p[4, False].status, p[4, False].n, p[4, False].new_max) == (LineStatus.SEND, 5, 9)
    # 7 + 5 would cross 10: capped at +2 with the reason.
    line7 = p[7, False]
    assert (line7.status, line7.n, line7.new_max, line7.capped) == (LineStatus.CAPPED, 2, 9, True)
    assert "can never reach 10" in line7.reason
    assert line7.change_text == "capped +2 (7 \u2192 9)"
    # Exactly 9: no headroom → refused with the rules' reason; nothing sent.
    assert p[9, False].status is LineStatus.REFUSED and p[9, False].n is None
    assert "none can be added" in p[9, False].reason
    assert p[10, False].n == 5 and p[25, False].new_max == 30
    old = p[4, True]
    assert old.status is LineStatus.REFUSED and "before 2015-07-22" in old.reason
    assert old.cost is None and old.cost_text == "\u2014"


def test_top_up_to_target_mixed() -> None:
    preview = plan_bulk([*MIXED, hit(40)], TopUpTo(30))
    p = by_max(preview)
    # Under 10: capped at 9 (the most it can ever have).
    assert (p[1, False].n, p[1, False].new_max, p[1, False].capped) == (8, 9, True)
    assert (p[7, False].n, p[7, False].new_max) == (2, 9)
    # Exactly 9: nothing to do, not a refusal.
    assert (
        p[9, False].status is LineStatus.NOTHING and "never have more than 9" in p[9, False].reason
    )
    # 10+: to the target, not capped.
    assert (p[10, False].n, p[10, False].new_max, p[10, False].capped) == (20, 30, False)
    assert (p[25, False].n, p[25, False].new_max) == (5, 30)
    # At/above the target: nothing to do.
    assert p[40, False].status is LineStatus.NOTHING
    assert p[40, False].reason == "already at 40 (target 30)"
    assert p[4, True].status is LineStatus.REFUSED
    assert preview.send_count == 5 and preview.refused_count == 1
    assert preview.nothing_count == 2 and preview.capped_count == 3


def test_top_up_to_small_target_is_not_capped() -> None:
    p = by_max(plan_bulk([hit(4), hit(8), hit(25)], TopUpTo(6)))
    assert (p[4, False].status, p[4, False].n) == (LineStatus.SEND, 2)
    assert p[8, False].status is LineStatus.NOTHING
    assert p[25, False].status is LineStatus.NOTHING


def test_top_up_to_nine_mixed() -> None:
    preview = plan_bulk(MIXED, TopUpToNine())
    p = by_max(preview)
    assert [(p[m, False].n, p[m, False].new_max) for m in (1, 4, 7)] == [(8, 9), (5, 9), (2, 9)]
    assert not any(p[m, False].capped for m in (1, 4, 7))
    assert p[9, False].status is LineStatus.NOTHING
    assert p[10, False].status is LineStatus.NOTHING and "under 10" in p[10, False].reason
    assert p[25, False].status is LineStatus.NOTHING
    assert p[4, True].status is LineStatus.REFUSED
    assert preview.total_assignments == 15


def test_top_up_to_nine_with_fixed_amount_for_large() -> None:
    p = by_max(plan_bulk(MIXED, TopUpToNine(3)))
    assert (p[10, False].n, p[10, False].new_max) == (3, 13)
    assert (p[25, False].n, p[25, False].new_max) == (3, 28)
    assert p[4, False].new_max == 9


def test_costs_and_totals_against_balance() -> None:
    hits = [hit(4, reward="0.50"), hit(25, reward="1.00"), hit(9)]
    preview = plan_bulk(hits, AddEach(5), Decimal("10.00"))
    small, large = preview.lines[0], preview.lines[1]
    assert small.cost == extension_cost(Decimal("0.50"), 5, 9)
    assert large.cost == extension_cost(Decimal("1.00"), 5, 30)
    assert small.cost is not None and small.cost.total == Decimal("3.00")  # 20% fee
    assert large.cost is not None and large.cost.total == Decimal("7.00")  # 40% fee
    assert preview.total_cost == Decimal("10.00") and preview.sufficient is True
    text = preview.totals_text()
    assert "2 of 3 HITs to send" in text and "1 refused" in text
    assert "+10 assignments" in text and "cost $10.00" in text and "(covered)" in text
    short = plan_bulk(hits, AddEach(5), Decimal("9.99"))
    assert short.sufficient is False and "NOT ENOUGH" in short.totals_text()
    assert plan_bulk(hits, AddEach(5)).sufficient is None


def test_unknown_reward_makes_cost_unknown() -> None:
    preview = plan_bulk([hit(4, reward=None), hit(20)], AddEach(1), Decimal("100"))
    assert preview.lines[0].cost_text == "?"
    assert not preview.cost_known and preview.sufficient is None
    assert "+ unknown" in preview.totals_text()


def test_duplicates_planned_once() -> None:
    h = hit(20)
    preview = plan_bulk([h, h], AddEach(1))
    assert [line.status for line in preview.lines] == [LineStatus.SEND, LineStatus.REFUSED]
    assert preview.send_count == 1


@pytest.mark.parametrize(
    ("kind", "text", "problem"),
    [
        ("add", "0", "at least 1"),
        ("add", "-1", "digits"),
        ("add", "", "digits"),
        ("add", "1e3", "digits"),
        ("top-up", "0", "at least 1"),
        ("top-up", "1000001", "at most"),
        ("add", "\u0663", "digits"),
    ],
)
def test_parse_mode_rejects(kind: str, text: str, problem: str) -> None:
    with pytest.raises(ModeProblem, match=problem):
        parse_mode(kind, text)


def test_parse_mode_accepts() -> None:
    assert parse_mode("add", "5") == AddEach(5)
    assert parse_mode("top-up", "12") == TopUpTo(12)
    assert parse_mode("nine", "") == TopUpToNine(0)
    assert parse_mode("nine", "4") == TopUpToNine(4)


@given(
    st.lists(st.tuples(st.integers(0, 60), st.booleans()), max_size=12),
    st.sampled_from(["add", "top-up", "nine"]),
    st.integers(0, 40),
)
def test_every_planned_send_is_allowed_by_the_rules(spec, kind, number) -> None:  # type: ignore[no-untyped-def]
    hits = [hit(m, old=o, hit_id=f"H{i}") for i, (m, o) in enumerate(spec)]
    try:
        mode = parse_mode(kind, str(number))
    except ModeProblem:
        return
    for line in plan_bulk(hits, mode).lines:
        rng = extension_range(line.hit.max_assignments, line.hit.created)
        if line.sends:
            assert line.n is not None and rng.allows(line.n)
            assert rng.refusal_code(line.n) is None
            assert line.new_max == line.hit.max_assignments + line.n
        else:
            assert line.n is None and line.reason
