"""Category 3b at a small scale: hostile service data rendered literally, and the bytes a
real terminal receives hold no escape sequence that came from data."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.reliability import hostile_data
from tests.reliability.common import StaticResponder
from turktui.emulator import EmulatorServer

pytestmark = pytest.mark.timeout(120)


def test_hostile_text_renders_literally(emu: EmulatorServer, tmp_path: Path) -> None:
    ids = hostile_data.add_hostile_hits(emu.state)
    report = hostile_data.run_pilot(hostile_data.make_ctx(emu.url, tmp_path), ids)
    assert not report.crashed, report.crashed
    assert report.unsafe == []
    assert report.literal_markup and report.extended
    assert {"table", "history", "record"} <= set(report.screens)
    assert sum(s.startswith("detail") for s in report.screens) == len(ids)
    assert sum(s.startswith("dialog") for s in report.screens) == len(ids)


def test_malformed_service_data_does_not_crash(tmp_path: Path) -> None:
    responder = StaticResponder(hostile_data.responder_answers()).start()
    try:
        report = hostile_data.run_pilot(
            hostile_data.make_ctx(responder.url, tmp_path), ["1", "2", "3", "4"]
        )
    finally:
        responder.stop()
    assert not report.crashed, report.crashed
    assert report.unsafe == [] and report.literal_markup
    assert report.extended  # the one well-formed HIT still works end to end


def test_terminal_bytes_hold_no_escape_from_data(emu: EmulatorServer, tmp_path: Path) -> None:
    hostile_data.add_hostile_hits(emu.state)
    raw, found = hostile_data.terminal_bytes(emu.url, tmp_path / "home")
    assert found == []
    assert len(raw) > 10_000 and b"MARKUP" in raw  # the data *was* shown
