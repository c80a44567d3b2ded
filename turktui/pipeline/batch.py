"""Bulk extension: record a whole batch first, then send it with bounded concurrency.

The safety rules are the engine's, applied to many HITs at once:

* One token per HIT. Every member of a batch is planned by `Engine.plan` (one fresh
  UniqueRequestToken each) and ALL members are written to the history in one transaction
  (`HistoryStore.create_many`) before the first request leaves, tagged with the batch id.
* Members are sent by a `ThreadPoolExecutor` (a few workers) through `Engine.execute_recorded`,
  which retries transient errors with the member's own token and records every attempt.
* Throttling is shared: every request goes through one `AdaptiveRate`; a `Throttled` answer
  halves the rate for all workers, which then recovers slowly (additive increase).
* Cancelling stops what has not started; those members stay "planned" (never sent) and a
  retry sends them later with the tokens recorded for them.
* `retry` re-sends only members that did not succeed: planned and failed ones with their
  recorded token, unknown/sending ones through `Engine.resolve` (re-send with the same token
  inside MTurk's 24-hour window, a MaxAssignments comparison after it). Refused members are
  not re-sent: MTurk answered, and an unchanged request would be refused again.

No textual here (the UI runs `BatchRunner` in a thread worker); no boto3 (the service is
the engine's, duck-typed).
"""

from __future__ import annotations

import collections
import threading
import time
import uuid
from collections.abc import Callable, Iterable, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from turktui.adapters.history import HistoryError, OutcomeNotRecorded
from turktui.domain.bulk import BulkPreview, TopUpTo, TopUpToNine
from turktui.domain.errors import Throttled
from turktui.domain.models import Hit
from turktui.domain.records import IntentBusy, Record, State
from turktui.domain.rules import SMALL_HIT_LIMIT
from turktui.pipeline.engine import Engine, Outcome, PlanRefused

DEFAULT_WORKERS = 6
#: Requests per second before any throttling is seen (None: as fast as the bounded number
#: of workers goes; the first Throttled answer sets a rate, learnt from the traffic).
DEFAULT_MAX_RATE: float | None = None
#: Throttles within this many seconds of a rate cut count as one (one cut per "round trip",
#: as in TCP): a burst of answers to requests already in flight must not divide it by 2^k.
THROTTLE_COOLDOWN = 1.0
#: Member states `retry` sends again (refused ones are not: MTurk already said no).
RETRYABLE = (State.PLANNED, State.FAILED, State.SENDING, State.UNKNOWN)
_SUCCESS = (State.SUCCEEDED, State.RESOLVED_SUCCEEDED)


def new_batch_id() -> str:
    """'batch-' + 12 hex digits: short enough for a table cell, unique enough for a history."""
    return "batch-" + uuid.uuid4().hex[:12]


class AdaptiveRate:
    """A shared pacer for all workers: at most `rate` requests per second.

    Additive increase, multiplicative decrease (like TCP): `throttled()` halves the rate
    and pushes the next slot out for everyone; each success adds a little back, up to
    `max_rate` (None: unlimited until the first throttle, then learnt from the traffic).
    """

    def __init__(
        self,
        max_rate: float | None = DEFAULT_MAX_RATE,
        *,
        min_rate: float = 2.0,
        step: float = 1.0,
        fallback_rate: float = 10.0,
        cooldown: float = THROTTLE_COOLDOWN,
        clock: Callable[[], float] = time.monotonic,
        sleep: Callable[[float], None] = time.sleep,
    ) -> None:
        self.max_rate = max_rate
        self.min_rate = min_rate
        self.step = step
        self.fallback_rate = fallback_rate
        self.cooldown = cooldown
        self._last_cut = float("-inf")
        self.rate: float | None = max_rate
        self.throttle_count = 0
        self._clock = clock
        self._sleep = sleep
        self._lock = threading.Lock()
        self._next = 0.0
        self._recent: collections.deque[float] = collections.deque(maxlen=200)

    def acquire(self) -> float:
        """Wait for this caller's slot; returns the seconds waited."""
        with self._lock:
            now = self._clock()
            slot = max(now, self._next)
            if self.rate:
                self._next = slot + 1.0 / self.rate
            self._recent.append(slot)
        wait = slot - now
        if wait > 0:
            self._sleep(wait)
        return max(0.0, wait)

    def _observed(self, now: float) -> float:
        """Requests per second over the last ~2 seconds of slots."""
        recent = [t for t in self._recent if now - t <= 2.0]
        if len(recent) < 10:
            return self.fallback_rate  # too few requests to measure a rate
        span = max(recent[-1] - recent[0], 1e-3)
        return len(recent) / span

    def throttled(self) -> None:
        with self._lock:
            now = self._clock()
            self.throttle_count += 1
            if self.rate is None or now - self._last_cut >= self.cooldown:
                current = self.rate if self.rate else self._observed(now)
                self.rate = max(self.min_rate, current / 2)
                self._last_cut = now
            # Everyone backs off now, not just the worker that was told.
            self._next = max(self._next, now + 1.0 / self.rate)

    def succeeded(self) -> None:
        with self._lock:
            if self.rate is None:
                return
            self.rate += self.step
            if self.max_rate is not None:
                self.rate = min(self.rate, self.max_rate)


