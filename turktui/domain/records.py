"""Request records: what was asked, with which token, and how it ended. Pure types.

The history store (turktui.adapters.history) persists them; the pipeline moves them
between states; the UI and CLI show them."""

from __future__ import annotations

import functools
import json
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timezone
from enum import Enum
from typing import Any

UTC = timezone.utc


class State(str, Enum):
    """Where a request is in its life. Unsettled states need `resolve`."""

    PLANNED = "planned"  # recorded, not sent yet
    SENDING = "sending"  # at least one attempt started; outcome not recorded yet
    SUCCEEDED = "succeeded"
    REFUSED = "refused"  # MTurk (or the rules) said no: nothing changed
    FAILED = "failed"  # a service error where nothing was applied
    UNKNOWN = "unknown"  # may or may not have been applied
    RESOLVED_SUCCEEDED = "resolved_succeeded"  # settled later: it was applied
    RESOLVED_NOT_APPLIED = "resolved_not_applied"  # settled later: it was not applied
    #: MTurk's answer and the HIT disagree with what the record expected (e.g. "already
    #: processed" while MaxAssignments shows no change): needs the operator, never a success.
    CONFLICT = "conflict"

    @property
    def settled(self) -> bool:
        return self not in UNSETTLED

    @property
    def applied(self) -> bool | None:
        """True/False when known, None when it may or may not have been applied."""
        if self in (State.SUCCEEDED, State.RESOLVED_SUCCEEDED):
            return True
        if self in (State.REFUSED, State.FAILED, State.RESOLVED_NOT_APPLIED, State.PLANNED):
            return False
        return None  # unknown, sending, conflict

    @property
    def label(self) -> str:
        return self.value.replace("_", " ")


UNSETTLED = (State.PLANNED, State.SENDING, State.UNKNOWN)
#: States that may still change MaxAssignments (or did, or may have): an intent that holds
#: its HIT. Settled-not-applied states do not.
NOT_APPLIED = (State.REFUSED, State.FAILED, State.RESOLVED_NOT_APPLIED)


class StateChanged(Exception):
    """A compare-and-set found the record no longer in the state it was read in (another
    thread or process changed it): nothing was written."""

    def __init__(self, record_id: int, expected: Iterable[State], actual: State | None) -> None:
        exp = "/".join(s.value for s in expected)
        now = actual.value if actual is not None else "missing"
        super().__init__(
            f"request #{record_id} changed meanwhile (expected {exp}, now {now}); "
            "nothing was written"
        )
        self.record_id = record_id
        self.actual = actual


class IntentBusy(Exception):
    """A HIT already has an unsettled request in the history (one intent per HIT at a
    time): nothing was recorded. `records` are the unsettled ones."""

    def __init__(self, records: Sequence[Record]) -> None:
        first = records[0]
        hits = sorted({r.hit_id for r in records})
        what = (
            (
                f"HIT {first.hit_id} already has an unsettled request #{first.id} "
                f"({first.state.label}, +{first.n:,}, max {first.max_before:,} → "
                f"{first.expected_after:,}; {holder(first)})"
            )
            if len(hits) == 1
            else (
                f"{len(hits):,} HITs already have unsettled requests (e.g. #{first.id} on HIT "
                f"{first.hit_id}, {first.state.label})"
            )
        )
        super().__init__(what)
        self.records = list(records)


STATE_VALUES = frozenset(state.value for state in State)


@dataclass(frozen=True, slots=True)
class Attempt:
    """One request sent to MTurk for a record (extension or expiration update)."""

    number: int
    at: datetime
    operation: str
    outcome: str  # "ok", "error", "started"
    error_code: str = ""
    error_message: str = ""
    duration: float | None = None


@dataclass(frozen=True, slots=True)
class Record:
    """One intent to add assignments to one HIT, with everything needed to settle it later."""

    id: int
    created: datetime
    updated: datetime
    env_kind: str
    endpoint: str
    profile: str | None
    hit_id: str
    hit_title: str
    n: int
    token: str
    max_before: int
    expected_after: int
    state: State
    expire_at: datetime | None = None
    error_code: str = ""
    error_message: str = ""
    attempt_count: int = 0
    first_sent: datetime | None = None
    duration: float | None = None
    batch_id: str | None = None
    expiry_state: str = ""  # "", "succeeded", "failed", "skipped"
    expiry_error: str = ""
    note: str = ""
    attempts: tuple[Attempt, ...] = field(default=())
    owner: str = ""  # 'host|pid|start' of the process sending it ('' before schema 3)
    actual_after: int | None = None  # MaxAssignments GetHIT showed when settling
    target: int | None = None  # a top-up's target MaxAssignments (n is recomputed from it)
    read_at: datetime | None = None  # when max_before was read from GetHIT (local clock)
    read_at_server: datetime | None = None  # the same moment by MTurk's `Date` header
    expiry_actual: datetime | None = None  # the Expiration GetHIT showed (expiry conflict)
    #: the operation (a name in turktui.pipeline.operations.REGISTRY; schema 5)
    operation: str = ""
    #: the operation's own fields, as JSON text (`data` reads it)
    payload: str = "{}"
    #: the one-intent key: the HIT for the HIT operations ('' = hit_id)
    subject: str = ""
    #: the records of one combined request ("+N and more time") share it
    group_id: str | None = None
    #: who made it (a configured name, default user@host; schema 6)
    operator: str = ""
    #: until when its holder's lease keeps it live (a shared history, the database's clock)
    lease_until: datetime | None = None
    #: fields of the stored row that could not be read ("" = none): the record is shown as
    #: damaged, with neutral values in those fields, and never crashes a listing
    damaged: str = ""

    @property
    def data(self) -> dict[str, Any]:
        """The payload as a dict ({} when absent or unreadable): a copy of its one parse
        (a record's payload is read many times while it is sent and shown)."""
        return dict(_payload(self.payload))

    @property
    def settled(self) -> bool:
        return self.state.settled

    @property
    def expiry_only(self) -> bool:
        """An expiration change alone (expire now, add time): no assignments are added, the
        record's main state is the UpdateExpirationForHIT outcome."""
        return self.n == 0 and self.expire_at is not None and self.target is None

    @property
    def change_label(self) -> str:
        """What the request changes, in a few characters: '+5', 'expire', 'time',
        '+5 +time' (assignments and a later expiration), '+5 expire'."""
        if self.expire_at is None:
            return f"+{self.n:,}"
        what = "expire" if self.expire_at.timestamp() <= 0 else "time"
        if self.n == 0 and self.target is None:
            return what
        return f"+{self.n:,} " + ("+time" if what == "time" else what)


