"""Many requests of one operation recorded and sent together, the history's commits grouped
(approving or rejecting a HIT's work: `reviewing.review_many`). `Engine` inherits it.

The promise is the one loop's (see engine): every request is recorded — committed —
before it is sent, every attempt and outcome is recorded, and an unknown outcome is settled
by MTurk's own answer. Only the number of commits and reads changes:

* The requests come in planned (`request_row`s), each from a read its caller just made
  (no fresh read each: the request itself is MTurk's check).
* Chunk by chunk: the chunk's requests are recorded, each with its first attempt started
  ("sending"), in ONE transaction before any of them is sent (one intent per subject, as
  always); they are sent `workers` at a time; an answer other than a plain OK (a refusal,
  an error) is recorded at once, the chunk's in ONE transaction; an OK answer is recorded
  with the verdict on it (below). The next chunk is recorded while this one is sent. A
  crash before a request's outcome is recorded leaves it "sending": `resolve` settles it by
  what MTurk shows, as for any interrupted request; the requests of chunks not recorded
  yet were never sent. A stop (Ctrl-C, a signal) sends nothing more: the recorded requests
  not started yet are recorded "never sent" (settled, nothing applied), the ones on the
  wire finish.
* Confirmation: the operation's `fetch_many` (a HIT's listing, all pages) reads many
  subjects in a few calls when that is cheaper than one read each; any member it does not
  show confirmed is read on its own (`fetch`). The verdicts (the loop's own `_final`), with
  the OK answers they judge, are recorded in ONE transaction.
* A member whose answer calls for a retry (throttled, 5xx, a dropped answer) leaves the
  group: the ordinary loop retries it with its token (`_send(tried=...)`) and confirms it.
"""

from __future__ import annotations

import contextlib
import functools
import threading
import time
from collections.abc import Callable, Sequence
from concurrent.futures import Future, ThreadPoolExecutor
from typing import Any

from turktui.adapters.history import HistoryError
from turktui.domain.errors import TokenAlreadyProcessed, TurkError
from turktui.domain.records import IntentBusy, Record, State, StateChanged
from turktui.pipeline.flight import IN_FLIGHT, WORKING
from turktui.pipeline.model import Event, PlanRefused, SendResult
from turktui.pipeline.operations import Operation, Read, Verdict
from turktui.pipeline.settling import Settling

#: the first chunk's size (recorded in one transaction before any of it is sent); each next
#: chunk is twice as large, up to CHUNK_MAX: the sending starts soon, and a thousand
#: requests take a handful of commits (each costs an fsync, slow on a busy disk)
CHUNK = 50
CHUNK_MAX = 400


def chunks(n: int) -> list[tuple[int, int]]:
    """The (start, end) of each chunk of `n` members."""
    out, start, size = [], 0, CHUNK
    while start < n:
        out.append((start, min(n, start + size)))
        start, size = start + size, min(CHUNK_MAX, size * 2)
    return out


#: a listing answers this many subjects a call (ListAssignmentsForHIT's largest page)
LISTED_PER_CALL = 100


#: what a request a stop kept from being sent says
NEVER_SENT = (
    "Never sent: the command was stopped before this request was sent; nothing was applied."
)


class _NotSent(Exception):
    """A member's worker started after the group was stopped: it sent nothing."""


