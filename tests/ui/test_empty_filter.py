"""A filter that hides everything says so, in the table (issue 15: it showed an empty table)."""

from __future__ import annotations

from typing import Any

import pytest
from textual.widgets import Input

from tests.ui.helpers import screen_text, wait_for, wait_loaded
from turktui.adapters.history import open_history
from turktui.ui.app import TurkTuiApp
from turktui.ui.screens.history import HistoryScreen

pytestmark = pytest.mark.timeout(60)


@pytest.mark.parametrize("size", [(80, 24), (160, 48)], ids=["80x24", "160x48"])
async def test_a_text_filter_matching_nothing_says_so(
    demo_context: Any, size: tuple[int, int]
) -> None:
    app = TurkTuiApp(demo_context)
    async with app.run_test(size=size) as pilot:
        await wait_loaded(pilot)
        table = app.main_screen.table
        await pilot.press("slash", *"xyzzy", "enter")
        await wait_for(pilot, lambda: not table.view, what="the filter")
        text = screen_text(app)
        assert "no HITs match \u201cxyzzy\u201d (Esc clears)" in text, text
        await pilot.press("escape")
        await wait_for(pilot, lambda: len(table.view) == 200, what="the filter to clear")
        assert "no HITs match" not in screen_text(app)


async def test_a_quick_filter_matching_nothing_says_which(
    make_emulator: Any, make_context: Any
) -> None:
    server = make_emulator(5)  # the first seeded HITs: none expired
    app = TurkTuiApp(make_context(server.url))
    async with app.run_test(size=(80, 24)) as pilot:
        await wait_loaded(pilot)
        table = app.main_screen.table
        assert len(table.rows) == 5
        await pilot.press("o")
        await wait_for(pilot, lambda: not table.view, what="the filter")
        text = screen_text(app)
        assert "no HITs match: only expired (Esc clears)" in text, text


async def test_a_history_filter_matching_nothing_says_so(
    make_emulator: Any, make_context: Any
) -> None:
    server = make_emulator(0)
    ctx = make_context(server.url)
    store = open_history(ctx.paths.history_db)
    store.import_many(
        {
            "hit_id": f"HIT{i:03d}",
            "n": 1,
            "token": f"turktui-{i:08x}",
            "hit_title": f"Survey {i}",
            "max_before": 3,
            "expected_after": 4,
            "state": "succeeded",
        }
        for i in range(5)
    )
    store.close()
    app = TurkTuiApp(ctx)
    async with app.run_test(size=(80, 24)) as pilot:
        await wait_loaded(pilot)
        await pilot.press("h")
        await wait_for(
            pilot, lambda: isinstance(app.screen, HistoryScreen) and not app.screen.reading
        )
        screen = app.screen
        assert screen.total == 5
        screen.query_one("#history-filter", Input).value = "xyzzy"
        await wait_for(
            pilot,
            lambda: screen.filter_text == "xyzzy" and not screen.reading and screen.total == 0,
            what="the history filter",
        )
        text = screen_text(app)
        assert "no records match \u201cxyzzy\u201d" in text, text
