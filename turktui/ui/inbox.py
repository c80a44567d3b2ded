"""Results handed over by worker threads, applied by the UI thread together, at most once
per interval.

A worker that posts one Message per result makes the UI thread handle (and repaint for)
every one of them: during a fast batch that is hundreds of handlings a second, each taking
the GIL the batch's own workers need. `Inbox.put` only queues the item (a lock held for an
append: the worker never waits on the UI); the first item queued since the last delivery
wakes the owner, which applies everything queued in one call, no sooner than `interval`
after the previous one (`FRAME`: about one frame of a terminal). What is applied is always
the latest: items are applied in the order they were put.
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
    """Items put from any thread; `deliver(items)` runs on `owner`'s thread (the UI), at
    most once per `interval`, with every item put since the last delivery."""

    def __init__(
        self,
        owner: MessagePump,
        deliver: Callable[[list[T]], Any],
        interval: float = FRAME,
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
        if first:
            self._owner.call_later(self._due)

    def _due(self) -> None:
        wait = self._last + self.interval - time.monotonic()
        if wait <= 0:
            self.flush()
        elif self._timer is None:
            self._timer = self._owner.set_timer(wait, self.flush)

    def flush(self) -> int:
        """On the owner's thread: deliver what is queued now (e.g. before a final state
        that must not be overtaken by older items). Returns how many items there were."""
        if self._timer is not None:
            self._timer.stop()
            self._timer = None
        self._last = time.monotonic()
        with self._lock:
            items, self._items = self._items, []
        if items:
            self._deliver(items)
        return len(items)
