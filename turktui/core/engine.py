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
to MTurk only through `turktui.core.service.MTurkService` (duck-typed) and never imports
textual or boto3.
"""

from __future__ import annotations

import contextlib
import os
import random
import signal
import threading
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime, timedelta, timezone
from typing import Any

from turktui.core.environment import Environment
from turktui.core.errors import (
    RequestRefused,
    TokenAlreadyProcessed,
    TurkError,
    UnexpectedResponse,
)
from turktui.core.history import (
    HistoryError,
    HistoryStore,
    OutcomeNotRecorded,
    Record,
    State,
)
from turktui.core.models import Hit
from turktui.core.rules import (
    Cost,
    ExtensionRange,
    InputProblem,
    check_count,
    extension_cost,
    extension_range,
)

UTC = timezone.utc
OP_EXTEND = "CreateAdditionalAssignmentsForHIT"
OP_EXPIRE = "UpdateExpirationForHIT"
OP_GET = "GetHIT"
TOKEN_PREFIX = "turktui-"
MAX_TOKEN_LENGTH = 64
#: MTurk honours a UniqueRequestToken for 24 hours. Re-send only well inside that window.
TOKEN_WINDOW = timedelta(hours=24)
RESEND_MARGIN = timedelta(minutes=15)
#: Test hook (documented): when set to "1", the process SIGKILLs itself right after the
#: extension request returned successfully and before the outcome is recorded, to prove
#: that `resolve` settles such records. Never set it outside tests.
CRASH_AFTER_SEND_ENV = "TURKTUI_TEST_CRASH_AFTER_SEND"


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
            lock = getattr(store, "_lock", None) or contextlib.nullcontext()
            with lock:  # the read and the write as one step for this process's writers
                record = store.get(record_id, with_attempts=False)
                if record is None or record.state is not State.SENDING:
                    return False
                store.update(record_id, state=State.UNKNOWN, note=f"{record.note} {reason}"
                             .strip())
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
    ) -> None:
        self.service = service
        self.history = history
        self.env = env
        self.clock = clock or (lambda: datetime.now(UTC))
        self.backoff = backoff or Backoff()
        self.sleep = sleep
        self._rng = random.Random(seed)

    # -- planning --------------------------------------------------------------------------
    def plan(
        self,
        hit: Hit,
        n: int,
        expire_at: datetime | None = None,
        *,
        token: str | None = None,
        batch_id: str | None = None,
    ) -> Plan:
        """Validate with the rules; PlanRefused says why nothing may be sent."""
        if self.env.read_only:
            raise PlanRefused("This session is read-only: nothing can be changed.", "read_only")
        if hit.problem:  # a value MTurk sent did not validate: a plan on it would be a guess
            raise PlanRefused(f"MTurk sent data turktui cannot trust for this HIT "
                              f"({hit.problem}); it cannot be extended.", "unreadable")
        rng = extension_range(hit.max_assignments, hit.created)
        try:
            check_count(n, rng)
        except InputProblem as exc:
            raise PlanRefused(str(exc)) from exc
        if expire_at is not None and expire_at <= self.clock():
            raise PlanRefused("The new expiration must be in the future.", "expiration")
        if token is not None:
            try:
                check_token(token)
            except InputProblem as exc:
                raise PlanRefused(str(exc), "token") from exc
        new_max = hit.max_assignments + n
        cost = extension_cost(hit.reward, n, new_max) if hit.reward is not None else None
        return Plan(hit=hit, n=n, token=token or new_token(), range=rng, cost=cost,
                    new_max=new_max, expire_at=expire_at, batch_id=batch_id)

    # -- execution -------------------------------------------------------------------------
    def execute(self, plan: Plan, on_event: Callable[[Event], None] | None = None) -> Outcome:
        """Record, send (retrying with the same token), record the outcome, refresh the HIT.

        HistoryError before anything was sent: nothing was sent. Afterwards it is raised as
        OutcomeNotRecorded (the record stays unsettled for `resolve`)."""
        with IN_FLIGHT.track():
            return self._execute(plan, on_event)

    def _execute(self, plan: Plan, on_event: Callable[[Event], None] | None) -> Outcome:
        emit = on_event or (lambda event: None)
        started = time.monotonic()
        hit = plan.hit
        record_id = self.history.create(
            env_kind=self.env.kind.value, endpoint=self.env.endpoint_url, profile=self.env.profile,
            hit_id=hit.hit_id, hit_title=hit.title, n=plan.n, token=plan.token,
            max_before=hit.max_assignments, expected_after=plan.new_max,
            expire_at=plan.expire_at, batch_id=plan.batch_id, now=self.clock(),
        )
        IN_FLIGHT.attach(self.history, record_id, hit.hit_id)
        emit(Event("recorded", record_id, f"Recorded request #{record_id}"))
        try:
            record = self.history.get(record_id, with_attempts=False)
            assert record is not None
            result = self._send(record, emit)
            return self._after_send(record, result, emit, started=started)
        except OutcomeNotRecorded:
            raise
        except HistoryError as exc:
            raise self._not_recorded(record_id, exc) from exc

    def execute_recorded(
        self, record: Record, on_event: Callable[[Event], None] | None = None
    ) -> Outcome:
        """Send a record that is already in the history (bulk batches record every member
        first, in one transaction): the same send/record/refresh path as `execute`, with the
        record's own token. Only for records never sent or known not applied (planned,
        failed); unknown ones go through `resolve`."""
        with IN_FLIGHT.track():
            IN_FLIGHT.attach(self.history, record.id, record.hit_id)
            emit = on_event or (lambda event: None)
            started = time.monotonic()
            try:
                result = self._send(record, emit)
                return self._after_send(record, result, emit, started=started)
            except OutcomeNotRecorded:
                raise
            except HistoryError as exc:
                raise self._not_recorded(record.id, exc) from exc

    def _not_recorded(self, record_id: int, exc: HistoryError) -> OutcomeNotRecorded:
        """Was anything sent? Ask the history (it may still answer reads)."""
        maybe_sent = True
        with contextlib.suppress(HistoryError):
            rec = self.history.get(record_id, with_attempts=False)
            if rec is not None and rec.first_sent is None and rec.attempt_count == 0:
                maybe_sent = False
        what = ("it may have been sent; its outcome could not be recorded, so it stays "
                "unsettled: run resolve once the history is writable again"
                if maybe_sent else "nothing was sent")
        return OutcomeNotRecorded(f"request #{record_id}: {what} ({exc})", record_id,
                                  maybe_sent=maybe_sent)

    def _send(self, record: Record, emit: Callable[[Event], None]) -> _SendResult:
        """The retry loop. Every attempt is recorded before it is sent and after it answers."""
        result = _SendResult(State.FAILED)
        maybe_applied = False
        waited = 0.0
        first_sent = record.first_sent
        for attempt in range(1, self.backoff.attempts + 1):
            now = self.clock()
            extra: dict[str, Any] = {}
            if first_sent is None:
                first_sent = now
                extra["first_sent"] = now
            number = self.history.add_attempt(
                record.id, operation=OP_EXTEND, outcome="started", at=now, state=State.SENDING,
                **extra,
            )
            emit(Event("attempt", record.id, f"Sending (attempt {attempt})…", attempt))
            t0 = time.monotonic()
            try:
                self.service.create_additional_assignments(record.hit_id, record.n, record.token)
            except TokenAlreadyProcessed as err:
                # An earlier attempt (or process) with this token went through.
                self.history.finish_attempt(
                    record.id, number, outcome="already_processed", error_code=err.code,
                    error_message=err.message, duration=time.monotonic() - t0, now=self.clock(),
                )
                result.state = State.SUCCEEDED
                result.note = "MTurk reports this token was already processed: an earlier " \
                    "attempt went through."
                result.errors.append(err)
                return result
            except RequestRefused as err:
                self.history.finish_attempt(
                    record.id, number, outcome="refused", error_code=err.code,
                    error_message=err.message, duration=time.monotonic() - t0, now=self.clock(),
                )
                result.errors.append(err)
                if maybe_applied:
                    # An earlier attempt may have gone through and this answer cannot tell.
                    result.state = State.UNKNOWN
                    result.note = ("An earlier attempt's answer was lost and a retry was "
                                   "refused; resolve will check the HIT.")
                else:
                    result.state = State.REFUSED
                result.error_code, result.error_message = err.code, err.message
                return result
            except TurkError as err:
                code = type(err).__name__
                self.history.finish_attempt(
                    record.id, number, outcome="error", error_code=code,
                    error_message=err.message, duration=time.monotonic() - t0, now=self.clock(),
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
                emit(Event("retry", record.id,
                           f"Attempt {attempt} failed ({err.message}); retrying in "
                           f"{delay:.1f} s with the same token", attempt))
                self.sleep(delay)
                waited += delay
                continue
            duration = time.monotonic() - t0
            if os.environ.get(CRASH_AFTER_SEND_ENV) == "1":  # test hook, see module docs
                os.kill(os.getpid(), signal.SIGKILL)
            self.history.finish_attempt(
                record.id, number, outcome="ok", duration=duration, now=self.clock(),
            )
            result.state = State.SUCCEEDED
            result.error_code = result.error_message = ""
            return result
        result.state = State.UNKNOWN if maybe_applied else State.FAILED
        if maybe_applied:
            result.note = (f"No answer after {len(result.errors)} attempts; the request may "
                           "have been applied. Resolve will settle it.")
        return result

    def _after_send(
        self, record: Record, result: _SendResult, emit: Callable[[Event], None],
        *, resolved: bool = False, started: float | None = None,
    ) -> Outcome:
        """Confirm, record the final state, update the expiration, refresh the HIT."""
        hit: Hit | None = None
        note = result.note
        state = result.state
        if state is State.SUCCEEDED and any(
            isinstance(e, TokenAlreadyProcessed) for e in result.errors
        ):
            hit = self._try_get_hit(record.hit_id)
            if hit is not None and hit.max_assignments != record.expected_after:
                note += (f" MaxAssignments is now {hit.max_assignments} (expected "
                         f"{record.expected_after}); it may have been changed by something else.")
            elif hit is not None:
                note += f" Confirmed: MaxAssignments is {hit.max_assignments}."
        if resolved:
            if state is State.FAILED:
                # Still could not reach MTurk (no credentials, network...): still unsettled,
                # and the operator needs to know why, not just "unknown".
                note = (note + " Could not settle it: "
                        f"{result.error_message or result.error_code}.").strip()
            state = {
                State.SUCCEEDED: State.RESOLVED_SUCCEEDED,
                State.REFUSED: State.RESOLVED_NOT_APPLIED,
                State.FAILED: State.UNKNOWN,
            }.get(state, state)
        values: dict[str, Any] = {"state": state, "error_code": result.error_code,
                                  "error_message": result.error_message, "note": note.strip()}
        if started is not None:
            values["duration"] = time.monotonic() - started
        self.history.update(record.id, now=self.clock(), **values)
        emit(Event("answered", record.id, _summary(state, record)))
        if state in (State.SUCCEEDED, State.RESOLVED_SUCCEEDED) and record.expire_at is not None \
                and not record.expiry_state:
            self._update_expiration(record, emit)
        if hit is None or record.expire_at is not None:
            hit = self._try_get_hit(record.hit_id)
            if hit is not None:
                emit(Event("refreshed", record.id, "HIT refreshed"))
        final = self.history.get(record.id)
        assert final is not None
        message = _summary(final.state, final)
        if final.note:
            message += " " + final.note
        if final.expiry_state == "failed":
            message += f" The expiration was NOT updated: {final.expiry_error}"
        emit(Event("done", record.id, message))
        return Outcome(record=final, hit=hit, message=message)

    def _update_expiration(self, record: Record, emit: Callable[[Event], None]) -> None:
        """UpdateExpirationForHIT is idempotent (same ExpireAt), so plain retries are safe."""
        assert record.expire_at is not None
        last = ""
        for attempt in range(1, self.backoff.attempts + 1):
            now = self.clock()
            t0 = time.monotonic()
            emit(Event("expiration", record.id, f"Updating the expiration (attempt {attempt})…",
                       attempt))
            try:
                self.service.update_expiration(record.hit_id, record.expire_at)
            except TurkError as err:
                last = err.message
                self.history.add_attempt(
                    record.id, operation=OP_EXPIRE, outcome="error", at=now,
                    error_code=getattr(err, "code", "") or type(err).__name__,
                    error_message=err.message, duration=time.monotonic() - t0, count=False,
                )
                if err.transient and attempt < self.backoff.attempts:
                    self.sleep(self.backoff.delay(attempt, self._rng))
                    continue
                break
            self.history.add_attempt(
                record.id, operation=OP_EXPIRE, outcome="ok", at=now,
                duration=time.monotonic() - t0, count=False, expiry_state="succeeded",
            )
            return
        self.history.update(record.id, now=self.clock(), expiry_state="failed",
                            expiry_error=last)

    def _try_get_hit(self, hit_id: str) -> Hit | None:
        try:
            return self.service.get_hit(hit_id)
        except TurkError:
            return None

    def extend(
        self, hit: Hit, n: int, expire_at: datetime | None = None,
        on_event: Callable[[Event], None] | None = None, *, token: str | None = None,
    ) -> Outcome:
        """plan + execute in one call (PlanRefused when the rules refuse)."""
        return self.execute(self.plan(hit, n, expire_at, token=token), on_event)

    # -- resolution ------------------------------------------------------------------------
    def can_resend(self, record: Record) -> bool:
        """Inside MTurk's 24-hour token window (with a margin), re-sending is safe."""
        if record.first_sent is None:
            return False
        return self.clock() - record.first_sent < TOKEN_WINDOW - RESEND_MARGIN

    def resolve(self, record: Record, on_event: Callable[[Event], None] | None = None) -> Outcome:
        """Settle one unsettled record for this environment (see module docs)."""
        with IN_FLIGHT.track():
            IN_FLIGHT.attach(self.history, record.id, record.hit_id)
            return self._resolve(record, on_event)

    def _resolve(self, record: Record, on_event: Callable[[Event], None] | None) -> Outcome:
        emit = on_event or (lambda event: None)
        if record.endpoint != self.env.endpoint_url:
            raise PlanRefused(
                f"record #{record.id} was made against {record.endpoint}, not "
                f"{self.env.endpoint_url}", "environment")
        if record.settled:
            return Outcome(record, None, _summary(record.state, record))
        if self.env.read_only:
            raise PlanRefused("This session is read-only: nothing can be changed.", "read_only")
        if record.state is State.PLANNED or (
            record.first_sent is None and record.attempt_count == 0
        ):
            self.history.update(
                record.id, now=self.clock(), state=State.RESOLVED_NOT_APPLIED,
                note="Never sent (the program stopped before sending); nothing was applied.",
            )
            final = self.history.get(record.id)
            assert final is not None
            return Outcome(final, None, _summary(final.state, final) + " It was never sent.")
        if self.can_resend(record):
            emit(Event("resolve", record.id,
                       f"Re-sending request #{record.id} with its original token"))
            result = self._send(record, emit)
            return self._after_send(record, result, emit, resolved=True)
        return self._resolve_by_comparison(record, emit)

    def _resolve_by_comparison(self, record: Record, emit: Callable[[Event], None]) -> Outcome:
        """Past the token window: decide from MaxAssignments alone, never re-send."""
        try:
            hit = self.service.get_hit(record.hit_id)
        except TurkError as err:
            self.history.update(
                record.id, now=self.clock(), state=State.UNKNOWN,
                note=f"Could not read the HIT to settle this request: {err.message}",
            )
            final = self.history.get(record.id)
            assert final is not None
            return Outcome(final, None, _summary(final.state, final) + " " + final.note)
        now_max = hit.max_assignments
        if now_max == record.expected_after:
            state = State.RESOLVED_SUCCEEDED
            note = (f"Settled by comparison: MaxAssignments is {now_max}, the expected value "
                    f"after adding {record.n}, so it went through.")
        elif now_max == record.max_before:
            state = State.RESOLVED_NOT_APPLIED
            note = (f"Settled by comparison: MaxAssignments is still {now_max}, the value "
                    "before, so it was not applied.")
        else:
            state = State.UNKNOWN
            note = (f"Cannot tell: MaxAssignments is {now_max}, neither {record.max_before} "
                    f"(not applied) nor {record.expected_after} (applied); the HIT changed in "
                    "other ways since. Check it by hand; the token window has passed, so "
                    "turktui will not re-send.")
        self.history.update(record.id, now=self.clock(), state=state, note=note)
        if state is State.RESOLVED_SUCCEEDED and record.expire_at is not None \
                and not record.expiry_state:
            note += " The requested expiration change was not made (too late to be safe)."
            self.history.update(record.id, now=self.clock(), expiry_state="skipped", note=note)
        emit(Event("done", record.id, note))
        final = self.history.get(record.id)
        assert final is not None
        return Outcome(final, hit, _summary(final.state, final) + " " + note)

    def resolve_all(
        self, on_event: Callable[[Event], None] | None = None
    ) -> list[Outcome]:
        """Resolve every unsettled record made against this environment's endpoint."""
        out = []
        for record in self.history.unsettled():
            if record.endpoint != self.env.endpoint_url:
                continue
            full = self.history.get(record.id)
            assert full is not None
            out.append(self.resolve(full, on_event))
        return out


