"""Bytes written to the terminal per action in the HIT list (issue 24): over SSH every
byte is latency.

A cursor move repainted the whole list (3.1 KB at 80x24, 10.5 KB at 160x48, against about
0.9 and 1.4 KB for Textual's own DataTable); a mark repainted the whole screen (an app
reactive without `repaint=False`). Now only the lines whose text or style changed are
sent, each up to its last changed cell, and the status line only when its text changes.

Measured in-process (`capture_output`: the app renders as for a terminal and the headless
driver keeps what it would write). These are the bytes a pty carries, but for the "\\r"
the tty adds before each "\\n": `python -m tests.bench.bench_bytes` measures both ways.
The baseline is the bench's: a DataTable of the same rows with the columns the list shows.
"""

from __future__ import annotations

from statistics import median
from typing import Any

import pyte
import pytest
from rich.cells import cell_len
from rich.segment import Segment
from rich.style import Style
from textual.strip import Strip

from tests.bench.bench_bytes import (
    BaselineApp,
    capture_output,
    extend_cursor_hit,
    measure_actions,
    settle,
)
from tests.conftest import FIXED_NOW
from tests.ui.helpers import screen_text, wait_for, wait_ready
from turktui.ui.app import TurkTuiApp
from turktui.ui.widgets.vtable import changed_end

pytestmark = pytest.mark.timeout(90)

MOVES = 7
SIZES = pytest.mark.parametrize("size", [(80, 24), (160, 48)], ids=["80x24", "160x48"])


@pytest.fixture
def app(make_emulator: Any, make_context: Any) -> TurkTuiApp:
    """The app over the seeded emulator's 200 HITs."""
    return TurkTuiApp(make_context(make_emulator(200).url))


@pytest.fixture(autouse=True)
def _terminal(monkeypatch: pytest.MonkeyPatch) -> None:
    """Both apps render for the terminal of the issue's measurement (256 colours)."""
    monkeypatch.setenv("TERM", "xterm-256color")
    monkeypatch.delenv("COLORTERM", raising=False)
    monkeypatch.delenv("NO_COLOR", raising=False)


async def _baseline(hits: list[Any], size: tuple[int, int]) -> dict[str, float]:
    app = BaselineApp(hits, lambda: FIXED_NOW)
    async with app.run_test(size=size) as pilot:
        return {
            "move": median(await measure_actions(pilot, "move", MOVES)),
            "mark": median(await measure_actions(pilot, "mark", 3)),
            "update": median(await measure_actions(pilot, "update", 3, app.extend_cursor_row)),
        }


@SIZES
async def test_a_move_a_mark_and_a_row_update_write_no_more_than_a_data_table(
    app: TurkTuiApp, size: tuple[int, int]
) -> None:
    async with app.run_test(size=size) as pilot:
        await wait_ready(pilot)
        table = app.main_screen.table
        ours = {
            "move": median(await measure_actions(pilot, "move", MOVES)),
            "mark": median(await measure_actions(pilot, "mark", 3)),
        }
        before = table.cursor_hit
        assert before is not None
        ours["update"] = median(
            await measure_actions(pilot, "update", 3, lambda: extend_cursor_hit(app))
        )
        # What was sent is what shows: the moves, the marks and the updates landed.
        hit = table.cursor_hit
        assert hit is not None and hit.max_assignments == before.max_assignments + 3
        assert table.cursor == MOVES + 3
        assert len(table.marked) == 3 and app.marks == 3
        text = screen_text(app)
        assert f"{MOVES + 4}/200" in text and "3 marked" in text, text[-400:]
        hits = list(table.rows)
    theirs = await _baseline(hits, size)
    for action in ("move", "mark", "update"):
        assert ours[action] <= theirs[action], (action, ours, theirs)


@SIZES
async def test_a_mark_repaints_neither_the_banner_nor_the_footer(
    app: TurkTuiApp, size: tuple[int, int]
) -> None:
    # The app's `marks` reactive repainted the whole screen (banner, footer and all).
    async with app.run_test(size=size) as pilot:
        await wait_ready(pilot)
        with capture_output(app) as written:
            await pilot.press("space")
            await settle(pilot, written)
        sent = "".join(written)
        assert app.marks == 1 and "1 marked" in sent
        assert "DEMO" not in sent and "Quit" not in sent, sent


