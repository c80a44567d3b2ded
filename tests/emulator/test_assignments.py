"""ListAssignmentsForHIT on seeded HITs: realistic work, consistent with the HIT's counts.

Sources:
- [LIST] ListAssignmentsForHIT in botocore's mturk model / the API reference: it "can return
  submitted assignments awaiting approval, or ... assignments that have already been
  approved or rejected"; paginated with NextToken.
- [ASG] the Assignment shape's member documentation (botocore model): AutoApprovalTime
  "derived from the auto-approval delay", Deadline "derived from the deadline specification
  for the HIT and the date and time the Worker accepted", ApprovalTime / RejectionTime only
  once the Requester (or auto-approval) decided.
- [COUNTS] the HIT shape: Completed = approved or rejected, Pending = not yet submitted.
- [DELETE] DeleteHIT in the API reference: only HITs "with all of their submitted
  assignments already either approved or rejected".
"""

from __future__ import annotations

import re
from collections import Counter
from collections.abc import Iterator
from typing import Any

import pytest
from botocore.exceptions import ClientError

from tests.emulator.helpers import Clock, error_of, make_client
from tests.emulator.shapes import assert_output
from turktui.emulator import EmulatorServer

NOW = 1_800_000_000.0 + 13 * 3600.0  # mid-day: the seeded times are relative to the day


@pytest.fixture
def clock() -> Clock:
    return Clock(NOW)


@pytest.fixture
def seeded(clock: Clock) -> Iterator[EmulatorServer]:
    with EmulatorServer(hits=300, seed=1, now=clock) as server:
        yield server


def _all(client: Any, hit_id: str, size: int = 100, **kw: Any) -> list[dict[str, Any]]:
    out: list[dict[str, Any]] = []
    for page in client.get_paginator("list_assignments_for_hit").paginate(
        HITId=hit_id, PaginationConfig={"PageSize": size}, **kw
    ):
        assert_output("ListAssignmentsForHIT", page)
        assert page["NumResults"] == len(page["Assignments"])
        out += page["Assignments"]
    return out


def _epoch(value: Any) -> float:
    return value.timestamp()


def test_seeded_assignments_match_the_counts(seeded: EmulatorServer, clock: Clock) -> None:
    # [LIST] + [COUNTS]: Submitted = Max − pending − available − completed; Approved +
    # Rejected = completed; every page of every HIT.
    client = make_client(seeded.url)
    hits = [
        h
        for p in client.get_paginator("list_hits").paginate(PaginationConfig={"PageSize": 100})
        for h in p["HITs"]
    ]
    assert len(hits) == 300
    totals: Counter[str] = Counter()
    workers_seen: Counter[str] = Counter()
    asg_ids: set[str] = set()
    for hit in hits:
        if hit["MaxAssignments"] > 5000:
            continue  # the 999,990-assignment case has no work
        work = _all(client, hit["HITId"])
        by = Counter(a["AssignmentStatus"] for a in work)
        submitted = (
            hit["MaxAssignments"]
            - hit["NumberOfAssignmentsPending"]
            - hit["NumberOfAssignmentsAvailable"]
            - hit["NumberOfAssignmentsCompleted"]
        )
        assert by["Submitted"] == submitted, hit["Title"]
        assert by["Approved"] + by["Rejected"] == hit["NumberOfAssignmentsCompleted"]
        totals.update(by)
        workers = [a["WorkerId"] for a in work]
        assert len(set(workers)) == len(workers)  # one assignment per worker and HIT
        workers_seen.update(set(workers))
        for a in work:
            assert re.fullmatch(r"A[A-Z0-9]{13}", a["WorkerId"])
            assert re.fullmatch(r"[A-Z0-9]{30}", a["AssignmentId"])
            assert a["AssignmentId"] not in asg_ids
            asg_ids.add(a["AssignmentId"])
            _check_times(hit, a, clock.t)
    assert totals["Submitted"] > 20 and totals["Approved"] > 100 and totals["Rejected"] > 10
    assert max(workers_seen.values()) > 1  # workers recur across HITs


