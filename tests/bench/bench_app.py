"""Benchmark: the app loading 10,000 HITs vs a plain boto3 paginator, against the emulator;
then keypress → frame on every screen with the 10,000 HITs listed.

Run from the repo root: ``python -m tests.bench.bench_app [--hits 10000] [--rounds 5]
[--screen-rounds 3] [--only-screens] [--size 120x40]``.
The emulator runs in its own subprocess (no shared GIL); each round starts a fresh
interpreter for (a) a boto3 paginator script and (b) the app driven headless, alternating.
All times are measured from just before the child process is spawned.
Budgets: all rows ≤ 1.5× paginator; first page ≤ 1.0 s; keypress ≤ 100 ms; RSS ≤ 250 MB.

Screens (SCREENS, one fresh interpreter per round, HOME in a temporary directory): each key
is posted to the app as the terminal driver posts it, and timed until its effect is there
(the cursor moved, the mark set, the list filtered or sorted, the dialog's preview updated,
the screen shown) and the next frame is painted. Medians and worst per screen, over every
round; budget ≤ 100 ms each.
Not collected by pytest.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]

EMULATOR = """
import sys
from turktui.emulator import EmulatorServer
srv = EmulatorServer(hits={hits}, seed=1).start()
print(srv.url, flush=True)
sys.stdin.read()
srv.stop()
"""

PAGINATOR = """
import json, resource, sys, time
import boto3

def peak_rss_mb():
    # VmHWM: this process's own peak. ru_maxrss is not: Linux carries it across exec, so a
    # child spawned by a big parent (e.g. the suite after the AWS CLI run) would report
    # the parent's peak.
    try:
        for line in open("/proc/self/status"):
            if line.startswith("VmHWM:"):
                return int(line.split()[1]) / 1024
    except OSError:
        pass
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
client = boto3.client("mturk", region_name="us-east-1", endpoint_url=sys.argv[1])
n = 0
for page in client.get_paginator("list_hits").paginate(PaginationConfig={"PageSize": 100}):
    n += len(page["HITs"])
print(json.dumps({"done": time.time(), "hits": n,
                  "rss_mb": peak_rss_mb()}))
"""

# Drives the real app headless: the same startup path as `turktui --endpoint-url URL`
# (connection, loader process started, *then* Textual imported), minus the terminal.
_START = """
import asyncio, json, resource, statistics, sys, time

def peak_rss_mb():
    # VmHWM: this process's own peak. ru_maxrss is not: Linux carries it across exec, so a
    # child spawned by a big parent (e.g. the suite after the AWS CLI run) would report
    # the parent's peak.
    try:
        for line in open("/proc/self/status"):
            if line.startswith("VmHWM:"):
                return int(line.split()[1]) / 1024
    except OSError:
        pass
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
from turktui.cli import build_parser
from turktui.cli.options import open_connection
from turktui.cli.run_app import build_app, start_prefetch

args = build_parser().parse_args(["--endpoint-url", sys.argv[1]])
conn = open_connection(args)
service = conn.service()
loader = start_prefetch(service)
from textual import events
from turktui.ui.screens.main import MainScreen
app = build_app(conn, service, loader)
"""

DRIVER = (
    _START
    + """
marks = {}
original_page = MainScreen.on_hits_page

def on_hits_page(self, message):
    original_page(self, message)
    if "first_page" not in marks and self.table.rows:
        marks["first_page_msg"] = time.time()
        self.call_after_refresh(lambda: marks.setdefault("first_page", time.time()))

MainScreen.on_hits_page = on_hits_page
latencies = []

async def press_down_while_loading(table, main):
    await asyncio.sleep(0.05)
    while not (main.generation and not main.is_loading):
        if table.view and table.cursor < len(table.view) - 1:
            before = table.cursor
            t0 = time.perf_counter()
            app.post_message(events.Key("down", None))
            while table.cursor == before:
                await asyncio.sleep(0.001)
            painted = asyncio.Event()
            table.call_after_refresh(painted.set)
            await painted.wait()
            latencies.append(time.perf_counter() - t0)
        await asyncio.sleep(0.05)

