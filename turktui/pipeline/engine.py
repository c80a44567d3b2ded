"""The request lifecycle: plan → record → send → confirm → settle, for every operation.

Safety rules this module exists to keep:

* One operator intent = one token. Every retry of that intent reuses it, so MTurk applies
  it at most once (within its 24-hour idempotency window); a re-run with the token of an
  unsettled record attaches to that record instead of making a second one.
* Every step that can move money is its own record, committed to the history *before*
  anything is sent (a combined "+N and more time" is two records, one group), and every
  attempt and the final outcome are recorded.
* What is done is asked of the operation (turktui.pipeline.operations: one module each):
  its fresh read, its plan against it, its request, its confirmation, its comparison. The
  engine has one loop for all of them, used by single requests, batches, resolve and the app.
* When the outcome cannot be known, the record says "unknown" and `resolve` settles it:
  re-planned against a fresh read and re-sent with the same token only while MTurk's own
  clock (read when sending and now) says its token is still honoured; otherwise compared
  (never a blind re-send), other requests ordered by the history's sequence, never clocks.

The engine is synchronous and thread-agnostic (the UI runs it in a worker thread); it talks
to MTurk only through the service it is given (turktui.adapters.mturk.MTurkService or a
fake) and never imports textual or boto3.
"""

from __future__ import annotations

import contextlib
import json
import random
import threading
import time
import uuid
from collections.abc import Callable, Sequence
from concurrent.futures import ThreadPoolExecutor
from datetime import datetime, timezone
from typing import Any

from turktui.adapters.history import (
    OTHER_HOST_STALE,
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
    OwnedElsewhere,
    Record,
    State,
    StateChanged,
    describe_owner,
)
from turktui.domain.rules import (
    InputProblem,
    check_count,
    check_expiration,
    extension_cost,
    extension_range,
    format_money,
    is_expire_now,
)
from turktui.pipeline.flight import IN_FLIGHT as IN_FLIGHT
from turktui.pipeline.flight import WORKING
from turktui.pipeline.model import CLOCK_MARGIN as CLOCK_MARGIN
from turktui.pipeline.model import MAX_TOKEN_LENGTH as MAX_TOKEN_LENGTH
from turktui.pipeline.model import RESEND_MARGIN, TOKEN_WINDOW, SendResult
from turktui.pipeline.model import TOKEN_PREFIX as TOKEN_PREFIX
from turktui.pipeline.model import Backoff as Backoff
from turktui.pipeline.model import Event as Event
from turktui.pipeline.model import Outcome as Outcome
from turktui.pipeline.model import Plan as Plan
from turktui.pipeline.model import PlanRefused as PlanRefused
from turktui.pipeline.model import check_token as check_token
from turktui.pipeline.model import new_token as new_token
from turktui.pipeline.operations import (
    ADD_ASSIGNMENTS,
    EXPIRE_NOW,
    UPDATE_EXPIRATION,
    NotSent,
    Operation,
    Read,
    UnknownOperation,
    Verdict,
    operation_of,
    summary,
    when,
)
from turktui.pipeline.operations import LOCAL_REFUSALS as LOCAL_REFUSALS
from turktui.pipeline.operations import outcome_message as outcome_message
from turktui.pipeline.pacing import AdaptiveRate
from turktui.pipeline.policy import needs_attention as needs_attention  # (re-exported)

UTC = timezone.utc
OP_EXTEND = ADD_ASSIGNMENTS.mturk_name
OP_EXPIRE = UPDATE_EXPIRATION.mturk_name
OP_GET = "GetHIT"


