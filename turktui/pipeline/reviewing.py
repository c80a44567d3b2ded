"""What the command line (`approve`, `reject`, `bonus`) and the app's assignments view share:
the one path from an operator's review or bonus to a recorded request, and the figures their
confirmations show. Both read the same way, record the same way (one intent per
assignment) and send the same way; only the asking differs.

* `review_many(engine, op, pairs, payload, workers=, server=)`: approve/reject each of
  `pairs` as read: recorded a chunk per transaction, sent, confirmed (the HIT's listing)
  and settled as a group (`Engine.send_group`), one assignment or a thousand.
* `quote_bonus(service, history, endpoint, assignment_id, amount)`: the assignment's worker,
  the fee, the total, the balance and any earlier bonus for that assignment and worker
  (ListBonusPayments or the history): what a bonus preview shows, read before anything is
  recorded.
* `pay_bonus(engine, quote, reason, ...)`: record the bonus (one token), send it, settle it.
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, replace
from datetime import datetime
from decimal import Decimal
from typing import Any

from turktui.adapters.history import HistoryError
from turktui.domain.models import Assignment, BonusPayment, Hit
from turktui.domain.records import IntentBusy, Record
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
    server: datetime | None = None,
) -> list[tuple[Assignment, Record | PlanRefused | HistoryError]]:
    """Review `pairs` (each assignment as its caller just read it, with its HIT), each its
    own request: the assignment, its worker and, for an approval, the reward it pays.

    Planned from those reads (`server`: MTurk's time of them, None when unknown): the
    operation's rules on each (already in the asked-for status: done, nothing sent; its
    own refusals), no fresh read each — the request itself is MTurk's check. Then
    recorded, sent, confirmed and settled as a group (`Engine.send_group`: each chunk of
    requests recorded in ONE transaction before any of it is sent, a few commits and a HIT
    listing in all, not several each; one with an unsettled request on its assignment is
    refused). For each
    assignment, in the order given: its final record, or the PlanRefused / HistoryError
    that kept it from being sent."""
    history = engine.history
    ended: dict[str, PlanRefused | HistoryError] = {}
    if not pairs:
        return []
    endpoint = engine.env.endpoint_url
    try:
        busy = {
            r.subject: r
            for r in history.unsettled_for(endpoint, [a.assignment_id for a, _ in pairs])
        }
        seq = history.sequence()
    except HistoryError as exc:
        return [(a, exc) for a, _hit in pairs]
    now = engine.clock()
    rows: dict[str, dict[str, Any]] = {}
    for assignment, hit in pairs:
        aid = assignment.assignment_id
        if aid in busy:
            ended[aid] = PlanRefused(str(IntentBusy([busy[aid]])), "busy")
            continue
        if aid in rows:
            continue
        fields: dict[str, Any] = {"assignment_id": aid, "worker_id": assignment.worker_id}
        if op.target == "Approved" and hit.reward is not None:
            fields["amount"] = str(hit.reward)
        data = {**fields, **payload}
        try:
            row = engine.request_row(op, hit, subject=aid, payload=data)
        except PlanRefused as exc:
            ended[aid] = exc
            continue
        row.update(
            payload=json.dumps({**data, "read_seq": seq, "open_at_read": []}, sort_keys=True),
            read_at=now,
            read_at_server=server,
        )
        refused = op.refusal(assignment, data, server)
        if refused is not None:  # settled as it is recorded: nothing is sent
            row.update(
                state=refused.state,
                error_code=refused.code,
                error_message=refused.message.rstrip("."),
                note=str(refused.values.get("note", "")),
            )
        rows[aid] = row
    settled = {aid: row for aid, row in rows.items() if "state" in row}
    ids = _insert(engine, settled, ended) if settled else {}

    def failed(subject: str, exc: Exception) -> None:
        ended[subject] = exc  # type: ignore[assignment]

    ids.update(
        engine.send_group(
            op,
            [row for aid, row in rows.items() if aid not in settled],
            workers=workers,
            on_error=failed,
        )
    )
    finals = history.get_many(list(ids.values()))
    results: list[tuple[Assignment, Record | PlanRefused | HistoryError]] = []
    for assignment, _hit in pairs:
        aid = assignment.assignment_id
        if aid in ended:
            results.append((assignment, ended[aid]))
        else:
            results.append((assignment, finals[ids[aid]]))
    return results


def _insert(
    engine: Engine, rows: dict[str, dict[str, Any]], ended: dict[str, Any]
) -> dict[str, int]:
    """Record the rows in one transaction (one intent per assignment); when another run
    recorded one of them meanwhile, one by one. Their ids, by assignment."""
    history = engine.history
    try:
        ids = history.insert(list(rows.values()), now=engine.clock(), allow_second=False)
        return dict(zip(rows, ids, strict=True))
    except IntentBusy:
        pass
    except HistoryError as exc:
        ended.update(dict.fromkeys(rows, exc))
        return {}
    out: dict[str, int] = {}
    for aid, row in rows.items():
        try:
            (out[aid],) = history.insert([row], now=engine.clock(), allow_second=False)
        except IntentBusy as exc:
            ended[aid] = PlanRefused(str(exc), "busy")
        except HistoryError as exc:
            ended[aid] = exc
    return out


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
