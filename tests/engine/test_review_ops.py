"""Issue 22: approve and reject as operation modules — verified transitions over loopback
(the emulator through real boto3): a repeat is "already approved/rejected", "status of:
null" stays unsettled and is settled later, reject needs feedback and is refused after the
AutoApprovalTime by MTurk's clock, a rejected assignment is approved only with an override."""

from __future__ import annotations

from typing import Any

from tests.conftest import FIXED_NOW
from tests.reviewkit import hit_with_work
from turktui.domain.records import Record, State
from turktui.pipeline.engine import Engine
from turktui.pipeline.operations import APPROVE, REJECT, Operation, outcome_message
from turktui.pipeline.resolving import settle

DAY = 86400.0


def _submitted(server: Any, engine: Engine, n: int = 2) -> list[str]:
    hit_id = hit_with_work(server, n)
    return [a.assignment_id for a in engine.service.list_assignments(hit_id)]


def _run(engine: Engine, op: Operation, assignment_id: str, **payload: Any) -> Record:
    assignment, hit = engine.service.get_assignment(assignment_id)
    record = engine.request(
        op,
        hit,
        subject=assignment_id,
        payload={"assignment_id": assignment_id, "worker_id": assignment.worker_id, **payload},
    )
    engine.dispatch([record])
    final = engine.history.get(record.id)
    assert final is not None
    return final


def _status(engine: Engine, assignment_id: str) -> str:
    return engine.service.get_assignment(assignment_id)[0].status


def test_the_confirming_read_refreshes_the_hit(setup: Any) -> None:
    """GetAssignment's answer carries the HIT: the outcome has it (the app refreshes its row)
    with no GetHIT of its own (the 1,000-approval budget)."""
    server, engine, _ = setup
    (aid,) = _submitted(server, engine, 1)
    assignment, hit = engine.service.get_assignment(aid)
    record = engine.request(
        APPROVE, hit, subject=aid, payload={"assignment_id": aid, "worker_id": assignment.worker_id}
    )
    gets = server.state.request_count("GetHIT")
    outcomes: list[Any] = []
    engine.dispatch([record], on_outcome=lambda _r, outcome: outcomes.append(outcome))
    (outcome,) = outcomes
    assert outcome.record.state is State.SUCCEEDED, outcome.message
    assert outcome.hit is not None and outcome.hit.hit_id == hit.hit_id
    assert server.state.request_count("GetHIT") == gets


def test_approve_is_confirmed_and_a_repeat_is_already_approved(setup: Any) -> None:
    server, engine, _ = setup
    first, _second = _submitted(server, engine)
    record = _run(engine, APPROVE, first, feedback="Thanks")
    assert record.state is State.SUCCEEDED, outcome_message(record)
    assert record.subject == first and record.operation == "approve"
    assert "Confirmed: the assignment is Approved" in record.note
    assert _status(engine, first) == "Approved"
    again = _run(engine, APPROVE, first)
    assert again.state is State.SUCCEEDED and again.attempt_count == 0
    assert "Already approved" in outcome_message(again)


def test_reject_needs_feedback_and_a_repeat_is_already_rejected(setup: Any) -> None:
    server, engine, _ = setup
    first, _ = _submitted(server, engine)
    refused = _run(engine, REJECT, first)
    assert refused.state is State.REFUSED and refused.attempt_count == 0
    assert "feedback is required" in outcome_message(refused)
    bad = _run(engine, REJECT, first, feedback="no\x07bell")
    assert bad.state is State.REFUSED and "control character" in outcome_message(bad)
    assert _status(engine, first) == "Submitted"
    done = _run(engine, REJECT, first, feedback="Answers were random")
    assert done.state is State.SUCCEEDED, outcome_message(done)
    assert _status(engine, first) == "Rejected"
    again = _run(engine, REJECT, first, feedback="Answers were random")
    assert again.state is State.SUCCEEDED and "Already rejected" in outcome_message(again)


def test_approving_a_rejected_assignment_needs_the_override(setup: Any) -> None:
    server, engine, _ = setup
    first, _ = _submitted(server, engine)
    assert _run(engine, REJECT, first, feedback="wrong").state is State.SUCCEEDED
    refused = _run(engine, APPROVE, first)
    assert refused.state is State.REFUSED and refused.attempt_count == 0
    assert "--override-rejection" in outcome_message(refused)
    assert _status(engine, first) == "Rejected"
    done = _run(engine, APPROVE, first, override_rejection=True)
    assert done.state is State.SUCCEEDED, outcome_message(done)
    assert _status(engine, first) == "Approved"


def test_rejecting_after_auto_approval_time_is_refused_naming_it(setup: Any) -> None:
    """By MTurk's clock (the read's Date), never the local one: MTurk may still show the
    work Submitted a moment after its AutoApprovalTime."""
    from dataclasses import replace
    from datetime import timedelta

    from turktui.pipeline.operations import NotSent, Prepared, Read

    server, engine, _ = setup
    first, _ = _submitted(server, engine)
    assignment = engine.service.get_assignment(first)[0]
    auto = assignment.auto_approval_time
    assert assignment.status == "Submitted" and auto is not None
    record = engine.request(
        REJECT,
        engine.service.get_assignment(first)[1],
        subject=first,
        payload={"assignment_id": first, "feedback": "late"},
    )
    before = REJECT.prepare(record, Read(assignment, auto - timedelta(seconds=1), FIXED_NOW))
    assert isinstance(before, Prepared)
    after = REJECT.prepare(record, Read(assignment, auto, FIXED_NOW + timedelta(days=99)))
    assert isinstance(after, NotSent) and after.state is State.REFUSED
    assert f"AutoApprovalTime {auto:%Y-%m-%d %H:%M:%S} UTC has passed" in after.message
    # the local clock alone never refuses
    local = REJECT.prepare(record, Read(assignment, None, auto + timedelta(days=1)))
    assert isinstance(local, Prepared)
    assert REJECT.replan(record, Read(replace(assignment), auto, FIXED_NOW)) is not None


def test_status_null_stays_unknown_then_resolve_settles_it(setup: Any) -> None:
    server, engine, history = setup
    first, _ = _submitted(server, engine)
    server.state.assignment_lag = 1e9  # MTurk does not show the submission yet
    record = _run(engine, APPROVE, first)
    assert record.state is State.UNKNOWN, outcome_message(record)
    assert "status of: null" in record.error_message
    assert _status(engine, first) == "Submitted"
    server.state.assignment_lag = 0.0
    result = settle(engine, [history.get(record.id)])
    assert [o.record.state for o in result.outcomes] == [State.RESOLVED_SUCCEEDED]
    assert _status(engine, first) == "Approved"


def test_a_dropped_answer_is_settled_by_the_fresh_read(setup: Any) -> None:
    server, engine, _ = setup
    first, _ = _submitted(server, engine)
    server.faults.add("ApproveAssignment", drop=1.0, count=1)
    record = _run(engine, APPROVE, first)
    # the retry meets "status of: Submitted": a question the fresh read answers
    assert record.state is State.SUCCEEDED, outcome_message(record)
    assert _status(engine, first) == "Approved"
