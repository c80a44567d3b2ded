"""Esc in a text box: a filter box is cleared and the focus goes back to its list (the next
keys are keys again); a dialog's box is cleared first, and Esc on an empty box closes the
dialog. At 80x24 and 160x48."""

from __future__ import annotations

from typing import Any

import pytest
from textual.widgets import Input

from tests.ui.helpers import wait_for, wait_loaded, wait_screen
from turktui.ui.app import TurkTuiApp
from turktui.ui.screens.bulk import BulkScreen
from turktui.ui.screens.extend import ExtendScreen
from turktui.ui.screens.history import HistoryScreen, RecordList

SIZES = pytest.mark.parametrize("size", [(80, 24), (160, 48)])


@SIZES
async def test_history_esc_in_the_filter_returns_to_the_list(
    size: tuple[int, int], emulator: Any, make_context: Any
) -> None:
    app = TurkTuiApp(make_context(emulator.url))
    async with app.run_test(size=size) as pilot:
        await wait_loaded(pilot)
        await pilot.press("h")
        await wait_screen(pilot, "HistoryScreen")
        hist = app.screen
        assert isinstance(hist, HistoryScreen)
        await wait_for(pilot, lambda: not hist.reading)
        await pilot.press("slash", "a", "b")
        await wait_for(pilot, lambda: hist.filter_text == "ab")
        await pilot.press("escape")  # cleared, and the list has the focus again
        await wait_for(pilot, lambda: isinstance(hist.focused, RecordList))
        assert hist.query_one("#history-filter", Input).value == ""
        await pilot.press("E")  # a key again: the environment filter, not text
        await wait_for(pilot, lambda: hist.env_filter is not None)
        assert hist.query_one("#history-filter", Input).value == ""
        assert app.screen is hist
        await pilot.press("escape")  # on the list: closes the history
        await wait_for(pilot, lambda: app.screen is app.main_screen)


@SIZES
async def test_main_esc_in_the_filter_returns_to_the_list(
    size: tuple[int, int], emulator: Any, make_context: Any
) -> None:
    app = TurkTuiApp(make_context(emulator.url))
    async with app.run_test(size=size) as pilot:
        await wait_loaded(pilot)
        main = app.main_screen
        await pilot.press("slash", "z", "z")
        await wait_for(pilot, lambda: main.table.filter_text == "zz")
        await pilot.press("escape")
        await wait_for(pilot, lambda: main.focused is main.table)
        assert main.table.filter_text == "" and main.query_one("#filter", Input).value == ""
        await pilot.press("x")  # a key again
        await wait_for(pilot, lambda: main.table.extendable_only)


@SIZES
@pytest.mark.parametrize("dialog", ["extend", "bulk"])
async def test_dialog_esc_clears_the_box_first_then_closes(
    dialog: str, size: tuple[int, int], emulator: Any, make_context: Any
) -> None:
    app = TurkTuiApp(make_context(emulator.url))
    async with app.run_test(size=size) as pilot:
        await wait_loaded(pilot)
        main = app.main_screen
        if dialog == "extend":
            await pilot.press("e")
            cls: type = ExtendScreen
        else:
            await pilot.press("a", "b")
            cls = BulkScreen
        await wait_for(pilot, lambda: isinstance(app.screen, cls))
        screen = app.screen
        box = screen.focused
        assert isinstance(box, Input)
        await pilot.press("3")
        await wait_for(pilot, lambda: box.value == "3")
        await pilot.press("escape")  # clears what was typed: the dialog and the focus stay
        await wait_for(pilot, lambda: box.value == "")
        assert app.screen is screen and screen.focused is box
        await pilot.press("4")  # still lands in the box
        await wait_for(pilot, lambda: box.value == "4")
        await pilot.press("escape", "escape")  # clear, then close
        await wait_for(pilot, lambda: app.screen is main)
        assert not main.table.extendable_only


@SIZES
@pytest.mark.parametrize("key", ["c", "t"])
async def test_copy_confirmation_on_the_detail_is_short_lived(
    key: str, size: tuple[int, int], emulator: Any, make_context: Any
) -> None:
    """A copy confirms a key just pressed: it goes within 3 s (one stayed 20 s)."""
    app = TurkTuiApp(make_context(emulator.url))
    copied: list[str] = []
    app.copy_to_clipboard = copied.append  # type: ignore[method-assign]
    async with app.run_test(size=size) as pilot:
        await wait_loaded(pilot)
        await pilot.press("enter")
        await wait_screen(pilot, "DetailScreen")
        await pilot.press(key)
        await wait_for(pilot, lambda: bool(copied) and bool(app._notifications))
        [note] = [n for n in app._notifications if n.message.startswith("Copied")]
        assert note.timeout <= 3
