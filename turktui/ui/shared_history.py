"""Team mode: the app keeps an eye on the shared (PostgreSQL) history.

A worker thread checks every HEALTHY seconds that the history answers (opening it first if
the session could not yet). When it does not, the banner says "shared history unreachable —
nothing will be sent" (the write-ahead rule already refuses to send what cannot be
recorded; this tells the operator before they try) and the checks retry with backoff (FIRST
seconds, doubling up to CAP); when it answers again the banner clears and a notice says so.
HITs keep being listed throughout: only the history is away.

Live: another worker LISTENs for other operators' records (history_pg.watch_changes). When
one settles, a one-line notice names who did what to which HIT, and the HIT's row is read
again from MTurk.
"""

from __future__ import annotations

import contextlib
import threading
import time
from typing import Any

from turktui.adapters.history import HistoryError
from turktui.adapters.stores import reader_of
from turktui.domain.records import State, describe_owner

#: The states a notice is given for (a request of another operator has an outcome).
SETTLED = frozenset(s.value for s in State if s.settled)

#: What the banner says while the shared history cannot be reached.
UNREACHABLE = "shared history unreachable \u2014 nothing will be sent"


class SharedHistoryWatch:
    """Checks the shared history in a worker; reports changes on the UI thread."""

    HEALTHY = 10.0  # seconds between checks while it answers
    FIRST = 1.0  # first retry after a failure, doubling…
    CAP = 30.0  # …up to this

    def __init__(self, app: Any) -> None:
        self.app = app
        self.ctx = app.ctx
        self._stop = threading.Event()
        self.checks = 0
        #: set while other operators' changes are being listened to
        self.listening = threading.Event()
        #: (record id, state) already told: a record's NOTIFY carries its state as it is when
        #: sent, so the announcement of its creation, sent late, can say "succeeded" too
        self._told: set[tuple[int, str]] = set()

    def start(self) -> None:
        self.app.run_worker(
            self._run, thread=True, group="shared-history", exit_on_error=False, name="history"
        )
        self.app.run_worker(
            self._listen, thread=True, group="shared-history", exit_on_error=False, name="live"
        )

    def _listen(self) -> None:
        """Other operators' records as they change (reconnecting after an outage)."""
        while not self._stop.is_set() and not getattr(self.app, "_exit", False):
            store = self.ctx.history
            if store is not None:
                with contextlib.suppress(HistoryError):
                    store.watch_changes(self._changed_elsewhere, self._stop, self.listening)
                self.listening.clear()
            self._stop.wait(self.FIRST)

    def _changed_elsewhere(self, record_id: int, state: str, owner: str) -> None:
        """Worker: another process's record moved; once settled, say so and re-read its
        HIT (a record still in flight is announced when it settles)."""
        if state not in SETTLED or (record_id, state) in self._told:
            return
        self._told.add((record_id, state))
        store = self.ctx.history
        try:
            record = store.get(record_id, with_attempts=False) if store is not None else None
        except HistoryError:
            return
        if record is None:
            return
        who = record.operator or describe_owner(owner)
        self.app.call_from_thread(
            self.app.notify,
            f"{who}: {record.change_label} on HIT {record.hit_id} \u2014 {record.state.label}",
            title="Another operator",
            timeout=10,
            markup=False,
        )
        try:
            hit = self.ctx.service.get_hit(record.hit_id)
        except Exception:
            return
        self.app.post_hit(hit)

    def stop(self) -> None:
        self._stop.set()

    def _check(self) -> str:
        """'' when the history answers, else why not (one line)."""
        ctx = self.ctx
        store, problem = ctx.open_history(ctx.store_opener, wait=30.0)
        if store is None:
            return problem
        try:
            store.ping()
            reader_of(store)  # the history screen's connection, made before it is first opened
        except HistoryError as exc:
            return str(exc)
        return ""

    def _run(self) -> None:
        delay = self.FIRST
        while not self._stop.is_set():
            problem = self._check()
            self.checks += 1
            down = bool(problem)
            if down != (self.app.history_unreachable is not None):
                self.app.call_from_thread(self._changed, problem)
            delay = min(delay * 2, self.CAP) if down else self.FIRST
            deadline = time.monotonic() + (delay if down else self.HEALTHY)
            while not self._stop.is_set() and time.monotonic() < deadline:
                if getattr(self.app, "_exit", False):
                    return
                self._stop.wait(min(0.2, max(0.0, deadline - time.monotonic())))

    def _changed(self, problem: str) -> None:
        """UI thread: the app's `history_unreachable` changes (the banners follow it); a
        notice says what changed."""
        was_down = self.app.history_unreachable is not None
        self.app.history_unreachable = problem or None
        if problem:
            self.app.notify(
                f"Nothing will be sent until it is back ({problem}); retrying.",
                title="Shared history unreachable",
                severity="error",
                timeout=15,
                markup=False,
            )
        elif was_down:
            self.app.notify(
                "The shared history is back: requests can be sent again.",
                title="Shared history",
                timeout=8,
                markup=False,
            )
