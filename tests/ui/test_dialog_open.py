"""Opening the extend dialog (at every `e`) is one pass of Textual's work, counted rather than
timed (its time is the benchmark's: tests/bench/bench_app.py, "extend dialog: open"):
- it is composed with its final content (range, preview, problem, the button's label, the
  status line), so nothing is updated or mounted after it mounts;
- the focus goes straight to its first box: not first to the scrolling body (Textual's
  default) and then moved, each move restyling the widgets under it;
- the list under it is not laid out again for the Resize that the dialog's first layout
  sends the dialog (Textual lays out every screen under a new one then, at the same size);
- the list under it is dimmed once, not again at each repaint of the dialog's screen, and
  again as soon as it changes.
At 80x24 and 160x48, the list under the dialog, as in the app."""

from __future__ import annotations

from datetime import timedelta
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest
from textual.app import App, ComposeResult
from textual.css.stylesheet import Stylesheet
from textual.renderables.background_screen import BackgroundScreen
from textual.screen import Screen
from textual.widget import Widget
from textual.widgets import Input, Static

import turktui.ui.app
from tests.conftest import FIXED_NOW
from tests.ui.helpers import screen_text, wait_for
from turktui.domain.models import Assignment, Hit
from turktui.pipeline.operations import APPROVE
from turktui.ui.screens.bulk import BulkScreen
from turktui.ui.screens.confirm import ConfirmScreen
from turktui.ui.screens.extend import ExtendScreen
from turktui.ui.screens.review import ReviewScreen

HIT = Hit(
    "3HITOPENEDINONEPASS0",
    "A survey",
    "Assignable",
    max_assignments=12,
    available=3,
    reward=Decimal("0.50"),
    created=FIXED_NOW - timedelta(days=1),
    expiration=FIXED_NOW + timedelta(days=2),
)


class Host(App[None]):
    """The dialog over a screenful of rows (what the HIT list is under it), in the app's CSS."""

    CSS_PATH = Path(turktui.ui.app.__file__).with_name("app.tcss")

    def compose(self) -> ComposeResult:
        yield Static("\n".join(f"row {n}" for n in range(60)), id="rows")


def spy(
    monkeypatch: pytest.MonkeyPatch, cls: type, name: str, calls: list[Any], *, first: bool = True
) -> None:
    """Every call of `cls.name` recorded in `calls`: its first argument after self (`first`),
    else self."""
    original = getattr(cls, name)

    def recorded(self: Any, *args: Any, **kwargs: Any) -> Any:
        calls.append(args[0] if first and args else self)
        return original(self, *args, **kwargs)

    monkeypatch.setattr(cls, name, recorded)


async def test_the_extend_dialog_opens_in_one_pass(
    make_context: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    ctx = make_context("http://127.0.0.1:9")  # (never asked: the dialog only opens)
    focused: list[Widget | None] = []
    styled: list[Any] = []
    layouts: list[Any] = []
    updated: list[Any] = []
    dimmed: list[Any] = []
    spy(monkeypatch, Screen, "set_focus", focused)
    spy(monkeypatch, Stylesheet, "apply", styled)
    spy(monkeypatch, Screen, "_refresh_layout", layouts, first=False)
    spy(monkeypatch, Static, "update", updated)
    spy(monkeypatch, BackgroundScreen, "__rich_console__", dimmed)
    app = Host()
    async with app.run_test(size=(80, 24)) as pilot:
        for size in ((80, 24), (160, 48)):
            await pilot.resize_terminal(*size)
            await wait_for(pilot, lambda s=size: app.screen.outer_size == s)
            focused.clear()
            styled.clear()
            layouts.clear()
            updated.clear()
            dialog = ExtendScreen(HIT, ctx)
            app.push_screen(dialog)
            await wait_for(pilot, lambda d=dialog: d.is_mounted and d.focused is not None)
            box = dialog.query_one("#extend-count", Input)
            assert [w for w in focused if w is not None] == [box], size
            # Each line of the dialog styled once, as it mounts: none again for a focus move
            # (the boxes and buttons are restyled by Textual as they are made and focused).
            mine = [n for n in styled if isinstance(n, Widget) and dialog in n.ancestors]
            again = {type(n).__name__ for n in mine if mine.count(n) > 1}
            assert again <= {"Input", "Button"}, (size, again)
            assert layouts and all(screen is dialog for screen in layouts), (size, layouts)
            # Composed final: nothing updated after it mounted, and it says what to do.
            assert updated == [], size
            problem = dialog.query_one("#extend-problem", Static)
            assert "Enter the number of assignments" in str(problem.render())
            # A repaint of the dialog's screen (each layout that reaches it is one) does
            # not dim the list under it again...
            dimmed.clear()
            dialog.refresh(layout=True)
            await pilot.pause()
            assert dimmed == [], size
            if size == (160, 48):  # (at 80x24 the dialog covers it all)
                # ...but what changes under it shows through at once, dimmed.
                assert "row 0" in screen_text(app)
                app.query_one("#rows", Static).update("changed under the dialog")
                await wait_for(pilot, lambda: "changed under the dialog" in screen_text(app))
            app.pop_screen()
            await wait_for(pilot, lambda: not isinstance(app.screen, ExtendScreen))


async def test_the_other_dialogs_get_their_focus_at_once(
    make_context: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The confirmation (on Cancel: a stray Enter never sends), the bulk dialog and the review
    dialog (their first box) have the focus where it belongs as they mount, not first on
    their scrolling body or mode and then moved (each move restyles)."""
    ctx = make_context("http://127.0.0.1:9")
    focused: list[Widget | None] = []
    spy(monkeypatch, Screen, "set_focus", focused)
    row = Assignment("A1", worker_id="W1", hit_id=HIT.hit_id, status="Submitted")
    app = Host()
    async with app.run_test(size=(80, 24)) as pilot:
        dialogs: list[tuple[Screen[Any], str]] = [
            (ConfirmScreen("Confirm", "Send it?"), "#confirm-no"),
            (BulkScreen([HIT], ctx), "#bulk-number"),
            (ReviewScreen(APPROVE, [row], HIT, ctx.env, None, title="Approve 1"), "#review-text"),
        ]
        for dialog, target in dialogs:
            focused.clear()
            app.push_screen(dialog)
            await wait_for(pilot, lambda d=dialog: d.is_mounted and d.focused is not None)
            assert [w for w in focused if w is not None] == [dialog.query_one(target)], target
            app.pop_screen()
            await wait_for(pilot, lambda d=dialog: app.screen is not d)
