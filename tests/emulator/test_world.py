"""A world that moves on the service clock: workers accept, return, abandon and submit work;
Submitted work is approved automatically; the funds held for liability follow.

Sources:
- [MODEL] botocore's HIT shape: NumberOfAssignmentsPending "accepted by Workers, but have not
  yet been submitted, returned, or abandoned"; Completed = approved or rejected; Submitted
  work counts in none of the numbers.
- [STATUS] "a HIT moves to the Reviewable state when all of the assignments have been
  submitted or the HIT has expired" (Retrieving HIT status).
- [FAQ] requester FAQ, "funds held for liability": "If you have no outstanding assignments,
  you will have zero assignment liability."
"""

from __future__ import annotations

import json
from collections import Counter
from decimal import Decimal
from typing import Any

import pytest

from tests.emulator.helpers import Clock
from turktui.emulator import EmulatorServer, MTurkState, build_hits

T0 = 1_800_000_000.0 + 13 * 3600.0
HOUR = 3600.0
DAY = 24 * HOUR


def _state(clock: Clock, activity: float = 6.0, hits: int = 80) -> MTurkState:
    state = MTurkState(seed=7, now=clock, activity=activity)
    state.add_hits(build_hits(hits, 7, clock.t))
    return state


def _hits(state: MTurkState) -> list[dict[str, Any]]:
    out: list[dict[str, Any]] = []
    token = None
    while True:
        page = json.loads(state.op_list_hits({"MaxResults": 100, "NextToken": token}))
        out += page["HITs"]
        token = page.get("NextToken")
        if not token:
            return out


def _work(state: MTurkState, hit_id: str) -> list[dict[str, Any]]:
    return state.op_list_assignments_for_hit({"HITId": hit_id, "MaxResults": 100000})["Assignments"]


def _snapshot(state: MTurkState) -> tuple[Any, ...]:
    hits = _hits(state)
    work = {h["HITId"]: _work(state, h["HITId"]) for h in hits if h["MaxAssignments"] < 5000}
    return hits, work, state.balance, state.on_hold


def test_the_world_stands_still_unless_asked(make_emulator: Any) -> None:
    clock = Clock(T0)
    state = _state(clock, activity=0.0)
    before = {h["HITId"]: h["NumberOfAssignmentsPending"] for h in _hits(state)}
    clock.t += 6 * HOUR
    assert {h["HITId"]: h["NumberOfAssignmentsPending"] for h in _hits(state)} == before


def test_workers_accept_return_abandon_and_submit() -> None:
    clock = Clock(T0)
    state = _state(clock)
    first = {h["HITId"]: h for h in _hits(state)}
    seen: Counter[str] = Counter()
    for _ in range(24):
        clock.t += HOUR
        for hit in _hits(state):
            if hit["MaxAssignments"] >= 5000:
                continue
            work = _work(state, hit["HITId"])
            by = Counter(a["AssignmentStatus"] for a in work)
            submitted = state.submitted_count(hit["HITId"])
            # [MODEL]: every assignment is available, pending, awaiting review or completed
            assert by["Submitted"] == submitted
            assert by["Approved"] + by["Rejected"] == hit["NumberOfAssignmentsCompleted"]
            assert hit["MaxAssignments"] == (
                hit["NumberOfAssignmentsAvailable"]
                + hit["NumberOfAssignmentsPending"]
                + submitted
                + hit["NumberOfAssignmentsCompleted"]
            )
            expired = hit["Expiration"] <= clock.t
            # [STATUS]
            if hit["HITStatus"] == "Assignable":
                assert not expired and hit["NumberOfAssignmentsAvailable"] > 0
            if expired:
                assert hit["HITStatus"] in ("Reviewable", "Unassignable")
            for a in work:
                assert a["AcceptTime"] <= a["SubmitTime"] <= clock.t
                assert a["SubmitTime"] <= a["Deadline"]
                if a["AssignmentStatus"] == "Submitted":
                    assert a["AutoApprovalTime"] > clock.t
            before = first[hit["HITId"]]
            if hit["NumberOfAssignmentsPending"] > before["NumberOfAssignmentsPending"]:
                seen["accepted"] += 1
            if hit["NumberOfAssignmentsAvailable"] > before["NumberOfAssignmentsAvailable"]:
                seen["returned or abandoned"] += 1
            seen["new work"] += sum(a["SubmitTime"] > T0 for a in work)
    assert seen["accepted"] and seen["returned or abandoned"] and seen["new work"]


def test_everything_settles_and_nothing_stays_held() -> None:
    # [FAQ]: once every HIT has expired and every assignment is decided, nothing is held;
    # the auto-approvals paid what they owed (the funds only went down)
    clock = Clock(T0)
    state = _state(clock)
    funds = state.balance + state.on_hold
    clock.t += 60 * DAY
    hits = [h for h in _hits(state) if h["MaxAssignments"] < 5000]
    assert all(state.submitted_count(h["HITId"]) == 0 for h in hits)
    assert all(h["NumberOfAssignmentsPending"] == 0 for h in hits)
    assert state.on_hold == 0
    assert state.balance < funds


def test_the_world_is_the_same_whenever_it_is_looked_at() -> None:
    # deterministic for a seed and a clock: one account read every 20 minutes, another only
    # at the end, show the same HITs, work and money
    looked, once = Clock(T0), Clock(T0)
    a, b = _state(looked, hits=60), _state(once, hits=60)
    for _ in range(36):
        looked.t += HOUR / 3
        _snapshot(a)
    once.t = looked.t
    assert _snapshot(a) == _snapshot(b)


@pytest.mark.parametrize("bad", [-1.0, float("inf"), float("nan")])
def test_bad_activity(bad: float) -> None:
    with pytest.raises(ValueError, match="activity"):
        EmulatorServer(hits=0, activity=bad)


def test_work_taken_after_an_extension_is_paid_from_available_funds() -> None:
    # [FAQ]: the expiry released the funds held for the work nobody took; extending the HIT
    # does not hold them again, so approving work done after it pays from available funds
    clock = Clock(T0)
    state = MTurkState(seed=1, now=clock, activity=30.0)
    hit_id = state.add_hit(
        CreationTime=T0 - DAY, Expiration=T0 - 1, MaxAssignments=3, Reward="1.00"
    )
    assert state.on_hold == 0
    available = state.balance
    state.op_update_expiration_for_hit({"HITId": hit_id, "ExpireAt": T0 + DAY})
    assert state.balance == available
    while not state.submitted_count(hit_id):
        clock.t += 600
    work = _work(state, hit_id)[0]
    clock.t += 1
    state.op_approve_assignment({"AssignmentId": work["AssignmentId"]})
    assert state.balance == available - Decimal("1.20") and state.on_hold == 0
