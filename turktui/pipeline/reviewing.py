"""What the command line (`approve`, `reject`, `bonus`) and the app's assignments view share:
the one path from an operator's review or bonus to a recorded request, and the figures their
confirmations show. Both read the same way, record the same way (`Engine.request`, one
intent per assignment) and send the same way (`Engine.dispatch`); only the asking differs.

* `review_many(engine, op, pairs, payload, workers=)`: record each approve/reject, then send
  and settle them a few at a time; `review(...)`: one of them, its final record.
* `quote_bonus(service, history, endpoint, assignment_id, amount)`: the assignment's worker,
  the fee, the total, the balance and any earlier bonus for that assignment and worker
  (ListBonusPayments or the history): what a bonus preview shows, read before anything is
  recorded.
* `pay_bonus(engine, quote, reason, ...)`: record the bonus (one token), send it, settle it.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, replace
from decimal import Decimal
from typing import Any

from turktui.adapters.history import HistoryError
from turktui.domain.models import Assignment, BonusPayment, Hit
from turktui.domain.records import Record
from turktui.domain.rules import bonus_fee
from turktui.domain.service import TurkService
from turktui.pipeline.engine import Engine, PlanRefused
from turktui.pipeline.operations import BONUS
from turktui.pipeline.operations.bonus import bonus_subject
from turktui.pipeline.operations.review import ReviewOperation


def review_many(
    engine: Engine,
    op: ReviewOperation,
    pairs: Sequence[tuple[Assignment, Hit]],
    payload: Mapping[str, Any],
    *,
    workers: int = 1,
) -> list[tuple[Assignment, Record | PlanRefused | HistoryError]]:
    """Record each review of `pairs` (its own intent: the assignment, its worker and, for an
    approval, the reward it pays), then send and settle them `workers` at a time. For each
    assignment, in the order given: its final record, or the PlanRefused (another request
    on it is unsettled) or HistoryError that kept it from being sent."""
    ended: dict[str, PlanRefused | HistoryError] = {}
    records: dict[str, Record] = {}
    for assignment, hit in pairs:
        aid = assignment.assignment_id
        fields: dict[str, Any] = {"assignment_id": aid, "worker_id": assignment.worker_id}
        if op.target == "Approved" and hit.reward is not None:
            fields["amount"] = str(hit.reward)
        try:
            records[aid] = engine.request(op, hit, subject=aid, payload={**fields, **payload})
        except (PlanRefused, HistoryError) as exc:
            ended[aid] = exc

    def failed(record: Record, exc: Exception) -> None:
        if not isinstance(exc, PlanRefused | HistoryError):
            raise exc
        ended[record.subject] = exc

    engine.dispatch(list(records.values()), workers=workers, on_error=failed)
    results: list[tuple[Assignment, Record | PlanRefused | HistoryError]] = []
    for assignment, _hit in pairs:
        aid = assignment.assignment_id
        if aid in ended:
            results.append((assignment, ended[aid]))
        else:
            final = engine.history.get(records[aid].id)
            assert final is not None
            results.append((assignment, final))
    return results


def review(
    engine: Engine,
    op: ReviewOperation,
    assignment: Assignment,
    hit: Hit,
    payload: Mapping[str, Any],
) -> Record:
    """One review (see review_many): the final record; PlanRefused and HistoryError are
    raised (nothing was sent then)."""
    ((_assignment, result),) = review_many(engine, op, [(assignment, hit)], payload)
    if isinstance(result, Exception):
        raise result
    return result


@dataclass(frozen=True)
class BonusQuote:
    """A bonus before it is recorded: whom it pays, what it costs, what is already paid."""

    assignment: Assignment
    hit: Hit
    amount: Decimal
    #: MTurk's fee: 20% of the amount, at least $0.01
    fee: Decimal
    #: the balance's available amount (None: MTurk's answer did not say)
    available: Decimal | None
    #: bonuses ListBonusPayments shows for this assignment and its worker
    earlier: tuple[BonusPayment, ...] = ()
    #: bonus records of the history on this assignment and worker (this endpoint) that went
    #: through (an unsettled one makes the engine refuse a second: settle it first)
    recorded: tuple[Record, ...] = ()

    @property
    def total(self) -> Decimal:
        return self.amount + self.fee

    @property
    def worker(self) -> str:
        return self.assignment.worker_id

    @property
    def second(self) -> str:
        """The earlier bonus that makes this one a second ('' when there is none)."""
        return BONUS.earlier(self.worker, self.earlier, self.recorded)

    def at(self, amount: Decimal) -> BonusQuote:
        """The same bonus for another amount (the fee follows)."""
        return replace(self, amount=amount, fee=bonus_fee(amount))

    @property
    def short(self) -> str:
        """Why the balance cannot pay it ('' when it can)."""
        return BONUS.too_much(self.total, self.available)


def quote_bonus(
    service: TurkService,
    history: Any,
    endpoint: str,
    assignment_id: str,
    amount: Decimal,
    *,
    available: Decimal | None = None,
) -> BonusQuote:
    """Read what a bonus preview shows (GetAssignment, ListBonusPayments, the history and —
    unless `available` is given, read once for several — GetBalance); TurkError when MTurk
    cannot be read. Nothing is recorded or sent."""
    assignment, hit = service.get_assignment(assignment_id)
    earlier = tuple(
        p
        for p in service.list_bonus_payments(assignment_id=assignment_id)
        if p.worker_id == assignment.worker_id
    )
    if available is None:
        available = service.get_balance().available
    recorded = tuple(
        r
        for r, _seq in (
            history.intents_on(endpoint, bonus_subject(assignment_id)) if history else ()
        )
        if r.state.applied is True and r.data.get("worker_id") == assignment.worker_id
    )
    return BonusQuote(assignment, hit, amount, bonus_fee(amount), available, earlier, recorded)


def pay_bonus(
    engine: Engine,
    quote: BonusQuote,
    reason: str,
    *,
    token: str | None = None,
    allow_second: bool = False,
) -> Record:
    """Record the bonus of `quote` (one token, before sending), send it, settle it (by
    ListBonusPayments): the final record. PlanRefused / HistoryError: nothing was sent."""
    aid = quote.assignment.assignment_id
    record = engine.request(
        BONUS,
        quote.hit,
        token=token,
        subject=bonus_subject(aid),
        allow_second=allow_second,
        payload={
            "assignment_id": aid,
            "worker_id": quote.worker,
            "amount": str(quote.amount),
            "reason": reason,
        },
    )
    if not record.settled:
        engine.dispatch([record])
    final = engine.history.get(record.id)
    assert final is not None
    return final
