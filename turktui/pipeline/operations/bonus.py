"""Pay a bonus exactly once: SendBonus with one stable UniqueRequestToken per intent,
recorded before the first send, and a short reference derived from that token in the Reason
("… [tt:1a2b3c4d]"): ListBonusPayments shows nothing else that ties a payment to a request.

The fresh read is ListBonusPayments for the assignment (every page). A payment to the same
worker for the same assignment and amount carrying the reference is this intent's payment:
* before the first send: already paid, nothing sent;
* after a 200 or "already processed": confirmed only when the listing shows it;
* an unknown outcome (a dropped answer, a 5xx, a crash after sending) is re-sent with the
  same token only while MTurk honours it (24 hours by MTurk's clock; the engine checks),
  otherwise settled by the listing alone — never paid again on a guess."""

from __future__ import annotations

import hashlib
from collections.abc import Sequence
from decimal import Decimal
from typing import Any

from turktui.domain.errors import AssignmentNotFound, TurkError
from turktui.domain.models import BonusPayment
from turktui.domain.records import BONUS, Record, State
from turktui.domain.rules import bonus_fee, format_money
from turktui.domain.service import TurkService
from turktui.domain.text import one_line
from turktui.pipeline.operations.base import (
    Answer,
    NotSent,
    Prepared,
    Read,
    TokenOperation,
    Verdict,
    when,
)
from turktui.pipeline.operations.review import assignment_of


def reference(token: str) -> str:
    """The short reference a bonus's Reason carries ('tt:1a2b3c4d'), from its token."""
    return "tt:" + hashlib.sha256(token.encode("utf-8", "replace")).hexdigest()[:8]


def wire_reason(reason: str, token: str) -> str:
    """The Reason sent: the operator's text, then the reference in brackets."""
    return f"{reason} [{reference(token)}]"


def bonus_subject(assignment_id: str) -> str:
    """The one-intent key of a bonus (an assignment can also be approved meanwhile)."""
    return f"bonus:{assignment_id}"


def is_ours(payment: BonusPayment, record: Record) -> bool:
    """Is `payment` this record's: same assignment, worker and amount, and its reference?"""
    data = record.data
    return matches(
        payment,
        assignment_of(record),
        str(data.get("worker_id", "")),
        Decimal(str(data.get("amount", "0"))),
        record.token,
    )


def matches(
    payment: BonusPayment, assignment_id: str, worker_id: str, amount: Decimal, token: str
) -> bool:
    """The one test of "this payment is that intent's": assignment, worker, amount and the
    reference of its token in the Reason (ListBonusPayments names no token)."""
    return (
        payment.assignment_id == assignment_id
        and payment.worker_id == worker_id
        and payment.amount is not None
        and payment.amount == amount
        and f"[{reference(token)}]" in payment.reason
    )


