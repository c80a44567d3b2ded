"""Category 4 at a small scale (it is small already): every hostile environment gives one
clear line (CLI) or an in-app message, never a traceback."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.reliability import environment
from turktui.emulator import EmulatorServer

pytestmark = pytest.mark.timeout(180)


@pytest.mark.parametrize("group", list(environment.CLI_GROUPS))
def test_cli_one_clear_line_each(emu: EmulatorServer, tmp_path: Path, group: str) -> None:
    """A group of cases per test, so that they run in parallel."""
    hit_id = emu.state.add_hit(MaxAssignments=3)
    report = environment.cli_cases(tmp_path, emu.url, hit_id, groups=(group,))
    assert len(report.cases) == environment.CLI_GROUPS[group]
    assert report.failures == []


def test_app_shows_the_problem(tmp_path: Path) -> None:
    report = environment.EnvReport()
    environment.app_cases(tmp_path, report)
    assert len(report.app) == 6
    assert report.failures == []