def _summary(state: State, record: Record) -> str:
    what = f"+{record.n:,} on HIT {record.hit_id}"
    return {
        State.SUCCEEDED: f"Added {record.n:,} assignment{'s' if record.n != 1 else ''} to HIT "
                         f"{record.hit_id} (max {record.max_before:,} → "
                         f"{record.expected_after:,}).",
        State.RESOLVED_SUCCEEDED: f"Request #{record.id} ({what}) went through.",
        State.RESOLVED_NOT_APPLIED: f"Request #{record.id} ({what}) was not applied.",
        State.REFUSED: f"MTurk refused {what}: {record.error_message or record.error_code}",
        State.FAILED: f"Could not send {what}: {record.error_message}. Nothing was applied.",
        State.UNKNOWN: f"Outcome of {what} is unknown (request #{record.id}).",
        State.SENDING: f"Request #{record.id} ({what}) is being sent.",
        State.PLANNED: f"Request #{record.id} ({what}) is planned.",
    }[state]


def estimated_cost_text(plan: Plan) -> str:
    """'$1.20 ($1.00 rewards + $0.20 fee, 20% fee …)' or '?' without a reward."""
    from turktui.core.rules import format_money

    if plan.cost is None:
        return "unknown (the HIT's reward is unknown)"
    c = plan.cost
    return (f"{format_money(c.total)} ({format_money(c.rewards)} rewards + "
            f"{format_money(c.fee)} fee, {c.tier})")


