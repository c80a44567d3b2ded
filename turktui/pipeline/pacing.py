"""Pacing: one shared request rate for every request a session sends to MTurk.

The dispatcher (`Engine`) sends every call (GetHIT, the operation itself) through its
`AdaptiveRate`; a `Throttled` answer halves the rate for all workers, which then recovers
slowly (additive increase). A single extension is a batch of one through the same pacer.
"""

from __future__ import annotations

import collections
import threading
import time
from collections.abc import Callable

#: Requests per second before any throttling is seen (None: as fast as the bounded number
#: of workers goes; the first Throttled answer sets a rate, learnt from the traffic).
DEFAULT_MAX_RATE: float | None = None
#: Throttles within this many seconds of a rate cut count as one (one cut per "round trip",
#: as in TCP): a burst of answers to requests already in flight must not divide it by 2^k.
THROTTLE_COOLDOWN = 1.0


class AdaptiveRate:
    """A shared pacer for all workers: at most `rate` requests per second.

    Additive increase, multiplicative decrease (like TCP): `throttled()` halves the rate
    and pushes the next slot out for everyone; each success adds a little back, up to
    `max_rate` (None: unlimited until the first throttle, then learnt from the traffic).
    """

    def __init__(
        self,
        max_rate: float | None = DEFAULT_MAX_RATE,
        *,
        min_rate: float = 2.0,
        step: float = 1.0,
        fallback_rate: float = 10.0,
        cooldown: float = THROTTLE_COOLDOWN,
        clock: Callable[[], float] = time.monotonic,
        sleep: Callable[[float], None] = time.sleep,
    ) -> None:
        self.max_rate = max_rate
        self.min_rate = min_rate
        self.step = step
        self.fallback_rate = fallback_rate
        self.cooldown = cooldown
        self._last_cut = float("-inf")
        self.rate: float | None = max_rate
        self.throttle_count = 0
        self._clock = clock
        self._sleep = sleep
        self._lock = threading.Lock()
        self._next = 0.0
        self._recent: collections.deque[float] = collections.deque(maxlen=200)

    def acquire(self) -> float:
        """Wait for this caller's slot; returns the seconds waited."""
        with self._lock:
            now = self._clock()
            slot = max(now, self._next)
            if self.rate:
                self._next = slot + 1.0 / self.rate
            self._recent.append(slot)
        wait = slot - now
        if wait > 0:
            self._sleep(wait)
        return max(0.0, wait)

    def _observed(self, now: float) -> float:
        """Requests per second over the last ~2 seconds of slots."""
        recent = [t for t in self._recent if now - t <= 2.0]
        if len(recent) < 10:
            return self.fallback_rate  # too few requests to measure a rate
        span = max(recent[-1] - recent[0], 1e-3)
        return len(recent) / span

    def throttled(self) -> None:
        with self._lock:
            now = self._clock()
            self.throttle_count += 1
            if self.rate is None or now - self._last_cut >= self.cooldown:
                current = self.rate if self.rate else self._observed(now)
                self.rate = max(self.min_rate, current / 2)
                self._last_cut = now
            # Everyone backs off now, not just the worker that was told.
            self._next = max(self._next, now + 1.0 / self.rate)

    def succeeded(self) -> None:
        with self._lock:
            if self.rate is None:
                return
            self.rate += self.step
            if self.max_rate is not None:
                self.rate = min(self.rate, self.max_rate)
