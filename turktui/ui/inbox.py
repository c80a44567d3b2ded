"""Results handed over by worker threads to the UI thread, shown together at most once per
interval.

A worker that posts one Message per result makes the UI thread handle (and repaint for)
every one of them: during a fast batch that is hundreds of handlings a second, each taking
the GIL the batch's own workers need. `Inbox.put` only queues the item (a lock held for an
append: the worker never waits on the UI). Then either the first item queued since the
last delivery wakes the owner, which delivers everything queued in one call, no sooner
than `interval` (seconds, or a function that says) after the previous delivery
(`Inbox(owner, deliver)`); or the owner takes what is queued on a clock of its own
(`Inbox()`, `take`), e.g. a screen whose timer already repaints it. Items come out in the
order they were put.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from typing import Any, Generic, TypeVar

from textual.message_pump import MessagePump

T = TypeVar("T")

#: The default interval between two deliveries (seconds): ~20 frames a second.
FRAME = 0.05


class Inbox(Generic[T]):
    """Items put from any thread, taken on the UI thread: by `deliver(items)` on `owner`'s
    thread at most once per `interval` (with an owner), or by the owner's `take`."""

    def __init__(
        self,
        owner: MessagePump | None = None,
        deliver: Callable[[list[T]], Any] | None = None,
        interval: float | Callable[[], float] = FRAME,
    ) -> None:
        self._owner = owner
        self._deliver = deliver
        self.interval = interval
        self._items: list[T] = []
        self._lock = threading.Lock()
        self._last = 0.0
        self._timer: Any = None

    def put(self, item: T) -> None:
        """From any thread, without waiting: queue `item` for the next delivery."""
        with self._lock:
            first = not self._items
            self._items.append(item)
        if first and self._owner is not None:
            self._owner.call_later(self._due)

    def take(self) -> list[T]:
        """Everything queued, in the order put (the queue is empty after)."""
        with self._lock:
            items, self._items = self._items, []
        return items

    def _due(self) -> None:
        interval = self.interval() if callable(self.interval) else self.interval
        wait = self._last + interval - time.monotonic()
        if wait <= 0:
            self.flush()
        elif self._timer is None and self._owner is not None:
            self._timer = self._owner.set_timer(wait, self.flush)

    def flush(self) -> int:
        """On the owner's thread: deliver what is queued now (e.g. before a final state
        that must not be overtaken by older items). Returns how many items there were."""
        if self._timer is not None:
            self._timer.stop()
            self._timer = None
        self._last = time.monotonic()
        items = self.take()
        if items and self._deliver is not None:
            self._deliver(items)
        return len(items)