async def main():
    async with app.run_test(headless=True, size=(120, 40)) as pilot:
        main = app.main_screen
        table = main.table
        marks["mounted"] = time.time()
        await press_down_while_loading(table, main)
        await pilot.pause()
        marks["all_rows"] = time.time()
        await pilot.press("G")
        assert table.cursor == len(table.view) - 1, (table.cursor, len(table.view))
        marks["navigable"] = time.time()
        marks["rows"] = len(table.rows)
        marks["error"] = str(main.load_error) if main.load_error else None

asyncio.run(main())
if loader is not None:
    loader.close()
conn.close()
marks["key_max_ms"] = max(latencies) * 1000 if latencies else None
marks["key_median_ms"] = statistics.median(latencies) * 1000 if latencies else None
marks["keys"] = len(latencies)
marks["rss_mb"] = peak_rss_mb()
print(json.dumps(marks))
"""
)

# Keypress → frame on each screen, the list loaded (run with HOME in a temporary directory:
# the history it opens is filled with 5,000 records first).
SCREENS = (
    _START
    + """
from tests.bench.bench_history import _fill
from turktui.ui.screens.detail import DetailScreen
from turktui.ui.screens.extend import ExtendScreen
from turktui.ui.screens.help import HelpScreen
from turktui.ui.screens.history import HistoryScreen, RecordList

_fill(app.ctx.paths.history, 5_000)
N = int(sys.argv[2])
SIZE = tuple(int(n) for n in sys.argv[3].split("x"))
CHARS = {"space": " ", "slash": "/", "question_mark": "?", "backspace": "\\x7f",
         "escape": "\\x1b", "enter": "\\r"}
times = {}  # where -> [(wall ms, CPU ms of the process)]

async def until(cond, timeout=30.0):
    deadline = time.perf_counter() + timeout
    while not cond():
        if time.perf_counter() > deadline:
            raise TimeoutError("the app did not get there")
        await asyncio.sleep(0)

async def press(where, key, done, record=True):
    \"\"\"Key posted as the driver posts it → its effect (`done`) → the next frame painted.\"\"\"
    t0, c0 = time.perf_counter(), time.process_time()
    char = CHARS.get(key, key if len(key) == 1 else None)
    app.post_message(events.Key(key, char))
    await until(done)
    painted = asyncio.Event()
    app.screen.call_after_refresh(painted.set)
    await painted.wait()
    if record:
        wall, cpu = time.perf_counter() - t0, time.process_time() - c0
        times.setdefault(where, []).append((wall * 1000, cpu * 1000))

