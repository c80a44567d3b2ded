"""Issue 22's 1,000-approval budget: `review_many` sends a group (grouping.py) — every intent
recorded in one transaction before anything is sent, the answers recorded together,
confirmed from the HIT's listing with GetAssignment only for what the listing does not
confirm — and a crash at any point still leaves records that resolve settles by MTurk's
answer."""

from __future__ import annotations

from typing import Any

import pytest

from tests.reviewkit import hit_with_work
from turktui.domain.records import Record, State
from turktui.pipeline import grouping
from turktui.pipeline.engine import Engine
from turktui.pipeline.operations import APPROVE
from turktui.pipeline.pacing import AdaptiveRate
from turktui.pipeline.resolving import settle
from turktui.pipeline.reviewing import review_many


def _listed(engine: Engine, n: int, server: Any) -> list[tuple[Any, Any]]:
    hit_id = hit_with_work(server, n, MaxAssignments=n)
    hit = engine.service.get_hit(hit_id)
    return [(a, hit) for a in engine.service.list_assignments(hit_id)]


def test_a_group_is_confirmed_by_the_listing_and_what_it_does_not_show_by_a_read(
    setup: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    server, engine, history = setup
    judged: list[str] = []
    real_confirm = APPROVE.confirm

    def confirm(record: Record, read: Any, processed: bool) -> Any:
        judged.append(read.subject.assignment_id)
        return real_confirm(record, read, processed)

    monkeypatch.setattr(APPROVE, "confirm", confirm)
    pairs = _listed(engine, 5, server)
    ids = [a.assignment_id for a, _ in pairs]
    # after the listing was read: one approved, one rejected by someone else
    engine.service.approve_assignment(ids[1])
    engine.service.reject_assignment(ids[2], "not done")
    gets = server.state.request_count("GetAssignment")
    lists = server.state.request_count("ListAssignmentsForHIT")
    commits: list[int] = []
    real = history.together
    history.together = lambda steps: commits.append(len(steps)) or real(steps)  # type: ignore[method-assign]
    results = review_many(engine, APPROVE, pairs, {}, workers=3)
    finals = {a.assignment_id: r for a, r in results}
    assert all(isinstance(r, Record) for r in finals.values())
    states = {aid: finals[aid].state for aid in ids}  # type: ignore[union-attr]
    assert states == {
        ids[0]: State.SUCCEEDED,
        ids[1]: State.SUCCEEDED,  # MTurk's "status of: Submitted", and it shows Approved
        ids[2]: State.REFUSED,  # it shows Rejected: never a success
        ids[3]: State.SUCCEEDED,
        ids[4]: State.SUCCEEDED,
    }
    assert "Rejected, not Approved" in finals[ids[2]].note  # type: ignore[union-attr]
    # one listing confirmed four; the one it shows Rejected was read on its own
    assert server.state.request_count("GetAssignment") - gets == 1
    assert 1 <= server.state.request_count("ListAssignmentsForHIT") - lists <= 2
    # the requests with their first attempts (one insert); the two answers that were not a
    # plain OK; the verdicts with the three OK answers: three commits for five requests
    # (the verdicts in one statement each kind: confirmed, already approved, refused)
    assert commits == [2, 3 + 3]
    for aid in ids:
        record = history.get(finals[aid].id)  # type: ignore[union-attr]
        assert [a.outcome for a in record.attempts] in (["ok"], ["already_processed"])
        assert record.first_sent is not None and isinstance(record.data["read_seq"], int)
    assert "Confirmed: the assignment is Approved" in finals[ids[0]].note  # type: ignore[union-attr]
    # each judged once on the read that confirms it: the one the listing shows Rejected
    # again on its own read
    assert sorted(judged) == sorted([*ids, ids[2]])


class _Crash(BaseException):
    """The process stopping at that very line (as SIGKILL would: nothing more runs)."""


def test_a_crash_before_or_while_sending_is_settled_by_mturks_answer(
    setup: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    server, engine, history = setup
    real_send = grouping.Grouping._send_once
    # A crash runs nothing more of the process (a stop that unwinds records what it never
    # sent: test_a_stop_sends_nothing_more_and_says_what_was_never_sent).
    monkeypatch.setattr(
        grouping.Grouping,
        "_stop_unstarted",
        lambda self, pool, unsent, kind, *_: pool.shutdown(cancel_futures=True),
    )
    # 1. the chunk recorded ("sending", its attempts started), the process stops before
    # anything is sent
    early = _listed(engine, 2, server)

    def stop_before_sending(self: Engine, op: Any, record: Record, *_: Any) -> Any:
        raise _Crash

    monkeypatch.setattr(grouping.Grouping, "_send_once", stop_before_sending)
    with pytest.raises(_Crash):
        review_many(engine, APPROVE, early, {})
    # 2. the same, but the first request is sent before the process stops
    late = _listed(engine, 2, server)
    sent: list[str] = []

    def send_then_stop(self: Engine, op: Any, record: Record, *rest: Any) -> Any:
        if not sent:
            sent.append(record.subject)
            real_send(self, op, record, *rest)
        raise _Crash

    monkeypatch.setattr(grouping.Grouping, "_send_once", send_then_stop)
    with pytest.raises(_Crash):
        review_many(engine, APPROVE, late, {})
    monkeypatch.setattr(grouping.Grouping, "_send_once", real_send)
    left = history.unsettled()
    by_subject = {r.subject: r.state for r in left}
    early_ids = [a.assignment_id for a, _ in early]
    late_ids = [a.assignment_id for a, _ in late]
    assert by_subject == dict.fromkeys(early_ids + late_ids, State.SENDING)
    gets = server.state.request_count("GetAssignment")
    approvals = server.state.request_count("ApproveAssignment")
    settle(engine, left)
    final = {r.subject: r for r in history.query(limit=10)}
    assert {aid: final[aid].state for aid in early_ids} == dict.fromkeys(
        early_ids, State.RESOLVED_NOT_APPLIED
    )
    (applied,) = sent
    assert final[applied].state is State.RESOLVED_SUCCEEDED
    (other,) = set(late_ids) - {applied}
    assert final[other].state is State.RESOLVED_NOT_APPLIED
    # settled by reading MTurk's answer, never by sending again
    assert server.state.request_count("GetAssignment") - gets == 4
    assert server.state.request_count("ApproveAssignment") == approvals
    statuses = {a.assignment_id: a.status for a, _ in _relist(engine, late)}
    assert statuses == {applied: "Approved", other: "Submitted"}


def _relist(engine: Engine, pairs: list[tuple[Any, Any]]) -> list[tuple[Any, Any]]:
    hit = pairs[0][1]
    return [(a, hit) for a in engine.service.list_assignments(hit.hit_id)]


def test_a_member_answered_by_a_fault_is_retried_with_the_ordinary_loop(setup: Any) -> None:
    """Throttled, a 5xx, a dropped answer (applied, the answer lost): that member leaves the
    group, is sent again (the same request) and confirmed; each assignment approved once."""
    server, engine, history = setup
    for fault in ({"throttle": 1.0}, {"error": 1.0}, {"drop": 1.0}):
        engine.pacer = AdaptiveRate(min_rate=1000, fallback_rate=1000)  # no slowing down here
        pairs = _listed(engine, 3, server)
        before = server.state.request_count("ApproveAssignment")
        server.faults.add(op="ApproveAssignment", count=1, **fault)
        results = review_many(engine, APPROVE, pairs, {})
        records = [r for _a, r in results]
        assert all(isinstance(r, Record) for r in records), (fault, records)
        assert [r.state for r in records] == [State.SUCCEEDED] * 3, fault  # type: ignore[union-attr]
        assert server.state.request_count("ApproveAssignment") - before == 4, fault
        retried = [history.get(r.id) for r in records if r.attempt_count == 2]  # type: ignore[union-attr]
        (again,) = retried
        assert again is not None and again.attempts[0].outcome == "error", fault
        assert again.attempts[1].outcome in ("ok", "already_processed"), fault
        statuses = {a.status for a, _ in _relist(engine, pairs)}
        assert statuses == {"Approved"}, fault


def test_a_stop_sends_nothing_more_and_says_what_was_never_sent(
    setup: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Ctrl-C (or a signal) while a chunk is being sent: the requests of the chunk not
    started yet are never sent, and their records say so (settled, nothing applied: resolve
    will not send them later); the one on the wire stays "sending" for resolve."""
    server, engine, history = setup
    pairs = _listed(engine, 4, server)
    service = engine.service
    calls: list[str] = []

    def stop_at_the_first(assignment_id: str, *args: Any, **kwargs: Any) -> Any:
        calls.append(assignment_id)
        raise _Crash  # Ctrl-C while the first request is on the wire

    monkeypatch.setattr(service, "approve_assignment", stop_at_the_first)
    approvals = server.state.request_count("ApproveAssignment")
    with pytest.raises(_Crash):
        review_many(engine, APPROVE, pairs, {}, workers=1)
    assert calls == [pairs[0][0].assignment_id]
    assert server.state.request_count("ApproveAssignment") == approvals
    records = {r.subject: r for r in history.query(limit=10)}
    first, *rest = (records[a.assignment_id] for a, _ in pairs)
    assert first.state is State.SENDING  # it may have reached MTurk: resolve reads it
    for record in rest:
        assert record.state is State.RESOLVED_NOT_APPLIED
        assert grouping.NEVER_SENT in record.note
        assert record.first_sent is None
        full = history.get(record.id)
        assert full is not None and [a.outcome for a in full.attempts] == ["not_sent"]
    # resolve leaves them as they are: nothing is sent after the stop
    settle(engine, history.unsettled())
    monkeypatch.undo()
    assert server.state.request_count("ApproveAssignment") == approvals
    assert {a.status for a, _ in _relist(engine, pairs)} == {"Submitted"}


def test_a_stop_right_after_a_chunk_is_recorded_sends_none_of_it(
    setup: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Ctrl-C lands just after a chunk's insert committed (reading it back): every member of
    it is known never sent, and says so."""
    server, engine, history = setup
    pairs = _listed(engine, 3, server)
    real_get_many = history.get_many
    reads: list[int] = []

    def stop_at_the_first_read(ids: Any) -> Any:
        reads.append(len(ids))
        if len(reads) == 1:
            raise _Crash
        return real_get_many(ids)

    monkeypatch.setattr(history, "get_many", stop_at_the_first_read)
    approvals = server.state.request_count("ApproveAssignment")
    with pytest.raises(_Crash):
        review_many(engine, APPROVE, pairs, {}, workers=2)
    monkeypatch.undo()
    records = [r for r in history.query(limit=10) if r.hit_id == pairs[0][1].hit_id]
    assert len(records) == 3
    assert {r.state for r in records} == {State.RESOLVED_NOT_APPLIED}
    assert all(grouping.NEVER_SENT in r.note for r in records)
    assert server.state.request_count("ApproveAssignment") == approvals
