"""History budgets: filter keystrokes at 100,000 records, and keypresses while the history's
write lock is held by another process (issue 14).

    python -m tests.bench.bench_history [--quick] [--rounds N] [--records N]

* filter: each keystroke typed into the history filter (100,000 records): the UI thread's
  share (starting the query, listing the answer, the count line) and keystroke → first page
  of results listed (then → counted). Medians over every keystroke of every round.
* locked: another process holds the history's write lock (BEGIN IMMEDIATE) for 10 s and the
  app's own writer thread waits for it, holding the store's connection; meanwhile keys are
  pressed on the main list, the history, a record's detail, the help dialog and the HIT
  detail: keypress → frame (pilot.press + the next idle frame), median and worst.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path
from typing import Any

from tests.bench.bench_engine import _hermetic

HOLD = """
import sqlite3, sys, time
con = sqlite3.connect(sys.argv[1], isolation_level=None)
con.execute("BEGIN IMMEDIATE")
print("locked", flush=True)
time.sleep(float(sys.argv[2]))
con.execute("ROLLBACK")
"""


def _fill(db: Path, records: int) -> None:
    from turktui.adapters.history import HistoryStore

    store = HistoryStore(db)
    store.import_many(
        {
            "hit_id": f"HIT{i:025d}",
            "n": 1 + i % 7,
            "token": f"turktui-{i:032x}",
            "hit_title": f"Survey about things #{i}",
            "max_before": 10,
            "expected_after": 11 + i % 7,
        }
        for i in range(records)
    )
    store.close()


def _context(tmp: Path, db: Path, url: str = "http://127.0.0.1:9") -> Any:
    from turktui.adapters.config import Paths, Settings
    from turktui.domain.environment import Environment, EnvKind
    from turktui.ui.context import AppContext

    env = Environment(EnvKind.DEMO, url)
    paths = Paths(tmp / "c.toml", db.parent, db, tmp / "log")
    return AppContext(env=env, service=None, settings=Settings(), paths=paths)


async def _until(cond: Any, timeout: float = 30.0) -> None:
    deadline = time.perf_counter() + timeout
    while not cond():
        if time.perf_counter() > deadline:
            raise TimeoutError("the app did not get there")
        await asyncio.sleep(0.0005)


def bench_filter(tmp: Path, records: int, rounds: int) -> dict[str, float]:
    from textual import events

    from turktui.ui import extend_flow
    from turktui.ui.controller import ControllerApp
    from turktui.ui.screens.history import HistoryScreen, RecordList

    db = tmp / "hf" / "history.sqlite3"
    _fill(db, records)
    ui_ms: list[float] = []
    result_ms: list[float] = []
    count_ms: list[float] = []

    class Host(ControllerApp):
        def __init__(self) -> None:
            super().__init__(_context(tmp, db))

    async def once(word: str) -> None:
        app = Host()
        async with app.run_test(size=(160, 50)) as pilot:
            extend_flow.open_history(app)
            screen = app.screen
            assert isinstance(screen, HistoryScreen)
            await _until(lambda: not screen.reading)
            spent: list[float] = []
            # What a keystroke costs the UI thread: the handler's query start (reload) and,
            # when the answer comes, listing it (set_source, the count line).
            lst = screen.query_one(RecordList)
            count = screen.query_one("#history-count")
            for obj, name in ((screen, "reload"), (lst, "set_source"), (count, "update")):
                original = getattr(obj, name)

                def timed(*args: Any, _original: Any = original, **kw: Any) -> Any:
                    t0 = time.perf_counter()
                    try:
                        return _original(*args, **kw)
                    finally:
                        spent.append(time.perf_counter() - t0)

                setattr(obj, name, timed)
            await pilot.press("slash")
            typed = ""
            for char in word:
                typed += char
                spent.clear()
                t0 = time.perf_counter()
                app.post_message(
                    events.Key({" ": "space", "#": "number_sign"}.get(char, char), char)
                )
                want = typed.strip()
                await _until(
                    lambda t=want: screen.filter_text == t and screen.shown == screen.generation
                )  # first page listed
                result_ms.append((time.perf_counter() - t0) * 1000)
                await _until(lambda: not screen.reading)  # and counted
                count_ms.append((time.perf_counter() - t0) * 1000)
                ui_ms.append(sum(spent) * 1000)
            assert screen.total >= 1
            await pilot.pause()

    for r in range(rounds):
        asyncio.run(once(f"things #{4242 + r}"))
    return {
        "filter_ui_ms": statistics.median(ui_ms),
        "filter_ui_max_ms": max(ui_ms),
        "filter_results_ms": statistics.median(result_ms),
        "filter_results_max_ms": max(result_ms),
        "filter_counted_ms": statistics.median(count_ms),
        "filter_counted_max_ms": max(count_ms),
    }


def bench_locked(tmp: Path, records: int, hold: float) -> dict[str, float]:
    """hold=0: the same keys with nobody holding the lock (the baseline)."""
    from turktui.adapters.history import open_history
    from turktui.emulator import EmulatorServer
    from turktui.ui.app import TurkTuiApp
    from turktui.ui.screens.detail import DetailScreen
    from turktui.ui.screens.help import HelpScreen
    from turktui.ui.screens.history import HistoryScreen, RecordList, RecordScreen

    db = tmp / f"hl{hold:g}" / "history.sqlite3"
    _fill(db, records)
    server = EmulatorServer(port=0, hits=300)
    server.start()
    times: dict[str, list[float]] = {}
    try:
        from turktui.adapters.mturk import MTurkService

        ctx = _context(tmp, db, server.url)
        ctx.service = MTurkService(
            ctx.env,
            credentials=("AKIDBENCH", "bench"),
            connect_timeout=1.0,
            read_timeout=5.0,
            max_attempts=1,
        )

        from textual import events

        chars = {"question_mark": "?", "h": "h", "enter": "\r", "escape": "\x1b"}

        async def press(app: Any, where: str, key: str, done: Any) -> None:
            """Keypress → its effect → the next frame painted (like bench_app)."""
            t0 = time.perf_counter()
            app.post_message(events.Key(key, chars.get(key)))
            await _until(done, timeout=30)
            painted = asyncio.Event()
            app.screen.call_after_refresh(painted.set)
            await painted.wait()
            times.setdefault(where, []).append((time.perf_counter() - t0) * 1000)

        async def drive() -> None:
            app = TurkTuiApp(ctx)
            async with app.run_test(size=(140, 40)):
                main = app.main_screen
                await _until(lambda: main.generation > 0 and not main.is_loading)
                store = open_history(db)
                ctx.history = store
                holder = writer = None
                if hold:
                    holder = subprocess.Popen(
                        [sys.executable, "-c", HOLD, str(db), str(hold)],
                        stdout=subprocess.PIPE,
                        text=True,
                    )
                    assert holder.stdout is not None
                    assert holder.stdout.readline().strip() == "locked"
                    writer = threading.Thread(target=lambda: _write(store), daemon=True)
                    writer.start()  # the app's own writer now waits, holding the store
                t_start = time.perf_counter()
                table = main.table
                for _ in range(5):
                    before = table.cursor
                    await press(app, "main list", "down", lambda b=before: table.cursor != b)
                await press(
                    app, "HIT detail", "enter", lambda: isinstance(app.screen, DetailScreen)
                )
                await press(app, "HIT detail", "escape", lambda: app.screen is main)
                await press(
                    app, "help dialog", "question_mark", lambda: isinstance(app.screen, HelpScreen)
                )
                await press(app, "help dialog", "escape", lambda: app.screen is main)
                await press(app, "history", "h", lambda: isinstance(app.screen, HistoryScreen))
                screen = app.screen
                await _until(lambda: not screen.reading)
                listing = screen.query_one(RecordList)
                for key in ("down", "down", "end", "home", "pagedown"):
                    before = listing.cursor
                    await press(app, "history", key, lambda b=before: listing.cursor != b)
                await press(
                    app, "record detail", "enter", lambda: isinstance(app.screen, RecordScreen)
                )
                await press(app, "record detail", "escape", lambda: app.screen is screen)
                if hold:
                    assert time.perf_counter() - t_start < hold, "the lock was gone too early"
                    assert writer is not None and writer.is_alive(), "the writer did not wait"
                    assert holder is not None
                    holder.wait(hold + 10)
                    writer.join(30)
                store.close()

        asyncio.run(drive())
    finally:
        server.stop()
    out: dict[str, float] = {}
    for where, values in times.items():
        key = where.replace(" ", "_")
        out[f"locked_{key}_ms"] = statistics.median(values)
        out[f"locked_{key}_max_ms"] = max(values)
    out["locked_max_ms"] = max(max(v) for v in times.values())
    out["locked_median_ms"] = statistics.median([x for v in times.values() for x in v])
    return out


def _write(store: Any) -> None:
    with contextlib.suppress(Exception):  # busy after 15 s is fine: only the wait matters
        store.update(1, note="after the lock")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--records", type=int, default=100_000)
    parser.add_argument("--quick", action="store_true", help="1 round, 10,000 records")
    parser.add_argument("--json", action="store_true", help="print the figures as JSON")
    opts = parser.parse_args(argv)
    rounds = 1 if opts.quick else max(1, opts.rounds)
    records = 10_000 if opts.quick else opts.records
    with tempfile.TemporaryDirectory() as name:
        tmp = Path(name)
        _hermetic(tmp)
        result = bench_filter(tmp, records, rounds)
        result.update(bench_locked(tmp, min(records, 100_000), 10.0))
        free = bench_locked(tmp, min(records, 100_000), 0.0)
        result.update({"free_" + k.removeprefix("locked_"): v for k, v in free.items()})
    if opts.json:
        print(json.dumps(result))
        return 0
    print(
        f"history filter keystroke, {records:,} records: UI thread median "
        f"{result['filter_ui_ms']:.2f} ms (max {result['filter_ui_max_ms']:.2f}; budget 16), "
        f"results median {result['filter_results_ms']:.1f} ms "
        f"(max {result['filter_results_max_ms']:.1f}; budget 100), counted median "
        f"{result['filter_counted_ms']:.1f} ms (max {result['filter_counted_max_ms']:.1f})"
    )
    for key, value in result.items():
        if key.startswith("locked_") and not key.endswith("max_ms") and key != "locked_median_ms":
            print(
                f"write lock held 10 s: {key[7:-3].replace('_', ' ')} keypress → frame "
                f"median {value:.1f} ms, worst {result[key[:-3] + '_max_ms']:.1f} ms "
                f"(budget 100; no lock: median {result['free_' + key[7:]]:.1f} ms)"
            )
    return 0


if __name__ == "__main__":
    sys.exit(main())
