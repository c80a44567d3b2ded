"""Team mode: the app keeps an eye on the shared (PostgreSQL) history.

A worker thread checks every HEALTHY seconds that the history answers (opening it first if
the session could not yet). When it does not, the banner says "shared history unreachable —
nothing will be sent" (the write-ahead rule already refuses to send what cannot be
recorded; this tells the operator before they try) and the checks retry with backoff (FIRST
seconds, doubling up to CAP); when it answers again the banner clears and a notice says so.
HITs keep being listed throughout: only the history is away.
"""

from __future__ import annotations

import threading
import time
from typing import Any

from turktui.adapters.history import HistoryError

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

    def start(self) -> None:
        self.app.run_worker(
            self._run, thread=True, group="shared-history", exit_on_error=False, name="history"
        )

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
        except HistoryError as exc:
            return str(exc)
        return ""

    def _run(self) -> None:
        delay = self.FIRST
        while not self._stop.is_set():
            problem = self._check()
            self.checks += 1
            down = bool(problem)
            if down != (self.ctx.state.history_unreachable is not None):
                self.app.call_from_thread(self._changed, problem)
            delay = min(delay * 2, self.CAP) if down else self.FIRST
            deadline = time.monotonic() + (delay if down else self.HEALTHY)
            while not self._stop.is_set() and time.monotonic() < deadline:
                if getattr(self.app, "_exit", False):
                    return
                self._stop.wait(min(0.2, max(0.0, deadline - time.monotonic())))

    def _changed(self, problem: str) -> None:
        """UI thread: the banner follows; a notice says what changed."""
        was_down = self.ctx.state.history_unreachable is not None
        self.ctx.state.history_unreachable = problem or None
        self.app.refresh_banners()
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
