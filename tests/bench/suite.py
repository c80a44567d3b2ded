"""turktui's performance suite: every budget, measured beside its baseline in the same run.

Run from the repo root: ``python -m tests.bench.suite [--rounds N] [--quick]``.

The MTurk-compatible emulator runs in its own subprocess (no shared GIL); every measured
program (the app driven headless, a bare Textual app, a boto3 paginator script, the AWS CLI)
is a fresh interpreter, timed from just before it is spawned. Each scenario runs `--rounds`
times, alternating app and baseline; the table shows medians. It is printed as Markdown and
written to `.bench/results.md`. `--quick`: 1 round, no 50,000-HIT scenarios (a smoke
check; the batch-on-a-big-list scenario then uses 10,000 rows).
Not collected by pytest (`tests/ui/test_bench_driver.py` runs one tiny scenario).
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

from tests.bench.bench_app import DRIVER, PAGINATOR

ROOT = Path(__file__).resolve().parents[2]

EMULATOR = """
import sys
from turktui.emulator import EmulatorServer
srv = EmulatorServer(hits=int(sys.argv[1]), seed=1, faults=sys.argv[2] or None).start()
print(srv.url, flush=True)
sys.stdin.read()
srv.stop()
"""

# Cold start to first frame, measured the same way for both: spawn → app ready and one
# frame painted under `run_test` (headless), printed as an epoch time.
BARE_TEXTUAL = """
import asyncio, json, time
from textual.app import App
from textual.widgets import Static

class Bare(App):
    def compose(self):
        yield Static("hello")

async def main():
    async with Bare().run_test(headless=True, size=(120, 40)) as pilot:
        await pilot.pause()
        print(json.dumps({"first_frame": time.time()}))

asyncio.run(main())
"""

APP_COLD = """
import asyncio, json, sys, time
from turktui.cli import build_parser
from turktui.cli.options import open_connection
from turktui.cli.run_app import build_app, start_prefetch

args = build_parser().parse_args(["--endpoint-url", sys.argv[1]])
conn = open_connection(args)
service = conn.service()
loader = start_prefetch(service)
app = build_app(conn, service, loader)

async def main():
    async with app.run_test(headless=True, size=(120, 40)) as pilot:
        await pilot.pause()
        print(json.dumps({"first_frame": time.time()}))

asyncio.run(main())
if loader is not None:
    loader.close()
conn.close()
"""

ENGINE = """
import json, os, sys, tempfile
from pathlib import Path
from tests.bench import bench_engine as b
with tempfile.TemporaryDirectory() as name:
    tmp = Path(name)
    b._hermetic(tmp)
    result = b.bench_engine(int(sys.argv[1]), tmp)
    result.update(b.bench_history_screen(tmp, int(sys.argv[2]), int(sys.argv[3])))
print(json.dumps(result))
"""

TABLE = """
import json, sys, tempfile
from pathlib import Path
from tests.bench import bench_table as b
from tests.bench.bench_bulk import _hermetic
which, rounds, marks, rows = sys.argv[1], int(sys.argv[2]), int(sys.argv[3]), int(sys.argv[4])
with tempfile.TemporaryDirectory() as name:
    _hermetic(Path(name))
    if which == "bulk":
        print(json.dumps(b.bench_bulk_dialog(marks, rounds)))
    else:
        print(json.dumps(b.bench_batch_rows(500, rows, rounds, Path(name))))
"""

HISTORY = """
import json, sys, tempfile
from pathlib import Path
from tests.bench import bench_history as h
from tests.bench.bench_engine import _hermetic
with tempfile.TemporaryDirectory() as name:
    tmp = Path(name)
    _hermetic(tmp)
    result = h.bench_filter(tmp, int(sys.argv[1]), int(sys.argv[2]))
    result.update(h.bench_locked(tmp, int(sys.argv[1]), 10.0))
    free = h.bench_locked(tmp, int(sys.argv[1]), 0.0)
    result.update({"free_" + k.removeprefix("locked_"): v for k, v in free.items()})
