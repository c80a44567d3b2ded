"""A refresh keeps the operator where they are (issue 15).

The cursor jumped back to the HIT it was on when the refresh *started* (row 1, 3 of 3
tries) if the operator moved while the list was read; marks and copy then landed on the
wrong HIT. The status line said "Refreshing… 0 HITs (page 0)" over 200 rows and never when
the list was read.
"""

from __future__ import annotations

from typing import Any

import pytest

from tests.ui.helpers import screen_text, wait_for, wait_loaded
from turktui.ui.app import TurkTuiApp

pytestmark = pytest.mark.timeout(60)


@pytest.mark.parametrize("size", [(80, 24), (160, 48)], ids=["80x24", "160x48"])
async def test_the_cursor_stays_on_the_hit_chosen_during_a_slow_refresh(
    make_emulator: Any, make_context: Any, size: tuple[int, int]
) -> None:
    server = make_emulator(200)
    app = TurkTuiApp(make_context(server.url))
    async with app.run_test(size=size) as pilot:
        await wait_loaded(pilot)
        main = app.main_screen
        table = main.table
        await pilot.press("space")  # marks row 0, moves to row 1
        first_mark = table.rows[table.view[0]].hit_id
        assert table.marked == {first_mark} and table.cursor == 1
        held = server.faults.hold("ListHITs")  # MTurk holds the refresh's first page
        await pilot.press("r")
        await wait_for(pilot, lambda: main.is_loading, what="the refresh to start")
        await wait_for(pilot, lambda: held.waiting == 1, what="the refresh's first page held")
        # While it loads: move, mark another, move on.
        await pilot.press("down", "down", "down", "space", "down", "down")
        assert main.is_loading
        chosen = table.cursor_hit
        assert chosen is not None and table.cursor == 7
        second_mark = table.rows[table.view[4]].hit_id
        during = screen_text(app)
        held.release()
        await wait_loaded(pilot, timeout=30)
        assert table.cursor_hit is not None
        assert table.cursor_hit.hit_id == chosen.hit_id
        assert table.cursor == 7
        assert table.marked == {first_mark, second_mark}
        assert app.marks == 2
        # While refreshing, the old rows' count (never "0 HITs (page 0)").
        assert "200 HITs \u00b7 refreshing\u2026" in during, during[-300:]
        assert "0 HITs" not in during.replace("200 HITs", "")
        text = screen_text(app)
        assert "updated 12:00:00" in text and "8/200" in text, text[-300:]
        # Copy follows the cursor: the HIT chosen last.
        app.copy_hit_id(table.cursor_hit)
        assert app.clipboard == chosen.hit_id


async def test_the_status_line_fits_80_columns_and_keeps_the_position(demo_context: Any) -> None:
    app = TurkTuiApp(demo_context)
    async with app.run_test(size=(80, 24)) as pilot:
        await wait_loaded(pilot)
        table = app.main_screen.table
        await pilot.press("space", "space", "s", "s", "x", "slash", *"a", "enter")
        await wait_for(pilot, lambda: table.filtered and table.sort_key == "title")
        await pilot.press("down")
        status = app.main_screen.status_bar
        left, right = status.text
        assert len(left) + len(right) > 80  # more than fits: the left side gives way
        line = screen_text(app).splitlines()[-2]
        assert len(line) <= 80
        assert line.endswith(f"{table.cursor + 1:,}/{len(table.view):,}"), line
        assert "updated 12:00:00" in line and line.startswith("200 HITs"), line
