"""Fixtures for bulk tests: a fresh emulator per test (faults and HITs never leak), a
history, an engine with a fast backoff, and HIT factories around the 10 boundary."""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator
from datetime import datetime, timezone
from decimal import Decimal
from typing import Any

import pytest

from turktui.adapters.history import HistoryStore
from turktui.adapters.mturk import MTurkService
from turktui.domain.environment import Environment
from turktui.domain.models import Hit
from turktui.emulator import EmulatorServer
from turktui.pipeline.engine import Backoff, Engine

UTC = timezone.utc
OP = "CreateAdditionalAssignmentsForHIT"


@pytest.fixture
def server() -> Iterator[EmulatorServer]:
    srv = EmulatorServer(host="127.0.0.1", port=0, hits=0, seed=1, balance="100000.00").start()
    yield srv
    srv.stop()


@pytest.fixture
def engine(service: MTurkService, history: HistoryStore, env: Environment) -> Engine:
    return Engine(
        service, history, env, backoff=Backoff(attempts=8, base=0.01, cap=0.05, total=5.0), seed=1
    )


@pytest.fixture
def add_hits(server: EmulatorServer, service: MTurkService) -> Callable[..., list[Hit]]:
    """`add_hits([4, 9, 25], reward="0.10", old=False)` → the HITs as the app reads them."""

    def make(
        maxes: list[int], reward: str = "0.10", old: bool = False, expired: bool = False
    ) -> list[Hit]:
        created = datetime(2014, 1, 1, tzinfo=UTC).timestamp() if old else time.time() - 3600
        ids = []
        for i, m in enumerate(maxes):
            fields: dict[str, Any] = {
                "MaxAssignments": m,
                "Reward": reward,
                "Title": f"Survey {i} (max {m})",
                "CreationTime": created,
            }
            if expired:
                fields["Expiration"] = time.time() - 60
            ids.append(server.state.add_hit(**fields))
        return [service.get_hit(h) for h in ids]

    return make


def hit(
    max_assignments: int,
    *,
    reward: str | None = "0.50",
    old: bool = False,
    hit_id: str | None = None,
) -> Hit:
    """A HIT for pure planning tests."""
    created = datetime(2014, 5, 1, tzinfo=UTC) if old else datetime(2026, 6, 1, tzinfo=UTC)
    return Hit(
        hit_id=hit_id or f"HIT{max_assignments:06d}{'OLD' if old else ''}",
        title="t",
        max_assignments=max_assignments,
        reward=Decimal(reward) if reward is not None else None,
        created=created,
    )
