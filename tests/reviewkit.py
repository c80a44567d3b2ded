"""What the review-and-pay tests (issue 22) share: a HIT with submitted work on a test
emulator, and an Engine on it with a history of its own."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from tests.conftest import FIXED_NOW
from turktui.adapters.history import HistoryStore
from turktui.adapters.mturk import MTurkService
from turktui.domain.environment import Environment, EnvKind
from turktui.pipeline.engine import Backoff, Engine

DAY = 86400.0


def hit_with_work(server: Any, submitted: int = 1, **fields: Any) -> str:
    """A HIT created a day before FIXED_NOW, open 30 days more, with `submitted` Submitted
    assignments (ids: turktui.emulator.assignments.assignment_id(hit, i))."""
    now = FIXED_NOW.timestamp()
    fields.setdefault("MaxAssignments", 5)
    fields.setdefault("Reward", "1.00")
    return str(
        server.state.add_hit(
            CreationTime=now - DAY,
            Expiration=now + 30 * DAY,
            NumberOfAssignmentsSubmitted=submitted,
            **fields,
        )
    )


def engine_on(server: Any, path: Path, attempts: int = 2) -> Engine:
    """An Engine on the emulator (dummy keys, short timeouts, the clock at FIXED_NOW)."""
    env = Environment(EnvKind.CUSTOM, server.url)
    return Engine(
        MTurkService(
            env, credentials=("AKIDTEST", "secret"), read_timeout=0.5, connect_timeout=0.5
        ),
        HistoryStore(path),
        env,
        clock=lambda: FIXED_NOW,
        backoff=Backoff(attempts=attempts, base=0.01, cap=0.02, total=1),
    )
