"""Workers on the emulator's clock: assignments accepted, returned, abandoned and submitted.

Off unless the service is given an ``activity`` (mean arrivals of a worker per hour on each
HIT that has work available). Each HIT's events are drawn from its own id and the event's
index, never from a shared random stream, and are applied strictly in time order whenever
the HIT is read or touched, so the world at a given service time is the same whatever the
clock was read at before (deterministic for a seed and a clock; tests move the clock).

* A worker arrives at an Assignable HIT (work available, not expired) after an exponential
  gap; arrivals while nothing is available are not counted (the next gap starts when work
  becomes available again: a return, an abandonment, more assignments, a later expiration).
* An accepted assignment is submitted within its duration (most), returned early, or
  abandoned (the deadline passes). Returned and abandoned work is available again.
* Submitted work is listed (``Submitted``) and approved automatically at its AutoApprovalTime
  unless the requester decides first.
"""

from __future__ import annotations

import math
import random
from dataclasses import dataclass, field

SUBMIT, RETURN, ABANDON = "submit", "return", "abandon"
# Shares of accepted work that is returned or abandoned (the rest is submitted): a choice;
# MTurk publishes no figures.
RETURN_SHARE = 0.12
ABANDON_SHARE = 0.06


@dataclass(order=True)
class Pending:
    """One accepted, unsubmitted assignment: what happens to it, and when."""

    at: float
    kind: str = field(compare=False)
    accepted: float = field(compare=False)


def gap(hit_id: str, k: int, per_hour: float) -> float:
    """Seconds from the moment work is available to the ``k``-th arrival of a worker."""
    u = random.Random(f"arrival|{hit_id}|{k}").random()
    return -math.log(1.0 - u) * 3600.0 / per_hour


def outcome(hit_id: str, k: int, accepted: float, duration: int) -> Pending:
    """What the ``k``-th accepted assignment of ``hit_id`` does, and when."""
    rng = random.Random(f"outcome|{hit_id}|{k}")
    roll, u = rng.random(), rng.random()
    if roll < RETURN_SHARE:
        return Pending(accepted + duration * 0.3 * u + 1.0, RETURN, accepted)
    if roll < RETURN_SHARE + ABANDON_SHARE:
        return Pending(accepted + duration, ABANDON, accepted)
    return Pending(accepted + duration * (0.1 + 0.6 * u), SUBMIT, accepted)


def in_flight(hit_id: str, j: int, t0: float, duration: int) -> Pending:
    """The outcome of seeded pending work ``j`` (accepted before ``t0``): after ``t0``."""
    rng = random.Random(f"in-flight|{hit_id}|{j}")
    accepted = t0 - duration * 0.5 * rng.random()
    event = outcome(hit_id, -1 - j, accepted, duration)
    if event.at <= t0:
        event.at = t0 + (accepted + duration - t0) * rng.random() + 1.0
    return event