async def main():
    async with app.run_test(headless=True, size=SIZE) as pilot:
        main = app.main_screen
        table = main.table
        await until(lambda: main.generation > 0 and not main.is_loading, 120)
        await until(lambda: app.balance is not None or app.balance_error is not None)
        await pilot.pause()
        for _ in range(N):
            before = table.cursor
            await press("main list: move", "down", lambda b=before: table.cursor != b)
        for _ in range(N):
            before = len(table.marked)
            await press("main list: mark", "space", lambda b=before: len(table.marked) != b)
        await press("", "u", lambda: not table.marked, record=False)
        await press("", "slash", lambda: main.focused is not table, record=False)
        box = main.query_one("#filter")
        for _ in range(max(1, N // 4)):
            for key, want in (("1", "1"), ("2", "12"), ("backspace", "1"), ("backspace", "")):
                await press("main list: filter typing", key,
                            lambda w=want: box.value == w and table.filter_text == w)
        await press("", "escape", lambda: not box.value and main.focused is table, record=False)
        for i in range(N):
            before = (table.sort_key, table.sort_reverse)
            key = "S" if i % 3 == 2 else "s"
            await press("main list: sort", key,
                        lambda b=before: (table.sort_key, table.sort_reverse) != b)
        # Only HITs that take more assignments (the dialog's count box), the first of them.
        await press("", "x", lambda: table.extendable_only, record=False)
        await press("", "home", lambda: table.cursor == 0, record=False)
        for _ in range(max(1, N // 4)):
            await press("extend dialog: open", "e", lambda: isinstance(app.screen, ExtendScreen))
            dialog = app.screen
            count = dialog.query_one("#extend-count")
            for key, want in (("1", "1"), ("2", "12"), ("backspace", "1"), ("backspace", "")):
                await press("extend dialog: typing", key,
                            lambda w=want: count.value == w and (dialog.count is None) == (w == ""))
            await press("", "escape", lambda: app.screen is main, record=False)
        for _ in range(max(1, N // 4)):
            await press("detail: open", "enter", lambda: isinstance(app.screen, DetailScreen))
            await press("detail: close", "escape", lambda: app.screen is main)
        for _ in range(max(1, N // 4)):
            await press("help: open", "question_mark", lambda: isinstance(app.screen, HelpScreen))
            await press("help: close", "escape", lambda: app.screen is main)
        await press("history: open", "h", lambda: isinstance(app.screen, HistoryScreen))
        history = app.screen
        await until(lambda: not history.reading)
        listing = history.query_one(RecordList)
        for _ in range(N):
            before = listing.cursor
            await press("history: move", "down", lambda b=before: listing.cursor != b)
        await press("history: close", "escape", lambda: app.screen is main)

asyncio.run(main())
if loader is not None:
    loader.close()
conn.close()
print(json.dumps(times))
"""
)


def _run(code: str, url: str, *args: str, home: str | None = None) -> tuple[float, dict]:
    env = {
        **os.environ,
        "AWS_ACCESS_KEY_ID": "AKIDBENCH",
        "AWS_SECRET_ACCESS_KEY": "bench",
        "AWS_DEFAULT_REGION": "us-east-1",
        "AWS_EC2_METADATA_DISABLED": "true",
        "PYTHONPATH": str(ROOT),
    }
    env.pop("AWS_PROFILE", None)
    if home is not None:  # hermetic: its own config, history and logs
        env["HOME"] = home
        for var in ("XDG_CONFIG_HOME", "XDG_DATA_HOME", "XDG_STATE_HOME", "XDG_CACHE_HOME"):
            env.pop(var, None)
    start = time.time()
    out = subprocess.run(
        [sys.executable, "-c", code, url, *args],
        capture_output=True,
        text=True,
        env=env,
        cwd=ROOT,
        timeout=300,
    )
    if out.returncode != 0:
        raise SystemExit(f"child failed:\n{out.stderr[-3000:]}")
    return start, json.loads(out.stdout.strip().splitlines()[-1])


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--hits", type=int, default=10_000)
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--screen-rounds", type=int, default=3)
    parser.add_argument("--presses", type=int, default=20, help="keys per screen and round")
    parser.add_argument("--only-screens", action="store_true", help="skip the load rounds")
    parser.add_argument("--size", default="120x40", help="the terminal of the screen rounds")
    opts = parser.parse_args(argv)
    server = subprocess.Popen(
        [sys.executable, "-c", EMULATOR.format(hits=opts.hits)],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        text=True,
        cwd=ROOT,
    )
    try:
        assert server.stdout is not None
        url = server.stdout.readline().strip()
        print(f"emulator at {url} with {opts.hits:,} HITs; {opts.rounds} rounds")
        screens = _screen_rounds(url, opts.screen_rounds, opts.presses, opts.size)
        if opts.only_screens:
            return _print_screens(screens, opts)
        base: list[float] = []
        base_rss: list[float] = []
        first: list[float] = []
        full: list[float] = []
        nav: list[float] = []
        keys: list[float] = []
        rss: list[float] = []
        for n in range(opts.rounds):
            start, result = _run(PAGINATOR, url)
            assert result["hits"] == opts.hits, result
            base.append(result["done"] - start)
            base_rss.append(result["rss_mb"])
            start, marks = _run(DRIVER, url)
            assert marks["rows"] == opts.hits and not marks["error"], marks
            first.append(marks["first_page"] - start)
            full.append(marks["all_rows"] - start)
            nav.append(marks["navigable"] - start)
            keys.append(marks["key_max_ms"] or 0.0)
            rss.append(marks["rss_mb"])
            print(
                f"round {n + 1}: paginator {base[-1]:.2f}s | app first page {first[-1]:.2f}s, "
                f"all rows {full[-1]:.2f}s, navigable {nav[-1]:.2f}s, worst key "
                f"{keys[-1]:.0f} ms ({marks['keys']} presses), RSS {rss[-1]:.0f} MB"
            )
    finally:
        if server.stdin:
            server.stdin.close()
        server.wait(timeout=10)
    med = statistics.median
    b = med(base)
    rows = [
        ("boto3 paginator, all pages", f"{b:.2f} s", "", ""),
        ("app: first page visible", f"{med(first):.2f} s", "≤ 1.00 s", f"{med(first) / 1.0:.2f}"),
        (
            "app: all rows listed",
            f"{med(full):.2f} s",
            f"≤ {1.5 * b:.2f} s (1.5×)",
            f"{med(full) / (1.5 * b):.2f}",
        ),
        ("app: navigable (G → last)", f"{med(nav):.2f} s", "", ""),
        ("app: worst keypress", f"{med(keys):.0f} ms", "≤ 100 ms", f"{med(keys) / 100:.2f}"),
        ("app: peak RSS", f"{med(rss):.0f} MB", "≤ 250 MB", f"{med(rss) / 250:.2f}"),
        ("paginator: peak RSS", f"{med(base_rss):.0f} MB", "", ""),
    ]
    print(f"\nmedians of {opts.rounds} rounds ({opts.hits:,} HITs)")
    print(f"{'measure':30} {'median':>10} {'budget':>22} {'ratio':>6}")
    for name, value, budget, ratio in rows:
        print(f"{name:30} {value:>10} {budget:>22} {ratio:>6}")
    print(f"all rows / paginator = {med(full) / b:.2f}×")
    return _print_screens(screens, opts)


def _screen_rounds(url: str, rounds: int, presses: int, size: str) -> dict[str, list[list[float]]]:
    """Keypress → frame per screen, every round's presses together: [wall ms, CPU ms]. The
    CPU the app's process spent is what the wall time would be on an idle core: on a busy
    machine the wall time includes waiting for one."""
    import tempfile

    times: dict[str, list[list[float]]] = {}
    for n in range(rounds):
        with tempfile.TemporaryDirectory(prefix="bench-screens-") as home:
            _, got = _run(SCREENS, url, str(presses), size, home=home)
        for where, values in got.items():
            times.setdefault(where, []).extend(values)
        print(
            f"screens round {n + 1}: "
            + ", ".join(
                f"{where} {statistics.median(w for w, _ in v):.0f} ms" for where, v in got.items()
            )
        )
    return times


def _print_screens(times: dict[str, list[list[float]]], opts: argparse.Namespace) -> int:
    print(
        f"\nkeypress → frame per screen ({opts.hits:,} HITs; {opts.size}; "
        f"{opts.screen_rounds} rounds)"
    )
    print(
        f"{'screen: key':30} {'wall median':>12} {'worst':>8} {'CPU median':>11} "
        f"{'presses':>8} {'budget':>9}"
    )
    over = []
    for where, values in times.items():
        wall = [w for w, _ in values]
        cpu = statistics.median(c for _, c in values)
        median = statistics.median(wall)
        print(
            f"{where:30} {median:>9.1f} ms {max(wall):>5.0f} ms {cpu:>8.1f} ms "
            f"{len(values):>8} {'≤ 100 ms':>9}"
        )
        if median > 100:
            over.append(where)
    if over:
        print("OVER BUDGET (wall median): " + ", ".join(over))
    return 1 if over else 0


if __name__ == "__main__":
    sys.exit(main())