print(json.dumps(result))
"""

BYTES = """
import json, sys
from tests.bench import bench_bytes as b
print(json.dumps(b.run(int(sys.argv[1]), int(sys.argv[2]))))
"""

REVIEW = """
import json, sys, tempfile
from pathlib import Path
from tests.bench import bench_review as b
with tempfile.TemporaryDirectory() as name:
    b._hermetic(Path(name))
    print(json.dumps(b.bench(int(sys.argv[1]), int(sys.argv[2]))))
"""

IDLE = """
import sys
from tests.bench import bench_idle as b
b.main(["--hits", sys.argv[1], "--refreshes", sys.argv[2], "--json"])
"""

med = statistics.median


# ------------------------------------------------------------------------------ helpers
def _env(tmp: str) -> dict[str, str]:
    """Dummy credentials; no real AWS config is ever read."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("AWS_")}
    env.update(
        {
            "AWS_ACCESS_KEY_ID": "AKIDBENCH",
            "AWS_SECRET_ACCESS_KEY": "bench",
            "AWS_DEFAULT_REGION": "us-east-1",
            "AWS_EC2_METADATA_DISABLED": "true",
            "HOME": tmp,
            "AWS_CONFIG_FILE": os.path.join(tmp, "none"),
            "AWS_SHARED_CREDENTIALS_FILE": os.path.join(tmp, "none"),
            "XDG_CONFIG_HOME": os.path.join(tmp, ".config"),
            "XDG_DATA_HOME": os.path.join(tmp, ".local", "share"),
            "PYTHONPATH": str(ROOT),
        }
    )
    return env


_TMP = tempfile.mkdtemp(prefix="turktui-bench-")


def run_py(code: str, *args: str, timeout: float = 600) -> tuple[float, dict[str, Any]]:
    """(spawn time, the JSON the child printed last)."""
    start = time.time()
    out = subprocess.run(
        [sys.executable, "-c", code, *args],
        capture_output=True,
        text=True,
        env=_env(_TMP),
        cwd=ROOT,
        timeout=timeout,
    )
    if out.returncode != 0:
        raise RuntimeError(f"child failed:\n{out.stderr[-3000:]}")
    return start, json.loads(out.stdout.strip().splitlines()[-1])


def run_aws_cli(url: str, hits: int) -> float:
    """Seconds for `aws mturk list-hits` (auto-paginated) to list every HIT."""
    with tempfile.TemporaryFile() as sink:
        start = time.time()
        subprocess.run(
            [
                sys.executable,
                "-m",
                "awscli",
                "mturk",
                "list-hits",
                "--endpoint-url",
                url,
                "--region",
                "us-east-1",
            ],
            stdout=sink,
            stderr=subprocess.PIPE,
            env=_env(_TMP),
            cwd=ROOT,
            timeout=900,
            check=True,
        )
        seconds = time.time() - start
        # Count without loading 50 MB of JSON here: a big suite process would inflate
        # every child's memory figures (see peak_rss_mb in bench_app).
        # (The CLI pretty-prints one field per line.)
        sink.seek(0)
        listed = sum(line.count(b'"HITId"') for line in sink)
    if listed != hits:
        raise RuntimeError(f"aws cli listed {listed} HITs, expected {hits}")
    return seconds


def run_turktui_list(url: str, hits: int) -> float:
    """Seconds for `turktui list --json` to stream every HIT (JSON Lines)."""
    with tempfile.TemporaryFile() as sink:
        start = time.time()
        subprocess.run(
            [sys.executable, "-m", "turktui", "list", "--json", "--endpoint-url", url],
            stdout=sink,
            stderr=subprocess.PIPE,
            env=_env(_TMP),
            cwd=ROOT,
            timeout=900,
            check=True,
        )
        seconds = time.time() - start
        sink.seek(0)
        listed = sum(1 for line in sink if line.strip())
    if listed != hits:
        raise RuntimeError(f"turktui list listed {listed} HITs, expected {hits}")
    return seconds


