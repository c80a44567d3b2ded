"""Which requests this process is sending right now.

`IN_FLIGHT` counts engine operations between "about to send" and "outcome recorded" (so a
process told to stop can let them finish recording, or mark them unknown); `WORKING` names
the records this process is sending or settling (another thread of the same process shares
its owner string, so ownership alone cannot keep it off)."""

from __future__ import annotations

import contextlib
import threading
from typing import Any

from turktui.domain.records import State, StateChanged
from turktui.pipeline.model import PlanRefused


class _Flight:
    """One tracked operation; `attach` names its history record once there is one."""

    __slots__ = ("history", "hit_id", "record_id")

    def __init__(self) -> None:
        self.history: Any = None
        self.record_id: int | None = None
        self.hit_id = ""


class _InFlight:
    """Counts engine operations between "about to send" and "outcome recorded", so that a
    process told to stop (the terminal hung up, a signal, quitting) can let them finish
    recording first, say which HITs they are for, and record the ones it cannot wait for
    as unknown (`mark_unknown`) instead of leaving them "sending"."""

    def __init__(self) -> None:
        self._cond = threading.Condition()
        self._count = 0
        #: in the order they started (a dict: a group's thousand end in O(1) each)
        self._flights: dict[int, _Flight] = {}
        #: flights left by KeyboardInterrupt/SystemExit (a signal): their records may still
        #: say "sending"
        self._interrupted: list[_Flight] = []
        self._local = threading.local()

    @contextlib.contextmanager
    def track(self) -> Any:
        flight = _Flight()
        with self._cond:
            self._count += 1
            self._flights[id(flight)] = flight
        outer = getattr(self._local, "flight", None)
        self._local.flight = flight
        try:
            yield flight
        except BaseException as exc:
            if not isinstance(exc, Exception):
                with self._cond:
                    self._interrupted.append(flight)
            raise
        finally:
            self._local.flight = outer
            with self._cond:
                self._count -= 1
                del self._flights[id(flight)]
                self._cond.notify_all()

    def attach(self, history: Any, record_id: int, hit_id: str) -> None:
        """Name the record the current thread's operation is about (called by the engine)."""
        flight = getattr(self._local, "flight", None)
        if flight is not None:
            flight.history, flight.record_id, flight.hit_id = history, record_id, hit_id

    @property
    def count(self) -> int:
        with self._cond:
            return self._count

    def hit_ids(self) -> list[str]:
        """The HITs of the operations in flight (for "waiting for the request to HIT …")."""
        with self._cond:
            return [f.hit_id for f in self._flights.values() if f.hit_id]

    def wait_idle(self, timeout: float) -> bool:
        """True when nothing is in flight (waits at most `timeout` seconds)."""
        with self._cond:
            return self._cond.wait_for(lambda: self._count == 0, timeout=timeout)

    def mark_unknown(self, reason: str) -> list[int]:
        """Record every operation still in flight (or cut short by a signal) whose record
        says "sending" as "unknown", with `reason` in its note; returns their record ids.
        A record that meanwhile got its real outcome is left alone. Never raises."""
        with self._cond:
            flights = [*self._flights.values(), *self._interrupted]
            self._interrupted.clear()
        marked: list[int] = []
        for flight in flights:
            if flight.history is None or flight.record_id is None:
                continue
            if self._mark(flight.history, flight.record_id, reason):
                marked.append(flight.record_id)
        return marked

    @staticmethod
    def _mark(history: Any, record_id: int, reason: str) -> bool:
        def mark(store: Any) -> bool:
            record = store.get(record_id, with_attempts=False)
            if record is None or record.state is not State.SENDING:
                return False
            try:  # a compare-and-set: a record that got its real outcome meanwhile stays
                store.update(
                    record_id,
                    state=State.UNKNOWN,
                    expect=State.SENDING,
                    note=f"{record.note} {reason}".strip(),
                )
            except StateChanged:
                return False
            return True

        try:
            return mark(history)
        except Exception:  # e.g. the command already closed its store: open it again
            pass
        try:
            store = type(history)(history.path)
        except Exception:  # the history is failing: the record stays "sending"
            return False
        try:
            return mark(store)
        except Exception:
            return False
        finally:
            with contextlib.suppress(Exception):
                store.close()


IN_FLIGHT = _InFlight()


class _Working:
    """Records this process is sending or settling right now (another thread of the same
    process shares its owner string, so ownership alone cannot keep it off)."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._keys: set[tuple[str, int]] = set()

    def busy(self, key: tuple[str, int]) -> bool:
        with self._lock:
            return key in self._keys

    @contextlib.contextmanager
    def hold(self, key: tuple[str, int]) -> Any:
        with self._lock:
            if key in self._keys:
                raise PlanRefused(
                    f"request #{key[1]} is being handled by another part of this "
                    "program right now; it was left alone",
                    "live",
                )
            self._keys.add(key)
        try:
            yield
        finally:
            with self._lock:
                self._keys.discard(key)


WORKING = _Working()
