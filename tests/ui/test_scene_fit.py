"""Every screen and dialog fits 80×24 and 160×48 (tests/fit.py says what "fits" means).

Every scene of tests/scenes.py is staged once per size by tests/test_screenshots.py, which
checks its picture and its fit together (one staging per scene and size, whichever worker runs
it). This file shows that the check itself can fail.
"""

from __future__ import annotations

import pytest
from textual.app import App, ComposeResult
from textual.containers import Horizontal, Vertical, VerticalScroll
from textual.screen import ModalScreen
from textual.widgets import Button, Static

from tests.fit import fit_problems
from tests.scenes import SCENES, SIZES

pytestmark = pytest.mark.timeout(120)


# -- the check itself can fail -----------------------------------------------------------------
class Dialog(ModalScreen[None]):
    """A dialog as they were before: fixed width, everything in one column."""

    DEFAULT_CSS = """
    Dialog { align: center middle; }
    #box { width: 84; height: auto; max-height: 100%; border: thick red; }
    #buttons { height: auto; align-horizontal: right; }
    """

    def __init__(self, lines: int, *, decision_in_scroll: bool = False) -> None:
        super().__init__()
        self.lines = lines
        self.decision_in_scroll = decision_in_scroll

    def compose(self) -> ComposeResult:
        if self.decision_in_scroll:
            with VerticalScroll(id="box"):
                for i in range(self.lines):
                    yield Static(f"line {i}")
                yield Static("Cost: $2.10", classes="decision")
            return
        with Vertical(id="box"):
            for i in range(self.lines):
                yield Static(f"line {i}")
            with Horizontal(id="buttons"):
                yield Button("Send")


class Base(App[None]):
    def compose(self) -> ComposeResult:
        yield Static("DEMO banner")


async def _problems(dialog: Dialog, size: tuple[int, int] = (80, 24)) -> list[str]:
    app = Base()
    async with app.run_test(size=size) as pilot:
        app.push_screen(dialog)
        await pilot.pause()
        await pilot.pause()
        return fit_problems(app, env_word="DEMO")


async def test_the_check_sees_a_dialog_wider_than_the_screen() -> None:
    problems = await _problems(Dialog(3))
    assert any("Vertical#box is cut" in p for p in problems), problems
    assert any("Button" in p and "not entirely visible" in p for p in problems), problems
    assert await _problems(Dialog(3), (160, 48)) == []


async def test_the_check_sees_buttons_below_the_screen_and_a_hidden_banner() -> None:
    problems = await _problems(Dialog(30), (84, 24))
    assert any("Button" in p for p in problems), problems
    assert any("environment (DEMO)" in p for p in problems), problems


async def test_the_check_sees_a_decision_line_scrolled_away() -> None:
    problems = await _problems(Dialog(40, decision_in_scroll=True), (100, 24))
    assert any("Static.decision is not entirely visible" in p for p in problems), problems


def test_every_screen_and_dialog_has_a_scene() -> None:
    """Each screen class is staged by some scene (by the name its scenes show)."""
    names = {scene.name for scene in SCENES}
    wanted = {
        "list", "detail", "history", "record-detail", "assignments", "help", "help-history",
        "help-detail", "help-assignments", "unreachable", "extend-under-10", "extend-expired",
        "production-confirm", "expire-confirm", "bulk-add", "bulk-top-up", "bulk-nine",
        "bulk-add-time", "bulk-time-only", "bulk-confirm", "bulk-running", "bulk-finished",
        "read-only-extend", "help-read-only", "toasts",
    }  # fmt: skip
    assert wanted <= names, sorted(wanted - names)
    assert all(set(scene.sizes) <= set(SIZES) for scene in SCENES)
