"""The seeded data set: determinism, coverage of the special cases, speed."""

from __future__ import annotations

import re
import unicodedata

from tests.emulator.shapes import model, validate
from turktui.emulator import EmulatorServer, build_hits
from turktui.emulator.rules import EXTENSION_CUTOFF
from turktui.emulator.seed import special_case_count

NOW = 1_790_000_000.0


def test_deterministic() -> None:
    assert build_hits(300, 1, NOW) == build_hits(300, 1, NOW + 1000)
    assert build_hits(300, 1, NOW) != build_hits(300, 2, NOW)
    assert build_hits(300, 1, NOW)[:100] == build_hits(100, 1, NOW)
    assert build_hits(0, 1, NOW) == []


def test_shapes_and_invariants() -> None:
    hit_shape = model().shape_for("HIT")
    hits = build_hits(2000, 9, NOW)
    ids = [h["HITId"] for h in hits]
    assert len(set(ids)) == len(ids)
    for h in hits:
        h = dict(h)
        submitted = h.pop("NumberOfAssignmentsSubmitted", 0)
        assert not validate(h, hit_shape, raw=True), h
        assert re.fullmatch(r"[A-Z0-9]{30}", h["HITId"])
        assert (
            h["NumberOfAssignmentsAvailable"]
            + h["NumberOfAssignmentsPending"]
            + h["NumberOfAssignmentsCompleted"]
            + submitted
        ) == h["MaxAssignments"]
        assert h["Expiration"] > h["CreationTime"]


def test_special_cases_covered() -> None:
    hits = build_hits(200, 1, NOW)
    assert 30 <= special_case_count() <= 50
    special = hits[: special_case_count()]
    day0 = NOW // 86400 * 86400
    maxes = {h["MaxAssignments"] for h in special}
    assert set(range(1, 11)) <= maxes
    assert any(m >= 1000 for m in maxes)
    assert any(h["MaxAssignments"] == 9 and h["NumberOfAssignmentsAvailable"] == 0 for h in special)
    assert any(h["CreationTime"] < EXTENSION_CUTOFF for h in special)
    assert any(h["CreationTime"] == EXTENSION_CUTOFF for h in special)
    assert any(h["Expiration"] < day0 and h["CreationTime"] > EXTENSION_CUTOFF for h in special)
    statuses = {h["HITStatus"] for h in special}
    assert {"Assignable", "Reviewable", "Unassignable"} <= statuses
    assert any(
        h["NumberOfAssignmentsPending"] and h["NumberOfAssignmentsCompleted"] for h in special
    )
    titles = [h["Title"] for h in special]
    assert any(len(t) >= 200 for t in titles)
    assert any("[bold red]URGENT[/]" in t for t in titles)
    assert any("[link=http://x]" in t for t in titles)
    assert any("\x1b[31m" in t for t in titles)
    assert any("\x1b]52;c;" in t and "\x07" in t for t in titles)
    assert any("\x00" in t and "\x85" in t for t in titles)
    assert any("\u202e" in t for t in titles)
    assert any(any(unicodedata.name(c, "").startswith("CJK") for c in t) for t in titles)
    assert any(any("\u0600" <= c <= "\u06ff" for c in t) for t in titles)
    assert any(any(ord(c) >= 0x1F300 for c in t) for t in titles)
    rewards = {h["Reward"] for h in hits}
    assert {"0.01", "5.00"} <= rewards and len(rewards) > 10
    assert any(h.get("RequesterAnnotation") for h in special)
    assert any(h.get("QualificationRequirements") for h in special)
    assert any(h["Description"] == "" for h in special)
    assert len({h["Keywords"] for h in hits}) > 5


def test_server_seeding() -> None:
    srv = EmulatorServer(hits=150, seed=4, now=lambda: NOW)
    try:
        assert srv.state.hit_ids() == [h["HITId"] for h in build_hits(150, 4, NOW)]
        assert str(srv.state.balance) == "10000.00"
    finally:
        srv.stop()