class Bonus(TokenOperation):
    name = BONUS
    mturk_name = "SendBonus"
    touches = frozenset({"bonus"})
    noun = "the assignment's bonus payments"
    #: how the app names it (dialogs, results)
    title = "Bonus"
    #: the word on the button that sends it
    send_word = "Pay"

    def fetch(self, service: TurkService, record: Record) -> Any:
        return service.list_bonus_payments(assignment_id=assignment_of(record))

    def _ours(self, read: Read, record: Record) -> BonusPayment | None:
        return next((p for p in read.subject if is_ours(p, record)), None)

    def _earlier(self, read: Read, record: Record) -> str | None:
        """Why this intent may not be paid: the worker already has another bonus for the
        assignment (paid meanwhile, e.g. by a second process that checked before this one
        was recorded) and the operator did not confirm a second one. None: it may."""
        if record.data.get("allow_second"):
            return None
        worker, aid = str(record.data.get("worker_id", "")), assignment_of(record)
        other = next(
            (
                p
                for p in read.subject
                if p.worker_id == worker and p.assignment_id == aid and not is_ours(p, record)
            ),
            None,
        )
        if other is None:
            return None
        return (
            f"worker {worker} already has a bonus for assignment {aid} "
            f"({format_money(other.amount) if other.amount is not None else '?'} granted "
            f"{when(other.grant_time)}); another needs an explicit confirmation "
            "(--allow-second)"
        )

    def prepare(self, record: Record, read: Read) -> Prepared | NotSent:
        paid = self._ours(read, record)
        if paid is not None:
            return NotSent(
                State.SUCCEEDED,
                "",
                "",
                {"note": f"Already paid ({when(paid.grant_time)}); nothing was sent."},
            )
        earlier = self._earlier(read, record)
        if earlier is not None:
            return NotSent(State.REFUSED, "second", f"{earlier}; nothing was sent")
        return Prepared()

    def send(self, service: TurkService, record: Record) -> None:
        data = record.data
        service.send_bonus(
            str(data["worker_id"]),
            assignment_of(record),
            str(data["amount"]),
            wire_reason(str(data["reason"]), record.token),
            record.token,
        )

    def answer(self, error: TurkError) -> Answer:
        if isinstance(error, AssignmentNotFound):
            return "refused"  # not visible yet or unknown: nothing was paid
        return super().answer(error)

    def confirm(self, record: Record, read: Read, processed: bool) -> Verdict:
        paid = self._ours(read, record)
        if paid is not None:
            return Verdict(
                State.SUCCEEDED,
                f"Confirmed: ListBonusPayments shows it, granted {when(paid.grant_time)}.",
            )
        return Verdict(
            State.UNKNOWN,
            f"{self.claimed(processed)}, but ListBonusPayments does not show the payment "
            f"[{reference(record.token)}] yet; resolve will check again (never paying twice).",
        )

    def replan(self, record: Record, read: Read) -> str | None:
        if self._ours(read, record) is not None:
            return "ListBonusPayments already shows it paid"
        return self._earlier(read, record)

    def compare(self, record: Record, read: Read) -> Verdict:
        paid = self._ours(read, record)
        if paid is not None:
            return Verdict(
                State.RESOLVED_SUCCEEDED,
                f"Settled by ListBonusPayments: paid {when(paid.grant_time)} "
                f"[{reference(record.token)}].",
            )
        return Verdict(
            State.RESOLVED_NOT_APPLIED,
            f"Settled by ListBonusPayments (every page): no payment [{reference(record.token)}] "
            "to this worker for this assignment and amount, so it was not paid.",
        )

    def label(self, record: Record) -> str:
        return "bonus"

    def _amount(self, record: Record) -> str:
        return format_money(Decimal(str(record.data.get("amount", "0"))))

    def what(self, record: Record) -> str:
        return (
            f"bonus {self._amount(record)} to worker {record.data.get('worker_id', '?')} for "
            f"assignment {assignment_of(record)}"
        )

    def done(self, record: Record) -> str:
        return (
            f"Paid a bonus of {self._amount(record)} to worker "
            f"{record.data.get('worker_id', '?')} for assignment {assignment_of(record)} "
            f"[{reference(record.token)}]."
        )

    def disagree(self, record: Record) -> str:
        return f"expected a payment [{reference(record.token)}]"

    def numbers(self, record: Record, read: Read) -> str:
        return f"ListBonusPayments shows {len(read.subject):,} payment(s) for the assignment"

    # -- the words of a preview and its confirmation (the CLI's and the app's) ---------------
    def preview(
        self,
        worker: str,
        assignment_id: str,
        amount: Decimal,
        fee: Decimal,
        available: Decimal | None,
    ) -> str:
        """'Bonus $1.00 to worker W for assignment A: fee $0.20, total $1.20 (available …)'."""
        return (
            f"Bonus {format_money(amount)} to worker {worker} for assignment {assignment_id}: "
            f"fee {format_money(fee)}, total {format_money(amount + fee)} "
            f"(available {format_money(available)})"
        )

    def earlier(
        self,
        worker: str,
        payments: Sequence[BonusPayment],
        records: Sequence[Record] = (),
    ) -> str:
        """The earlier bonus a new one would be second to ('' when there is none): what
        ListBonusPayments shows, else what the history recorded (paid or maybe paid)."""
        if payments:
            first = payments[0]
            return (
                f"worker {worker} already has {len(payments)} bonus(es) for this assignment "
                f"(e.g. {format_money(first.amount)} granted {when(first.grant_time)}, "
                f"reason {first.reason!r})"
            )
        if records:
            first_record = records[0]
            return (
                f"the history has {len(records)} bonus request(s) to worker {worker} for this "
                f"assignment (e.g. #{first_record.id}, {self._amount(first_record)}, "
                f"{first_record.state.label})"
            )
        return ""

    #: what it means for the money, said before asking
    consequence = (
        "A bonus is paid at once from the balance, plus MTurk's fee (20%, at least $0.01); "
        "it cannot be taken back."
    )

    def ask(self, quotes: Sequence[Any]) -> str:
        """What the confirmation restates: 'Pay 2 bonuses of $1.00: $2.40 with MTurk's fee'
        (`quotes`: each with its `amount` and `total`)."""
        total = sum((q.total for q in quotes), Decimal(0))
        amounts = {q.amount for q in quotes}
        each = f" of {format_money(next(iter(amounts)))}" if len(amounts) == 1 else ""
        n = len(quotes)
        return (
            f"Pay {n:,} bonus{'es' if n != 1 else ''}{each}: {format_money(total)} with MTurk's fee"
        )

    def tally(self, done: int, total: int) -> str:
        """The result of several: 'Paid 2 of 3 bonuses.'"""
        return f"Paid {done:,} of {total:,} bonus{'es' if total != 1 else ''}."

    def too_much(self, total: Decimal, available: Decimal | None) -> str:
        """Why the balance cannot pay `total` ('' when it can)."""
        if available is None:
            return "the available balance could not be read"
        if total <= available:
            return ""
        return (
            f"{format_money(total)} (bonus + fee) is more than the available balance "
            f"{format_money(available)}"
        )


OPERATION = Bonus()


def confirmation(
    assignment_id: str, worker: str, amount: Decimal, available: Decimal | None, banner: str
) -> str:
    """What paying this bonus will do, before it is sent (the preview, with the banner)."""
    preview = OPERATION.preview(
        one_line(worker), one_line(assignment_id), amount, bonus_fee(amount), available
    )
    return f"{banner}: {preview}"
