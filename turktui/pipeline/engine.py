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
    HistoryError,
    HistoryStore,
    OutcomeNotRecorded,
    current_owner,
)
from turktui.domain.environment import Environment
from turktui.domain.errors import (
    RequestRefused,
)
from turktui.domain.models import Hit
from turktui.domain.records import (
    IntentBusy,
    Record,
    State,
    StateChanged,
)
from turktui.domain.rules import (
    InputProblem,
    check_count,
    check_expiration,
    extension_cost,
    extension_range,
    is_expire_now,
)
from turktui.domain.service import TurkService
from turktui.pipeline.flight import IN_FLIGHT as IN_FLIGHT
from turktui.pipeline.flight import WORKING
from turktui.pipeline.grouping import Grouping
from turktui.pipeline.model import CLOCK_MARGIN as CLOCK_MARGIN
from turktui.pipeline.model import MAX_TOKEN_LENGTH as MAX_TOKEN_LENGTH
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
    operation_of,
)
from turktui.pipeline.operations import LOCAL_REFUSALS as LOCAL_REFUSALS
from turktui.pipeline.operations import outcome_message as outcome_message
from turktui.pipeline.pacing import AdaptiveRate
from turktui.pipeline.policy import needs_attention as needs_attention  # (re-exported)

UTC = timezone.utc
OP_EXTEND = ADD_ASSIGNMENTS.mturk_name
OP_EXPIRE = UPDATE_EXPIRATION.mturk_name
OP_GET = "GetHIT"


class Engine(Grouping):
    """Plans, records, sends, confirms and settles requests for one environment."""

    def __init__(
        self,
        service: TurkService,
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

    def request(self, operation: Operation, hit: Hit, **options: Any) -> Record:
        """Record one request of any registered operation on `hit` (planned, not sent):
        `dispatch` sends it. The options are `request_row`'s: the operation's own fields go
        in `payload`; `subject` is what it acts on when that is not the HIT itself (an
        assignment: one intent each). `allow_second` (the operator confirmed another
        intent on the subject) is recorded in the payload too: the operation's plan against
        its fresh read honours it."""
        row = self.request_row(operation, hit, **options)
        allow_second = bool(options.get("allow_second"))
        try:
            (record_id,) = self.history.insert([row], now=self.clock(), allow_second=allow_second)
        except IntentBusy as exc:
            raise PlanRefused(str(exc), "busy") from exc
        record = self.history.get(record_id, with_attempts=False)
        assert record is not None
        return record

    def request_row(
        self,
        operation: Operation,
        hit: Hit,
        *,
        token: str | None = None,
        payload: dict[str, Any] | None = None,
        batch_id: str | None = None,
        allow_second: bool = False,
        subject: str | None = None,
    ) -> dict[str, Any]:
        """The history row `request` inserts (PlanRefused on a read-only session)."""
        if self.env.read_only:
            raise PlanRefused("This session is read-only: nothing can be changed.", "read_only")
        data = {**(payload or {}), **({"allow_second": True} if allow_second else {})}
        row = {
            **self._row(hit, batch_id),
            "operation": operation.name,
            "payload": json.dumps(data, sort_keys=True),
            "n": 0,
            "token": token or new_token(),
            "max_before": hit.max_assignments,
            "expected_after": hit.max_assignments,
        }
        if subject:
            row["subject"] = subject
        return row

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
        other unsettled one goes through `resolve` (never a blind re-send). The parts of a
        combined request go in order, in one worker. With workers=1 everything runs in the
        calling thread (a single extension is a batch of one).

        A member's PlanRefused/HistoryError goes to `on_error` (raised when there is none);
        `cancel`, once set, leaves members not yet started as they are. `on_start(record)`
        is called as a worker takes a member, before anything is sent; False leaves it as
        it is (a cancel that came first)."""
        emit = on_event or (lambda event: None)
        units: dict[Any, list[Record]] = {}
        for record in records:
            units.setdefault(record.group_id or ("single", record.id), []).append(record)

        def one(unit: list[Record]) -> None:
            for i, record in enumerate(unit):
                if cancel is not None and cancel.is_set():
                    return
                if on_start is not None and not on_start(record):
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


def _applied(record: Record, history: HistoryStore) -> bool:
    current = history.get(record.id, with_attempts=False) or record
    return current.state.applied is True