def _check_times(hit: dict[str, Any], a: dict[str, Any], now: float) -> None:
    # [ASG]: the times MTurk could have produced for this HIT and status.
    accept, submit = _epoch(a["AcceptTime"]), _epoch(a["SubmitTime"])
    auto, deadline = _epoch(a["AutoApprovalTime"]), _epoch(a["Deadline"])
    created, expiration = _epoch(hit["CreationTime"]), _epoch(hit["Expiration"])
    assert created - 0.001 <= accept <= max(created, expiration) + 0.001
    assert accept <= submit <= now + 0.001
    assert deadline == pytest.approx(accept + hit["AssignmentDurationInSeconds"], abs=0.01)
    assert submit <= deadline + 0.001
    assert auto == pytest.approx(submit + hit["AutoApprovalDelayInSeconds"], abs=0.01)
    status = a["AssignmentStatus"]
    if status == "Submitted":
        assert auto > now
        assert "ApprovalTime" not in a and "RejectionTime" not in a
    elif status == "Approved":
        assert submit - 0.001 <= _epoch(a["ApprovalTime"]) <= min(auto, now) + 0.001
        assert "RejectionTime" not in a
    else:
        assert submit - 0.001 <= _epoch(a["RejectionTime"]) < auto
        assert _epoch(a["RejectionTime"]) <= now + 0.001
        assert a["RequesterFeedback"]


def test_status_filter_and_small_pages(seeded: EmulatorServer) -> None:
    # [LIST]: AssignmentStatuses filters; all pages of 7 equal one page of 100.
    client = make_client(seeded.url)
    hit_id = max(seeded.state.hit_ids(), key=seeded.state.submitted_count)
    assert seeded.state.submitted_count(hit_id) > 0
    every = _all(client, hit_id)
    assert _all(client, hit_id, size=7) == every
    sub = _all(client, hit_id, AssignmentStatuses=["Submitted"])
    assert sub == [a for a in every if a["AssignmentStatus"] == "Submitted"]
    assert len(sub) == seeded.state.submitted_count(hit_id)
    done = _all(client, hit_id, AssignmentStatuses=["Approved", "Rejected"])
    assert len(done) + len(sub) == len(every)


def test_auto_approval_moves_work_to_completed(seeded: EmulatorServer, clock: Clock) -> None:
    # [ASG]: at AutoApprovalTime a Submitted assignment is Approved; the HIT's completed
    # count follows [COUNTS].
    client = make_client(seeded.url)
    hit_id = max(seeded.state.hit_ids(), key=seeded.state.submitted_count)
    hit = client.get_hit(HITId=hit_id)["HIT"]
    n_sub = seeded.state.submitted_count(hit_id)
    first = sorted(
        _epoch(a["AutoApprovalTime"])
        for a in _all(client, hit_id, AssignmentStatuses=["Submitted"])
    )
    clock.t = first[0]  # exactly the first AutoApprovalTime
    after = client.get_hit(HITId=hit_id)["HIT"]
    approved_now = sum(1 for t in first if t <= clock.t)
    assert after["NumberOfAssignmentsCompleted"] == (
        hit["NumberOfAssignmentsCompleted"] + approved_now
    )
    assert seeded.state.submitted_count(hit_id) == n_sub - approved_now
    clock.t = first[-1] + 1
    work = _all(client, hit_id)
    assert not [a for a in work if a["AssignmentStatus"] == "Submitted"]
    auto = [a for a in work if a.get("ApprovalTime") == a["AutoApprovalTime"]]
    assert len(auto) >= n_sub
    final = client.get_hit(HITId=hit_id)["HIT"]
    assert final["NumberOfAssignmentsCompleted"] == hit["NumberOfAssignmentsCompleted"] + n_sub
    assert final["NumberOfAssignmentsAvailable"] == hit["NumberOfAssignmentsAvailable"]


def test_assignments_are_deterministic(clock: Clock) -> None:
    # The same seed and clock serve the same work (tests and screenshots rely on it).
    lists = []
    for _ in range(2):
        with EmulatorServer(hits=120, seed=5, now=clock) as srv:
            client = make_client(srv.url)
            hit_id = max(srv.state.hit_ids(), key=srv.state.submitted_count)
            lists.append((hit_id, _all(client, hit_id)))
    assert lists[0] == lists[1]


def test_delete_refused_while_work_awaits_review(clock: Clock) -> None:
    # [DELETE]: Reviewable but with Submitted work: refused; once reviewed (auto-approved):
    # allowed.
    with EmulatorServer(hits=0, now=clock) as srv:
        client = make_client(srv.url, retries=0)
        hid = srv.state.add_hit(
            CreationTime=NOW - 86400,
            Expiration=NOW - 3600,
            HITStatus="Reviewable",
            MaxAssignments=3,
            NumberOfAssignmentsCompleted=1,
            NumberOfAssignmentsSubmitted=2,
        )
        with pytest.raises(ClientError) as info:
            client.delete_hit(HITId=hid)
        code, _, turk = error_of(info.value)
        assert code == "RequestError" and turk == "AWS.MechanicalTurk.InvalidHITState"
        assert len(_all(client, hid, AssignmentStatuses=["Submitted"])) == 2
        clock.t += 259200 + 120
        client.delete_hit(HITId=hid)
        assert hid not in srv.state.hit_ids()
