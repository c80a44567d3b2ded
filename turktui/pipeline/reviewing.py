"""What the command line (`approve`, `reject`, `bonus`) and the app's assignments view share:
the one path from an operator's review or bonus to a recorded request, and the figures their
confirmations show. Both read the same way, record the same way (`Engine.request`, one
intent per assignment) and send the same way (`Engine.dispatch`); only the asking differs.

* `approval_charge(pairs)`: what approving the Submitted ones charges (reward + MTurk's fee
  each: fees are charged at approval; nothing is charged for a rejection).
* `review(engine, op, assignment, hit, payload)`: record one approve/reject, send it, settle
  it; the final record.
* `quote_bonus(service, history, endpoint, assignment_id, amount)`: the assignment's worker,
  the fee, the total, the balance and any earlier bonus for that assignment and worker
  (ListBonusPayments or the history): what a bonus preview shows, read before anything is
  recorded.
* `pay_bonus(engine, quote, reason, ...)`: record the bonus (one token), send it, settle it.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, replace
from decimal import Decimal
from typing import Any

from turktui.domain.models import Assignment, BonusPayment, Hit
from turktui.domain.records import Record
from turktui.domain.rules import bonus_fee, extension_cost
from turktui.domain.service import TurkService
from turktui.pipeline.engine import Engine
from turktui.pipeline.operations import BONUS
from turktui.pipeline.operations.bonus import bonus_subject
from turktui.pipeline.operations.review import ReviewOperation


def approval_charge(
    pairs: Iterable[tuple[Assignment, Hit]], *, override_rejection: bool = False
) -> Decimal:
    """What approving `pairs` charges: each Submitted assignment (and, with the override,
    each Rejected one) its HIT's reward plus MTurk's fee (paid from the funds held)."""
    payable = ("Submitted", "Rejected") if override_rejection else ("Submitted",)
    return sum(
        (
            extension_cost(hit.reward, 1, hit.max_assignments).total
            for a, hit in pairs
            if a.status in payable and hit.reward is not None
        ),
        Decimal(0),
    )


def review(
    engine: Engine,
    op: ReviewOperation,
    assignment: Assignment,
    hit: Hit,
    payload: Mapping[str, Any],
) -> Record:
    """Record one review of `assignment` (its own intent: the assignment, its worker and,
    for an approval, the reward it pays), send it, settle it: the final record. PlanRefused
    (another request on it is unsettled) and HistoryError go to the caller: nothing was
    sent then."""
    aid = assignment.assignment_id
    fields: dict[str, Any] = {"assignment_id": aid, "worker_id": assignment.worker_id}
    if op.target == "Approved" and hit.reward is not None:
        fields["amount"] = str(hit.reward)
    record = engine.request(op, hit, subject=aid, payload={**fields, **payload})
    engine.dispatch([record])
    final = engine.history.get(record.id)
    assert final is not None
    return final


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
