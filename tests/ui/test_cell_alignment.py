"""Columns line up in terminal cells on every row, whatever the titles hold (issue 15).

The seeded hostile titles (CJK, emoji, bidi marks made visible, control pictures, markup)
are rendered with Pilot at 80×24 and 160×48, in the HIT list and in the history list. Each
screen is read back cell by cell from the rendered segments (the SVG screenshot places every
segment at its cell offset; graphemes are measured with Rich, as the compositor does), never
by Python string index. Two views are checked:

- the terminal: every column's text occupies exactly its cells and every separator is a
  blank cell at the same offset as in the header, on every row;
- the screenshot as a browser draws it: an SVG text run spreads its characters evenly over
  `len(text)` cells, so a wide character pulls whatever follows it in the same run to the
  left. Each column being its own run, every column still starts where the header says
  (the published `list-wide.svg` pushed them off on these rows).
"""

from __future__ import annotations

import html
import re
from typing import Any

import pytest
from rich.cells import cell_len, split_graphemes

from tests.ui.helpers import show_history, wait_for, wait_loaded
from turktui.adapters.history import open_history
from turktui.emulator.seed import build_hits, special_case_count
from turktui.ui.app import TurkTuiApp
from turktui.ui.screens.history import RecordList, record_cells
from turktui.ui.widgets.hit_table import format_cells
from turktui.ui.widgets.vtable import VirtualTable, fit

pytestmark = pytest.mark.timeout(90)

SIZES = [(80, 24), (160, 48)]
_TEXT = re.compile(
    r'<text class="[^"]*" x="([\d.]+)" y="[\d.]+" textLength="([\d.]+)"'
    r'[^>]*clip-path="url\(#[\w-]+-line-(\d+)\)">(.*?)</text>'
)
#: a cell covered by the right half of a wide character
CONT = ""


def _runs(svg: str) -> list[tuple[float, float, int, str]]:
    return [
        (float(x), float(length), int(line), html.unescape(text).replace("\xa0", " "))
        for x, length, line, text in _TEXT.findall(svg)
    ]


def _char_width(runs: list[tuple[float, float, int, str]]) -> float:
    _x, length, _line, text = next(r for r in runs if r[3].isascii() and r[3].strip())
    return length / len(text)


def terminal_cells(svg: str, width: int, height: int) -> list[list[str]]:
    """The screen as the terminal shows it: one string per cell (a grapheme, a blank, or
    CONT for the second half of a wide one), from each segment's cell offset."""
    runs = _runs(svg)
    cw = _char_width(runs)
    grid = [[" "] * width for _ in range(height)]
    for x, _length, line, text in runs:
        col = round(x / cw)
        spans, total = split_graphemes(text)
        assert total == cell_len(text)
        for start, end, cells in spans:
            if not cells:
                continue
            if col < width:
                grid[line][col] = text[start:end]
            for extra in range(1, cells):
                if col + extra < width:
                    grid[line][col + extra] = CONT
            col += cells
    return grid


def browser_cells(svg: str, width: int, height: int) -> list[list[str]]:
    """The screenshot as a browser lays it out: a run of n characters is spread over n cells
    from its x (Rich writes textLength = n × cell width), wide or not."""
    runs = _runs(svg)
    cw = _char_width(runs)
    grid = [[" "] * width for _ in range(height)]
    for x, _length, line, text in runs:
        col = round(x / cw)
        for offset, ch in enumerate(text):
            if 0 <= col + offset < width:
                grid[line][col + offset] = ch
    return grid


def _joined(cells: list[str]) -> str:
    return "".join(cells)


def check_table(app: Any, table: VirtualTable[Any], cells_of: Any) -> int:
    """Every shown row of `table`: columns in their cells, separators where the header has
    them (terminal view), and every column where the header says (browser view). Returns
    how many rows were checked."""
    width, height = app.size
    svg = app.export_screenshot()
    term = terminal_cells(svg, width, height)
    browser = browser_cells(svg, width, height)
    region = table.content_region
    spans = table.column_spans()
    index = {c.key: i for i, c in enumerate(table.columns)}
    header = term[region.y]
    header_separators = [region.x + x - 1 for _key, x, _w in spans[1:]]
    for sep in header_separators:
        assert header[sep] == " ", f"header separator at {sep}: {_joined(header)!r}"
    checked = 0
    for y in range(1, 1 + table._page):  # (a preview line may follow the rows)
        row = int(table.scroll_y) + y - 1
        if row >= len(table.model):
            break
        item = table.model.row_at(row)
        if item is None:
            continue
        line = term[region.y + y]
        shown = browser[region.y + y]
        cells = cells_of(item)
        for key, x, w in spans:
            col = table.columns[index[key]]
            expected = fit(cells[index[key]], w, col.right)
            got = _joined(line[region.x + x : region.x + x + w])
            assert got == expected, (
                f"row {row} column {key} at cells {x}..{x + w}: {got!r} != {expected!r}\n"
                f"{_joined(line)!r}"
            )
            assert line[region.x + x] != CONT, f"row {row}: {key} starts inside a glyph"
            if key != spans[0][0]:
                assert line[region.x + x - 1] == " ", f"row {row}: no separator before {key}"
            # A browser gives each character of a run one cell from the run's x.
            n = min(len(expected), w)
            seen = "".join(shown[region.x + x : region.x + x + n])
            assert seen == expected[:n], (
                f"screenshot row {row}: {key} is not in its cells {x}..{x + w}: "
                f"{seen!r} != {expected[:n]!r}\n{''.join(shown)!r}"
            )
        separators = [
            region.x + x - 1 for _key, x, _w in spans[1:] if line[region.x + x - 1] == " "
        ]
        assert separators == header_separators, f"row {row}: {_joined(line)!r}"
        checked += 1
    return checked


