"""On a terminal (and only there) text lines are cut to its width, 80 and 160 columns.
A real pseudo-terminal is the subject here (isatty and the window size)."""

from __future__ import annotations

import sys
from typing import Any

import pexpect
import pytest


@pytest.mark.parametrize("columns", [80, 160])
def test_list_lines_fit_the_terminal(columns: int, cli_env: dict[str, str], emulator: Any) -> None:
    long = "A title that goes on and on " * 8
    hit = emulator.state.add_hit(Title=long, MaxAssignments=3)
    child = pexpect.spawn(
        sys.executable,
        ["-m", "turktui", "list", "--endpoint-url", emulator.url],
        env={**cli_env, "COLUMNS": "", "LINES": ""},
        dimensions=(24, columns),
        timeout=60,
        encoding="utf-8",
    )
    child.expect(pexpect.EOF)
    child.close()
    assert child.exitstatus == 0, child.before
    lines = [line for line in child.before.split("\r\n") if line]
    assert lines[0].startswith("HITId")
    assert max(len(line) for line in lines) <= columns
    cut = next(line for line in lines if line.startswith(hit))
    assert len(cut) == columns and cut.endswith("\u2026")