@contextmanager
def emulator(hits: int, faults: str = "") -> Iterator[str]:
    proc = subprocess.Popen(
        [sys.executable, "-c", EMULATOR, str(hits), faults],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        text=True,
        cwd=ROOT,
        env=_env(_TMP),
    )
    try:
        assert proc.stdout is not None
        url = proc.stdout.readline().strip()
        if not url.startswith("http"):
            raise RuntimeError("emulator failed to start")
        yield url
    finally:
        if proc.stdin:
            proc.stdin.close()
        try:
            proc.wait(timeout=15)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()


# ---------------------------------------------------------------------------- scenarios
def scenario_cold_start(rounds: int) -> dict[str, float]:
    bare: list[float] = []
    app: list[float] = []
    with emulator(100) as url:
        for _ in range(rounds):
            start, r = run_py(BARE_TEXTUAL)
            bare.append(r["first_frame"] - start)
            start, r = run_py(APP_COLD, url)
            app.append(r["first_frame"] - start)
    return {"bare_s": med(bare), "app_s": med(app)}


def scenario_list(
    hits: int, rounds: int, *, with_cli: bool = True, faults: str = ""
) -> dict[str, float | None]:
    """The app listing `hits` HITs (first page, all rows, navigable, worst key, RSS) beside
    a boto3 paginator script and (optionally) `aws mturk list-hits`, same emulator."""
    res: dict[str, list[float]] = {
        k: []
        for k in (
            "paginator_s",
            "cli_s",
            "first_page_s",
            "all_rows_s",
            "navigable_s",
            "key_max_ms",
            "rss_mb",
        )
    }
    with emulator(hits, faults) as url:
        for _ in range(rounds):
            start, r = run_py(PAGINATOR, url)
            if r["hits"] != hits:
                raise RuntimeError(f"paginator listed {r['hits']} HITs, expected {hits}")
            res["paginator_s"].append(r["done"] - start)
            start, m = run_py(DRIVER, url)
            if m["rows"] != hits or m["error"]:
                raise RuntimeError(f"app listed {m['rows']} HITs ({m['error']})")
            res["first_page_s"].append(m["first_page"] - start)
            res["all_rows_s"].append(m["all_rows"] - start)
            res["navigable_s"].append(m["navigable"] - start)
            res["key_max_ms"].append(m["key_max_ms"] or 0.0)
            res["rss_mb"].append(m["rss_mb"])
            if with_cli:
                res["cli_s"].append(run_aws_cli(url, hits))
    return {k: (med(v) if v else None) for k, v in res.items()}


def scenario_cli_list(hits: int, rounds: int) -> dict[str, float]:
    """`turktui list --json` beside `aws mturk list-hits`, same emulator, `hits` HITs."""
    ours: list[float] = []
    theirs: list[float] = []
    with emulator(hits) as url:
        for _ in range(rounds):
            ours.append(run_turktui_list(url, hits))
            theirs.append(run_aws_cli(url, hits))
    return {"hits": hits, "list_s": med(ours), "cli_s": med(theirs)}


def scenario_engine(rounds: int, records: int = 100_000) -> dict[str, float] | None:
    """Extension overhead and the history screen, via tests/bench/bench_engine.py's own
    functions (run in a child: they make the environment hermetic in place)."""
    if not (ROOT / "tests" / "bench" / "bench_engine.py").exists():
        return None
    try:
        _, r = run_py(
            ENGINE, str(max(20, rounds * 40)), str(records), str(max(1, rounds)), timeout=900
        )
    except (RuntimeError, subprocess.TimeoutExpired, ValueError) as exc:
        print(f"engine benchmark unavailable: {str(exc)[-500:]}", file=sys.stderr)
        return None
    return r


