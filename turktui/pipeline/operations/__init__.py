"""Operations: one module each; the registry maps a record's `operation` to its module.

A new operation is one module with an object implementing `base.Operation`, registered with
`register` (the package's own at import; a plugin or a test at run time). Records name their
operation in the history's `operation` column (schema 5); records made before it are given
the one they were made as (`turktui.domain.records.infer_operation`)."""

from __future__ import annotations

from turktui.domain.records import Record, infer_operation
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
    "conflict_words",
    "operation_label",
    "operation_of",
    "outcome_message",
    "register",
    "summary",
    "when",
]
