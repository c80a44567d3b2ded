"""What every operation module provides, and the words all of them share.

An operation is one module (add_assignments.py, update_expiration.py, expire_now.py, and
the ones to come) holding one object that implements `Operation`. The engine's one loop —
record → send → confirm → settle — asks it, in order:

* `fetch(service, record)`: the fresh read of the operation's subject (GetHIT for the HIT
  operations; an assignment for approve/bonus), made before the first send, to confirm and
  to settle (`Fetched(subject, hit)` when the answer shows the HIT too). The engine adds
  MTurk's time of that answer (`Read.server`).
* `prepare(record, read)`: plan against that read (rules, ranges, the fresh numbers):
  `Prepared` (fields to record before sending) or `NotSent` (why nothing may be sent);
* `send(service, record)`: the request with its token (a retry sends the same request);
* `answer(error)`: "applied" (the token was already processed), "refused" or "error";
* `confirm(record, read, processed)`: what must hold afterwards, judged on a fresh read;
* `replan(record, read)`: before a re-send of an unsettled record: why it must not be sent
  now (None: it may), against a fresh read and MTurk's time;
* `compare(record, read)`: settle an unknown outcome from what MTurk shows (when no other
  request on the subject explains a change);
* its words: `label`, `what`, `done`, `disagree`, `numbers`.

Pure: no I/O except through the `service` handed to `fetch` and `send`.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime, timezone
from typing import Any, Literal, Protocol

from turktui.domain.errors import RequestRefused, TokenAlreadyProcessed, TurkError
from turktui.domain.models import Hit
from turktui.domain.records import Record, State
from turktui.domain.service import TurkService

UTC = timezone.utc
Answer = Literal["applied", "refused", "error"]


@dataclass(frozen=True, slots=True)
class Read:
    """A fresh read of a subject: what MTurk returned, MTurk's time of that answer (its
    `Date`; None when it carried none) and the local clock (recorded, never decisive)."""

    subject: Any
    server: datetime | None
    local: datetime
    #: the subject's HIT as this answer showed it (the subject itself for the HIT
    #: operations; GetAssignment's HIT for approve/reject), else None
    hit: Hit | None = None


@dataclass(frozen=True, slots=True)
class Fetched:
    """What `fetch` returns when its answer also shows the subject's HIT (GetAssignment):
    the engine then needs no GetHIT to refresh it."""

    subject: Any
    hit: Hit


@dataclass(frozen=True, slots=True)
class Prepared:
    """Fields to record before sending (the fresh numbers), and a note about them."""

    values: Mapping[str, Any] = field(default_factory=dict)
    note: str = ""


@dataclass(frozen=True, slots=True)
class NotSent:
    """Nothing may be sent: the record settles in `state` (refused/failed) with why."""

    state: State
    code: str
    message: str
    values: Mapping[str, Any] = field(default_factory=dict)


@dataclass(frozen=True, slots=True)
class Verdict:
    """A judgement on a fresh read: the state, a note for the record, fields to record."""

    state: State
    note: str
    values: Mapping[str, Any] = field(default_factory=dict)


class Operation(Protocol):
    """One money-moving (or work-stopping) MTurk operation."""

    #: the registry key, stored in the history's `operation` column
    name: str
    #: the MTurk operation, as attempts are recorded
    mturk_name: str
    #: what it changes on its subject; other requests touching none of these never make a
    #: comparison ambiguous
    touches: frozenset[str]

    def fetch(self, service: TurkService, record: Record) -> Any: ...

    def prepare(self, record: Record, read: Read) -> Prepared | NotSent: ...

    def send(self, service: TurkService, record: Record) -> None: ...

    def answer(self, error: TurkError) -> Answer: ...

    def confirm(self, record: Record, read: Read, processed: bool) -> Verdict: ...

    def replan(self, record: Record, read: Read) -> str | None: ...

    def compare(self, record: Record, read: Read) -> Verdict: ...

    def label(self, record: Record) -> str: ...

    def what(self, record: Record) -> str: ...

    def done(self, record: Record) -> str: ...

    def disagree(self, record: Record) -> str: ...

    def numbers(self, record: Record, read: Read) -> str: ...

    def tag(self, record: Record) -> str: ...

    noun: str


class TokenOperation:
    """The answers shared by token-protected operations (a base for the modules)."""

    name = ""
    mturk_name = ""
    touches: frozenset[str] = frozenset()

    def answer(self, error: TurkError) -> Answer:
        if isinstance(error, TokenAlreadyProcessed):
            return "applied"
        if isinstance(error, RequestRefused):
            return "refused"
        return "error"

    def label(self, record: Record) -> str:
        """A few characters for a listing ('+5', 'time', 'expire')."""
        return record.change_label

    #: how its subject is named in sentences ("the HIT", "the assignment")
    noun = "the HIT"

    def what(self, record: Record) -> str:
        return f"{self.label(record)} on {record.subject or record.hit_id}"

    def tag(self, record: Record) -> str:
        """`what`, as it reads after "Not sent"/"MTurk refused" ('(expire HIT … now)')."""
        return f"({self.what(record)})"

    def claimed(self, processed: bool) -> str:
        return (
            "MTurk reported the token as already processed"
            if processed
            else "MTurk accepted the request"
        )


class HitOperation(TokenOperation):
    """An operation whose subject is a HIT: its fresh read is GetHIT."""

    def fetch(self, service: TurkService, record: Record) -> Any:
        return service.get_hit(record.hit_id)


def when(moment: datetime | None) -> str:
    """A moment as operators read it in notes: '2026-12-07 12:00:00 UTC'."""
    if moment is None:
        return "unknown"
    return moment.astimezone(UTC).strftime("%Y-%m-%d %H:%M:%S UTC")


#: error codes of requests turktui itself did not send (nothing was sent)
LOCAL_REFUSALS = ("rules", "nothing_to_do", "expiration", "skipped", "second")


def summary(op: Operation, state: State, record: Record) -> str:
    """One line for `record` in `state`: the same sentences for every operation, with the
    operation's own words for what was asked, what success means and what disagreed."""
    what, tag = op.what(record), op.tag(record)
    return {
        State.SUCCEEDED: op.done(record),
        State.RESOLVED_SUCCEEDED: f"Request #{record.id} ({what}) went through.",
        State.RESOLVED_NOT_APPLIED: f"Request #{record.id} ({what}) was not applied.",
        State.REFUSED: (
            f"Not sent {tag}: {record.error_message}."
            if record.error_code in LOCAL_REFUSALS
            else f"MTurk refused {tag}: {record.error_message or record.error_code}"
        ),
        State.FAILED: f"Could not send {tag}: {record.error_message}. Nothing was applied.",
        State.UNKNOWN: f"Outcome of {tag} is unknown (request #{record.id}).",
        State.CONFLICT: f"CONFLICT on request #{record.id} ({what}): MTurk's answer and "
        f"{op.noun} disagree ({op.disagree(record)}).",
        State.SENDING: f"Request #{record.id} ({what}) is being sent.",
        State.PLANNED: f"Request #{record.id} ({what}) is planned.",
    }[state]