class PacedService:
    """The engine's service, with every request paced by one shared `AdaptiveRate`."""

    def __init__(self, service: Any, pacer: AdaptiveRate) -> None:
        self.service = service
        self.pacer = pacer

    def _paced(self, fn: Callable[[], Any]) -> Any:
        self.pacer.acquire()
        try:
            result = fn()
        except Throttled:
            self.pacer.throttled()
            raise
        self.pacer.succeeded()
        return result

    def create_additional_assignments(self, hit_id: str, n: int, token: str) -> None:
        self._paced(lambda: self.service.create_additional_assignments(hit_id, n, token))

    def get_hit(self, hit_id: str) -> Hit:
        return self._paced(lambda: self.service.get_hit(hit_id))  # type: ignore[no-any-return]

    def update_expiration(self, hit_id: str, expire_at: datetime) -> None:
        self._paced(lambda: self.service.update_expiration(hit_id, expire_at))

    def __getattr__(self, name: str) -> Any:
        return getattr(self.service, name)


@dataclass(frozen=True, slots=True)
class BatchProgress:
    """Counts for a progress bar: `done` succeeded, `failed` did not, `remaining` left."""

    total: int
    done: int
    failed: int
    remaining: int
    cancelled: bool = False

    @property
    def finished(self) -> int:
        return self.done + self.failed


@dataclass
class BatchReport:
    """What a run (or retry) of a batch did; `records` are the members as now recorded."""

    batch_id: str
    records: list[Record]
    outcomes: dict[int, Outcome] = field(default_factory=dict)
    errors: dict[int, str] = field(default_factory=dict)
    cancelled: bool = False
    sent: int = 0  # members this run sent (or resolved)
    elapsed: float = 0.0

    def count(self, *states: State) -> int:
        return sum(1 for r in self.records if r.state in states)

    @property
    def succeeded(self) -> int:
        return self.count(*_SUCCESS)

    @property
    def refused(self) -> int:
        return self.count(State.REFUSED, State.RESOLVED_NOT_APPLIED)

    @property
    def failed(self) -> int:
        return self.count(State.FAILED)

    @property
    def unknown(self) -> int:
        return self.count(State.UNKNOWN, State.SENDING)

    @property
    def conflict(self) -> int:
        return sum(1 for r in self.records if r.state is State.CONFLICT
                   or r.expiry_state == "conflict")

    @property
    def not_sent(self) -> int:
        return self.count(State.PLANNED)

    @property
    def retryable(self) -> int:
        return self.count(*RETRYABLE)

    @property
    def all_succeeded(self) -> bool:
        return self.succeeded == len(self.records)

    def summary(self) -> str:
        parts = [f"{self.succeeded:,} of {len(self.records):,} succeeded"]
        if self.refused:
            parts.append(f"{self.refused:,} refused")
        if self.failed:
            parts.append(f"{self.failed:,} failed")
        if self.unknown:
            parts.append(f"{self.unknown:,} unknown")
        if self.conflict:
            parts.append(f"{self.conflict:,} in conflict")
        if self.not_sent:
            parts.append(f"{self.not_sent:,} not sent" + (" (cancelled)" if self.cancelled
                                                          else ""))
        return ", ".join(parts)