def hostile_titles() -> list[str]:
    return [hit["Title"] for hit in build_hits(special_case_count(), 1, 0.0)]


@pytest.mark.parametrize("size", SIZES, ids=["80x24", "160x48"])
async def test_hit_list_columns_line_up_in_cells(demo_context: Any, size: tuple[int, int]) -> None:
    app = TurkTuiApp(demo_context)
    async with app.run_test(size=size) as pilot:
        await wait_loaded(pilot)
        table = app.main_screen.table
        specials = special_case_count()
        assert any(
            "\u753b\u50cf" in h.title for h in table.rows[:specials]
        )  # the CJK title is among them
        checked = 0
        top = 0
        while top < specials:
            table.scroll_to(y=top, animate=False, immediate=True)
            await pilot.pause()
            checked += check_table(
                app, table, lambda hit: format_cells(hit, table._now, table.narrow)
            )
            top += table._page
        assert checked >= specials


@pytest.mark.parametrize("size", SIZES, ids=["80x24", "160x48"])
async def test_history_list_columns_line_up_in_cells(
    make_emulator: Any, make_context: Any, size: tuple[int, int]
) -> None:
    server = make_emulator(0)
    ctx = make_context(server.url)
    titles = hostile_titles()
    store = open_history(ctx.paths.history_db)
    store.import_many(
        {
            "hit_id": f"HIT{i:03d}\u753b\U0001f389" if i % 3 == 0 else f"HIT{i:03d}",
            "n": 1,
            "token": f"turktui-{i:08x}",
            "hit_title": title,
            "max_before": 3,
            "expected_after": 4,
            "state": "succeeded" if i % 2 else "unknown",
        }
        for i, title in enumerate(titles)
    )
    store.close()
    app = TurkTuiApp(ctx)
    async with app.run_test(size=size) as pilot:
        await wait_loaded(pilot)
        listing = (await show_history(pilot)).query_one(RecordList)
        checked = 0
        top = 0
        while top < len(titles):
            listing.scroll_to(y=top, animate=False, immediate=True)
            wanted = range(top, min(len(titles), top + listing._page))
            await wait_for(
                pilot,
                lambda rows=wanted: all(listing.model.row_at(r) is not None for r in rows),
            )
            checked += check_table(app, listing, lambda rec: record_cells(rec, not listing.narrow))
            top += listing._page
        assert checked >= len(titles)


# -- fit(): exactly `width` cells, never half a glyph --------------------------------------
@pytest.mark.parametrize(
    ("text", "width", "right", "expected"),
    [
        ("abc", 5, False, "abc  "),
        ("abc", 5, True, "  abc"),
        ("abcdef", 4, False, "abc\u2026"),
        ("\u753b\u50cf\u306e", 6, False, "\u753b\u50cf\u306e"),  # three wide: 6 cells
        ("\u753b\u50cf\u306e", 5, False, "\u753b\u50cf\u2026"),
        # the cut falls inside a wide character: a space, then the ellipsis
        ("\u753b\u50cf\u306e", 4, False, "\u753b \u2026"),
        ("e\u0301e\u0301", 3, False, "e\u0301e\u0301 "),  # combining: no cell of its own
        ("\U0001f389x", 2, False, " \u2026"),
        ("\u241b[31m", 6, False, "\u241b[31m "),  # control pictures: one cell each
        ("\u27e8U+202E\u27e9", 5, False, "\u27e8U+2\u2026"),  # a placeholder is cut like text
        ("abc", 0, False, ""),
        ("\u753b", 1, False, "\u2026"),
    ],
)
def test_fit_pads_and_cuts_in_cells(text: str, width: int, right: bool, expected: str) -> None:
    got = fit(text, width, right)
    assert got == expected
    assert cell_len(got) == width
