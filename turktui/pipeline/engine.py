"""The request lifecycle: plan → record → send → record outcome → resolve.

Safety rules this module exists to keep:

* One operator intent = one `UniqueRequestToken`. Every retry of that intent reuses it, so
  MTurk applies it at most once (within its 24-hour idempotency window).
* The record is committed to the history *before* anything is sent, and every attempt and
  the final outcome are recorded, so no request is ever sent that the history does not know.
* When the outcome cannot be known (the answer was lost), the record says "unknown" and
  `resolve` settles it later: by re-sending with the same token inside the 24-hour window,
  and after it only by comparing MaxAssignments (never a blind re-send).

The engine is synchronous and thread-agnostic (the UI runs it in a worker thread); it talks
to MTurk only through `turktui.adapters.mturk.MTurkService` (duck-typed) and never imports
textual or boto3.
"""

from __future__ import annotations

import contextlib
import random
import threading
import time
import uuid
from collections.abc import Callable, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from datetime import datetime, timedelta, timezone
from typing import Any

from turktui.adapters.history import (
    HistoryError,
    HistoryStore,
    OutcomeNotRecorded,
    current_owner,
    owner_alive,
)
from turktui.domain.environment import Environment
from turktui.domain.errors import (
    RequestRefused,
    Throttled,
    TokenAlreadyProcessed,
    TurkError,
    UnexpectedResponse,
)
from turktui.domain.models import Hit
from turktui.domain.records import (
    NOT_APPLIED,
    IntentBusy,
    Record,
    State,
    StateChanged,
    describe_owner,
)
from turktui.domain.rules import (
    Cost,
    ExtensionRange,
    InputProblem,
    check_count,
    check_expiration,
    expiration_matches,
    extension_cost,
    extension_range,
    is_expire_now,
)
from turktui.pipeline.operations import (
    ADD_ASSIGNMENTS,
    EXPIRE_NOW_TOLERANCE,
    UPDATE_EXPIRATION,
)
from turktui.pipeline.pacing import AdaptiveRate
from turktui.pipeline.policy import needs_attention as needs_attention  # (re-exported)

UTC = timezone.utc
OP_EXTEND = ADD_ASSIGNMENTS.name
OP_EXPIRE = UPDATE_EXPIRATION.name
OP_GET = "GetHIT"
TOKEN_PREFIX = "turktui-"
MAX_TOKEN_LENGTH = 64
#: MTurk honours a UniqueRequestToken for 24 hours. Re-send only well inside that window.
TOKEN_WINDOW = timedelta(hours=24)
RESEND_MARGIN = timedelta(minutes=15)
#: The local clock may be wrong (it was ahead when the request was sent, or it was set
#: since): judged by the local clock alone, the window is shortened by this much more. When
#: MTurk's `Date` header was recorded, MTurk's own clock must agree as well.
CLOCK_MARGIN = timedelta(hours=1)


class _Flight:
    """One tracked operation; `attach` names its history record once there is one."""

    __slots__ = ("history", "hit_id", "record_id")

    def __init__(self) -> None:
        self.history: Any = None
        self.record_id: int | None = None
        self.hit_id = ""


class _InFlight:
    """Counts engine operations between "about to send" and "outcome recorded", so that a
    process told to stop (the terminal hung up, a signal, quitting) can let them finish
    recording first, say which HITs they are for, and record the ones it cannot wait for
    as unknown (`mark_unknown`) instead of leaving them "sending"."""

    def __init__(self) -> None:
        self._cond = threading.Condition()
        self._count = 0
        self._flights: list[_Flight] = []
        #: flights left by KeyboardInterrupt/SystemExit (a signal): their records may still
        #: say "sending"
        self._interrupted: list[_Flight] = []
        self._local = threading.local()

    @contextlib.contextmanager
    def track(self) -> Any:
        flight = _Flight()
        with self._cond:
            self._count += 1
            self._flights.append(flight)
        outer = getattr(self._local, "flight", None)
        self._local.flight = flight
        try:
            yield flight
        except BaseException as exc:
            if not isinstance(exc, Exception):
                with self._cond:
                    self._interrupted.append(flight)
            raise
        finally:
            self._local.flight = outer
            with self._cond:
                self._count -= 1
                self._flights.remove(flight)
                self._cond.notify_all()

    def attach(self, history: Any, record_id: int, hit_id: str) -> None:
        """Name the record the current thread's operation is about (called by the engine)."""
        flight = getattr(self._local, "flight", None)
        if flight is not None:
            flight.history, flight.record_id, flight.hit_id = history, record_id, hit_id

    @property
    def count(self) -> int:
        with self._cond:
            return self._count

    def hit_ids(self) -> list[str]:
        """The HITs of the operations in flight (for "waiting for the request to HIT …")."""
        with self._cond:
            return [f.hit_id for f in self._flights if f.hit_id]

    def wait_idle(self, timeout: float) -> bool:
        """True when nothing is in flight (waits at most `timeout` seconds)."""
        with self._cond:
            return self._cond.wait_for(lambda: self._count == 0, timeout=timeout)

    def mark_unknown(self, reason: str) -> list[int]:
        """Record every operation still in flight (or cut short by a signal) whose record
        says "sending" as "unknown", with `reason` in its note; returns their record ids.
        A record that meanwhile got its real outcome is left alone. Never raises."""
        with self._cond:
            flights = [*self._flights, *self._interrupted]
            self._interrupted.clear()
        marked: list[int] = []
        for flight in flights:
            if flight.history is None or flight.record_id is None:
                continue
            if self._mark(flight.history, flight.record_id, reason):
                marked.append(flight.record_id)
        return marked

    @staticmethod
    def _mark(history: Any, record_id: int, reason: str) -> bool:
        def mark(store: Any) -> bool:
            record = store.get(record_id, with_attempts=False)
            if record is None or record.state is not State.SENDING:
                return False
            try:  # a compare-and-set: a record that got its real outcome meanwhile stays
                store.update(
                    record_id,
                    state=State.UNKNOWN,
                    expect=State.SENDING,
                    note=f"{record.note} {reason}".strip(),
                )
            except StateChanged:
                return False
            return True

        try:
            return mark(history)
        except Exception:  # e.g. the command already closed its store: open it again
            pass
        try:
            store = type(history)(history.path)
        except Exception:  # the history is failing: the record stays "sending"
            return False
        try:
            return mark(store)
        except Exception:
            return False
        finally:
            with contextlib.suppress(Exception):
                store.close()


