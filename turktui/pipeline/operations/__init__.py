"""Operations: one module each; the registry maps a record's `operation` to its module.

A new operation is one module with an object implementing `base.Operation`, registered with
`register` (the package's own at import; a plugin or a test at run time). Records name their
operation in the history's `operation` column (schema 5); records made before it are given
the one they were made as (`turktui.domain.records.infer_operation`)."""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal

from turktui.domain.bulk import BulkPreview
from turktui.domain.records import Record, infer_operation
from turktui.domain.rules import format_money, is_expire_now
from turktui.domain.text import one_line
from turktui.pipeline.model import Plan
from turktui.pipeline.operations import (
    add_assignments,
    approve,
    bonus,
    expire_now,
    reject,
    update_expiration,
)
from turktui.pipeline.operations.base import (
    LOCAL_REFUSALS,
    Answer,
    Fetched,
    HitOperation,
    NotSent,
    Operation,
    Prepared,
    Read,
    TokenOperation,
    Verdict,
    summary,
    when,
)

REGISTRY: dict[str, Operation] = {}


def register(op: Operation) -> Operation:
    """Add (or replace) an operation under its name; returns it."""
    REGISTRY[op.name] = op
    return op


for _module in (add_assignments, update_expiration, expire_now, approve, reject, bonus):
    register(_module.OPERATION)

ADD_ASSIGNMENTS = add_assignments.OPERATION
UPDATE_EXPIRATION = update_expiration.OPERATION
EXPIRE_NOW = expire_now.OPERATION
APPROVE = approve.OPERATION
REJECT = reject.OPERATION
BONUS = bonus.OPERATION


class UnknownOperation(KeyError):
    """A record names an operation this version does not know (a newer turktui's)."""


def operation_of(record: Record) -> Operation:
    name = record.operation or infer_operation(record.n, record.expire_at, record.target)
    try:
        return REGISTRY[name]
    except KeyError:
        raise UnknownOperation(
            f"request #{record.id} is a {record.operation!r} request, which this version of "
            "turktui does not know; settle it with the version that made it"
        ) from None


def operation_label(record: Record) -> str:
    """The operation's few characters for a listing ('+5', 'time', 'expire', ...)."""
    try:
        return operation_of(record).label(record)
    except UnknownOperation:
        return record.operation


def conflict_words(record: Record) -> str:
    """What disagreed, in the operation's words ('before 5, expected 7, actual 5')."""
    try:
        return operation_of(record).disagree(record)
    except UnknownOperation:
        return ""


def outcome_message(record: Record) -> str:
    """The one-paragraph outcome shown by the CLI, the app and the history."""
    message = summary(operation_of(record), record.state, record)
    if record.note:
        message += " " + record.note
    if record.expiry_state == "failed":  # the expiration tail of a record before schema 5
        message += f" The expiration was NOT updated: {record.expiry_error}"
    elif record.expiry_state == "conflict":
        message += f" Expiration CONFLICT: {record.expiry_error}."
    elif record.expiry_state == "unknown":
        message += f" Expiration unknown: {record.expiry_error}."
    return message


def confirmation(
    plan: Plan, banner: str, now: datetime, balance: Decimal | None = None, *, real: bool = False
) -> list[str]:
    """What a request to a HIT (+N, +N and time, add time, expire now) will do, before it is
    sent, in its operation's words: the lines the CLI prints and the app's confirmation
    shows. `real`: the endpoint spends real money (production; a remote custom one)."""
    hit = plan.hit
    if plan.n:
        lines = add_assignments.confirmation(
            hit, plan.n, plan.cost, plan.expire_at, banner, now, balance
        )
        if real:
            lines.append("This spends real money and real workers will see it.")
        return lines
    assert plan.expire_at is not None, "a plan without assignments changes the expiration"
    if is_expire_now(plan.expire_at):
        return expire_now.confirmation([hit], banner, now)
    return update_expiration.confirmation(hit, plan.expire_at, banner, now)


def batch_confirmation(preview: BulkPreview, banner: str) -> list[str]:
    """What a batch (+N to each, top-ups, time to each) will do, before it is sent: the
    totals restated, in the lines `turktui extend HIT… --add N` prints and the app's
    confirmation shows (`batch_details`: its first HITs, under them)."""
    count = preview.send_count
    what = f"+{preview.total_assignments:,} assignments in all"
    if preview.add_seconds is not None:
        what += f"; {preview.time_count:,} new expiration{'s' if preview.time_count != 1 else ''}"
    balance = format_money(preview.balance) if preview.balance is not None else "unknown"
    unknown = "" if preview.cost_known else " plus HITs with an unknown reward"
    lines = [
        f"{banner}: {preview.describe()}",
        "",
        f"Send {count:,} request{'s' if count != 1 else ''} (one token per HIT): {what}.",
        f"Total cost: {format_money(preview.total_cost)}{unknown}; balance {balance}.",
    ]
    if preview.refused_count or preview.nothing_count:
        lines.append(
            f"Not sent: {preview.refused_count:,} refused, "
            f"{preview.nothing_count:,} with nothing to do."
        )
    return lines


def batch_details(preview: BulkPreview, most: int = 6) -> list[str]:
    """The first `most` HITs of a batch's confirmation (under its totals)."""
    lines = []
    for line in preview.to_send[:most]:
        lines.append(f"  {one_line(line.hit.hit_id)}  {line.change_text}  {line.cost_text}")
        if line.expire_at is not None:
            lines.append(f"    new expiration {line.expiration_text}")
    if preview.send_count > most:
        lines.append(f"  \u2026 and {preview.send_count - most:,} more")
    return lines


__all__ = [
    "ADD_ASSIGNMENTS",
    "APPROVE",
    "BONUS",
    "EXPIRE_NOW",
    "LOCAL_REFUSALS",
    "REGISTRY",
    "REJECT",
    "UPDATE_EXPIRATION",
    "Answer",
    "Fetched",
    "HitOperation",
    "NotSent",
    "Operation",
    "Prepared",
    "Read",
    "TokenOperation",
    "UnknownOperation",
    "Verdict",
    "confirmation",
    "conflict_words",
    "operation_label",
    "operation_of",
    "outcome_message",
    "register",
    "summary",
    "when",
]