def scenario_table(rounds: int, rows: int) -> dict[str, Any] | None:
    """The generic table (tests/bench/bench_table.py, in children): the bulk dialog at
    10,000 marks, and a 500-HIT batch updating a `rows`-row list sorted by title."""
    out: dict[str, Any] = {}
    for which in ("bulk", "rows"):
        try:
            _, out[which] = run_py(TABLE, which, str(rounds), "10000", str(rows), timeout=900)
        except (RuntimeError, subprocess.TimeoutExpired, ValueError) as exc:
            print(f"table benchmark {which} failed: {str(exc)[-500:]}", file=sys.stderr)
            return None
    return out


def scenario_history(rounds: int, records: int = 100_000) -> dict[str, float] | None:
    """History filter keystrokes and keypresses under a held write lock
    (tests/bench/bench_history.py, in a child)."""
    try:
        _, r = run_py(HISTORY, str(records), str(max(1, rounds)), timeout=900)
    except (RuntimeError, subprocess.TimeoutExpired, ValueError) as exc:
        print(f"history benchmark unavailable: {str(exc)[-500:]}", file=sys.stderr)
        return None
    return r


def scenario_bytes(moves: int = 20) -> dict[str, Any] | None:
    """Bytes written to the terminal per action, the list beside a DataTable, through a
    pty (tests/bench/bench_bytes.py, in a child): medians of `moves` actions."""
    try:
        _, r = run_py(BYTES, "200", str(moves), timeout=900)
    except (RuntimeError, subprocess.TimeoutExpired, ValueError) as exc:
        print(f"bytes benchmark unavailable: {str(exc)[-500:]}", file=sys.stderr)
        return None
    return r


def scenario_idle(hits: int, refreshes: int) -> dict[str, Any] | None:
    """Memory and CPU at rest over `refreshes` auto-refreshes (2 s) of `hits` HITs
    (tests/bench/bench_idle.py, in a child)."""
    try:
        _, r = run_py(IDLE, str(hits), str(refreshes), timeout=3600)
    except (RuntimeError, subprocess.TimeoutExpired, ValueError) as exc:
        print(f"idle benchmark unavailable: {str(exc)[-500:]}", file=sys.stderr)
        return None
    return r


def scenario_review(assignments: int, rounds: int) -> dict[str, Any] | None:
    """Approving `assignments` Submitted assignments through turktui beside a boto3 loop of
    ApproveAssignment, and a bonus file of as many rows previewed
    (tests/bench/bench_review.py, in a child)."""
    try:
        _, r = run_py(REVIEW, str(assignments), str(max(1, rounds)), timeout=3600)
    except (RuntimeError, subprocess.TimeoutExpired, ValueError) as exc:
        print(f"review benchmark unavailable: {str(exc)[-500:]}", file=sys.stderr)
        return None
    return r


# ------------------------------------------------------------------------------- report
def _row(name: str, value: str, baseline: str, ratio: str, budget: str, ok: bool | None) -> str:
    verdict = "" if ok is None else ("PASS" if ok else "MISS")
    return f"| {name} | {value} | {baseline} | {ratio} | {budget} | {verdict} |"