IN_FLIGHT = _InFlight()


class _Working:
    """Records this process is sending or settling right now (another thread of the same
    process shares its owner string, so ownership alone cannot keep it off)."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._keys: set[tuple[str, int]] = set()

    def busy(self, key: tuple[str, int]) -> bool:
        with self._lock:
            return key in self._keys

    @contextlib.contextmanager
    def hold(self, key: tuple[str, int]) -> Any:
        with self._lock:
            if key in self._keys:
                raise PlanRefused(
                    f"request #{key[1]} is being handled by another part of this "
                    "program right now; it was left alone",
                    "live",
                )
            self._keys.add(key)
        try:
            yield
        finally:
            with self._lock:
                self._keys.discard(key)


WORKING = _Working()


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

    @property
    def state(self) -> State:
        return self.record.state

    @property
    def succeeded(self) -> bool:
        return self.record.state in (State.SUCCEEDED, State.RESOLVED_SUCCEEDED)


@dataclass
class _SendResult:
    state: State
    error_code: str = ""
    error_message: str = ""
    note: str = ""
    errors: list[TurkError] = field(default_factory=list)


class Engine:
    """Plans, sends, records and resolves extension requests for one environment."""

    def __init__(
        self,
        service: Any,
        history: HistoryStore,
        env: Environment,
        *,
        clock: Callable[[], datetime] | None = None,
        backoff: Backoff | None = None,
        sleep: Callable[[float], None] = time.sleep,
        seed: int | None = None,
        pacer: AdaptiveRate | None = None,
    ) -> None:
        self.service = service
        #: Every call to MTurk goes through this one shared rate (a batch's workers and a
        #: single extension alike: one account, one rate).
        self.pacer = pacer or AdaptiveRate()
        self.history = history
        self.env = env
        self.clock = clock or (lambda: datetime.now(UTC))
        self.backoff = backoff or Backoff()
        self.sleep = sleep
        self._rng = random.Random(seed)
        self.owner = current_owner()

    def _paced(self, fn: Callable[[], Any]) -> Any:
        self.pacer.acquire()
        try:
            result = fn()
        except Throttled:
            self.pacer.throttled()
            raise
        self.pacer.succeeded()
        return result

    def _get_hit(self, hit_id: str) -> Hit:
        return self._paced(lambda: self.service.get_hit(hit_id))  # type: ignore[no-any-return]

    # -- planning --------------------------------------------------------------------------
    def plan(
        self,
        hit: Hit,
        n: int,
        expire_at: datetime | None = None,
        *,
        token: str | None = None,
        batch_id: str | None = None,
        target: int | None = None,
        allow_second: bool = False,
    ) -> Plan:
        """Validate with the rules; PlanRefused says why nothing may be sent."""
        if self.env.read_only:
            raise PlanRefused("This session is read-only: nothing can be changed.", "read_only")
        if hit.problem:  # a value MTurk sent did not validate: a plan on it would be a guess
            raise PlanRefused(
                f"MTurk sent data turktui cannot trust for this HIT "
                f"({hit.problem}); it cannot be extended.",
                "unreadable",
            )
        rng = extension_range(hit.max_assignments, hit.created)
        expiry_only = n == 0 and expire_at is not None and target is None
        if not expiry_only:
            try:
                check_count(n, rng)
            except InputProblem as exc:
                raise PlanRefused(str(exc)) from exc
        if expire_at is not None:
            if not is_expire_now(expire_at) and expire_at <= self.clock():
                raise PlanRefused("The new expiration must be in the future.", "expiration")
            try:
                expire_at = check_expiration(expire_at, hit.expiration, self.clock())
            except InputProblem as exc:
                raise PlanRefused(str(exc), "expiration") from exc
        if token is not None:
            try:
                check_token(token)
            except InputProblem as exc:
                raise PlanRefused(str(exc), "token") from exc
        new_max = hit.max_assignments + n
        cost = extension_cost(hit.reward, n, new_max) if hit.reward is not None and n > 0 else None
        return Plan(
            hit=hit,
            n=n,
            token=token or new_token(),
            range=rng,
            cost=cost,
            new_max=new_max,
            expire_at=expire_at,
            batch_id=batch_id,
            target=target,
            allow_second=allow_second,
        )

    # -- execution -------------------------------------------------------------------------
    def execute(self, plan: Plan, on_event: Callable[[Event], None] | None = None) -> Outcome:
        """Record, then dispatch as a batch of one: send (retrying with the same token),
        record the outcome, confirm with GetHIT, refresh the HIT.

        HistoryError before anything was sent: nothing was sent. Afterwards it is raised as
        OutcomeNotRecorded (the record stays unsettled for `resolve`)."""
        with IN_FLIGHT.track():
            emit = on_event or (lambda event: None)
            started = time.monotonic()
            prior = self._token_used(plan)
            if prior is not None:
                message = (
                    f"Request #{prior.id} with this token already added {prior.n:,} to "
                    f"HIT {prior.hit_id} (max {prior.max_before:,} → "
                    f"{prior.expected_after:,}); nothing was sent."
                )
                emit(Event("done", prior.id, message))
                return Outcome(prior, self._try_get_hit(prior.hit_id), message)
            record = self.record(plan)
            emit(Event("recorded", record.id, f"Recorded request #{record.id}"))
            return self._member(record, emit, started, claim=False)

    def record(self, plan: Plan) -> Record:
        """Write the plan to the history (planned, owned by this process) before anything
        is sent; PlanRefused("busy") when the HIT already has an unsettled request."""
        hit = plan.hit
        try:
            record_id = self.history.create(
                env_kind=self.env.kind.value,
                endpoint=self.env.endpoint_url,
                profile=self.env.profile,
                hit_id=hit.hit_id,
                hit_title=hit.title,
                n=plan.n,
                token=plan.token,
                max_before=hit.max_assignments,
                expected_after=plan.new_max,
                expire_at=plan.expire_at,
                batch_id=plan.batch_id,
                now=self.clock(),
                owner=self.owner,
                target=plan.target,
                allow_second=plan.allow_second,
            )
        except IntentBusy as exc:
            raise PlanRefused(
                f"{exc}. One request per HIT at a time: settle it first "
                "(turktui resolve), or confirm a second one explicitly.",
                "busy",
            ) from exc
        IN_FLIGHT.attach(self.history, record_id, hit.hit_id)
        try:
            record = self.history.get(record_id, with_attempts=False)
        except HistoryError as exc:
            raise self._not_recorded(record_id, exc) from exc
        assert record is not None
        return record

    # -- the dispatcher --------------------------------------------------------------------
    def dispatch(
        self,
        records: Sequence[Record],
        *,
        workers: int = 1,
        cancel: threading.Event | None = None,
        on_outcome: Callable[[Record, Outcome], None] | None = None,
        on_error: Callable[[Record, Exception], None] | None = None,
        on_event: Callable[[Event], None] | None = None,
        on_start: Callable[[Record], bool] | None = None,
    ) -> None:
        """Send (or settle) recorded requests, at most `workers` at a time, all paced by
        `self.pacer`. Planned and failed records are sent with their recorded token; any
        other unsettled one goes through `resolve` (never a blind re-send). With workers=1
        everything runs in the calling thread (a single extension is a batch of one).

        A member's PlanRefused/HistoryError goes to `on_error` (raised when there is none);
        `cancel`, once set, leaves members not yet started as they are. `on_start(record)`
        is called as a worker takes a member, before anything is sent; False leaves it as
        it is (a cancel that came first)."""
        emit = on_event or (lambda event: None)

        def one(record: Record) -> None:
            if cancel is not None and cancel.is_set():
                return
            if on_start is not None and not on_start(record):
                return
            try:
                outcome = self._member(record, emit, time.monotonic(), claim=True)
            except (PlanRefused, HistoryError) as exc:
                if on_error is None:
                    raise
                on_error(record, exc)
                return
            if on_outcome is not None:
                on_outcome(record, outcome)

        if workers <= 1 or len(records) <= 1:
            for record in records:
                one(record)
            return
        with ThreadPoolExecutor(
            max_workers=min(workers, len(records)), thread_name_prefix="batch"
        ) as pool:
            for future in [pool.submit(one, r) for r in records]:
                future.result()

    def _member(
        self, record: Record, emit: Callable[[Event], None], started: float, *, claim: bool
    ) -> Outcome:
        """One recorded request through the pipeline: fresh read → send → record outcome →
        confirm. `claim`: take the record over first (it was recorded earlier, perhaps by
        another run), only from planned/failed; unknown or sending ones are resolved."""
        if claim:
            full = self.history.get(record.id, with_attempts=False) or record
            if full.state not in (State.PLANNED, State.FAILED):
                return self.resolve(self.history.get(record.id) or full, emit)
            record = full
        # execute() tracks the flight from before the record exists (claim=False): one
        # flight per request, never two.
        with IN_FLIGHT.track() if claim else contextlib.nullcontext():
            IN_FLIGHT.attach(self.history, record.id, record.hit_id)
            try:
                with WORKING.hold(self._key(record.id)):
                    if claim:
                        record = self.history.claim(
                            record.id,
                            expect=(State.PLANNED, State.FAILED),
                            owner=self.owner,
                            now=self.clock(),
                        )
                    return self._fresh_and_send(record, emit, started)
            except OutcomeNotRecorded:
                raise
            except StateChanged as exc:
                raise PlanRefused(str(exc), "changed") from exc
            except HistoryError as exc:
                raise self._not_recorded(record.id, exc) from exc

    def _token_used(self, plan: Plan) -> Record | None:
        """A token names one request. An earlier record with this token that was applied,
        for the same HIT and n, is that request (returned: nothing is sent again); one for
        another HIT or n, or one in conflict, is refused; a not-applied one may be re-sent."""
        for prior in self.history.find_by_token(plan.token):
            if prior.endpoint != self.env.endpoint_url:
                continue
            if prior.hit_id != plan.hit.hit_id or prior.n != plan.n:
                raise PlanRefused(
                    f"The token {plan.token} was already used by request #{prior.id} "
                    f"(+{prior.n:,} on HIT {prior.hit_id}); a token names one request, so use "
                    "another.",
                    "token",
                )
            if prior.state is State.CONFLICT:
                raise PlanRefused(
                    f"Request #{prior.id} with this token is in conflict; check the HIT "
                    "before asking again (with a new token).",
                    "token",
                )
            if prior.state.applied:
                return prior
        return None

    def _fresh_and_send(
        self, record: Record, emit: Callable[[Event], None], started: float
    ) -> Outcome:
        fresh = self._fresh(record)
        if isinstance(fresh, Outcome):
            return fresh
        result = self._send(fresh, emit)
        return self._after_send(fresh, result, emit, started=started)

    def _read(self, hit_id: str) -> tuple[Hit | None, datetime | None]:
        """GetHIT, with MTurk's `Date` of that answer when the service exposes it."""
        try:
            hit = self._get_hit(hit_id)
        except TurkError:
            return None, None
        dated = getattr(self.service, "server_date", None)
        when = dated() if callable(dated) else None
        return hit, when if isinstance(when, datetime) else None

    def _fresh(self, record: Record) -> Record | Outcome:
        """Plans from fresh numbers: read MaxAssignments (and Expiration) just before the
        first send, re-check the rules with them, and record what was read. A top-up's n is
        recomputed from its target. Returns the record to send, or the Outcome when nothing
        may be sent (state refused/failed, recorded)."""
        try:
            hit = self._get_hit(record.hit_id)
        except RequestRefused as err:  # e.g. the HIT no longer exists: MTurk said no
            return self._settle_unsent(record, State.REFUSED, err.code or "GetHIT", err.message)
        except TurkError as err:
            return self._settle_unsent(
                record,
                State.FAILED,
                "GetHIT",
                f"the HIT could not be read just before sending, so nothing was sent "
                f"({err.message})",
            )
        dated = getattr(self.service, "server_date", None)
        server = dated() if callable(dated) else None
        if not isinstance(server, datetime):
            server = None
        now = self.clock()
        m = hit.max_assignments
        n = record.n
        note = ""
        if record.target is not None:
            n = record.target - m
            if n < 1:
                return self._settle_unsent(
                    record,
                    State.REFUSED,
                    "nothing_to_do",
                    f"MaxAssignments read just before sending is {m:,}, already at the target "
                    f"{record.target:,}; nothing was sent.",
                    hit=hit,
                    fresh_max=m,
                )
        if m != record.max_before:
            note = (
                f"MaxAssignments was {record.max_before:,} when planned and {m:,} just "
                "before sending; the request was made from the fresh value."
            )
            if record.target is not None:
                note = note[:-1] + f" (+{n:,} to reach {record.target:,})."
        if record.expiry_only:
            note = ""  # MaxAssignments is not this request's business
        rng = extension_range(m, hit.created)
        try:
            if not record.expiry_only:
                check_count(n, rng)
        except InputProblem as exc:
            return self._settle_unsent(
                record,
                State.REFUSED,
                "rules",
                f"{exc} (MaxAssignments read just before sending: {m:,}); nothing was sent.",
                hit=hit,
                fresh_max=m,
            )
        if record.expire_at is not None:
            try:
                check_expiration(record.expire_at, hit.expiration, now)
            except InputProblem as exc:
                return self._settle_unsent(
                    record,
                    State.REFUSED,
                    "expiration",
                    f"{exc} Nothing was sent.",
                    hit=hit,
                    fresh_max=m,
                )
        values: dict[str, Any] = {
            "n": n,
            "max_before": m,
            "expected_after": m + n,
            "read_at": now,
            "read_at_server": server,
        }
        if note:
            values["note"] = note
        self.history.update(record.id, now=now, expect=record.state, **values)
        updated = self.history.get(record.id, with_attempts=False)
        assert updated is not None
        return updated

    def _settle_unsent(
        self,
        record: Record,
        state: State,
        code: str,
        message: str,
        *,
        hit: Hit | None = None,
        fresh_max: int | None = None,
    ) -> Outcome:
        values: dict[str, Any] = {
            "state": state,
            "error_code": code,
            "error_message": message.rstrip("."),
        }
        if fresh_max is not None:
            values["max_before"] = fresh_max
            values["expected_after"] = fresh_max + record.n  # had it been sent
            values["read_at"] = self.clock()
        self.history.update(record.id, now=self.clock(), expect=record.state, **values)
        final = self.history.get(record.id)
        assert final is not None
        return Outcome(final, hit, _summary(final.state, final))

    def _not_recorded(self, record_id: int, exc: HistoryError) -> OutcomeNotRecorded:
        """Was anything sent? Ask the history (it may still answer reads)."""
        maybe_sent = True
        with contextlib.suppress(HistoryError):
            rec = self.history.get(record_id, with_attempts=False)
            if rec is not None and rec.first_sent is None and rec.attempt_count == 0:
                maybe_sent = False
        what = (
            "it may have been sent; its outcome could not be recorded, so it stays "
            "unsettled: run resolve once the history is writable again"
            if maybe_sent
            else "nothing was sent"
        )
        return OutcomeNotRecorded(
            f"request #{record_id}: {what} ({exc})", record_id, maybe_sent=maybe_sent
        )

    def _send(
        self, record: Record, emit: Callable[[Event], None], *, maybe_applied: bool = False
    ) -> _SendResult:
        """The retry loop. Every attempt is recorded before it is sent and after it answers.
        maybe_applied: an earlier attempt (another run) may have gone through."""
        # An expiration change alone is sent as the request itself, through the same loop:
        # UpdateExpirationForHIT's implicit token (HIT id + ExpireAt) makes a retry safe.
        op = UPDATE_EXPIRATION if record.expiry_only else ADD_ASSIGNMENTS
        result = _SendResult(State.FAILED)
        waited = 0.0
        first_sent = record.first_sent
        expect = record.state  # compare-and-set: the state this record was read in
        for attempt in range(1, self.backoff.attempts + 1):
            now = self.clock()
            extra: dict[str, Any] = {}
            if first_sent is None:
                first_sent = now
                extra["first_sent"] = now
            number = self.history.add_attempt(
                record.id,
                operation=op.name,
                outcome="started",
                at=now,
                state=State.SENDING,
                expect=expect,
                **extra,
            )
            expect = State.SENDING
            emit(Event("attempt", record.id, f"Sending (attempt {attempt})…", attempt))
            t0 = time.monotonic()
            err: TurkError | None = None
            try:
                self._paced(lambda: op.send(self.service, record))
            except TurkError as exc:
                err = exc
            answer = "ok" if err is None else op.answer(err)
            if err is not None and answer == "applied":
                # An earlier attempt (or process) with this token went through.
                self.history.finish_attempt(
                    record.id,
                    number,
                    outcome="already_processed",
                    error_code=err.code,
                    error_message=err.message,
                    duration=time.monotonic() - t0,
                    now=self.clock(),
                )
                result.state = State.SUCCEEDED
                result.note = "MTurk reports this token was already processed."
                result.errors.append(err)
                return result
            if err is not None and answer == "refused":
                self.history.finish_attempt(
                    record.id,
                    number,
                    outcome="refused",
                    error_code=getattr(err, "code", ""),
                    error_message=err.message,
                    duration=time.monotonic() - t0,
                    now=self.clock(),
                )
                result.errors.append(err)
                if maybe_applied:
                    # An earlier attempt may have gone through and this answer cannot tell.
                    result.state = State.UNKNOWN
                    result.note = (
                        "An earlier attempt's answer was lost and a retry was "
                        "refused; resolve will check the HIT."
                    )
                else:
                    result.state = State.REFUSED
                result.error_code, result.error_message = getattr(err, "code", ""), err.message
                return result
            if err is not None:
                code = type(err).__name__
                self.history.finish_attempt(
                    record.id,
                    number,
                    outcome="error",
                    error_code=code,
                    error_message=err.message,
                    duration=time.monotonic() - t0,
                    now=self.clock(),
                )
                result.errors.append(err)
                result.error_code, result.error_message = code, err.message
                if err.outcome_unknown or isinstance(err, UnexpectedResponse):
                    maybe_applied = True
                if not err.transient:
                    result.state = State.UNKNOWN if maybe_applied else State.FAILED
                    return result
                delay = self.backoff.delay(attempt, self._rng)
                if attempt == self.backoff.attempts or waited + delay > self.backoff.total:
                    break
                emit(
                    Event(
                        "retry",
                        record.id,
                        f"Attempt {attempt} failed ({err.message}); retrying in "
                        f"{delay:.1f} s with the same token",
                        attempt,
                    )
                )
                self.sleep(delay)
                waited += delay
                continue
            duration = time.monotonic() - t0
            self.history.finish_attempt(
                record.id,
                number,
                outcome="ok",
                duration=duration,
                now=self.clock(),
            )
            result.state = State.SUCCEEDED
            result.error_code = result.error_message = ""
            return result
        result.state = State.UNKNOWN if maybe_applied else State.FAILED
        if maybe_applied:
            result.note = (
                f"No answer after {len(result.errors)} attempts; the request may "
                "have been applied. Resolve will settle it."
            )
        return result

    def _after_send(
        self,
        record: Record,
        result: _SendResult,
        emit: Callable[[Event], None],
        *,
        resolved: bool = False,
        started: float | None = None,
    ) -> Outcome:
        """Confirm with GetHIT, record the final state (a compare-and-set on `sending`),
        update the expiration, refresh the HIT.

        A 200, a "token already processed" and a re-send are all questions: the record says
        succeeded only when GetHIT shows the MaxAssignments it expected; a different value is
        a `conflict` (with before/expected/actual), never a success."""
        hit: Hit | None = None
        note = result.note
        state = result.state
        actual: int | None = None
        expiry: dict[str, Any] = {}
        processed = any(isinstance(e, TokenAlreadyProcessed) for e in result.errors)
        if state is State.SUCCEEDED:
            hit, _ = self._read(record.hit_id)
            answer = (
                "MTurk reported the token as already processed"
                if processed
                else "MTurk accepted the request"
            )
            if hit is None:
                if processed:
                    state = State.UNKNOWN
                    note += " The HIT could not be read to confirm it; resolve will check again."
                else:
                    note += " (Not confirmed: the HIT could not be read afterwards.)"
            elif record.expiry_only:
                state, note, expiry = self._confirm_expiry(record, hit, answer, note)
            else:
                actual = hit.max_assignments
                if ADD_ASSIGNMENTS.confirmed(record, hit, self.clock()):
                    note += f" Confirmed: MaxAssignments is {actual:,}."
                else:
                    state = State.CONFLICT
                    note = (
                        f"{answer}, but MaxAssignments is {actual:,}: before "
                        f"{record.max_before:,}, expected {record.expected_after:,}. "
                        "It is not recorded as a success; check the HIT."
                    )
        elif (
            resolved
            and result.state in (State.REFUSED, State.UNKNOWN)
            and any(isinstance(e, RequestRefused) for e in result.errors)
        ):
            # A re-send was refused, yet the original attempt may have gone through: only
            # the HIT can tell (and only if nothing else explains its numbers).
            hit, server = self._read(record.hit_id)
            if hit is not None:
                state, cnote, actual = self._judge(record, hit, server)
                note = (
                    f"The re-send was refused ({result.error_message or result.error_code})."
                    f" {cnote}"
                )
            else:
                state = State.UNKNOWN
        if resolved:
            if state in (State.FAILED, State.UNKNOWN) and (
                result.error_message or result.error_code
            ):
                # Still could not reach MTurk (no credentials, network...): still unsettled,
                # and the operator needs to know why, not just "unknown".
                note = (
                    note + f" Could not settle it: {result.error_message or result.error_code}."
                ).strip()
            state = {
                State.SUCCEEDED: State.RESOLVED_SUCCEEDED,
                State.REFUSED: State.RESOLVED_NOT_APPLIED,
                State.FAILED: State.UNKNOWN,
            }.get(state, state)
        if not resolved and record.note:  # e.g. what the read just before sending found
            note = f"{record.note} {note}"
        values: dict[str, Any] = {
            "state": state,
            "error_code": result.error_code,
            "error_message": result.error_message,
            "note": note.strip(),
        }
        if actual is not None:
            values["actual_after"] = actual
        values.update(expiry)
        if started is not None:
            values["duration"] = time.monotonic() - started
        self.history.update(record.id, now=self.clock(), expect=State.SENDING, **values)
        emit(Event("answered", record.id, _summary(state, record)))
        if (
            state in (State.SUCCEEDED, State.RESOLVED_SUCCEEDED)
            and record.expire_at is not None
            and not record.expiry_state
            and not record.expiry_only
        ):
            self._update_expiration(record, emit)
            hit = None
        if hit is None:
            hit = self._try_get_hit(record.hit_id)
            if hit is not None:
                emit(Event("refreshed", record.id, "HIT refreshed"))
        final = self.history.get(record.id)
        assert final is not None
        message = outcome_message(final)
        emit(Event("done", record.id, message))
        return Outcome(record=final, hit=hit, message=message)

    def _confirm_expiry(
        self, record: Record, hit: Hit, answer: str, note: str
    ) -> tuple[State, str, dict[str, Any]]:
        """An expiration-only request MTurk claimed (200 or already processed): succeeded
        only when GetHIT shows the expiration asked for ("expire now": not after MTurk's
        time), a conflict otherwise."""
        assert record.expire_at is not None
        server = self._server_date()
        when = max(server or self.clock(), self.clock())
        if UPDATE_EXPIRATION.confirmed(record, hit, when):
            return (
                State.SUCCEEDED,
                (note + f" Confirmed: the HIT expires {_when(hit.expiration)}.").strip(),
                {"expiry_state": "succeeded", "expiry_error": "", "expiry_actual": hit.expiration},
            )
        return (
            State.CONFLICT,
            (
                f"{answer}, but the HIT expires {_when(hit.expiration)}, not "
                f"{_expected(record)}. It is not recorded as a success; check "
                "the HIT."
            ),
            {
                "expiry_state": "conflict",
                "expiry_actual": hit.expiration,
                "expiry_error": f"{answer}, but the HIT expires {_when(hit.expiration)}",
            },
        )

    def _update_expiration(self, record: Record, emit: Callable[[Event], None]) -> None:
        """UpdateExpirationForHIT has no request token: MTurk derives one from the HIT id and
        ExpireAt (to the second) and refuses a repeat with "already processed". So a retry
        after a lost answer, an "already processed", a refusal after a lost answer and a
        plain 200 are all confirmed with GetHIT: `succeeded` only when the HIT's Expiration
        is the one asked for, `conflict` when MTurk claimed it and the HIT disagrees."""
        assert record.expire_at is not None
        op = UPDATE_EXPIRATION
        last = ""
        claimed = False  # MTurk said it was done (200 or already processed)
        processed = False
        maybe = False  # an attempt may have been applied without an answer
        for attempt in range(1, self.backoff.attempts + 1):
            now = self.clock()
            t0 = time.monotonic()
            emit(
                Event(
                    "expiration",
                    record.id,
                    f"Updating the expiration (attempt {attempt})…",
                    attempt,
                )
            )
            err: TurkError | None = None
            try:
                self._paced(lambda: op.send(self.service, record))
            except TurkError as exc:
                err = exc
            answer = "ok" if err is None else op.answer(err)
            if err is not None and answer == "applied":
                self.history.add_attempt(
                    record.id,
                    operation=op.name,
                    outcome="already_processed",
                    at=now,
                    error_code=err.code,
                    error_message=err.message,
                    duration=time.monotonic() - t0,
                    count=False,
                )
                last, claimed, processed = err.message, True, True
                break
            if err is not None:  # refused or an error: only GetHIT can tell after a lost answer
                last = err.message
                self.history.add_attempt(
                    record.id,
                    operation=op.name,
                    outcome="error",
                    at=now,
                    error_code=getattr(err, "code", "") or type(err).__name__,
                    error_message=err.message,
                    duration=time.monotonic() - t0,
                    count=False,
                )
                maybe = maybe or err.outcome_unknown or isinstance(err, UnexpectedResponse)
                if err.transient and attempt < self.backoff.attempts:
                    self.sleep(self.backoff.delay(attempt, self._rng))
                    continue
                break
            self.history.add_attempt(
                record.id,
                operation=op.name,
                outcome="ok",
                at=now,
                duration=time.monotonic() - t0,
                count=False,
            )
            claimed = True
            break
        if not claimed and not maybe:
            self.history.update(
                record.id, now=self.clock(), expiry_state="failed", expiry_error=last
            )
            return
        hit, server = self._read(record.hit_id)
        # "Expire now" is confirmed by an Expiration not after MTurk's time (its `Date` has
        # whole seconds, and may be missing: the later of both clocks, with a tolerance).
        when = max(server or self.clock(), self.clock())
        expected = record.expire_at
        if hit is not None and op.confirmed(record, hit, when):
            self.history.update(
                record.id,
                now=self.clock(),
                expiry_state="succeeded",
                expiry_error="",
                expiry_actual=hit.expiration,
            )
            return
        if hit is None:
            self.history.update(
                record.id,
                now=self.clock(),
                expiry_state="unknown",
                expiry_error=(
                    f"{last + '; ' if last else ''}the HIT could not be read to "
                    "confirm the expiration: check it by hand"
                ),
            )
            return
        shown = _when(hit.expiration)
        said = "said it was already processed" if processed else "accepted"
        if claimed:
            self.history.update(
                record.id,
                now=self.clock(),
                expiry_state="conflict",
                expiry_actual=hit.expiration,
                expiry_error=(
                    f"MTurk {said}"
                    f" the new expiration {_when(expected)}, but the HIT expires "
                    f"{shown}"
                ),
            )
        else:
            self.history.update(
                record.id,
                now=self.clock(),
                expiry_state="failed",
                expiry_actual=hit.expiration,
                expiry_error=f"{last} (the HIT still expires {shown})",
            )

    def _server_date(self) -> datetime | None:
        dated = getattr(self.service, "server_date", None)
        when = dated() if callable(dated) else None
        return when if isinstance(when, datetime) else None

    def _try_get_hit(self, hit_id: str) -> Hit | None:
        try:
            return self._get_hit(hit_id)
        except TurkError:
            return None

    def extend(
        self,
        hit: Hit,
        n: int,
        expire_at: datetime | None = None,
        on_event: Callable[[Event], None] | None = None,
        *,
        token: str | None = None,
    ) -> Outcome:
        """plan + execute in one call (PlanRefused when the rules refuse)."""
        return self.execute(self.plan(hit, n, expire_at, token=token), on_event)

    # -- resolution ------------------------------------------------------------------------
    def can_resend(self, record: Record, server_now: datetime | None = None) -> bool:
        """Inside MTurk's 24-hour token window, judged conservatively, re-sending is safe.

        The local clock must say so with a margin for its own error (CLOCK_MARGIN), and when
        MTurk's `Date` was recorded when the HIT was read before sending and is known now,
        MTurk's clock must say so too (that read came before the first send, so the time it
        measures is never shorter than the real one)."""
        if record.first_sent is None:
            return False
        limit = TOKEN_WINDOW - RESEND_MARGIN
        if self.clock() - record.first_sent >= limit - CLOCK_MARGIN:
            return False
        if record.read_at_server is not None and server_now is not None:
            return server_now - record.read_at_server < limit
        return True

    def _key(self, record_id: int) -> tuple[str, int]:
        return (str(self.history.path), record_id)

    def is_live(self, record: Record) -> bool:
        """Owned by another process that is still running, or being sent/settled by another
        thread of this one (leave it alone)."""
        return WORKING.busy(self._key(record.id)) or self._owned_elsewhere(record)

    def _owned_elsewhere(self, record: Record) -> bool:
        return (
            bool(record.owner)
            and record.owner != self.owner
            and owner_alive(record.owner, record.updated, self.clock())
        )

    def resolve(self, record: Record, on_event: Callable[[Event], None] | None = None) -> Outcome:
        """Settle one unsettled record for this environment (see module docs)."""
        with IN_FLIGHT.track():
            IN_FLIGHT.attach(self.history, record.id, record.hit_id)
            try:
                with WORKING.hold(self._key(record.id)):
                    return self._resolve(record, on_event)
            except StateChanged as exc:
                raise PlanRefused(str(exc), "changed") from exc

    def _resolve(self, record: Record, on_event: Callable[[Event], None] | None) -> Outcome:
        emit = on_event or (lambda event: None)
        if record.endpoint != self.env.endpoint_url:
            raise PlanRefused(
                f"record #{record.id} was made against {record.endpoint}, not "
                f"{self.env.endpoint_url}",
                "environment",
            )
        if record.settled:
            return Outcome(record, None, _summary(record.state, record))
        if self.env.read_only:
            raise PlanRefused("This session is read-only: nothing can be changed.", "read_only")
        if self._owned_elsewhere(record):  # (this process's other threads: see resolve)
            raise PlanRefused(
                f"request #{record.id} belongs to a running process "
                f"({describe_owner(record.owner)}); it was left alone",
                "live",
            )
        # Take it over: a compare-and-set on the state read, refused if its owner is live.
        record = self.history.claim(
            record.id, expect=record.state, owner=self.owner, now=self.clock()
        )
        if record.state is State.PLANNED or (
            record.first_sent is None and record.attempt_count == 0
        ):
            self.history.update(
                record.id,
                now=self.clock(),
                expect=record.state,
                state=State.RESOLVED_NOT_APPLIED,
                note="Never sent (the program stopped before sending); nothing was applied.",
            )
            final = self.history.get(record.id)
            assert final is not None
            return Outcome(final, None, _summary(final.state, final) + " It was never sent.")
        hit, server = self._read(record.hit_id)
        if self.can_resend(record, server):
            emit(
                Event(
                    "resolve", record.id, f"Re-sending request #{record.id} with its original token"
                )
            )
            result = self._send(record, emit, maybe_applied=True)
            return self._after_send(record, result, emit, resolved=True)
        return self._resolve_by_comparison(record, hit, emit)

    def _judge(
        self, record: Record, hit: Hit, server: datetime | None = None
    ) -> tuple[State, str, int]:
        """Comparison: (state, note, MaxAssignments now). Concludes only when nothing else
        explains the numbers: another recorded request on the HIT that may have changed it
        after this one read MaxAssignments makes the answer "cannot tell". An
        expiration-only request is judged by the HIT's Expiration."""
        now_max = hit.max_assignments
        since = record.read_at or record.created
        others = [
            r
            for r in self.history.intents_on(
                record.endpoint,
                record.hit_id,
                since=record.created - TOKEN_WINDOW,
                exclude=record.id,
            )
            if r.state not in NOT_APPLIED
            and r.updated >= since
            and not (r.state is State.PLANNED and r.first_sent is None)
        ]
        numbers = (
            f"MaxAssignments is {now_max:,}; this request expected {record.max_before:,} "
            f"\u2192 {record.expected_after:,}"
        )
        if record.expiry_only:
            numbers = (
                f"the HIT expires {_when(hit.expiration)}; this request asked for "
                f"{_expected(record)}"
            )
        if others:
            listed = ", ".join(f"#{r.id} ({r.change_label}, {r.state.label})" for r in others[:5])
            more = f" and {len(others) - 5} more" if len(others) > 5 else ""
            return (
                State.UNKNOWN,
                (
                    f"Cannot tell: {numbers}, and other requests on this HIT may have changed it "
                    f"since: {listed}{more}. Check the HIT by hand; turktui will not re-send."
                ),
                now_max,
            )
        if record.expiry_only:
            assert record.expire_at is not None
            when = max(server or self.clock(), self.clock()) + EXPIRE_NOW_TOLERANCE
            if expiration_matches(record.expire_at, hit.expiration, when):
                return (
                    State.RESOLVED_SUCCEEDED,
                    (
                        f"Settled by comparison: the HIT expires {_when(hit.expiration)}, as "
                        "asked, so it went through."
                    ),
                    now_max,
                )
            return (
                State.RESOLVED_NOT_APPLIED,
                (
                    f"Settled by comparison: the HIT expires {_when(hit.expiration)}, not "
                    f"{_expected(record)}, and no other request explains a change, so it was not "
                    "applied."
                ),
                now_max,
            )
        if now_max == record.expected_after:
            return (
                State.RESOLVED_SUCCEEDED,
                (
                    f"Settled by comparison: MaxAssignments is {now_max:,}, the expected value "
                    f"after adding {record.n:,}, so it went through."
                ),
                now_max,
            )
        if now_max == record.max_before:
            return (
                State.RESOLVED_NOT_APPLIED,
                (
                    f"Settled by comparison: MaxAssignments is still {now_max:,}, the value "
                    "before, so it was not applied."
                ),
                now_max,
            )
        return (
            State.UNKNOWN,
            (
                f"Cannot tell: {numbers}; the HIT changed in other ways since. Check it by hand; "
                "the token window has passed, so turktui will not re-send."
            ),
            now_max,
        )

    def _resolve_by_comparison(
        self, record: Record, hit: Hit | None, emit: Callable[[Event], None]
    ) -> Outcome:
        """Past the token window: decide from MaxAssignments alone, never re-send."""
        if hit is None:
            try:
                hit = self._get_hit(record.hit_id)
            except TurkError as err:
                self.history.update(
                    record.id,
                    now=self.clock(),
                    expect=record.state,
                    state=State.UNKNOWN,
                    note=f"Could not read the HIT to settle this request: {err.message}",
                )
                final = self.history.get(record.id)
                assert final is not None
                return Outcome(final, None, _summary(final.state, final) + " " + final.note)
        state, note, now_max = self._judge(record, hit, self._server_date())
        self.history.update(
            record.id,
            now=self.clock(),
            expect=record.state,
            state=state,
            note=note,
            actual_after=now_max,
        )
        if record.expiry_only and state is State.RESOLVED_SUCCEEDED:
            self.history.update(
                record.id, now=self.clock(), expiry_state="succeeded", expiry_actual=hit.expiration
            )
        if (
            state is State.RESOLVED_SUCCEEDED
            and record.expire_at is not None
            and not record.expiry_state
            and not record.expiry_only
        ):
            note += " The requested expiration change was not made (too late to be safe)."
            self.history.update(record.id, now=self.clock(), expiry_state="skipped", note=note)
        emit(Event("done", record.id, note))
        final = self.history.get(record.id)
        assert final is not None
        return Outcome(final, hit, _summary(final.state, final) + " " + note)