@functools.lru_cache(maxsize=4096)
def _payload(text: str) -> dict[str, Any]:
    """A payload's JSON object, parsed once ({} when absent or unreadable). Callers get a
    copy (`Record.data`): never change this one."""
    try:
        value = json.loads(text or "{}")
    except ValueError:
        return {}
    return value if isinstance(value, dict) else {}


#: Operation names of the records made before schema 5 (and by imports that name none).
ADD_ASSIGNMENTS = "add_assignments"
UPDATE_EXPIRATION = "update_expiration"
EXPIRE_NOW = "expire_now"
APPROVE = "approve"
REJECT = "reject"
BONUS = "bonus"


def infer_operation(n: int, expire_at: datetime | None, target: int | None) -> str:
    """The operation a record without one was made as (the same rule as migration 5)."""
    if n == 0 and expire_at is not None and target is None:
        return EXPIRE_NOW if expire_at.timestamp() <= 0 else UPDATE_EXPIRATION
    return ADD_ASSIGNMENTS


class OwnedElsewhere(StateChanged):
    """The record belongs to another process that is still running: leave it alone."""

    def __init__(self, record_id: int, owner: str) -> None:
        Exception.__init__(
            self,
            f"request #{record_id} is being handled by another running "
            f"process ({describe_owner(owner)}); it was left alone",
        )
        self.record_id = record_id
        self.actual = None
        self.owner = owner


def holder(record: Record) -> str:
    """Who holds a record and since when: 'recorded by pid 4242 on ops-2 at 2026-06-15
    12:00:00 UTC' (told to the operator a one-intent rule turned away)."""
    who = describe_owner(record.owner) if record.owner else "an unknown process"
    if record.operator:
        who = f"{record.operator} ({who})"
    return f"recorded by {who} at {record.created.astimezone(UTC):%Y-%m-%d %H:%M:%S} UTC"


def describe_owner(owner: str) -> str:
    parts = owner.split("|")
    if len(parts) == 3:
        return f"pid {parts[1]} on {parts[0]}"
    return owner or "unknown"


def record_to_json(record: Record) -> dict[str, Any]:
    """A JSON-ready dict (ISO times, state as text)."""

    def iso(moment: datetime | None) -> str | None:
        return None if moment is None else moment.astimezone(UTC).isoformat()

    return {
        "id": record.id,
        "created": iso(record.created),
        "updated": iso(record.updated),
        "environment": record.env_kind,
        "endpoint": record.endpoint,
        "profile": record.profile,
        "hit_id": record.hit_id,
        "hit_title": record.hit_title,
        "n": record.n,
        "change": record.change_label,
        "token": record.token,
        "max_before": record.max_before,
        "expected_after": record.expected_after,
        "expire_at": iso(record.expire_at),
        "state": record.state.value,
        "error_code": record.error_code,
        "error_message": record.error_message,
        "attempt_count": record.attempt_count,
        "first_sent": iso(record.first_sent),
        "duration": record.duration,
        "batch_id": record.batch_id,
        "expiry_state": record.expiry_state,
        "expiry_error": record.expiry_error,
        "note": record.note,
        "owner": describe_owner(record.owner) if record.owner else None,
        "actual_after": record.actual_after,
        "target": record.target,
        "read_at": iso(record.read_at),
        "read_at_server": iso(record.read_at_server),
        "expiry_actual": iso(record.expiry_actual),
        "operation": record.operation,
        "group_id": record.group_id,
        "operator": record.operator,
        #: what it acts on (the HIT; an assignment; 'bonus:<assignment>') and the
        #: operation's own fields (an assignment's worker, a bonus's amount and reason)
        "subject": record.subject or record.hit_id,
        "data": record.data,
        "attempts": [
            {
                "number": a.number,
                "at": iso(a.at),
                "operation": a.operation,
                "outcome": a.outcome,
                "error_code": a.error_code,
                "error_message": a.error_message,
                "duration": a.duration,
            }
            for a in record.attempts
        ],
    }


def dumps(obj: Any) -> str:
    return json.dumps(obj, ensure_ascii=False, sort_keys=False)
