"""Add assignments to a HIT: CreateAdditionalAssignmentsForHIT with the record's
UniqueRequestToken. Applied when GetHIT shows the MaxAssignments the record expected."""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal

from turktui.domain.models import Hit
from turktui.domain.records import ADD_ASSIGNMENTS, Record, State
from turktui.domain.rules import Cost, InputProblem, check_count, extension_range, format_money
from turktui.domain.service import TurkService
from turktui.domain.text import one_line
from turktui.pipeline.operations.base import HitOperation, NotSent, Prepared, Read, Verdict
from turktui.pipeline.operations.update_expiration import expiration_line


class AddAssignments(HitOperation):
    name = ADD_ASSIGNMENTS
    mturk_name = "CreateAdditionalAssignmentsForHIT"
    touches = frozenset({"max_assignments"})

    def prepare(self, record: Record, read: Read) -> Prepared | NotSent:
        """Plan from fresh numbers: a top-up's n is recomputed from its target; the rules are
        checked against MaxAssignments read just before sending."""
        hit: Hit = read.subject
        m = hit.max_assignments
        n = record.n
        if record.target is not None:
            n = record.target - m
            if n < 1:
                return NotSent(
                    State.REFUSED,
                    "nothing_to_do",
                    f"MaxAssignments read just before sending is {m:,}, already at the "
                    f"target {record.target:,}; nothing was sent.",
                    {"max_before": m, "expected_after": m + record.n},
                )
        note = ""
        if m != record.max_before:
            note = (
                f"MaxAssignments was {record.max_before:,} when planned and {m:,} just "
                "before sending; the request was made from the fresh value."
            )
            if record.target is not None:
                note = note[:-1] + f" (+{n:,} to reach {record.target:,})."
        try:
            check_count(n, extension_range(m, hit.created))
        except InputProblem as exc:
            return NotSent(
                State.REFUSED,
                "rules",
                f"{exc} (MaxAssignments read just before sending: {m:,}); nothing was sent.",
                {"max_before": m, "expected_after": m + record.n},
            )
        return Prepared({"n": n, "max_before": m, "expected_after": m + n}, note)

    def send(self, service: TurkService, record: Record) -> None:
        service.create_additional_assignments(record.hit_id, record.n, record.token)

    def confirm(self, record: Record, read: Read, processed: bool) -> Verdict:
        actual = read.subject.max_assignments
        if actual == record.expected_after:
            return Verdict(
                State.SUCCEEDED,
                f"Confirmed: MaxAssignments is {actual:,}.",
                {"actual_after": actual},
            )
        return Verdict(
            State.CONFLICT,
            f"{self.claimed(processed)}, but MaxAssignments is {actual:,}: before "
            f"{record.max_before:,}, expected {record.expected_after:,}. It is not recorded "
            "as a success; check the HIT.",
            {"actual_after": actual},
        )

    def replan(self, record: Record, read: Read) -> str | None:
        hit: Hit = read.subject
        if hit.max_assignments == record.expected_after:
            return None  # (applied: a re-send is answered "already processed")
        try:
            check_count(record.n, extension_range(hit.max_assignments, hit.created))
        except InputProblem as exc:
            return f"{exc} (MaxAssignments is now {hit.max_assignments:,})"
        return None

    def compare(self, record: Record, read: Read) -> Verdict:
        now_max = read.subject.max_assignments
        values = {"actual_after": now_max}
        if now_max == record.expected_after:
            return Verdict(
                State.RESOLVED_SUCCEEDED,
                f"Settled by comparison: MaxAssignments is {now_max:,}, the expected value "
                f"after adding {record.n:,}, so it went through.",
                values,
            )
        if now_max == record.max_before:
            return Verdict(
                State.RESOLVED_NOT_APPLIED,
                f"Settled by comparison: MaxAssignments is still {now_max:,}, the value "
                "before, so it was not applied.",
                values,
            )
        return Verdict(
            State.UNKNOWN,
            f"Cannot tell: {self.numbers(record, read)}; the HIT changed in other ways since. "
            "Check it by hand; turktui will not re-send.",
            values,
        )

    def what(self, record: Record) -> str:
        return f"+{record.n:,} on HIT {record.hit_id}"

    def tag(self, record: Record) -> str:
        return self.what(record)

    def done(self, record: Record) -> str:
        return (
            f"Added {record.n:,} assignment{'s' if record.n != 1 else ''} to HIT "
            f"{record.hit_id} (max {record.max_before:,} \u2192 {record.expected_after:,})."
        )

    def disagree(self, record: Record) -> str:
        actual = "?" if record.actual_after is None else f"{record.actual_after:,}"
        return f"before {record.max_before:,}, expected {record.expected_after:,}, actual {actual}"

    def numbers(self, record: Record, read: Read) -> str:
        return (
            f"MaxAssignments is {read.subject.max_assignments:,}; this request expected "
            f"{record.max_before:,} \u2192 {record.expected_after:,}"
        )


OPERATION = AddAssignments()


# -- words before sending: the CLI and the app's confirmation say the same ------------------
def cost_text(cost: Cost | None) -> str:
    """'$1.20 ($1.00 rewards + $0.20 fee, 20% fee …)', or why it is unknown."""
    if cost is None:
        return "unknown (the HIT's reward is unknown)"
    return (
        f"{format_money(cost.total)} ({format_money(cost.rewards)} rewards + "
        f"{format_money(cost.fee)} fee, {cost.tier})"
    )


def confirmation(
    hit: Hit,
    n: int,
    cost: Cost | None,
    expire_at: datetime | None,
    banner: str,
    now: datetime,
    balance: Decimal | None = None,
) -> list[str]:
    """What adding `n` assignments (and maybe time) will do, before it is sent."""
    new_max = hit.max_assignments + n
    lines = [
        f"{banner}: add {n:,} assignment{'s' if n != 1 else ''} to HIT {one_line(hit.hit_id)}",
        f"\u201c{one_line(hit.title, max_length=70)}\u201d",
        f"MaxAssignments {hit.max_assignments:,} \u2192 {new_max:,}.",
        f"Cost: {cost_text(cost)}.",
    ]
    if balance is not None:
        lines.append(f"Balance available: {format_money(balance)}.")
    if expire_at is not None:
        lines.append(expiration_line(hit, expire_at, now))
    elif hit.is_expired(now):
        lines.append("The HIT has expired: added assignments will not reopen it.")
    return lines
