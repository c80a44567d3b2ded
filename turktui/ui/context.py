"""Everything a screen needs to know about the session, passed down from the app."""

from __future__ import annotations

import threading
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime, timezone
from typing import TYPE_CHECKING, Any

from turktui.adapters.config import Paths, Settings
from turktui.domain.environment import Environment
from turktui.domain.models import Balance

if TYPE_CHECKING:
    from turktui.pipeline.batch import BatchReport, BatchRunner
    from turktui.pipeline.engine import Engine, Outcome


def utc_now() -> datetime:
    return datetime.now(timezone.utc)


@dataclass
class SessionState:
    """What the session's flows keep while it runs (typed). What the screens show (the
    balance, the marks, the requests in flight, read-only, the shared history's health) is
    the app's reactive state instead (turktui.ui.controller.ControllerApp)."""

    #: the engine the extend/bulk/resolve flows share (rebuilt if the store or service change)
    engine: Engine | None = None
    last_outcome: Outcome | None = None
    last_batch: BatchReport | None = None
    batch_runner: BatchRunner | None = None
    #: why the history could not be opened
    history_error: str | None = None
    #: run_app's "settle the requests in flight, then leave": (code, history, left
    #: unknown) → the exit code (it may leave the process itself)
    settle_in_flight: Callable[..., Any] | None = None
    #: ids of this session's requests whose outcome is unknown now (resolving removes them)
    unknown: set[int] = field(default_factory=set)
    #: the exit code settled on when the app ended (None: not ended, or no settle hook)
    exit_code: int | None = None
    #: the signal that asked the app to end
    signal: int | None = None


@dataclass
class AppContext:
    env: Environment
    #: a turktui.adapters.mturk.MTurkService (typed loosely: the UI never touches boto3)
    service: Any
    settings: Settings
    paths: Paths
    #: injectable clock so snapshots and tests are deterministic
    clock: Callable[[], datetime] = utc_now
    #: the request history store (turktui.adapters.history), None until opened
    history: Any = None
    #: the balance known when the app starts (the app's `balance` reactive is the live one)
    balance: Balance | None = None
    #: a turktui.adapters.loader.HitLoader started before Textual was imported (by run_app);
    #: the first load takes it over. None: the app starts its own.
    hit_loader: Any = None
    state: SessionState = field(default_factory=SessionState)
    _history_lock: threading.Lock = field(default_factory=threading.Lock, repr=False)

    def store_opener(self) -> Any:
        """Opens this session's history store (blocking: workers only): the file, or the
        shared database, as this operator, with the configured lease."""
        from turktui.adapters.stores import open_store

        return open_store(
            self.paths.history,
            operator=self.settings.operator,
            lease_seconds=self.settings.lease_seconds,
        )

    def open_history(self, opener: Callable[[], Any], *, wait: float) -> tuple[Any, str]:
        """The history store, opened once: (store, "") or (None, why not).

        `wait` bounds how long to wait for another thread that is opening it right now (the
        UI thread passes 0: it must never block on a lock a worker holds while that worker
        waits for the UI thread). Nothing here calls into the UI: the caller reports."""
        if self.history is not None:
            return self.history, ""
        lock = self._history_lock
        acquired = lock.acquire(timeout=wait) if wait > 0 else lock.acquire(blocking=False)
        if not acquired:
            return None, (
                "the request history is still being opened (another turktui may "
                "be using it); try again in a moment"
            )
        try:
            if self.history is None:
                try:
                    self.history = opener()
                except Exception as exc:  # HistoryError: the caller says it to the operator
                    self.state.history_error = str(exc)
                    return None, str(exc)
            return self.history, ""
        finally:
            self._history_lock.release()

    @property
    def history_opening(self) -> bool:
        """Another thread is opening the history right now (it may wait for another
        process's lock). Never blocks."""
        return self.history is None and self._history_lock.locked()

    @property
    def read_only(self) -> bool:
        return self.env.read_only
