"""Fixtures for engine/history/CLI tests: hermetic dirs, one emulator, fast backoff."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import datetime, timedelta, timezone
from pathlib import Path
from typing import Any

import pytest

from turktui.adapters.history import HistoryStore
from turktui.adapters.mturk import MTurkService
from turktui.domain.environment import Environment
from turktui.emulator import EmulatorServer
from turktui.pipeline.engine import Backoff, Engine

UTC = timezone.utc


def record_row(**kw: object) -> dict[str, object]:
    """`HistoryStore.create`'s keywords for a plain record on HIT1 (override any)."""
    values: dict[str, object] = dict(
        env_kind="demo",
        endpoint="http://127.0.0.1:1/",
        profile=None,
        hit_id="HIT1",
        hit_title="Survey",
        n=2,
        token="turktui-t1",
        max_before=3,
        expected_after=5,
    )
    values.update(kw)
    return values


class Clock:
    """A controllable clock shared by the emulator and the engine."""

    def __init__(self) -> None:
        self.offset = 0.0

    def advance(self, seconds: float) -> None:
        self.offset += seconds

    def __call__(self) -> datetime:
        return datetime.now(UTC) + timedelta(seconds=self.offset)


@pytest.fixture(scope="module")
def server() -> Iterator[EmulatorServer]:
    srv = EmulatorServer(host="127.0.0.1", port=0, hits=0, seed=1, balance="100000000.00").start()
    yield srv
    srv.stop()


@pytest.fixture
def emulator(server: EmulatorServer) -> Iterator[EmulatorServer]:
    server.faults.clear()
    yield server
    server.faults.clear()


@pytest.fixture
def clock() -> Clock:
    return Clock()


@pytest.fixture
def engine(service: MTurkService, history: HistoryStore, env: Environment, clock: Clock) -> Engine:
    return Engine(
        service,
        history,
        env,
        clock=clock,
        backoff=Backoff(attempts=5, base=0.01, cap=0.05, total=2.0),
        seed=1,
    )


@pytest.fixture(name="setup")
def review_setup(make_emulator: Any, tmp_path: Path) -> Iterator[tuple[Any, Engine, HistoryStore]]:
    """The review tests' world (test_review_ops, test_review_group): an empty emulator, an
    engine on it (tests/reviewkit.engine_on) and its history, closed afterwards. A module that
    defines its own `setup` keeps it."""
    from tests.reviewkit import engine_on

    server = make_emulator(0)
    engine = engine_on(server, tmp_path / "history.sqlite3")
    try:
        yield server, engine, engine.history
    finally:
        engine.history.close()