class _Unsent:
    """The ids of the group's recorded requests whose sending has not started: each is
    added as soon as its insert returns, and leaves as its worker takes it (only a worker
    that took it sends it), so what a stop takes is known never sent."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._ids: set[int] = set()

    def add(self, ids: Sequence[int]) -> None:
        with self._lock:
            self._ids.update(ids)

    def take(self, record_id: int) -> bool:
        with self._lock:
            if record_id not in self._ids:
                return False
            self._ids.discard(record_id)
            return True

    def take_all(self) -> list[int]:
        with self._lock:
            left, self._ids = sorted(self._ids), set()
            return left


class Grouping(Settling):
    """Records and sends a group of requests for the engine."""

    def send_group(
        self,
        op: Operation,
        rows: Sequence[dict[str, Any]],
        *,
        workers: int = 1,
        on_error: Callable[[str, Exception], None],
        on_event: Callable[[Event], None] | None = None,
    ) -> dict[str, int]:
        """Record, send, confirm and settle the requests `rows` describe (`request_row`s
        of `op`, one subject each, planned by the caller) as the module says; the ids of
        those recorded, by subject. Why one was not sent (PlanRefused: another request on
        its subject is unsettled; HistoryError: the history cannot be written, which stops
        the group) goes to `on_error` with its subject."""
        emit = on_event or (lambda event: None)
        ids: dict[str, int] = {}
        confirm: list[tuple[Record, SendResult, float, float | None]] = []
        retry: list[tuple[Record, SendResult, bool, float]] = []
        offloaded = getattr(self.service, "offloaded", None)
        with (
            # many requests may be shared with a second sender (the service decides: a
            # forked child, both cores sending); each is still recorded before it is sent
            offloaded(len(rows)) if offloaded else contextlib.nullcontext(self.service) as service,
            ThreadPoolExecutor(max_workers=max(1, workers), thread_name_prefix="group") as pool,
            contextlib.ExitStack() as held,
        ):
            unsent = _Unsent()
            held.push(functools.partial(self._stop_unstarted, pool, unsent))
            # chunk k+1 is recorded while chunk k is sent, and chunk k's answers while chunk
            # k+1 is: the commits overlap the requests, and each request is recorded before
            # it is sent and answered after
            sending: tuple[list[Record], list[Future[Any]], float] | None = None
            for i, end in [*chunks(len(rows)), (len(rows), len(rows))]:
                part = rows[i:end]
                nxt = None
                if part:
                    try:
                        records = self._start_chunk(op, part, on_error, unsent)
                    except HistoryError as exc:
                        for row in rows[i:]:
                            on_error(row["subject"], exc)
                        part = []
                    else:
                        for record in records:
                            ids[record.subject] = record.id
                            held.enter_context(WORKING.hold(self._key(record.id)))
                            flight = held.enter_context(IN_FLIGHT.track())
                            flight.history, flight.record_id, flight.hit_id = (
                                self.history,
                                record.id,
                                record.hit_id,
                            )
                        futures = [
                            pool.submit(self._send_once, op, r, service, unsent) for r in records
                        ]
                        nxt = (records, futures, time.monotonic())
                if sending is not None:
                    try:
                        self._finish_chunk(op, *sending, confirm, retry)
                    except HistoryError as exc:
                        for record in sending[0]:
                            on_error(record.subject, self._not_recorded(record.id, exc))
                    except StateChanged as exc:  # another part of the program took one
                        for record in sending[0]:
                            on_error(record.subject, PlanRefused(str(exc), "changed"))
                sending = nxt
                if not part:
                    break
            self._confirm_group(op, confirm, pool, on_error)
            for future in [
                pool.submit(self._retry_member, op, *item, emit, on_error) for item in retry
            ]:
                future.result()
        return ids

    def _start_chunk(
        self,
        op: Operation,
        part: Sequence[dict[str, Any]],
        on_error: Callable[[str, Exception], None],
        unsent: _Unsent,
    ) -> list[Record]:
        """Record the chunk's requests, each with its first attempt started ("sending"), in
        one commit before any of it is sent (one intent per subject: when another run
        recorded one meanwhile, one by one, that one refused); each id goes to `unsent` as
        soon as its insert returns. HistoryError: nothing of the chunk was recorded."""
        history = self.history
        now = self.clock()
        chunk = [{**row, "state": State.SENDING, "first_sent": now} for row in part]
        try:
            ids = history.insert(chunk, now=now, allow_second=False, started=op.mturk_name)
            unsent.add(ids)
        except IntentBusy:
            ids = []
            for row in chunk:
                try:
                    one = history.insert([row], now=now, allow_second=False, started=op.mturk_name)
                except IntentBusy as exc:
                    on_error(row["subject"], PlanRefused(str(exc), "busy"))
                else:
                    unsent.add(one)
                    ids += one
        recorded = history.get_many(ids)
        return [recorded[i] for i in ids]

    def _finish_chunk(
        self,
        op: Operation,
        part: Sequence[Record],
        futures: list[Future[Any]],
        started: float,
        confirm: list[tuple[Record, SendResult, float, float | None]],
        retry: list[tuple[Record, SendResult, bool, float]],
    ) -> None:
        """Record the chunk's answers other than a plain OK in one commit (a refusal settles
        its record); the members to confirm (with their OK answer, recorded with the
        verdict) or to retry are added to `confirm` / `retry`. HistoryError: nothing of it
        was recorded (the chunk stays "sending", for resolve)."""
        history = self.history
        answers = [f.result() for f in futures]
        steps: list[Callable[[Any], Any]] = []
        later_confirm: list[tuple[Record, SendResult, float, float | None]] = []
        later_retry: list[tuple[Record, SendResult, bool, float]] = []
        answered = self.clock()
        number = 1  # each member's first attempt (recorded with it)
        for record, (err, took) in zip(part, answers, strict=True):
            result = SendResult(State.SUCCEEDED)
            if err is None:  # recorded with its verdict (a crash before: still "sending")
                later_confirm.append((record, result, started, took))
                continue
            outcome, code, final, maybe = self._answered(op, err, result, False)
            steps.append(
                history.finish_attempt_step(
                    record.id,
                    number,
                    outcome=outcome,
                    error_code=code,
                    error_message=err.message,
                    duration=took,
                    now=answered,
                )
            )
            if not final:
                later_retry.append((record, result, maybe, started))
            elif result.state is State.SUCCEEDED:  # a question: confirmed below
                later_confirm.append((record, result, started, None))
            else:  # refused, or failed for good: nothing to read
                values, _read = self._final(op, record, result, lambda: None)
                values["duration"] = time.monotonic() - started
                steps.append(
                    history.update_step(record.id, now=answered, expect=State.SENDING, **values)
                )
        history.together(steps)
        confirm.extend(later_confirm)
        retry.extend(later_retry)

    def _stop_unstarted(
        self, pool: ThreadPoolExecutor, unsent: _Unsent, kind: type | None, *_: object
    ) -> None:
        """Stopped (Ctrl-C, a signal, an error): the requests not started yet are never
        sent, instead of all being sent while nobody waits for their answers, and their
        records say so (in one transaction; if it cannot be written they stay "sending",
        for resolve to settle by what MTurk shows). The requests on the wire finish."""
        if kind is None:
            return
        pool.shutdown(wait=False, cancel_futures=True)
        never = unsent.take_all()  # from here on, a worker that starts sends nothing
        pool.shutdown(wait=True)
        if not never:
            return
        history = self.history
        with contextlib.suppress(Exception):  # already stopping: never a second failure
            now = self.clock()
            steps: list[Callable[[Any], Any]] = []
            for record in history.get_many(never).values():
                steps.append(history.finish_attempt_step(record.id, 1, outcome="not_sent", now=now))
                steps.append(
                    history.update_step(
                        record.id,
                        now=now,
                        expect=State.SENDING,
                        state=State.RESOLVED_NOT_APPLIED,
                        first_sent=None,
                        note=f"{record.note} {NEVER_SENT}".strip(),
                    )
                )
            history.together(steps)

    def _send_once(
        self, op: Operation, record: Record, service: Any, unsent: _Unsent
    ) -> tuple[TurkError | None, float]:
        if not unsent.take(record.id):
            raise _NotSent  # the group was stopped before this one started
        t0 = time.monotonic()
        try:
            self._paced(lambda: op.send(service, record))
        except TurkError as exc:
            return exc, time.monotonic() - t0
        return None, time.monotonic() - t0

    def _confirm_group(
        self,
        op: Operation,
        members: list[tuple[Record, SendResult, float, float | None]],
        pool: ThreadPoolExecutor,
        on_error: Callable[[str, Exception], None],
    ) -> None:
        """Read what MTurk shows for `members` (listings first, then one read each for
        what they do not confirm) and record every verdict in one transaction."""
        if not members:
            return
        reads: dict[int, Read | None] = {}
        # the listing's verdicts: each member is judged once on the read that confirms it
        judged: dict[int, Verdict] = {}

        def fresh(record: Record) -> Read | None:
            return self._read(op, record)[0]

        by_hit: dict[str, list[tuple[Record, SendResult, float, float | None]]] = {}
        for member in members:
            by_hit.setdefault(member[0].hit_id, []).append(member)
        fetch_many = getattr(op, "fetch_many", None)
        key = getattr(op, "key", None)
        for hit_id, group in by_hit.items():
            calls = -(-max(group[0][0].max_before, 1) // LISTED_PER_CALL)
            if fetch_many is None or key is None or len(group) <= calls:
                continue
            try:
                listed = self._paced(functools.partial(fetch_many, self.service, hit_id))
            except TurkError:
                continue  # each is read on its own below
            server, local = self._server_date(), self.clock()
            for record, result, _started, _took in group:
                subject = listed.get(key(record))
                if subject is None:
                    continue
                read = Read(subject, server, local)
                processed = any(isinstance(e, TokenAlreadyProcessed) for e in result.errors)
                verdict = op.confirm(record, read, processed)
                if verdict.state is State.SUCCEEDED:
                    reads[record.id], judged[record.id] = read, verdict
        unread = [m[0] for m in members if m[0].id not in reads]
        reads.update(zip([r.id for r in unread], pool.map(fresh, unread), strict=True))
        history = self.history
        now, ended = self.clock(), time.monotonic()
        finals: list[tuple[Record, list[Callable[[Any], Any]], dict[str, Any]]] = []
        # the verdicts, alike ones together: one statement each (a chunk's members share
        # their start, so a thousand approvals confirmed are a handful of statements)
        alike: dict[str, tuple[dict[str, Any], list[int]]] = {}
        for record, result, started, took in members:
            values, _read = self._final(
                op,
                record,
                result,
                functools.partial(reads.get, record.id),
                judged=judged.get(record.id),
            )
            values["duration"] = ended - started
            steps: list[Callable[[Any], Any]] = []
            if took is not None:  # its OK answer, recorded with the verdict on it
                steps.append(
                    history.finish_attempt_step(record.id, 1, outcome="ok", duration=took, now=now)
                )
            finals.append((record, steps, values))
            alike.setdefault(repr(sorted(values.items())), (values, []))[1].append(record.id)
        try:
            history.together(
                [step for _record, steps, _values in finals for step in steps]
                + [
                    history.update_many_step(ids, now=now, expect=State.SENDING, **values)
                    for values, ids in alike.values()
                ]
            )
        except StateChanged:
            # another part of the program changed one of them: each on its own
            for record, steps, values in finals:
                try:
                    history.together(
                        [
                            *steps,
                            history.update_step(record.id, now=now, expect=State.SENDING, **values),
                        ]
                    )
                except StateChanged as exc:
                    on_error(record.subject, PlanRefused(str(exc), "changed"))
                except HistoryError as exc:
                    on_error(record.subject, self._not_recorded(record.id, exc))
        except HistoryError as exc:
            for record, _steps, _values in finals:
                on_error(record.subject, self._not_recorded(record.id, exc))

    def _retry_member(
        self,
        op: Operation,
        record: Record,
        result: SendResult,
        maybe_applied: bool,
        started: float,
        emit: Callable[[Event], None],
        on_error: Callable[[str, Exception], None],
    ) -> None:
        """A member whose first answer calls for a retry: the ordinary loop goes on."""
        try:
            current = self.history.get(record.id, with_attempts=False) or record
            sent = self._send(op, current, emit, maybe_applied=maybe_applied, tried=result)
            self._after_send(op, current, sent, emit, started=started)
        except StateChanged as exc:
            on_error(record.subject, PlanRefused(str(exc), "changed"))
        except (PlanRefused, HistoryError) as exc:
            on_error(record.subject, exc)