def member_status(record: Record, cancelled: bool = False) -> str:
    """A member's state in words for a per-HIT list ('not sent (cancelled)', ...)."""
    if record.state is State.PLANNED:
        return "not sent (cancelled)" if cancelled else "not sent yet"
    if record.state in _SUCCESS:
        return f"added +{record.n:,} ({record.max_before:,} \u2192 {record.expected_after:,})"
    detail = record.error_message or record.error_code or record.note
    label = record.state.label
    return f"{label}: {detail}" if detail else label


class BatchRunner:
    """Records, sends, retries and resolves one environment's batches.

    `progress(BatchProgress)` and `member(Outcome)` are called from worker threads."""

    def __init__(
        self,
        engine: Engine,
        *,
        workers: int = DEFAULT_WORKERS,
        pacer: AdaptiveRate | None = None,
    ) -> None:
        if workers < 1:
            raise ValueError("workers must be at least 1")
        self.workers = workers
        self.pacer = pacer or AdaptiveRate()
        self.base = engine
        # A twin engine whose service is paced; history, clock and backoff are shared.
        self.engine = Engine(PacedService(engine.service, self.pacer), engine.history,
                             engine.env, clock=engine.clock, backoff=engine.backoff,
                             sleep=engine.sleep)
        self.history = engine.history
        self.cancel_event = threading.Event()

    def cancel(self) -> None:
        """Stop sending: members not yet started stay planned (retry sends them later)."""
        self.cancel_event.set()

    @property
    def cancelled(self) -> bool:
        return self.cancel_event.is_set()

    # -- recording -------------------------------------------------------------------------
    def record(
        self, preview: BulkPreview, *, batch_id: str | None = None,
        expire_at: datetime | None = None, allow_second: bool = False,
    ) -> tuple[str, list[Record]]:
        """Plan one token per HIT to send and record them all in one transaction.

        PlanRefused (nothing recorded) when a member no longer passes the rules (e.g. the
        session is read-only) or, unless allow_second, when a HIT already has an unsettled
        request (code "busy": one intent per HIT at a time, checked in the same transaction
        as the insert); HistoryError (nothing recorded) when the file cannot be written.

        Top-ups record their target: each member's n is recomputed from MaxAssignments read
        just before it is sent, so two overlapping top-ups never add twice."""
        lines = preview.to_send
        if not lines:
            raise PlanRefused("Nothing to send: no HIT in this batch can be extended.",
                              "empty")
        bid = batch_id or new_batch_id()
        plans = [self.base.plan(line.hit, line.n or 0, expire_at, batch_id=bid)
                 for line in lines]
        env = self.base.env
        mode = preview.mode
        rows = [
            {"env_kind": env.kind.value, "endpoint": env.endpoint_url, "profile": env.profile,
             "hit_id": p.hit.hit_id, "hit_title": p.hit.title, "n": p.n, "token": p.token,
             "max_before": p.hit.max_assignments, "expected_after": p.new_max,
             "expire_at": p.expire_at, "batch_id": bid, "owner": self.base.owner,
             "target": _target(mode, p.hit.max_assignments, p.new_max)}
            for p in plans
        ]
        try:
            self.history.create_many(rows, now=self.base.clock(), allow_second=allow_second)
        except IntentBusy as exc:
            raise PlanRefused(f"{exc}. One request per HIT at a time: settle them first "
                              "(turktui resolve), or confirm a second request explicitly.",
                              "busy") from exc
        return bid, self.history.batch_records(bid)

    # -- sending ---------------------------------------------------------------------------
    def run(
        self, preview: BulkPreview, *, batch_id: str | None = None,
        expire_at: datetime | None = None,
        progress: Callable[[BatchProgress], None] | None = None,
        member: Callable[[Outcome], None] | None = None,
        allow_second: bool = False,
    ) -> BatchReport:
        """record + send."""
        bid, records = self.record(preview, batch_id=batch_id, expire_at=expire_at,
                                   allow_second=allow_second)
        return self.send(bid, records, progress=progress, member=member)

    def send(
        self, batch_id: str, records: Sequence[Record],
        progress: Callable[[BatchProgress], None] | None = None,
        member: Callable[[Outcome], None] | None = None,
    ) -> BatchReport:
        """Send (or settle) `records` with at most `workers` in flight; returns the report."""
        started = time.monotonic()
        total = len(records)
        lock = threading.Lock()
        counts = {"done": 0, "failed": 0}
        outcomes: dict[int, Outcome] = {}
        errors: dict[int, str] = {}
        report_progress = progress or (lambda p: None)
        sent = 0

        def tick() -> None:
            with lock:
                snap = BatchProgress(total, counts["done"], counts["failed"],
                                     total - counts["done"] - counts["failed"],
                                     self.cancelled)
            report_progress(snap)

        def one(record: Record) -> None:
            nonlocal sent
            if self.cancelled:
                return  # stays as it is (planned): "not sent (cancelled)"
            try:
                outcome = self._send_one(record)
            except (OutcomeNotRecorded, HistoryError, PlanRefused) as exc:
                # The history is failing (or the record is not ours): stop the rest, so
                # nothing is sent that cannot be recorded.
                with lock:
                    errors[record.id] = str(exc)
                    counts["failed"] += 1
                if not isinstance(exc, PlanRefused):
                    self.cancel_event.set()
                tick()
                return
            with lock:
                sent += 1
                outcomes[record.id] = outcome
                counts["done" if outcome.succeeded else "failed"] += 1
            if member is not None:
                member(outcome)
            tick()

        tick()
        if records:
            with ThreadPoolExecutor(max_workers=min(self.workers, total),
                                    thread_name_prefix="batch") as pool:
                for future in [pool.submit(one, r) for r in records]:
                    future.result()
        final = self.history.batch_records(batch_id)
        report = BatchReport(batch_id, final, outcomes, errors, cancelled=self.cancelled,
                             sent=sent, elapsed=time.monotonic() - started)
        tick()
        return report

    def _send_one(self, record: Record) -> Outcome:
        full = self.history.get(record.id, with_attempts=False) or record
        if full.state in (State.PLANNED, State.FAILED):
            return self.engine.execute_recorded(full)
        return self.engine.resolve(full)

    # -- retry / resolve -------------------------------------------------------------------
    def pending(self, batch_id: str) -> list[Record]:
        """Members of this environment that did not succeed and may be re-sent."""
        endpoint = self.base.env.endpoint_url
        return [r for r in self.history.batch_records(batch_id)
                if r.state in RETRYABLE and r.endpoint == endpoint]

    def retry(
        self, batch_id: str,
        progress: Callable[[BatchProgress], None] | None = None,
        member: Callable[[Outcome], None] | None = None,
    ) -> BatchReport:
        """Re-send only what did not succeed, each with its recorded token."""
        self.cancel_event.clear()
        return self.send(batch_id, self.pending(batch_id), progress=progress, member=member)

    def resolve(
        self, batch_id: str,
        progress: Callable[[BatchProgress], None] | None = None,
        member: Callable[[Outcome], None] | None = None,
    ) -> BatchReport:
        """Settle the batch's unsettled members with `Engine.resolve` (planned ones are
        marked never sent; unknown ones re-sent with their token or compared)."""
        self.cancel_event.clear()
        endpoint = self.base.env.endpoint_url
        members = [r for r in self.history.batch_records(batch_id)
                   if not r.settled and r.endpoint == endpoint]
        started = time.monotonic()
        outcomes: dict[int, Outcome] = {}
        errors: dict[int, str] = {}
        total = len(members)
        for i, record in enumerate(members, 1):
            full = self.history.get(record.id) or record
            try:
                outcome = self.engine.resolve(full)
            except (PlanRefused, HistoryError) as exc:
                errors[record.id] = str(exc)
                continue
            outcomes[record.id] = outcome
            if member is not None:
                member(outcome)
            if progress is not None:
                progress(BatchProgress(total, i, 0, total - i))
        return BatchReport(batch_id, self.history.batch_records(batch_id), outcomes, errors,
                           sent=len(outcomes), elapsed=time.monotonic() - started)


def _target(mode: object, before: int, after: int) -> int | None:
    """The MaxAssignments a top-up aims at (None for "add n": n stays n)."""
    if isinstance(mode, TopUpTo):
        return after
    if isinstance(mode, TopUpToNine) and before < SMALL_HIT_LIMIT:
        return after
    return None


def batch_ids(records: Iterable[Record]) -> list[str]:
    """Distinct batch ids in first-seen order."""
    seen: dict[str, None] = {}
    for record in records:
        if record.batch_id:
            seen.setdefault(record.batch_id, None)
    return list(seen)
