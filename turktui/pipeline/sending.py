"""The send side of the engine's one loop: the retry loop (every attempt recorded before
it is sent and after it answers), the confirmation on a fresh read, and the fresh reads
themselves (paced, with MTurk's time of each answer). `Engine` inherits it."""

from __future__ import annotations

import contextlib
import random
import time
from collections.abc import Callable
from datetime import datetime, timezone
from typing import Any

from turktui.adapters.history import (
    HistoryError,
    HistoryStore,
    OutcomeNotRecorded,
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
    Record,
    State,
)
from turktui.domain.service import TurkService
from turktui.pipeline.model import (
    Backoff,
    Event,
    Outcome,
    PlanRefused,
    SendResult,
)
from turktui.pipeline.operations import (
    ADD_ASSIGNMENTS,
    Fetched,
    Operation,
    Read,
    UnknownOperation,
    Verdict,
    operation_of,
    outcome_message,
    summary,
)
from turktui.pipeline.pacing import AdaptiveRate

UTC = timezone.utc


class Sending:
    """Sends, confirms and reads for the engine (state: the engine's)."""

    service: TurkService
    history: HistoryStore
    env: Environment
    clock: Callable[[], datetime]
    backoff: Backoff
    sleep: Callable[[float], None]
    pacer: AdaptiveRate
    owner: str
    _rng: random.Random

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

    @staticmethod
    def _op(record: Record) -> Operation:
        try:
            return operation_of(record)
        except UnknownOperation as exc:
            raise PlanRefused(str(exc.args[0]), "operation") from None

    def _read(self, op: Operation, record: Record) -> tuple[Read | None, TurkError | None]:
        """The operation's fresh read, with MTurk's time of that answer."""
        try:
            got = self._paced(lambda: op.fetch(self.service, record))
        except TurkError as err:
            return None, err
        subject, hit = (got.subject, got.hit) if isinstance(got, Fetched) else (got, None)
        if isinstance(subject, Hit):
            hit = subject
        return Read(subject, self._server_date(), self.clock(), hit), None

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
        tried: SendResult | None = None,
    ) -> SendResult:
        """THE retry loop (every operation). Every attempt is recorded before it is sent and
        after it answers. maybe_applied: an earlier attempt (another run) may have gone
        through. `tried`: the answer to a first attempt already made and recorded (a group's
        send, see grouping) that needs retries: this loop goes on from it."""
        result = tried or SendResult(State.FAILED)
        waited = 0.0
        first_sent = record.first_sent
        expect = record.state  # compare-and-set: the state this record was read in

        def again(attempt: int, err: TurkError) -> bool:
            """Wait before the next attempt; False when the retries are used up."""
            nonlocal waited
            delay = self.backoff.delay(attempt, self._rng)
            if attempt >= self.backoff.attempts or waited + delay > self.backoff.total:
                return False
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
            return True

        done = len(result.errors)
        if done and not again(done, result.errors[-1]):
            return self._gave_up(result, maybe_applied)
        for attempt in range(done + 1, self.backoff.attempts + 1):
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
            outcome, code, final, maybe_applied = self._answered(op, err, result, maybe_applied)
            self.history.finish_attempt(
                record.id,
                number,
                outcome=outcome,
                error_code=code,
                error_message=err.message,
                duration=time.monotonic() - t0,
                now=self.clock(),
            )
            if final:
                return result
            if not again(attempt, err):
                break
        return self._gave_up(result, maybe_applied)

    def _answered(
        self, op: Operation, err: TurkError, result: SendResult, maybe_applied: bool
    ) -> tuple[str, str, bool, bool]:
        """One attempt's error answer, into `result`: (the attempt's recorded outcome, its
        error code, whether `result` now holds the final answer (else: retry if allowed),
        whether an attempt may have gone through)."""
        answer = op.answer(err)
        code = getattr(err, "code", "") if answer != "error" else type(err).__name__
        outcome = {"applied": "already_processed", "refused": "refused"}.get(answer, "error")
        result.errors.append(err)
        if answer == "applied":  # an earlier attempt (or process) with this token
            result.state = State.SUCCEEDED
            result.note = (
                "MTurk reports this token was already processed."
                if isinstance(err, TokenAlreadyProcessed)
                else f"MTurk answered: {err.message}"
            )
            return outcome, code, True, maybe_applied
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
            return outcome, code, True, maybe_applied
        if err.outcome_unknown or isinstance(err, UnexpectedResponse):
            maybe_applied = True
        if not err.transient:
            result.state = State.UNKNOWN if maybe_applied else State.FAILED
            return outcome, code, True, maybe_applied
        return outcome, code, False, maybe_applied

    @staticmethod
    def _gave_up(result: SendResult, maybe_applied: bool) -> SendResult:
        """No final answer after the attempts allowed."""
        result.state = State.UNKNOWN if maybe_applied else State.FAILED
        if maybe_applied:
            result.note = result.errors[-1].unsettled or (
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
        `sending`): see `_final`."""
        values, read = self._final(
            op, record, result, lambda: self._read(op, record)[0], resolved=resolved
        )
        if started is not None:
            values["duration"] = time.monotonic() - started
        self.history.update(record.id, now=self.clock(), expect=State.SENDING, **values)
        emit(Event("answered", record.id, summary(op, values["state"], record)))
        hit = read.hit if read is not None else None
        if hit is None:
            hit = self._try_get_hit(record.hit_id)
            if hit is not None:
                emit(Event("refreshed", record.id, "HIT refreshed"))
        final = self.history.get(record.id)
        assert final is not None
        message = outcome_message(final)
        emit(Event("done", record.id, message))
        return Outcome(record=final, hit=hit, message=message)

    def _final(
        self,
        op: Operation,
        record: Record,
        result: SendResult,
        fresh: Callable[[], Read | None],
        *,
        resolved: bool = False,
        judged: Verdict | None = None,
    ) -> tuple[dict[str, Any], Read | None]:
        """The final fields of a sent record (state, error, note) and the read they were
        judged on. A 200, a "token already processed" and a re-send are all questions: the
        record says succeeded only when the operation's confirmation holds on the fresh read
        (`fresh()`: None when the subject could not be read); a disagreement is a
        `conflict`, never a success. `judged`: the operation's confirmation already given on
        the read `fresh()` returns (a group's listing), not asked again."""
        read: Read | None = None
        note = result.note
        state = result.state
        values: dict[str, Any] = {}
        processed = any(isinstance(e, TokenAlreadyProcessed) for e in result.errors)
        if state is State.SUCCEEDED:
            read = fresh()
            if read is None:
                if processed:
                    state = State.UNKNOWN
                    note += " The HIT could not be read to confirm it; resolve will check again."
                else:
                    note += " (Not confirmed: the HIT could not be read afterwards.)"
            else:
                verdict = judged if judged is not None else op.confirm(record, read, processed)
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
            read = fresh()
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
        return values, read

    def _server_date(self) -> datetime | None:
        dated = getattr(self.service, "server_date", None)
        moment = dated() if callable(dated) else None
        return moment if isinstance(moment, datetime) else None

    def _try_get_hit(self, hit_id: str) -> Hit | None:
        try:
            return self._get_hit(hit_id)
        except TurkError:
            return None

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
