"""The settle side of the engine's one loop: `resolve` an unsettled record (re-planned on a
fresh read and re-sent with its token only while MTurk's own clock says the token is
honoured, otherwise compared), ownership a person can act on (live until a named time,
take-over), and the comparison that orders other requests by the history's sequence.
`Engine` inherits it."""

from __future__ import annotations

import json
from collections.abc import Callable
from datetime import datetime, timezone

from turktui.adapters.history import live_until, owner_alive
from turktui.domain.records import (
    OwnedElsewhere,
    Record,
    State,
    StateChanged,
    describe_owner,
)
from turktui.pipeline.flight import IN_FLIGHT, WORKING
from turktui.pipeline.model import (
    CLOCK_MARGIN,
    RESEND_MARGIN,
    TOKEN_WINDOW,
    Event,
    Outcome,
    PlanRefused,
)
from turktui.pipeline.operations import (
    Operation,
    Read,
    summary,
    when,
)
from turktui.pipeline.sending import Sending, _legacy_tail

UTC = timezone.utc


class Settling(Sending):
    """Resolves unsettled records for the engine."""

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
                "that process runs; after that anyone may settle it. If that process is "
                f"gone, take it over sooner: turktui resolve --take-over {record.id}"
            )
        if host != self.owner.split("|")[0]:
            return (
                f"request #{record.id} belongs to a process on another host "
                f"({describe_owner(holder)}); it counts as live until "
                f"{when(live_until(record.updated, self.clock(), None))} (this clock). If "
                f"that process is gone, take it over: turktui resolve --take-over {record.id}"
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
        hit = read.hit
        return Outcome(final, hit, summary(op, final.state, final) + " " + note)
