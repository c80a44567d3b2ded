"""Fixtures for engine/history/CLI tests: hermetic dirs, one emulator, fast backoff."""

from __future__ import annotations

import os
from collections.abc import Iterator
from datetime import datetime, timedelta, timezone
from pathlib import Path

import pytest

from turktui.adapters.history import HistoryStore
from turktui.adapters.mturk import MTurkService
from turktui.domain.environment import Environment
from turktui.emulator import EmulatorServer
from turktui.pipeline.engine import Backoff, Engine

UTC = timezone.utc


def hermetic_env(monkeypatch: pytest.MonkeyPatch, tmp: Path) -> None:
    """Point HOME/XDG at tmp and remove every AWS_* variable (no real config, no real keys)."""
    for key in list(os.environ):
        if key.startswith("AWS_") or key.startswith("TURKTUI_"):
            monkeypatch.delenv(key, raising=False)
    monkeypatch.setenv("HOME", str(tmp / "home"))
    for name in ("XDG_CONFIG_HOME", "XDG_DATA_HOME", "XDG_STATE_HOME", "XDG_CACHE_HOME"):
        monkeypatch.setenv(name, str(tmp / name.lower()))
    monkeypatch.setenv("AWS_CONFIG_FILE", str(tmp / "nonexistent-aws-config"))
    monkeypatch.setenv("AWS_SHARED_CREDENTIALS_FILE", str(tmp / "nonexistent-aws-credentials"))
    monkeypatch.setenv("AWS_EC2_METADATA_DISABLED", "true")


@pytest.fixture(autouse=True)
def _hermetic(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    hermetic_env(monkeypatch, tmp_path)


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
    srv = EmulatorServer(host="127.0.0.1", port=0, hits=0, seed=1,
                         balance="100000000.00").start()
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
def engine(service: MTurkService, history: HistoryStore, env: Environment,
           clock: Clock) -> Engine:
    return Engine(service, history, env, clock=clock,
                  backoff=Backoff(attempts=5, base=0.01, cap=0.05, total=2.0), seed=1)

