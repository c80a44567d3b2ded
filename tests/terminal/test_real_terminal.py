"""The installed `turktui` console script in a real pseudo-terminal, read back through a
terminal emulator (pyte): list → extend dialog → extension → history, as a person does it."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from tests.terminal.driver import Terminal, terminal_env

pytestmark = pytest.mark.timeout(120)


def _journey(term: Terminal) -> None:
    screen = term.wait_for("200 HITs", timeout=30)
    assert "DEMO" in screen and "Headroom" in screen
    # Filter to one HIT created with 4 assignments and open the dialog.
    term.send("/")
    term.send("(4 assignments)")
    term.send("\r")
    term.wait_for(lambda s: "1 of 200" in s or "1/1" in s or "(4 assignments)" in s)
    term.send("e")
    screen = term.wait_for("Add assignments")
    assert "can never reach 10" in screen
    term.send("3")
    screen = term.wait_for("4 \u2192 7")
    assert "Balance available" in screen
    term.send("\r")
    term.wait_for(lambda s: "Add assignments" not in s and re.search(r"\b7\b", s) is not None)
    term.send("h")
    screen = term.wait_for("succeeded")
    assert "+3" in screen and "4\u21927" in screen
    term.send("\x1b")
    term.wait_for("Headroom")


@pytest.mark.parametrize("no_color", [False, True], ids=["colour", "NO_COLOR"])
def test_list_extend_history_at_80x24(tmp_path: Path, no_color: bool) -> None:
    extra = {"NO_COLOR": "1"} if no_color else {}
    term = Terminal(["--demo"], env=terminal_env(tmp_path, **extra), columns=80, lines=24)
    try:
        _journey(term)
    finally:
        status = term.close()
    assert status == 0


def test_wide_terminal_shows_every_column(tmp_path: Path) -> None:
    # (at 160 columns Created gives way to the title: optional columns show while the
    # title keeps 36 cells)
    term = Terminal(["--demo"], env=terminal_env(tmp_path), columns=200, lines=48)
    try:
        screen = term.wait_for("200 HITs", timeout=30)
        for column in (
            "HIT id",
            "Title",
            "Status",
            "Max",
            "Reward",
            "Created",
            "Expires",
            "Headroom",
        ):
            assert column in screen
    finally:
        term.close()
