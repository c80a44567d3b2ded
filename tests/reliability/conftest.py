"""Fixtures for the reliability tests: one real-clock emulator per module (faults are set
per trial and cleared after), and the `async def` runner the engine tests use."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from tests.reliability.exactly_once import new_emulator
from turktui.emulator import EmulatorServer


@pytest.fixture(scope="module")
def live_emulator() -> Iterator[EmulatorServer]:
    server = new_emulator()
    yield server
    server.stop()


@pytest.fixture
def emu(live_emulator: EmulatorServer) -> Iterator[EmulatorServer]:
    live_emulator.faults.clear()
    yield live_emulator
    live_emulator.faults.clear()
