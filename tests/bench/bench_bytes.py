"""Benchmark: bytes written to the terminal per action in the HIT list, beside Textual's DataTable.

Run from the repo root: ``python -m tests.bench.bench_bytes [--moves 20] [--hits 200]``.

Over SSH every byte is latency. Three actions, each `--moves` times at 80x24 and 160x48:
a cursor move (↓), a mark (space: mark the row, move on) and a row update (the cursor
HIT's row after an extension: Max and Avail one up). Both programs run for real in a
pseudo-terminal (tests/terminal/driver.py, played into pyte); the bytes each action makes
them write are counted until the output is quiet, and the medians reported (each kind
starts from the first row: at 80x24 the last few of 20 scroll the list, in both). The
baseline, in the same run, is a tiny Textual app with a `DataTable` (row cursor) of the same rows,
with the columns the list shows at that size (same widths, same text) and a one-cell mark
column: its mark is `update_cell` + cursor down, its row update `update_cell` of the cells
an extension changes. Both programs update the row on SIGUSR1.

The same actions are measured in-process too (`capture_output`: the app renders as for a
terminal, the headless driver keeps what it would write): they are the pty's but for the
"\\r" the tty adds before each "\\n", which is why tests/ui/test_terminal_bytes.py can
assert the budget in-process.
Not collected by pytest.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import signal
import statistics
import sys
import tempfile
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import replace
from datetime import datetime, timezone
from pathlib import Path
from typing import Any, ClassVar

from rich.text import Text
from textual.app import App, ComposeResult
from textual.binding import Binding, BindingType
from textual.coordinate import Coordinate
from textual.drivers.headless_driver import HeadlessDriver
from textual.widgets import DataTable

from turktui.domain.models import Hit
from turktui.ui.widgets.hit_table import COLUMNS, HitTable, format_cells
from turktui.ui.widgets.vtable import fit, layout_columns

ROOT = Path(__file__).resolve().parents[2]
SIZES = ((80, 24), (160, 48))
ACTIONS = ("move", "mark", "update")
#: What the terminal sends for each keyed action.
KEYS = {"move": "\x1b[B", "mark": " "}
PILOT_KEYS = {"move": "down", "mark": "space"}
HOME = "\x1b[H"
#: The cells an extension changes.
EXTENDED = ("max", "available", "headroom")


def extended(hit: Hit) -> Hit:
    """`hit` as an extension by one assignment leaves it."""
    return replace(hit, max_assignments=hit.max_assignments + 1, available=hit.available + 1)


# ------------------------------------------------------------------------------ the baseline
class BaselineApp(App[None]):
    """Textual's DataTable over `hits`: the columns the HIT list shows at this width (same
    widths and text), after a one-cell mark column. Space marks and moves on."""

    BINDINGS: ClassVar[list[BindingType]] = [Binding("space", "mark", "Mark")]

    def __init__(self, hits: list[Hit], clock: Callable[[], datetime]) -> None:
        super().__init__()
        self.hits = {hit.hit_id: hit for hit in hits}
        self.clock = clock
        self.layout: list[tuple[Any, int]] = []
        self.compact = False

    def compose(self) -> ComposeResult:
        yield DataTable(cursor_type="row")

    def on_mount(self) -> None:
        width = self.size.width - 1  # the list's width beside its scrollbar
        self.compact = width < HitTable.narrow_below
        self.layout = [
            (col, w)
            for _x, col, w in layout_columns(
                COLUMNS,
                width,
                flex_min=HitTable.flex_min,
                narrow_below=HitTable.narrow_below,
                flex_want=HitTable.flex_want,
            )
        ]
        table = self.query_one(DataTable)
        table.add_column("", width=1, key="mark")
        for col, w in self.layout:
            table.add_column(col.narrow_label or col.label, width=w, key=col.key)
        for hit in self.hits.values():
            table.add_row(Text(" "), *self._cells(hit).values(), key=hit.hit_id)
        table.focus()

    def _cells(self, hit: Hit) -> dict[str, Text]:
        cells = format_cells(hit, self.clock(), self.compact)
        texts = dict(zip((c.key for c in COLUMNS), cells, strict=True))
        return {col.key: Text(fit(texts[col.key], w, col.right)) for col, w in self.layout}

    def _cursor_key(self) -> str:
        table = self.query_one(DataTable)
        return str(table.coordinate_to_cell_key(Coordinate(table.cursor_row, 0)).row_key.value)

    def action_mark(self) -> None:
        table = self.query_one(DataTable)
        table.update_cell(self._cursor_key(), "mark", Text("\u25cf"))
        table.action_cursor_down()

    def extend_cursor_row(self) -> None:
        key = self._cursor_key()
        hit = self.hits[key] = extended(self.hits[key])
        cells = self._cells(hit)
        table = self.query_one(DataTable)
        for column in EXTENDED:
            if column in cells:
                table.update_cell(key, column, cells[column])


def extend_cursor_hit(app: Any) -> None:
    """The turktui app's row update: its cursor HIT as an extension's outcome shows it."""
    hit = app.selected_hit
    if hit is not None:
        app.update_hit(extended(hit))


# ------------------------------------------------------------------------------ in-process
class _Capture(HeadlessDriver):
    """The headless driver, but the app renders for it as for a terminal: `written` holds
    what a LinuxDriver would write to the pty (the same strings; no sync-output brackets,
    as pyte does not answer the query for them either)."""

    written: list[str]

    @property
    def is_headless(self) -> bool:
        return False

    def write(self, data: str) -> None:
        self.written.append(data)


@contextmanager
def capture_output(app: App[Any]) -> Iterator[list[str]]:
    """What `app` (running under `run_test`) writes to its terminal meanwhile."""
    driver = app._driver
    assert isinstance(driver, HeadlessDriver), "run the app with run_test(headless=True)"
    original = driver.__class__
    written: list[str] = []
    driver.__class__ = _Capture
    driver.written = written  # type: ignore[attr-defined]
    try:
        yield written
    finally:
        driver.__class__ = original


def written_bytes(written: list[str]) -> int:
    return sum(len(chunk.encode("utf-8")) for chunk in written)


async def settle(pilot: Any, written: list[str]) -> None:
    """Until a frame passes in which nothing more is written."""
    before = -1
    while before != len(written):
        before = len(written)
        await pilot.pause()
        await pilot.pause(0.02)


async def measure_actions(
    pilot: Any, action: str, count: int, do: Callable[[], None] | None = None
) -> list[int]:
    """Bytes written for each of `count` runs of `action` (a key, or `do` for an update)."""
    sizes = []
    await settle(pilot, [])
    for _ in range(count):
        with capture_output(pilot.app) as written:
            if do is not None:
                do()
            else:
                await pilot.press(PILOT_KEYS[action])
            await settle(pilot, written)
        sizes.append(written_bytes(written))
    return sizes


# ------------------------------------------------------------------------------ the pty
def _child_app(url: str) -> None:
    """The real turktui app (as `turktui --endpoint-url URL` starts it), plus SIGUSR1."""
    from turktui.cli import build_parser
    from turktui.cli.options import open_connection
    from turktui.cli.run_app import build_app, start_prefetch

    conn = open_connection(build_parser().parse_args(["--endpoint-url", url]))
    service = conn.service()
    loader = start_prefetch(service)
    app = build_app(conn, service, loader)
    _on_usr1(app, lambda: extend_cursor_hit(app))
    try:
        app.run()
    finally:
        if loader is not None:
            loader.close()
        conn.close()


def _child_baseline(url: str) -> None:
    from turktui.cli import build_parser
    from turktui.cli.options import open_connection

    conn = open_connection(build_parser().parse_args(["--endpoint-url", url]))
    hits = [hit for page in conn.service().iter_hit_pages(100) for hit in page]
    app = BaselineApp(hits, lambda: datetime.now(timezone.utc))
    _on_usr1(app, app.extend_cursor_row)
    app.run()
    conn.close()


def _on_usr1(app: App[Any], action: Callable[[], None]) -> None:
    # The handler runs on the loop's thread: hand the action over from another one.
    def handler(signum: int, frame: Any) -> None:
        threading.Thread(target=app.call_from_thread, args=(action,), daemon=True).start()

    signal.signal(signal.SIGUSR1, handler)


def _quiet(term: Any, quiet: float, first: float = 2.0, timeout: float = 10.0) -> int:
    """Read until nothing came for `quiet` seconds after the first byte (or none came in
    `first` seconds: the action wrote nothing); the bytes read."""
    start = len(term.raw)
    begin = time.monotonic()
    last: float | None = None
    while time.monotonic() - begin < timeout:
        seen = len(term.raw)
        term.pump(0.02)
        now = time.monotonic()
        if len(term.raw) != seen:
            last = now
        elif (now - begin >= first) if last is None else (now - last >= quiet):
            break
    return len(term.raw) - start


def pty_run(which: str, url: str, size: tuple[int, int], count: int, home: Path) -> dict:
    """Bytes per action (lists) of one program in a pty of `size`."""
    from tests.terminal.driver import Terminal, terminal_env

    env = terminal_env(
        home,
        AWS_ACCESS_KEY_ID="AKIDBENCH",
        AWS_SECRET_ACCESS_KEY="bench",
        AWS_DEFAULT_REGION="us-east-1",
        PYTHONPATH=str(ROOT),
    )
    term = Terminal(
        ["-m", "tests.bench.bench_bytes", "--child", which, url],
        env=env,
        columns=size[0],
        lines=size[1],
        program=sys.executable,
    )
    try:
        # Listed (the app's status line says when), then quiet.
        term.wait_for("updated " if which == "app" else "Status", timeout=60)
        _quiet(term, 1.0, timeout=20)
        out: dict[str, list[int]] = {}
        for action in ACTIONS:
            term.child.send(HOME)  # each action from the first row (a page to go)
            _quiet(term, 0.5)
            sizes = []
            for _ in range(count):
                if action == "update":
                    term.child.kill(signal.SIGUSR1)
                else:
                    term.child.send(KEYS[action])
                sizes.append(_quiet(term, 0.3))
            out[action] = sizes
        return out
    finally:
        term.close()


async def _inprocess(which: str, url: str, size: tuple[int, int], count: int) -> dict:
    from tests.ui.helpers import wait_for
    from turktui.cli import build_parser
    from turktui.cli.options import open_connection
    from turktui.cli.run_app import build_app

    conn = open_connection(build_parser().parse_args(["--endpoint-url", url]))
    service = conn.service()
    app: Any
    if which == "app":
        app = build_app(conn, service, None)
        extend = lambda: extend_cursor_hit(app)  # noqa: E731
    else:
        hits = [hit for page in service.iter_hit_pages(100) for hit in page]
        app = BaselineApp(hits, lambda: datetime.now(timezone.utc))
        extend = app.extend_cursor_row
    try:
        async with app.run_test(size=size) as pilot:
            if which == "app":
                main = app.main_screen
                await wait_for(pilot, lambda: main.generation and not main.is_loading)
            out = {}
            for action in ACTIONS:
                await pilot.press("home")
                do = extend if action == "update" else None
                out[action] = await measure_actions(pilot, action, count, do)
            return out
    finally:
        conn.close()


def inprocess_run(which: str, url: str, size: tuple[int, int], count: int) -> dict:
    """Bytes per action (lists) of one program in-process (`capture_output`)."""
    return asyncio.run(_inprocess(which, url, size, count))


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--moves", type=int, default=20, help="actions of each kind")
    parser.add_argument("--hits", type=int, default=200)
    parser.add_argument("--json", action="store_true", help="print one JSON line")
    parser.add_argument("--child", nargs=2, metavar=("WHICH", "URL"), help=argparse.SUPPRESS)
    opts = parser.parse_args(argv)
    if opts.child:
        which, url = opts.child
        (_child_app if which == "app" else _child_baseline)(url)
        return 0
    result = run(opts.hits, opts.moves)
    if opts.json:
        print(json.dumps(result))
    else:
        print(report(result, opts.moves))
    return 0


def run(hits: int, moves: int) -> dict[str, Any]:
    """{"80x24": {"app": {action: median}, "baseline": {...}, "app_inprocess": {...},
    "baseline_inprocess": {...}}, "160x48": ...}"""
    from turktui.emulator import EmulatorServer

    # The in-process apps render for the terminal the pty children have.
    os.environ["TERM"] = "xterm-256color"
    os.environ.pop("COLORTERM", None)
    os.environ.pop("NO_COLOR", None)
    for var, value in (("AWS_ACCESS_KEY_ID", "AKIDBENCH"), ("AWS_SECRET_ACCESS_KEY", "bench")):
        os.environ.setdefault(var, value)
    os.environ.setdefault("AWS_DEFAULT_REGION", "us-east-1")

    server = EmulatorServer(host="127.0.0.1", port=0, hits=hits, seed=1).start()
    result: dict[str, Any] = {}
    try:
        with tempfile.TemporaryDirectory() as name:
            for size in SIZES:
                key = f"{size[0]}x{size[1]}"
                result[key] = {}
                for which in ("app", "baseline"):
                    home = Path(name) / f"{which}-{key}"
                    home.mkdir()
                    sizes = pty_run(which, server.url, size, moves, home)
                    result[key][which] = {a: statistics.median(v) for a, v in sizes.items()}
                    sizes = inprocess_run(which, server.url, size, moves)
                    result[key][which + "_inprocess"] = {
                        a: statistics.median(v) for a, v in sizes.items()
                    }
    finally:
        server.stop()
    return result


def report(result: dict[str, Any], moves: int) -> str:
    lines = [
        f"Bytes written per action, medians of {moves}, through a pty "
        "(`python -m tests.bench.bench_bytes`)",
        "",
        "| Size | Action | turktui | DataTable | Ratio | In-process (turktui / DataTable) |",
        "|---|---|---|---|---|---|",
    ]
    for key, both in result.items():
        for action in ACTIONS:
            ours, theirs = both["app"][action], both["baseline"][action]
            ratio = f"{ours / theirs:.2f}×" if theirs else ""
            inproc = (
                f"{both['app_inprocess'][action]:,.0f} B / "
                f"{both['baseline_inprocess'][action]:,.0f} B"
            )
            lines.append(
                f"| {key} | {action} | {ours:,.0f} B | {theirs:,.0f} B | {ratio} | {inproc} |"
            )
    return "\n".join(lines)


if __name__ == "__main__":
    sys.exit(main())