def _when(moment: datetime | None) -> str:
    if moment is None:
        return "unknown"
    return moment.astimezone(UTC).strftime("%Y-%m-%d %H:%M:%S UTC")


def outcome_message(record: Record) -> str:
    """The one-paragraph outcome shown by the CLI and the app."""
    message = _summary(record.state, record)
    if record.note:
        message += " " + record.note
    if record.expiry_state == "failed":
        message += f" The expiration was NOT updated: {record.expiry_error}"
    elif record.expiry_state == "conflict":
        message += f" Expiration CONFLICT: {record.expiry_error}."
    elif record.expiry_state == "unknown":
        message += f" Expiration unknown: {record.expiry_error}."
    return message


#: error codes of requests refused by turktui itself with fresh numbers (nothing sent).
LOCAL_REFUSALS = ("rules", "nothing_to_do", "expiration")


def _expected(record: Record) -> str:
    if is_expire_now(record.expire_at):
        return "expired now"
    return _when(record.expire_at)


def _summary(state: State, record: Record) -> str:
    """One line for `record` in `state`: the same sentences for every operation, with the
    operation's own words for what was asked, what success means and what disagreed."""
    if record.expiry_only:
        now = is_expire_now(record.expire_at)
        what = (
            f"expire HIT {record.hit_id} now"
            if now
            else f"expiration of HIT {record.hit_id} \u2192 {_when(record.expire_at)}"
        )
        label = f"({what})"
        done = (
            f"Expired HIT {record.hit_id}: workers can no longer accept it; work in progress "
            "is kept."
            if now
            else f"HIT {record.hit_id} now expires {_when(record.expire_at)}."
        )
        disagree = f"expected {_expected(record)}, actual {_when(record.expiry_actual)}"
    else:
        what = label = f"+{record.n:,} on HIT {record.hit_id}"
        done = (
            f"Added {record.n:,} assignment{'s' if record.n != 1 else ''} to HIT "
            f"{record.hit_id} (max {record.max_before:,} \u2192 {record.expected_after:,})."
        )
        actual = "?" if record.actual_after is None else f"{record.actual_after:,}"
        disagree = (
            f"before {record.max_before:,}, expected {record.expected_after:,}, actual {actual}"
        )
    return {
        State.SUCCEEDED: done,
        State.RESOLVED_SUCCEEDED: f"Request #{record.id} ({what}) went through.",
        State.RESOLVED_NOT_APPLIED: f"Request #{record.id} ({what}) was not applied.",
        State.REFUSED: (
            f"Not sent {label}: {record.error_message}."
            if record.error_code in LOCAL_REFUSALS
            else f"MTurk refused {label}: {record.error_message or record.error_code}"
        ),
        State.FAILED: f"Could not send {label}: {record.error_message}. Nothing was applied.",
        State.UNKNOWN: f"Outcome of {label} is unknown (request #{record.id}).",
        State.CONFLICT: f"CONFLICT on request #{record.id} ({what}): MTurk's answer and the "
        f"HIT disagree ({disagree}).",
        State.SENDING: f"Request #{record.id} ({what}) is being sent.",
        State.PLANNED: f"Request #{record.id} ({what}) is planned.",
    }[state]


def estimated_cost_text(plan: Plan) -> str:
    """'$1.20 ($1.00 rewards + $0.20 fee, 20% fee …)' or '?' without a reward."""
    from turktui.domain.rules import format_money

    if plan.cost is None:
        return "unknown (the HIT's reward is unknown)"
    c = plan.cost
    return (
        f"{format_money(c.total)} ({format_money(c.rewards)} rewards + "
        f"{format_money(c.fee)} fee, {c.tier})"
    )
