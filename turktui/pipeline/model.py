"""The pipeline's values: plans, outcomes, progress events, retry bounds and tokens."""

from __future__ import annotations

import random
import uuid
from dataclasses import dataclass, field
from datetime import datetime, timedelta, timezone

from turktui.domain.errors import TurkError
from turktui.domain.models import Hit
from turktui.domain.records import Record, State
from turktui.domain.rules import Cost, ExtensionRange, InputProblem

UTC = timezone.utc
TOKEN_PREFIX = "turktui-"
MAX_TOKEN_LENGTH = 64
#: MTurk honours a UniqueRequestToken for 24 hours. Re-send only well inside that window.
TOKEN_WINDOW = timedelta(hours=24)
RESEND_MARGIN = timedelta(minutes=15)
#: The local clock may be wrong (it was ahead when the request was sent, or it was set
#: since): judged by the local clock, the window is shortened by this much more; MTurk's
#: own clock (its `Date`, read when sending and now) must agree as well.
CLOCK_MARGIN = timedelta(hours=1)


def new_token() -> str:
    """A fresh UniqueRequestToken: 'turktui-' + 32 hex digits (40 chars, MTurk allows 64)."""
    return TOKEN_PREFIX + uuid.uuid4().hex


def check_token(token: str) -> str:
    """Validate an operator-supplied token (1–64 printable ASCII characters)."""
    if not token or len(token) > MAX_TOKEN_LENGTH:
        raise InputProblem(f"A request token must be 1 to {MAX_TOKEN_LENGTH} characters long.")
    if not token.isascii() or not token.isprintable() or " " in token:
        raise InputProblem("A request token may contain printable ASCII characters only.")
    return token


class PlanRefused(Exception):
    """The rules (or the session) refuse this extension: nothing will be sent."""

    def __init__(self, message: str, code: str = "rules") -> None:
        super().__init__(message)
        self.message = message
        self.code = code


@dataclass(frozen=True, slots=True)
class Plan:
    """A validated intent, not yet recorded or sent."""

    hit: Hit
    n: int
    token: str
    range: ExtensionRange
    cost: Cost | None
    new_max: int
    expire_at: datetime | None = None
    batch_id: str | None = None
    #: A top-up's target MaxAssignments: n is recomputed from MaxAssignments read just
    #: before sending (None: "add n" whatever the HIT has by then).
    target: int | None = None
    #: Send even though the HIT has another unsettled request (the operator confirmed it).
    allow_second: bool = False


@dataclass(frozen=True, slots=True)
class Backoff:
    """Bounded retries: at most `attempts` sends and `total` seconds of waiting."""

    attempts: int = 5
    base: float = 0.25
    factor: float = 2.0
    cap: float = 4.0
    total: float = 20.0
    jitter: float = 0.2

    def delay(self, retry: int, rng: random.Random) -> float:
        raw = min(self.cap, self.base * self.factor ** (retry - 1))
        return raw * (1 + self.jitter * (rng.random() * 2 - 1))


@dataclass(frozen=True, slots=True)
class Event:
    """Progress for a UI: kind is 'recorded', 'attempt', 'retry', 'answered', 'expiration',
    'refreshed' or 'done'."""

    kind: str
    record_id: int
    message: str
    attempt: int = 0


@dataclass(frozen=True, slots=True)
class Outcome:
    """What happened, as recorded. `hit` is the HIT as re-read afterwards (None if unread)."""

    record: Record
    hit: Hit | None
    message: str
    #: the other records of a combined request ("+N and more time"), each settled on its
    #: own, in the order they were sent
    more: tuple[Outcome, ...] = ()

    @property
    def state(self) -> State:
        return self.record.state

    @property
    def records(self) -> tuple[Record, ...]:
        """Every record of this request (one, or the parts of a combined request)."""
        return (self.record, *(o.record for o in self.more))

    @property
    def succeeded(self) -> bool:
        return all(r.state in (State.SUCCEEDED, State.RESOLVED_SUCCEEDED) for r in self.records)


@dataclass
class SendResult:
    state: State
    error_code: str = ""
    error_message: str = ""
    note: str = ""
    errors: list[TurkError] = field(default_factory=list)
