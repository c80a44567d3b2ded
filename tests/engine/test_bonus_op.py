"""Issue 22: a bonus is paid exactly once (the bonus operation over loopback, real boto3):
one token per intent recorded before sending, a reference in the Reason, and every unclear
answer — dropped, 5xx, "already processed", a lost record state — settled by
ListBonusPayments, never by paying again."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import timedelta
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest

from tests.conftest import FIXED_NOW
from tests.reviewkit import engine_on, hit_with_work
from turktui.domain.records import Record, State
from turktui.domain.rules import InputProblem, bonus_fee, check_bonus_amount
from turktui.pipeline.engine import Engine
from turktui.pipeline.operations import BONUS, outcome_message
from turktui.pipeline.operations.bonus import bonus_subject, reference
from turktui.pipeline.resolving import settle

DAY = 86400.0


@pytest.fixture
def setup(make_emulator: Any, tmp_path: Path) -> Iterator[tuple[Any, Engine, str]]:
    server = make_emulator(0)
    engine = engine_on(server, tmp_path / "history.sqlite3", attempts=3)
    (assignment,) = engine.service.list_assignments(hit_with_work(server))
    try:
        yield server, engine, assignment.assignment_id
    finally:
        engine.history.close()


def _record(
    engine: Engine, assignment_id: str, amount: str = "1.25", *, allow_second: bool = False
) -> Record:
    assignment, hit = engine.service.get_assignment(assignment_id)
    return engine.request(
        BONUS,
        hit,
        subject=bonus_subject(assignment_id),
        allow_second=allow_second,
        payload={
            "assignment_id": assignment_id,
            "worker_id": assignment.worker_id,
            "amount": amount,
            "reason": "great work",
        },
    )


def _final(engine: Engine, record: Record) -> Record:
    final = engine.history.get(record.id)
    assert final is not None
    return final


def _payments(engine: Engine, assignment_id: str) -> list[Any]:
    return engine.service.list_bonus_payments(assignment_id=assignment_id)


def test_paid_once_with_the_reference_in_the_reason(setup: Any) -> None:
    _, engine, aid = setup
    record = _record(engine, aid)
    engine.dispatch([record])
    final = _final(engine, record)
    assert final.state is State.SUCCEEDED, outcome_message(final)
    (paid,) = _payments(engine, aid)
    assert (
        paid.amount == Decimal("1.25") and paid.reason == f"great work [{reference(record.token)}]"
    )
    # the same intent again (a re-run): the listing shows it paid, nothing is sent
    engine.history.update(record.id, now=FIXED_NOW, expect=State.SUCCEEDED, state=State.PLANNED)
    engine.dispatch([_final(engine, record)])
    assert len(_payments(engine, aid)) == 1
    assert "Already paid" in outcome_message(_final(engine, record))


@pytest.mark.parametrize("fault", [{"drop": 1.0}, {"error": 1.0}])
def test_a_dropped_answer_or_a_5xx_pays_once(setup: Any, fault: dict[str, float]) -> None:
    server, engine, aid = setup
    server.faults.add("SendBonus", count=1, **fault)
    record = _record(engine, aid)
    engine.dispatch([record])
    final = _final(engine, record)
    assert final.state is State.SUCCEEDED, outcome_message(final)
    assert len(_payments(engine, aid)) == 1


def test_every_answer_lost_is_unknown_then_settled_by_the_listing(setup: Any) -> None:
    server, engine, aid = setup
    server.faults.add("SendBonus", drop=1.0)
    record = _record(engine, aid)
    engine.dispatch([record])
    server.faults.clear()
    assert _final(engine, record).state is State.UNKNOWN
    result = settle(engine, [_final(engine, record)])
    assert [o.record.state for o in result.outcomes] == [State.RESOLVED_SUCCEEDED]
    assert len(_payments(engine, aid)) == 1  # the re-send was "already processed"


def test_past_24_hours_the_listing_decides_and_nothing_is_resent(setup: Any) -> None:
    server, engine, aid = setup
    server.faults.add("SendBonus", drop=1.0)
    record = _record(engine, aid)
    engine.dispatch([record])
    server.faults.clear()
    assert len(_payments(engine, aid)) == 1
    later = FIXED_NOW + timedelta(hours=25)
    server.state.now = later.timestamp
    engine.clock = lambda: later
    result = settle(engine, [_final(engine, record)])
    assert [o.record.state for o in result.outcomes] == [State.RESOLVED_SUCCEEDED]
    assert len(_payments(engine, aid)) == 1  # the token had expired: no re-send


def test_a_send_that_never_arrived_is_not_paid_past_24_hours(setup: Any) -> None:
    server, engine, aid = setup
    server.faults.add("SendBonus", error=1.0)  # 5xx, not applied
    record = _record(engine, aid)
    engine.dispatch([record])
    server.faults.clear()
    assert _final(engine, record).state is State.UNKNOWN
    later = FIXED_NOW + timedelta(hours=25)
    server.state.now = later.timestamp
    engine.clock = lambda: later
    result = settle(engine, [_final(engine, record)])
    assert [o.record.state for o in result.outcomes] == [State.RESOLVED_NOT_APPLIED]
    assert _payments(engine, aid) == []


def test_a_second_intent_recorded_after_the_first_was_paid_is_refused(setup: Any) -> None:
    """Two processes: the second checked "no bonus yet" before the first paid, and recorded
    its own intent once the first had settled (the history's one-intent rule only holds
    while the first is unsettled). Its fresh read refuses it, unless the operator confirmed
    a second bonus (the reliability campaign's `second` trials found this double payment)."""
    _, engine, aid = setup
    first = _record(engine, aid)
    engine.dispatch([first])
    second = _record(engine, aid, "0.50")
    engine.dispatch([second])
    final = _final(engine, second)
    assert final.state is State.REFUSED, outcome_message(final)
    assert outcome_message(final).startswith("Not sent (bonus $0.50")
    assert "already has a bonus" in final.error_message and "--allow-second" in final.error_message
    assert len(_payments(engine, aid)) == 1
    # nor re-sent: an intent sent earlier (outcome unknown) while another bonus shows now
    third = _record(engine, aid, "0.80")
    engine.history.update(
        third.id,
        now=FIXED_NOW,
        expect=State.PLANNED,
        state=State.UNKNOWN,
        first_sent=FIXED_NOW,
        read_at_server=FIXED_NOW,
    )
    (outcome,) = settle(engine, [_final(engine, third)]).outcomes
    assert outcome.record.state.applied is not True  # cannot tell (the first on the subject)
    assert "It was not re-sent: worker" in outcome.record.note
    assert len(_payments(engine, aid)) == 1
    # confirmed explicitly: paid
    fourth = _record(engine, aid, "0.75", allow_second=True)
    engine.dispatch([fourth])
    assert _final(engine, fourth).state is State.SUCCEEDED
    assert [p.amount for p in _payments(engine, aid)] == [Decimal("1.25"), Decimal("0.75")]


@pytest.mark.parametrize("text", ["1.005", "-1", "1e3", "0", "0.00", "", "1,5", " 1", "١"])
def test_bad_amounts_are_refused(text: str) -> None:
    with pytest.raises(InputProblem):
        check_bonus_amount(text)


def test_amounts_and_the_fee() -> None:
    assert check_bonus_amount("1.5") == Decimal("1.5")
    assert check_bonus_amount("2.") == Decimal("2")
    assert bonus_fee(Decimal("1.00")) == Decimal("0.20")
    assert bonus_fee(Decimal("0.01")) == Decimal("0.01")  # the minimum
    assert bonus_fee(Decimal("0.03")) == Decimal("0.01")