def build_table(r: dict[str, Any], rounds: int) -> str:
    s = lambda x: f"{x:.2f} s"  # noqa: E731
    lines = [
        "| Scenario | turktui | Baseline | Ratio | Budget | Result |",
        "|---|---|---|---|---|---|",
    ]
    cold = r.get("cold")
    if cold:
        lines.append(
            _row(
                "Cold start → first frame",
                s(cold["app_s"]),
                f"{s(cold['bare_s'])} (bare Textual app)",
                f"{cold['app_s'] / cold['bare_s']:.2f}×",
                "",
                None,
            )
        )
    for hits, key in ((1_000, "l1k"), (10_000, "l10k"), (50_000, "l50k")):
        x = r.get(key)
        if not x:
            continue
        p, c, a = x["paginator_s"], x["cli_s"], x["navigable_s"]
        budget, ok = ("", None)
        if hits == 10_000:
            budget, ok = "≤ 1.5× paginator", a <= 1.5 * p
        lines.append(
            _row(
                f"Launch → {hits:,} HITs navigable",
                s(a),
                f"{s(p)} (boto3 paginator)",
                f"{a / p:.2f}×",
                budget,
                ok,
            )
        )
        if c is not None:
            lines.append(
                _row(
                    f"… vs AWS CLI, {hits:,} HITs",
                    s(a),
                    f"{s(c)} (aws mturk list-hits)",
                    f"{a / c:.2f}×",
                    "faster than the CLI",
                    a < c,
                )
            )
        if hits == 10_000:
            lines.append(
                _row(
                    "First page visible (10,000 HITs)",
                    s(x["first_page_s"]),
                    "",
                    "",
                    "≤ 1.0 s",
                    x["first_page_s"] <= 1.0,
                )
            )
        if hits >= 10_000:
            lines.append(
                _row(
                    f"Worst keypress → frame while {hits:,} stream in",
                    f"{x['key_max_ms']:.0f} ms",
                    "",
                    "",
                    "≤ 100 ms",
                    x["key_max_ms"] <= 100,
                )
            )
            lines.append(
                _row(
                    f"Peak RSS, {hits:,} HITs",
                    f"{x['rss_mb']:.0f} MB",
                    "",
                    "",
                    "≤ 250 MB" if hits == 10_000 else "",
                    x["rss_mb"] <= 250 if hits == 10_000 else None,
                )
            )
    lat = r.get("latency")
    if lat:
        a, p = lat["navigable_s"], lat["paginator_s"]
        lines.append(
            _row(
                "10,000 HITs navigable, +20 ms per ListHITs",
                s(a),
                f"{s(p)} (boto3 paginator, same latency)",
                f"{a / p:.2f}×",
                "≤ 1.5× paginator",
                a <= 1.5 * p,
            )
        )
        lines.append(
            _row(
                "… worst keypress (+20 ms latency)",
                f"{lat['key_max_ms']:.0f} ms",
                "",
                "",
                "≤ 100 ms",
                lat["key_max_ms"] <= 100,
            )
        )
    cl = r.get("cli_list")
    if cl:
        lines.append(
            _row(
                f"`turktui list --json`, {cl['hits']:,} HITs",
                s(cl["list_s"]),
                f"{s(cl['cli_s'])} (aws mturk list-hits)",
                f"{cl['list_s'] / cl['cli_s']:.2f}×",
                "faster than the CLI",
                cl["list_s"] < cl["cli_s"],
            )
        )
    eng = r.get("engine")
    if eng:
        lines.append(
            _row(
                "Extension: submit → outcome recorded",
                f"{eng['engine_ms']:.2f} ms",
                f"{eng['raw_ms']:.2f} ms (raw boto3 call)",
                f"+{eng['overhead_ms']:.2f} ms",
                "≤ +15 ms",
                eng["overhead_ms"] <= 15,
            )
        )
        lines.append(
            _row(
                "History screen open, 100,000 records",
                f"{eng['history_open_ms']:.0f} ms",
                "",
                "",
                "≤ 300 ms",
                eng["history_open_ms"] <= 300,
            )
        )
        if "store_open_ms" in eng:
            lines.append(
                _row(
                    "History store open + newest 500 + count, 100,000 records",
                    f"{eng['store_open_ms']:.0f} ms",
                    "",
                    "",
                    "≤ 500 ms",
                    eng["store_open_ms"] <= 500,
                )
            )
    elif "engine" in r:
        lines.append(
            _row("Extension / history screen", "n/a", "", "", "bench_engine.py unavailable", None)
        )
    rev = r.get("review")
    if rev:
        n = rev["assignments"]
        lines.append(
            _row(
                f"Approve {n:,} Submitted assignments (recorded, confirmed)",
                s(rev["approve_s"]),
                f"{s(rev['loop_s'])} (sequential boto3 ApproveAssignment loop)",
                f"{rev['approve_ratio']:.2f}×",
                "≤ 1.5×",
                rev["approve_ratio"] <= 1.5,
            )
        )
        lines.append(
            _row(
                f"Bonus file of {n:,} rows previewed (4 HITs)",
                s(rev["bonus_preview_s"]),
                "",
                "",
                "≤ 1 s",
                rev["bonus_preview_s"] <= 1,
            )
        )
    tab = r.get("table")
    if tab:
        b, w = tab["bulk"], tab["rows"]
        lines.append(
            _row(
                f"Bulk dialog open, {b['marks']:,} marked HITs",
                f"{b['open_ms']:.0f} ms",
                "",
                "",
                "≤ 300 ms",
                b["open_ms"] <= 300,
            )
        )
        lines.append(
            _row(
                f"… keystroke → preview updated ({b['marks']:,})",
                f"{b['keystroke_planned_ms']:.0f} ms",
                f"{b['keystroke_visible_ms']:.0f} ms (lines on screen)",
                "",
                "≤ 100 ms",
                b["keystroke_planned_ms"] <= 100,
            )
        )
        lines.append(
            _row(
                f"500-HIT batch on {w['rows']:,} rows sorted by title: UI per row update",
                f"{w['ui_ms_per_update']:.2f} ms",
                "",
                "",
                "≤ 5 ms",
                w["ui_ms_per_update"] <= 5,
            )
        )
        lines.append(
            _row(
                "… worker's longest hand-over of a row",
                f"{w['worker_handover_max_ms']:.1f} ms",
                "",
                "",
                "never waits on the UI",
                None,
            )
        )
        if "ui_cpu_s" in w:
            lines.append(
                _row(
                    "… the app's UI thread: CPU during the batch",
                    s(w["ui_cpu_s"]),
                    "",
                    f"{w['ui_cpu_s'] / w['alone_s']:.0%} of the batch alone",
                    "",
                    None,
                )
            )
        lines.append(
            _row(
                "… batch wall time with the app",
                s(w["with_app_s"]),
                f"{s(w['alone_s'])} (same batch, no app)",
                f"{w['slowdown']:.2f}×",
                "≤ 1.10×",
                w["slowdown"] <= 1.10,
            )
        )
    hist = r.get("history")
    if hist:
        lines.append(
            _row(
                "History filter keystroke, 100,000 records: UI thread",
                f"{hist['filter_ui_ms']:.1f} ms",
                "",
                "",
                "≤ 16 ms",
                hist["filter_ui_ms"] <= 16,
            )
        )
        lines.append(
            _row(
                "… keystroke → results listed",
                f"{hist['filter_results_ms']:.0f} ms",
                "",
                "",
                "≤ 100 ms",
                hist["filter_results_ms"] <= 100,
            )
        )
        for where in ("main list", "HIT detail", "help dialog", "history", "record detail"):
            key = where.replace(" ", "_")
            value, free = hist.get(f"locked_{key}_ms"), hist.get(f"free_{key}_ms")
            if value is None:
                continue
            lines.append(
                _row(
                    f"Write lock held 10 s by another process: {where} key → frame",
                    f"{value:.0f} ms",
                    f"{free:.0f} ms (no lock)" if free else "",
                    f"{value / free:.2f}×" if free else "",
                    "≤ 100 ms",
                    value <= 100,
                )
            )
    idle = r.get("idle")
    if idle:
        where = f"{idle['hits']:,} HITs, auto-refresh {idle['interval_s']:g} s"
        objects, rss, cpu = idle["objects"], idle["rss_mb"], idle["cpu_s"]
        lines.append(
            _row(
                f"Retained Python objects per refresh at rest, {where}",
                f"{objects['per_refresh']:+,.0f}",
                f"{objects['first']:,.0f} objects after warm-up",
                "",
                "flat (< 5 per refresh)",
                abs(objects["per_refresh"]) < 5,
            )
        )
        lines.append(
            _row(
                f"… RSS per refresh ({idle['refreshes']} refreshes)",
                f"{rss['per_refresh']:+.2f} MB",
                f"{rss['first']:.0f} → {rss['last']:.0f} MB",
                "",
                "",
                None,
            )
        )
        lines.append(
            _row(
                "… CPU per refresh cycle",
                f"{cpu['last']:.2f} s",
                f"{cpu['first']:.2f} s (first)",
                f"{cpu['per_refresh']:+.3f} s/refresh",
                "",
                None,
            )
        )
    for size, both in (r.get("bytes") or {}).items():
        for action, words in (
            ("move", "a cursor move"),
            ("mark", "a mark (space)"),
            ("update", "a row update"),
        ):
            ours, theirs = both["app"][action], both["baseline"][action]
            lines.append(
                _row(
                    f"Bytes to the terminal for {words}, {size}",
                    f"{ours:,.0f} B",
                    f"{theirs:,.0f} B (Textual DataTable)",
                    f"{ours / theirs:.2f}×" if theirs else "",
                    "≤ DataTable",
                    ours <= theirs,
                )
            )
    return "\n".join(lines)


