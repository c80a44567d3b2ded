"""Bulk extension: record a whole batch first, then send it with bounded concurrency.

The safety rules are the engine's, applied to many HITs at once:

* One token per HIT. Every member of a batch is planned by `Engine.plan` (one fresh
  UniqueRequestToken each) and ALL members are written to the history in one transaction
  (`HistoryStore.create_many`) before the first request leaves, tagged with the batch id.
* Members are sent by the engine's dispatcher (`Engine.dispatch`, a few workers: the same
  path as a single extension, which is a batch of one), which retries transient errors with
  the member's own token and records every attempt.
* Throttling is shared: every request goes through the engine's one `AdaptiveRate`
  (pipeline/pacing.py); a `Throttled` answer halves the rate for all workers, which then
  recovers slowly (additive increase).
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

import dataclasses
import threading
import time
import uuid
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from datetime import datetime

from turktui.domain.bulk import BulkPreview, TopUpTo, TopUpToNine
from turktui.domain.models import Hit
from turktui.domain.records import IntentBusy, Record, State
from turktui.domain.rules import SMALL_HIT_LIMIT
from turktui.pipeline.engine import Engine, Outcome, PlanRefused
from turktui.pipeline.pacing import AdaptiveRate as AdaptiveRate  # (re-exported)
from turktui.pipeline.resolving import settle

DEFAULT_WORKERS = 6
#: Member states `retry` sends again (refused ones are not: MTurk already said no).
RETRYABLE = (State.PLANNED, State.FAILED, State.SENDING, State.UNKNOWN)
_SUCCESS = (State.SUCCEEDED, State.RESOLVED_SUCCEEDED)


def new_batch_id() -> str:
    """'batch-' + 12 hex digits: short enough for a table cell, unique enough for a history."""
    return "batch-" + uuid.uuid4().hex[:12]


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
        return sum(
            1 for r in self.records if r.state is State.CONFLICT or r.expiry_state == "conflict"
        )

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
            parts.append(f"{self.not_sent:,} not sent" + (" (cancelled)" if self.cancelled else ""))
        return ", ".join(parts)


def member_status(record: Record, cancelled: bool = False) -> str:
    """A member's state in words for a per-HIT list ('not sent (cancelled)', ...)."""
    if record.state is State.PLANNED:
        return "not sent (cancelled)" if cancelled else "not sent yet"
    if record.state in _SUCCESS:
        if record.expiry_only:
            return f"{record.change_label}: {record.expiry_state or 'done'}"
        added = f"added +{record.n:,} ({record.max_before:,} \u2192 {record.expected_after:,})"
        if record.expire_at is not None:  # both outcomes, each in words
            added += f"; time: {record.expiry_state or 'pending'}"
        return added
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
        # The engine is the dispatcher and paces every call; a pacer given here becomes
        # the engine's (one account, one rate, whoever sends).
        if pacer is not None:
            engine.pacer = pacer
        self.pacer = engine.pacer
        self.engine = self.base = engine
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
        self,
        preview: BulkPreview,
        *,
        batch_id: str | None = None,
        expire_at: datetime | Callable[[Hit], datetime | None] | None = None,
        allow_second: bool = False,
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
            raise PlanRefused("Nothing to send: no HIT in this batch can be extended.", "empty")
        bid = batch_id or new_batch_id()

        def when(hit: Hit) -> datetime | None:  # one moment for all, or one per HIT
            return expire_at(hit) if callable(expire_at) else expire_at

        plans = [
            self.base.plan(line.hit, line.n or 0, when(line.hit), batch_id=bid) for line in lines
        ]
        mode = preview.mode
        rows = []
        for p in plans:  # each plan's records: the assignments, then the time (one group)
            target = _target(mode, p.hit.max_assignments, p.new_max)
            rows += self.base.rows(dataclasses.replace(p, target=target))
        try:
            self.history.create_many(rows, now=self.base.clock(), allow_second=allow_second)
        except IntentBusy as exc:
            raise PlanRefused(
                f"{exc}. One request per HIT at a time: settle them first "
                "(turktui resolve), or confirm a second request explicitly.",
                "busy",
            ) from exc
        return bid, self.history.batch_records(bid)

    # -- sending ---------------------------------------------------------------------------
    def run(
        self,
        preview: BulkPreview,
        *,
        batch_id: str | None = None,
        expire_at: datetime | Callable[[Hit], datetime | None] | None = None,
        progress: Callable[[BatchProgress], None] | None = None,
        member: Callable[[Outcome], None] | None = None,
        allow_second: bool = False,
    ) -> BatchReport:
        """record + send."""
        bid, records = self.record(
            preview, batch_id=batch_id, expire_at=expire_at, allow_second=allow_second
        )
        return self.send(bid, records, progress=progress, member=member)

    def send(
        self,
        batch_id: str,
        records: Sequence[Record],
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
                snap = BatchProgress(
                    total,
                    counts["done"],
                    counts["failed"],
                    total - counts["done"] - counts["failed"],
                    self.cancelled,
                )
            report_progress(snap)

        def done(record: Record, outcome: Outcome) -> None:
            nonlocal sent
            with lock:
                sent += 1
                outcomes[record.id] = outcome
                counts["done" if outcome.succeeded else "failed"] += 1
            if member is not None:
                member(outcome)
            tick()

        def failed(record: Record, exc: Exception) -> None:
            # The history is failing (or the record is not ours): stop the rest, so
            # nothing is sent that cannot be recorded.
            with lock:
                errors[record.id] = str(exc)
                counts["failed"] += 1
            if not isinstance(exc, PlanRefused):
                self.cancel_event.set()
            tick()

        tick()
        self.engine.dispatch(
            records,
            workers=self.workers,
            cancel=self.cancel_event,
            on_outcome=done,
            on_error=failed,
        )
        final = self.history.batch_records(batch_id)
        report = BatchReport(
            batch_id,
            final,
            outcomes,
            errors,
            cancelled=self.cancelled,
            sent=sent,
            elapsed=time.monotonic() - started,
        )
        tick()
        return report

    # -- retry / resolve -------------------------------------------------------------------
    def pending(self, batch_id: str) -> list[Record]:
        """Members of this environment that did not succeed and may be re-sent."""
        endpoint = self.base.env.endpoint_url
        return [
            r
            for r in self.history.batch_records(batch_id)
            if r.state in RETRYABLE and r.endpoint == endpoint
        ]

    def retry(
        self,
        batch_id: str,
        progress: Callable[[BatchProgress], None] | None = None,
        member: Callable[[Outcome], None] | None = None,
    ) -> BatchReport:
        """Re-send only what did not succeed, each with its recorded token."""
        self.cancel_event.clear()
        return self.send(batch_id, self.pending(batch_id), progress=progress, member=member)

    def resolve(
        self,
        batch_id: str,
        progress: Callable[[BatchProgress], None] | None = None,
        member: Callable[[Outcome], None] | None = None,
    ) -> BatchReport:
        """Settle the batch's unsettled members with `Engine.resolve` (planned ones are
        marked never sent; unknown ones re-sent with their token or compared)."""
        self.cancel_event.clear()
        endpoint = self.base.env.endpoint_url
        members = [
            r
            for r in self.history.batch_records(batch_id)
            if not r.settled and r.endpoint == endpoint
        ]
        started = time.monotonic()
        total = len(members)
        done = 0

        def settled(outcome: Outcome) -> None:
            nonlocal done
            done += 1
            if member is not None:
                member(outcome)
            if progress is not None:
                progress(BatchProgress(total, done, 0, total - done))

        result = settle(self.engine, members, on_outcome=settled)
        return BatchReport(
            batch_id,
            self.history.batch_records(batch_id),
            {o.record.id: o for o in result.outcomes},
            dict(result.errors),
            sent=len(result.outcomes),
            elapsed=time.monotonic() - started,
        )


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