class Engine:
    """Plans, records, sends, confirms and settles requests for one environment."""

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
        hit: Hit = self._paced(lambda: self.service.get_hit(hit_id))
        return hit

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

    def rows(self, plan: Plan, *, group_id: str | None = None) -> list[dict[str, Any]]:
        """The records a plan makes, one per operation, in the order they are sent: the
        assignments (if any), then the expiration (if any). Two records share a group id."""
        hit = plan.hit
        base = self._row(hit, plan.batch_id)
        rows: list[dict[str, Any]] = []
        adds = not (plan.n == 0 and plan.target is None)
        if adds:
            rows.append(
                {
                    **base,
                    "operation": ADD_ASSIGNMENTS.name,
                    "n": plan.n,
                    "token": plan.token,
                    "max_before": hit.max_assignments,
                    "expected_after": plan.new_max,
                    "target": plan.target,
                }
            )
        if plan.expire_at is not None:
            op = EXPIRE_NOW if is_expire_now(plan.expire_at) else UPDATE_EXPIRATION
            rows.append(
                {
                    **base,
                    "operation": op.name,
                    "n": 0,
                    "token": new_token() if adds else plan.token,
                    "max_before": hit.max_assignments,
                    "expected_after": hit.max_assignments,
                    "expire_at": plan.expire_at,
                }
            )
        if len(rows) > 1:
            group = group_id or "group-" + uuid.uuid4().hex[:12]
            for row in rows:
                row["group_id"] = group
        return rows

    def _row(self, hit: Hit, batch_id: str | None) -> dict[str, Any]:
        """What every record made here carries: where it goes, its subject, its owner."""
        return {
            "env_kind": self.env.kind.value,
            "endpoint": self.env.endpoint_url,
            "profile": self.env.profile,
            "hit_id": hit.hit_id,
            "subject": hit.hit_id,
            "hit_title": hit.title,
            "batch_id": batch_id,
            "owner": self.owner,
        }

    # -- execution -------------------------------------------------------------------------
    def execute(self, plan: Plan, on_event: Callable[[Event], None] | None = None) -> Outcome:
        """Record every part of the plan, then send them in order: send (retrying with the
        same token), record the outcome, confirm on a fresh read.

        HistoryError before anything was sent: nothing was sent. Afterwards it is raised as
        OutcomeNotRecorded (the record stays unsettled for `resolve`)."""
        with IN_FLIGHT.track():
            emit = on_event or (lambda event: None)
            started = time.monotonic()
            prior = self._token_used(plan)
            if prior is not None:
                if prior.settled:
                    message = (
                        f"Request #{prior.id} with this token already added {prior.n:,} to "
                        f"HIT {prior.hit_id} (max {prior.max_before:,} → "
                        f"{prior.expected_after:,}); nothing was sent."
                    )
                    emit(Event("done", prior.id, message))
                    return Outcome(prior, self._try_get_hit(prior.hit_id), message)
                # A token names one request: a re-run attaches to (settles) its record.
                emit(Event("recorded", prior.id, f"Settling request #{prior.id} (same token)"))
                return self._member(prior, emit, started, claim=True)
            records = self.record_all(plan)
            emit(Event("recorded", records[0].id, f"Recorded request #{records[0].id}"))
            return self._run_group(records, emit, started, claim=False)

    def record(self, plan: Plan) -> Record:
        """`record_all`, returning the first record."""
        return self.record_all(plan)[0]

    def record_all(self, plan: Plan) -> list[Record]:
        """Write the plan's records to the history (planned, owned by this process) before
        anything is sent; PlanRefused("busy") when the HIT already has an unsettled request."""
        try:
            ids = self.history.insert(
                self.rows(plan), now=self.clock(), allow_second=plan.allow_second
            )
        except IntentBusy as exc:
            raise PlanRefused(
                f"{exc}. One request per HIT at a time: settle it first "
                "(turktui resolve), or confirm a second one explicitly.",
                "busy",
            ) from exc
        IN_FLIGHT.attach(self.history, ids[0], plan.hit.hit_id)
        records = []
        for record_id in ids:
            try:
                record = self.history.get(record_id, with_attempts=False)
            except HistoryError as exc:
                raise self._not_recorded(record_id, exc) from exc
            assert record is not None
            records.append(record)
        return records

    def request(
        self,
        operation: Operation,
        hit: Hit,
        *,
        token: str | None = None,
        payload: dict[str, Any] | None = None,
        batch_id: str | None = None,
        allow_second: bool = False,
    ) -> Record:
        """Record one request of any registered operation on `hit` (planned, not sent):
        `dispatch` sends it. The operation's own fields go in `payload`."""
        if self.env.read_only:
            raise PlanRefused("This session is read-only: nothing can be changed.", "read_only")
        row = {
            **self._row(hit, batch_id),
            "operation": operation.name,
            "payload": json.dumps(payload or {}, sort_keys=True),
            "n": 0,
            "token": token or new_token(),
            "max_before": hit.max_assignments,
            "expected_after": hit.max_assignments,
        }
        try:
            (record_id,) = self.history.insert([row], now=self.clock(), allow_second=allow_second)
        except IntentBusy as exc:
            raise PlanRefused(str(exc), "busy") from exc
        record = self.history.get(record_id, with_attempts=False)
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
    ) -> None:
        """Send (or settle) recorded requests, at most `workers` at a time, all paced by
        `self.pacer`. Planned and failed records are sent with their recorded token; any
        other unsettled one goes through `resolve` (never a blind re-send). The parts of a
        combined request go in order, in one worker. With workers=1 everything runs in the
        calling thread (a single extension is a batch of one).

        A member's PlanRefused/HistoryError goes to `on_error` (raised when there is none);
        `cancel`, once set, leaves members not yet started as they are."""
        emit = on_event or (lambda event: None)
        units: dict[Any, list[Record]] = {}
        for record in records:
            units.setdefault(record.group_id or ("single", record.id), []).append(record)

        def one(unit: list[Record]) -> None:
            for i, record in enumerate(unit):
                if cancel is not None and cancel.is_set():
                    return
                try:
                    if i == 0 and record.group_id:
                        lead = self._lead_blocks(record)
                        if lead is not None:
                            outcome = self._skip(record, lead)
                        else:
                            outcome = self._member(record, emit, time.monotonic(), claim=True)
                    elif i > 0 and not _applied(unit[i - 1], self.history):
                        outcome = self._skip(record, unit[i - 1])
                    else:
                        outcome = self._member(record, emit, time.monotonic(), claim=True)
                except (PlanRefused, HistoryError) as exc:
                    if on_error is None:
                        raise
                    on_error(record, exc)
                    continue
                if on_outcome is not None:
                    on_outcome(record, outcome)

        groups = list(units.values())
        if workers <= 1 or len(groups) <= 1:
            for unit in groups:
                one(unit)
            return
        with ThreadPoolExecutor(
            max_workers=min(workers, len(groups)), thread_name_prefix="batch"
        ) as pool:
            for future in [pool.submit(one, unit) for unit in groups]:
                future.result()

    def _run_group(
        self,
        records: Sequence[Record],
        emit: Callable[[Event], None],
        started: float,
        *,
        claim: bool,
    ) -> Outcome:
        """The parts of one request in order; a later part is sent only after the earlier
        one went through (otherwise it is settled as not sent, saying why)."""
        outcomes: list[Outcome] = []
        for record in records:
            if outcomes and not outcomes[-1].succeeded:
                outcomes.append(self._skip(record, outcomes[-1].record))
                continue
            outcomes.append(self._member(record, emit, started, claim=claim))
        if len(outcomes) == 1:
            return outcomes[0]
        hit = next((o.hit for o in reversed(outcomes) if o.hit is not None), None)
        message = " ".join(o.message for o in outcomes)
        return Outcome(outcomes[0].record, hit, message, tuple(outcomes[1:]))

    def _lead_blocks(self, record: Record) -> Record | None:
        """The earlier part of `record`'s group when it has not gone through (None: go)."""
        if record.group_id is None:
            return None
        for other in self.history.group_records(record.group_id):
            if other.id < record.id and not other.state.applied:
                return other
        return None

    def _skip(self, record: Record, lead: Record) -> Outcome:
        """Settle a later part that may not be sent because the earlier one did not go
        through (or is unsettled): a planned one is refused, saying why; any other state is
        left to `resolve`."""
        current = self.history.get(record.id) or record
        if current.state is not State.PLANNED:
            return Outcome(current, None, outcome_message(current))
        op = operation_of(current)
        return self._settle_unsent(
            current,
            State.REFUSED,
            "skipped",
            f"request #{lead.id} ({operation_of(lead).what(lead)}) did not go through "
            f"({lead.state.label}), and {op.label(current)} is sent only after it; "
            "nothing was sent",
        )

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
                    op = self._op(record)
                    fresh = self._prepare(op, record)
                    if isinstance(fresh, Outcome):
                        return fresh
                    result = self._send(op, fresh, emit)
                    return self._after_send(op, fresh, result, emit, started=started)
            except OutcomeNotRecorded:
                raise
            except StateChanged as exc:
                raise PlanRefused(str(exc), "changed") from exc
            except HistoryError as exc:
                raise self._not_recorded(record.id, exc) from exc

    @staticmethod
    def _op(record: Record) -> Operation:
        try:
            return operation_of(record)
        except UnknownOperation as exc:
            raise PlanRefused(str(exc.args[0]), "operation") from None

    def _token_used(self, plan: Plan) -> Record | None:
        """A token names one request. An earlier record with this token for the same HIT
        and n is that request: returned (applied: nothing is sent again; unsettled: the
        re-run settles it). One for another HIT or n, one in conflict and one settled as
        not applied are refused: a new intent needs a new token."""
        for prior in self.history.find_by_token(plan.token):
            if prior.endpoint != self.env.endpoint_url:
                continue
            if prior.hit_id != plan.hit.hit_id or prior.n != plan.n:
                raise PlanRefused(
                    f"The token {plan.token} was already used by request #{prior.id} "
                    f"({prior.change_label} on HIT {prior.hit_id}); a token names one "
                    "request, so use another.",
                    "token",
                )
            if prior.state is State.CONFLICT:
                raise PlanRefused(
                    f"Request #{prior.id} with this token is in conflict; check the HIT "
                    "before asking again (with a new token).",
                    "token",
                )
            if prior.state.applied or not prior.settled or prior.state is State.FAILED:
                return prior
            raise PlanRefused(
                f"Request #{prior.id} with this token was {prior.state.label}; a token names "
                "one request, so ask again with a new token.",
                "token",
            )
        return None

    def _read(self, op: Operation, record: Record) -> tuple[Read | None, TurkError | None]:
        """The operation's fresh read, with MTurk's time of that answer."""
        try:
            subject = self._paced(lambda: op.fetch(self.service, record))
        except TurkError as err:
            return None, err
        return Read(subject, self._server_date(), self.clock()), None

    def _prepare(self, op: Operation, record: Record) -> Record | Outcome:
        """Plan from a fresh read just before the first send and record what was read (and
        where the history stood: comparison later orders other requests by it). Returns
        the record to send, or the Outcome when nothing may be sent (recorded)."""
        subject = record.subject or record.hit_id
        seq = self.history.sequence()
        open_ids = [
            r.id
            for r in self.history.unsettled_for(record.endpoint, [subject])
            if r.id != record.id
        ]
        read, err = self._read(op, record)
        if read is None:
            assert err is not None
            if isinstance(err, RequestRefused):  # e.g. the HIT no longer exists
                return self._settle_unsent(record, State.REFUSED, err.code or "GetHIT", err.message)
            return self._settle_unsent(
                record,
                State.FAILED,
                "GetHIT",
                f"the HIT could not be read just before sending, so nothing was sent "
                f"({err.message})",
            )
        data = {**record.data, "read_seq": seq, "open_at_read": open_ids}
        values: dict[str, Any] = {
            "read_at": read.local,
            "read_at_server": read.server,
            "payload": json.dumps(data, sort_keys=True),
        }
        planned = op.prepare(record, read)
        if isinstance(planned, NotSent):
            return self._settle_unsent(
                record,
                planned.state,
                planned.code,
                planned.message,
                values={**values, **planned.values},
                hit=read.subject,
            )
        values.update(planned.values)
        if planned.note:
            values["note"] = planned.note
        self.history.update(record.id, now=self.clock(), expect=record.state, **values)
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
        values: dict[str, Any] | None = None,
        hit: Any = None,
    ) -> Outcome:
        fields: dict[str, Any] = {
            "state": state,
            "error_code": code,
            "error_message": message.rstrip("."),
            **(values or {}),
        }
        self.history.update(record.id, now=self.clock(), expect=record.state, **fields)
        final = self.history.get(record.id)
        assert final is not None
        shown = hit if isinstance(hit, Hit) else None
        return Outcome(final, shown, summary(self._op(final), final.state, final))

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
        self,
        op: Operation,
        record: Record,
        emit: Callable[[Event], None],
        *,
        maybe_applied: bool = False,
    ) -> SendResult:
        """THE retry loop (every operation). Every attempt is recorded before it is sent and
        after it answers. maybe_applied: an earlier attempt (another run) may have gone
        through."""
        result = SendResult(State.FAILED)
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
                operation=op.mturk_name,
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
            if err is None:
                self.history.finish_attempt(
                    record.id,
                    number,
                    outcome="ok",
                    duration=time.monotonic() - t0,
                    now=self.clock(),
                )
                result.state = State.SUCCEEDED
                result.error_code = result.error_message = ""
                return result
            answer = op.answer(err)
            code = getattr(err, "code", "") if answer != "error" else type(err).__name__
            self.history.finish_attempt(
                record.id,
                number,
                outcome={"applied": "already_processed", "refused": "refused"}.get(answer, "error"),
                error_code=code,
                error_message=err.message,
                duration=time.monotonic() - t0,
                now=self.clock(),
            )
            result.errors.append(err)
            if answer == "applied":  # an earlier attempt (or process) with this token
                result.state = State.SUCCEEDED
                result.note = "MTurk reports this token was already processed."
                return result
            result.error_code, result.error_message = code, err.message
            if answer == "refused":
                if maybe_applied:
                    # An earlier attempt may have gone through and this answer cannot tell.
                    result.state = State.UNKNOWN
                    result.note = (
                        "An earlier attempt's answer was lost and a retry was "
                        "refused; resolve will check the HIT."
                    )
                else:
                    result.state = State.REFUSED
                return result
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
        result.state = State.UNKNOWN if maybe_applied else State.FAILED
        if maybe_applied:
            result.note = (
                f"No answer after {len(result.errors)} attempts; the request may "
                "have been applied. Resolve will settle it."
            )
        return result

    def _after_send(
        self,
        op: Operation,
        record: Record,
        result: SendResult,
        emit: Callable[[Event], None],
        *,
        resolved: bool = False,
        started: float | None = None,
    ) -> Outcome:
        """Confirm on a fresh read and record the final state (a compare-and-set on
        `sending`). A 200, a "token already processed" and a re-send are all questions:
        the record says succeeded only when the operation's confirmation holds on the read;
        a disagreement is a `conflict`, never a success."""
        read: Read | None = None
        note = result.note
        state = result.state
        values: dict[str, Any] = {}
        processed = any(isinstance(e, TokenAlreadyProcessed) for e in result.errors)
        if state is State.SUCCEEDED:
            read, _ = self._read(op, record)
            if read is None:
                if processed:
                    state = State.UNKNOWN
                    note += " The HIT could not be read to confirm it; resolve will check again."
                else:
                    note += " (Not confirmed: the HIT could not be read afterwards.)"
            else:
                verdict = op.confirm(record, read, processed)
                state = verdict.state
                values.update(verdict.values)
                joined = f"{note} {verdict.note}".strip()
                note = joined if state is State.SUCCEEDED else verdict.note
        elif (
            resolved
            and result.state in (State.REFUSED, State.UNKNOWN)
            and any(isinstance(e, RequestRefused) for e in result.errors)
        ):
            # A re-send was refused, yet the original attempt may have gone through: only
            # a fresh read can tell (and only if nothing else explains it).
            read, _ = self._read(op, record)
            if read is not None:
                verdict = self._judge(op, record, read)
                state = verdict.state
                values.update(verdict.values)
                note = (
                    f"The re-send was refused ({result.error_message or result.error_code})."
                    f" {verdict.note}"
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
        note = _legacy_tail(record, state, note, values)
        values.update(
            state=state,
            error_code=result.error_code,
            error_message=result.error_message,
            note=note.strip(),
        )
        if started is not None:
            values["duration"] = time.monotonic() - started
        self.history.update(record.id, now=self.clock(), expect=State.SENDING, **values)
        emit(Event("answered", record.id, summary(op, state, record)))
        hit = read.subject if read is not None and isinstance(read.subject, Hit) else None
        if hit is None:
            hit = self._try_get_hit(record.hit_id)
            if hit is not None:
                emit(Event("refreshed", record.id, "HIT refreshed"))
        final = self.history.get(record.id)
        assert final is not None
        message = outcome_message(final)
        emit(Event("done", record.id, message))
        return Outcome(record=final, hit=hit, message=message)

    def _server_date(self) -> datetime | None:
        dated = getattr(self.service, "server_date", None)
        moment = dated() if callable(dated) else None
        return moment if isinstance(moment, datetime) else None

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
    def why_not_resend(self, record: Record, server_now: datetime | None) -> str | None:
        """Why a re-send with the record's token is not safe now (None: it is).

        MTurk honours a token for 24 hours by its own clock: a re-send needs MTurk's time
        read when the request was sent (just before its first attempt, so the time measured
        is never shorter than the real one) and now, inside the window with a margin. The
        local clock must agree too (it only ever takes a re-send away)."""
        if record.first_sent is None:
            return "it has no recorded send"
        if record.read_at_server is None:
            return "MTurk's time was not known when it was sent, so its token window is unknown"
        if server_now is None:
            return "MTurk's time cannot be read now, so its token window is unknown"
        limit = TOKEN_WINDOW - RESEND_MARGIN
        if server_now - record.read_at_server >= limit:
            return "MTurk's 24-hour token window has passed"
        if self.clock() - record.first_sent >= limit - CLOCK_MARGIN:
            return "by the local clock the 24-hour token window may have passed"
        return None

    def can_resend(self, record: Record, server_now: datetime | None = None) -> bool:
        return self.why_not_resend(record, server_now) is None

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
            and owner_alive(record.owner, record.updated, self.clock(), record.lease_until)
        )

    def live_message(self, record: Record, owner: str | None = None) -> str:
        """Why a record is left alone, with what a person can do about it."""
        holder = owner or record.owner
        host = holder.split("|")[0]
        if host != self.owner.split("|")[0] and record.lease_until is not None:
            return (
                f"request #{record.id} belongs to a process on another host "
                f"({describe_owner(holder)}); its lease keeps it live until "
                f"{when(record.lease_until)} (the shared history's clock), renewed while "
                "that process runs; after that anyone may settle it"
            )
        if host != self.owner.split("|")[0]:
            until = min(record.updated, self.clock()).timestamp() + OTHER_HOST_STALE
            return (
                f"request #{record.id} belongs to a process on another host "
                f"({describe_owner(holder)}); it counts as live until "
                f"{when(datetime.fromtimestamp(until, UTC))} (this clock). If that process "
                f"is gone, take it over: turktui resolve --take-over {record.id}"
            )
        return (
            f"request #{record.id} belongs to a running process "
            f"({describe_owner(holder)}); it was left alone"
        )

    def resolve(
        self,
        record: Record,
        on_event: Callable[[Event], None] | None = None,
        *,
        take_over: bool = False,
    ) -> Outcome:
        """Settle one unsettled record for this environment (see module docs). `take_over`:
        the operator confirmed that the process owning it (on another host) is gone."""
        with IN_FLIGHT.track():
            IN_FLIGHT.attach(self.history, record.id, record.hit_id)
            try:
                with WORKING.hold(self._key(record.id)):
                    return self._resolve(record, on_event, take_over)
            except OwnedElsewhere as exc:
                raise PlanRefused(self.live_message(record, exc.owner), "live") from exc
            except StateChanged as exc:
                raise PlanRefused(str(exc), "changed") from exc

    def _resolve(
        self, record: Record, on_event: Callable[[Event], None] | None, take_over: bool
    ) -> Outcome:
        emit = on_event or (lambda event: None)
        if record.endpoint != self.env.endpoint_url:
            raise PlanRefused(
                f"record #{record.id} was made against {record.endpoint}, not "
                f"{self.env.endpoint_url}",
                "environment",
            )
        op = self._op(record)
        if record.settled:
            return Outcome(record, None, summary(op, record.state, record))
        if self.env.read_only:
            raise PlanRefused("This session is read-only: nothing can be changed.", "read_only")
        previous = record.owner
        # Take it over: a compare-and-set on the state read, refused if its owner is live
        # (unless the operator took it over).
        record = self.history.claim(
            record.id,
            expect=record.state,
            owner=self.owner,
            now=self.clock(),
            take_over=take_over,
        )
        if take_over and previous and previous != self.owner:
            data = {
                **record.data,
                "taken_over": f"{describe_owner(previous)} at {when(self.clock())}",
            }
            self.history.update(
                record.id,
                now=self.clock(),
                expect=record.state,
                payload=json.dumps(data, sort_keys=True),
            )
            record = self.history.get(record.id) or record
        if record.state is State.PLANNED or (
            record.first_sent is None and record.attempt_count == 0
        ):
            self.history.update(
                record.id,
                now=self.clock(),
                expect=record.state,
                state=State.RESOLVED_NOT_APPLIED,
                note=f"{record.note} Never sent (the program stopped before sending); "
                "nothing was applied.".strip(),
            )
            final = self.history.get(record.id)
            assert final is not None
            return Outcome(final, None, summary(op, final.state, final) + " It was never sent.")
        read, err = self._read(op, record)
        if read is None:
            assert err is not None
            return self._stays_unknown(
                record,
                f"Could not read the HIT, nor MTurk's time, to settle this request "
                f"({err.message}); it was not re-sent.",
            )
        why = self.why_not_resend(record, read.server)
        stale = None if why is not None else op.replan(record, read)
        if why is None and stale is None:
            emit(
                Event(
                    "resolve", record.id, f"Re-sending request #{record.id} with its original token"
                )
            )
            result = self._send(op, record, emit, maybe_applied=True)
            return self._after_send(op, record, result, emit, resolved=True)
        return self._settle_by_comparison(op, record, read, emit, why=why, stale=stale)

    def _stays_unknown(self, record: Record, note: str) -> Outcome:
        note = _legacy_tail(record, State.UNKNOWN, note, {})
        self.history.update(
            record.id, now=self.clock(), expect=record.state, state=State.UNKNOWN, note=note
        )
        final = self.history.get(record.id)
        assert final is not None
        return Outcome(final, None, summary(self._op(final), final.state, final) + " " + note)

    def _others(self, op: Operation, record: Record) -> list[Record]:
        """Other requests on the subject that may have changed it after this one's fresh
        read, by the history's sequence (never by clocks): any that sent an attempt after
        the read, or was unsettled at it. Records from before schema 5 (no sequence kept):
        any recorded after this one, or still sending once this one was."""
        data = record.data
        seq = data.get("read_seq")
        open_ids = set(data.get("open_at_read") or ())
        first = self.history.first_attempt(record.id)
        out = []
        for other, last in self.history.intents_on(
            record.endpoint, record.subject or record.hit_id, exclude=record.id
        ):
            if other.state in NOT_APPLIED or (
                other.state is State.PLANNED and other.first_sent is None
            ):
                continue
            try:
                if not (operation_of(other).touches & op.touches):
                    continue
            except UnknownOperation:
                pass  # a newer version's request: it may have changed anything
            if isinstance(seq, int):
                counts = last > seq or other.id in open_ids
            else:
                counts = other.id > record.id or last > first
            if counts:
                out.append(other)
        return out

    def _judge(self, op: Operation, record: Record, read: Read) -> Verdict:
        """Comparison: concludes only when nothing else explains what MTurk shows."""
        others = self._others(op, record)
        verdict = op.compare(record, read)
        if not others:
            return verdict
        listed = ", ".join(f"#{r.id} ({r.change_label}, {r.state.label})" for r in others[:5])
        more = f" and {len(others) - 5} more" if len(others) > 5 else ""
        return Verdict(
            State.UNKNOWN,
            f"Cannot tell: {op.numbers(record, read)}, and other requests on this HIT may "
            f"have changed it since: {listed}{more}. Check the HIT by hand; turktui will not "
            "re-send.",
            verdict.values,
        )

    def _settle_by_comparison(
        self,
        op: Operation,
        record: Record,
        read: Read,
        emit: Callable[[Event], None],
        *,
        why: str | None,
        stale: str | None,
    ) -> Outcome:
        """No re-send (`why`: the token window; `stale`: the request as planned would now be
        wrong): decide from what MTurk shows, never re-send."""
        verdict = self._judge(op, record, read)
        note = verdict.note
        if stale is not None:
            note += f" It was not re-sent: {stale} (MTurk's time {when(read.server)})."
        elif why is not None and verdict.state is State.UNKNOWN:
            note += f" It was not re-sent: {why}."
        values = dict(verdict.values)
        note = _legacy_tail(record, verdict.state, note, values)
        self.history.update(
            record.id,
            now=self.clock(),
            expect=record.state,
            state=verdict.state,
            note=note,
            **values,
        )
        emit(Event("done", record.id, note))
        final = self.history.get(record.id)
        assert final is not None
        hit = read.subject if isinstance(read.subject, Hit) else None
        return Outcome(final, hit, summary(op, final.state, final) + " " + note)


def _applied(record: Record, history: HistoryStore) -> bool:
    current = history.get(record.id, with_attempts=False) or record
    return current.state.applied is True


def _legacy_tail(record: Record, state: State, note: str, values: dict[str, Any]) -> str:
    """The final note's frame: who took the record over, and for a record from before
    schema 5, its expiration tail (its "+time" was sent after it, unrecorded), never sent
    now: said once it is settled as applied."""
    taken = record.data.get("taken_over")
    if taken and "Taken over" not in note:
        note = f"Taken over from {taken}. {note}"
    if (
        record.operation == ADD_ASSIGNMENTS.name
        and record.expire_at is not None
        and not record.expiry_state
        and state.applied
    ):
        values["expiry_state"] = "skipped"
        return note + " The requested expiration change was not made (too late to be safe)."
    return note


def estimated_cost_text(plan: Plan) -> str:
    """'$1.20 ($1.00 rewards + $0.20 fee, 20% fee …)' or '?' without a reward."""
    if plan.cost is None:
        return "unknown (the HIT's reward is unknown)"
    c = plan.cost
    return (
        f"{format_money(c.total)} ({format_money(c.rewards)} rewards + "
        f"{format_money(c.fee)} fee, {c.tier})"
    )