def machine() -> str:
    return (
        f"{os.cpu_count()} CPUs ({platform.machine()}), Python {platform.python_version()},"
        f" {platform.system()} {platform.release()},"
        f" {datetime.now(timezone.utc):%Y-%m-%d %H:%M} UTC"
    )


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--quick", action="store_true", help="1 round, no 50,000-HIT runs")
    parser.add_argument(
        "--only",
        metavar="NAME",
        action="append",
        help="run only this measurement (repeatable): cold, l1k, l10k, l50k, "
        "latency, cli_list, engine, review, table, history, bytes, idle",
    )
    opts = parser.parse_args(argv)
    rounds = 1 if opts.quick else max(1, opts.rounds)
    steps: list[tuple[str, Callable[[], Any]]] = [
        ("cold", lambda: scenario_cold_start(rounds)),
        ("l1k", lambda: scenario_list(1_000, rounds)),
        ("l10k", lambda: scenario_list(10_000, rounds)),
        (
            "latency",
            lambda: scenario_list(10_000, rounds, with_cli=False, faults="ListHITs:latency=20ms"),
        ),
        ("cli_list", lambda: scenario_cli_list(10_000, rounds)),
        ("engine", lambda: scenario_engine(rounds)),
        ("review", lambda: scenario_review(200 if opts.quick else 1_000, rounds)),
        ("table", lambda: scenario_table(rounds, 10_000 if opts.quick else 50_000)),
        ("history", lambda: scenario_history(rounds)),
        ("bytes", lambda: scenario_bytes(8 if opts.quick else 20)),
        ("idle", lambda: scenario_idle(2_000 if opts.quick else 50_000, 5 if opts.quick else 20)),
    ]
    if not opts.quick:
        steps.insert(3, ("l50k", lambda: scenario_list(50_000, rounds)))
    if opts.only:
        steps = [(name, step) for name, step in steps if name in opts.only]
    results: dict[str, Any] = {}
    for name, step in steps:
        t0 = time.time()
        print(f"running {name} ({rounds} round{'s' if rounds > 1 else ''})…", flush=True)
        results[name] = step()
        print(f"  {name}: {results[name]} ({time.time() - t0:.0f} s)", flush=True)
    table = build_table(results, rounds)
    text = (
        f"Medians of {rounds} round{'s' if rounds > 1 else ''}; {machine()}; emulator in "
        f"its own process; `python -m tests.bench.suite --rounds {rounds}"
        f"{' --quick' if opts.quick else ''}`.\n\n{table}\n"
    )
    print("\n" + text)
    out = ROOT / ".bench" / "results.md"
    out.parent.mkdir(exist_ok=True)
    out.write_text(text, encoding="utf-8")
    print(f"written to {out.relative_to(ROOT)}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