@SIZES
async def test_a_refresh_that_changed_nothing_repaints_no_row(
    app: TurkTuiApp, size: tuple[int, int]
) -> None:
    # Auto-refresh: each page batch repainted the whole screen (the `load` reactive), and
    # the new rows the whole list, though nothing had changed.
    async with app.run_test(size=size) as pilot:
        await wait_ready(pilot)
        main = app.main_screen
        shown = [hit.hit_id[:10] for hit in main.table.rows[:10]]
        assert all(key in screen_text(app) for key in shown)
        generation = main.generation
        with capture_output(app) as written:
            app.reload_hits()
            await wait_for(pilot, lambda: main.generation > generation and not main.is_loading)
            await settle(pilot, written)
        sent = "".join(written)
        assert "refreshing" in sent and "updated 12:00:00" in sent
        assert not [key for key in shown if key in sent], sent
        assert "DEMO" not in sent and "Quit" not in sent, sent


@SIZES
async def test_the_scroll_range_is_as_wide_as_the_rows_once_listed(
    app: TurkTuiApp, size: tuple[int, int]
) -> None:
    # Taken before the vertical scrollbar showed (or went), the range's width kept (or
    # lacked) the scrollbar's column: the next sync, at the next unchanged refresh,
    # corrected it and repainted every row.
    async with app.run_test(size=size) as pilot:
        await wait_ready(pilot)
        table = app.main_screen.table
        rows = list(table.rows)
        for shown in ([], rows, rows[:3], rows):
            table.set_rows(shown)
            await pilot.pause()
            assert table.virtual_size.width == table.scrollable_content_region.width, len(shown)


PLAIN, BOLD = Style(), Style(bold=True)


def _strip(*parts: tuple[str, Style]) -> Strip:
    return Strip([Segment(text, style) for text, style in parts])


@pytest.mark.parametrize(
    ("old", "new", "end"),
    [
        # the same: nothing to repaint
        (_strip(("abc   ", PLAIN)), _strip(("abc   ", PLAIN)), 0),
        # a shorter text over a longer one: up to the old text's last cell
        (_strip(("\u25b6 long title  ", PLAIN)), _strip(("\u25b6 short       ", PLAIN)), 12),
        # a mark in the gutter: two cells
        (_strip(("\u25b6 x y", PLAIN)), _strip(("\u25b6\u25cfx y", PLAIN)), 2),
        # another style (the cursor row): the whole line, even where the text is the same
        (_strip(("abc  ", PLAIN)), _strip(("abc  ", BOLD)), 5),
        # equal trailing segments are kept; the differing one ends the repaint
        (_strip(("ab", PLAIN), ("cd", BOLD)), _strip(("xb", PLAIN), ("cd", BOLD)), 1),
        # wide characters: the common tail is not counted in characters
        (_strip(("\u753b\u50cf ab", PLAIN)), _strip(("\u753b\u50cf xb", PLAIN)), 6),
        (_strip(("x\u753b\u50cf", PLAIN)), _strip(("y\u753b\u50cf", PLAIN)), 5),
        # different lengths: everything
        (_strip(("abc", PLAIN)), _strip(("abcd", PLAIN)), 4),
    ],
)
def test_changed_end_is_the_cell_after_the_last_difference(
    old: Strip, new: Strip, end: int
) -> None:
    assert changed_end(old, new) == end


@SIZES
async def test_the_terminal_shows_what_the_app_shows_after_partial_repaints(
    app: TurkTuiApp, size: tuple[int, int]
) -> None:
    # The bytes written, played into a terminal emulator from a full frame on, leave the
    # screen the app has: no line a partial repaint should have changed is stale (moves
    # across a page, marks, a row update, a page down, a refresh).
    async with app.run_test(size=size) as pilot:
        await wait_ready(pilot)
        with capture_output(app) as written:
            app.screen.refresh()
            await settle(pilot, written)
            for key in ["down"] * 25 + ["space", "space", "pagedown", "up", "up"]:
                await pilot.press(key)
            extend_cursor_hit(app)
            main = app.main_screen
            generation = main.generation
            app.reload_hits()
            await wait_for(pilot, lambda: main.generation > generation and not main.is_loading)
            await settle(pilot, written)
        screen = pyte.Screen(*size)
        pyte.Stream(screen).feed("".join(written).replace("\n", "\r\n"))
        shown = [line.rstrip() for line in screen.display]
        expected = screen_text(app).splitlines()
        assert len(expected) == size[1]
        # (lines with wide or zero-width characters aside: pyte and Rich may not agree on
        # their cells)
        compared = [
            (y, got, want.rstrip())
            for y, (got, want) in enumerate(zip(shown, expected, strict=True))
            if cell_len(want) == len(want)
        ]
        assert len(compared) > size[1] * 3 // 4
        differ = [(y, got, want) for y, got, want in compared if got != want]
        assert not differ, differ
