"""Benchmarks of the generic table: the bulk dialog at 10,000 marks, and a 500-HIT batch
updating a 50,000-row list sorted by title.

Run from the repo root: ``python -m tests.bench.bench_table [bulk|rows] [--rounds N] [--quick]``
(each measurement runs alone; prints one JSON line per measurement). Not collected by pytest.

- bulk: a headless app opens `BulkScreen` over N marked HITs (open = push → dialog mounted
  and one frame painted); then a digit is typed and timed until the preview (lines on screen
  and the full plan with totals) is updated, and the longest UI-thread stall meanwhile.
- rows: the same 500-HIT batch (`BatchRunner`, emulator in its own process) twice: alone,
  and inside a headless app whose `HitTable` holds 50,000 rows sorted by title, with the
  app's progress screen (`BatchScreen`) on top, fed as the app feeds it (`BatchScreen.watch`:
  each member's start and outcome, each outcome's HIT posted to the table). Reported: the UI
  time per row update (time in `update_rows` / rows), the longest time a worker spent
  handing a row over, the CPU the app's UI thread used during the batch, and the batch
  wall time with the app vs. without. `--idle-app`: the same, the app shown but fed nothing
  (no member, no row): what the ratio measures when the app does no work, i.e. the
  machine's noise at the load of the moment.
"""

from __future__ import annotations

import argparse
import asyncio
import cProfile
import gc
import json
import os
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from datetime import datetime, timedelta, timezone
from decimal import Decimal
from pathlib import Path
from types import SimpleNamespace
from typing import Any

from tests.bench.bench_bulk import EMULATOR, ROOT, _ask, _hermetic

med = statistics.median


def _hits(n: int, prefix: str = "H") -> list[Any]:
    from turktui.domain.models import Hit

    created = datetime.now(timezone.utc) - timedelta(days=1)
    return [
        Hit(
            f"{prefix}{i:029d}",
            title=f"title {(i * 7919) % n:06d}",
            status="Assignable",
            max_assignments=(i % 15) + 1,
            reward=Decimal("0.05"),
            created=created,
        )
        for i in range(n)
    ]


def _ctx() -> Any:
    from turktui.domain.environment import Environment, EnvKind

    return SimpleNamespace(
        env=Environment(EnvKind.DEMO, "http://127.0.0.1:1"),
        balance=SimpleNamespace(available=Decimal("1000000")),
        clock=lambda: datetime.now(timezone.utc),
    )


# ----------------------------------------------------------------------------------- bulk
async def _beat(gaps: list[float], state: dict[str, Any]) -> None:
    """Tick every 2 ms on the UI loop, recording each gap (a long one: the UI was busy)."""
    last = time.perf_counter()
    while not state["stop"]:
        await asyncio.sleep(0.002)
        now = time.perf_counter()
        gaps.append(now - last)
        if os.environ.get("BENCH_DEBUG") and now - last > 0.03:
            print(
                f"gap {1000 * (now - last):.0f} ms ending at {1000 * (now - state['t0']):.0f} ms",
                file=sys.stderr,
            )
        last = now


def bench_bulk_dialog(marks: int, rounds: int) -> dict[str, float]:
    from textual import events
    from textual.app import App

    from turktui.ui.screens.bulk import BulkScreen, PreviewTable

    hits = _hits(marks)
    gc.freeze()  # as the app does once the HITs are loaded (turktui.ui.screens.main)
    opens: list[float] = []
    visible: list[float] = []
    planned: list[float] = []
    stalls: list[float] = []

    class Host(App[None]):
        pass

    async def one() -> None:
        app = Host()
        async with app.run_test(headless=True, size=(150, 46)) as pilot:
            await pilot.pause()
            t0 = time.perf_counter()
            screen = BulkScreen(hits, _ctx())  # type: ignore[arg-type]
            await app.push_screen(screen)
            await pilot.pause()
            opens.append(time.perf_counter() - t0)
            for digit in "35":
                # A heartbeat on the UI loop: its worst gap is the longest UI stall.
                gaps: list[float] = []
                state = {"stop": False, "t0": time.perf_counter()}
                task = asyncio.create_task(_beat(gaps, state))
                table = screen.query_one(PreviewTable)
                t0 = state["t0"] = time.perf_counter()
                deadline = t0 + 30
                # The key as the terminal driver delivers it (Pilot's own waits excluded).
                app.post_message(events.Key(digit, digit))
                while (
                    screen.mode is None or len(table.rows) != marks
                ) and time.perf_counter() < deadline:
                    await asyncio.sleep(0.001)
                visible.append(time.perf_counter() - t0)
                while screen.preview is None and time.perf_counter() < deadline:
                    await asyncio.sleep(0.001)
                planned.append(time.perf_counter() - t0)
                await pilot.pause()
                state["stop"] = True
                await task
                stalls.append(max(gaps) if gaps else 0.0)
                assert screen.preview is not None and len(screen.preview.lines) == marks
            app.exit()

    for _ in range(rounds):
        asyncio.run(one())
    return {
        "marks": marks,
        "open_ms": med(opens) * 1000,
        "keystroke_visible_ms": med(visible) * 1000,
        "keystroke_planned_ms": med(planned) * 1000,
        "ui_stall_max_ms": max(stalls) * 1000,
    }


# ----------------------------------------------------------------------------------- rows
def bench_batch_rows(
    batch: int, rows: int, rounds: int, tmp: Path, idle_app: bool = False
) -> dict[str, float]:
    from textual.app import App, ComposeResult

    from turktui.adapters.history import HistoryStore
    from turktui.adapters.mturk import MTurkService
    from turktui.domain.bulk import AddEach, plan_bulk
    from turktui.domain.environment import Environment, EnvKind
    from turktui.domain.models import Hit
    from turktui.domain.records import State
    from turktui.pipeline.batch import BatchRunner
    from turktui.pipeline.engine import Engine
    from turktui.ui.screens.bulk import BatchScreen, MemberTable
    from turktui.ui.widgets.hit_table import HitTable

    proc = subprocess.Popen(
        [sys.executable, "-c", EMULATOR],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        text=True,
        cwd=ROOT,
    )
    alone: list[float] = []
    with_app: list[float] = []
    per_update: list[float] = []
    handover: list[float] = []
    ui_cpu: list[float] = []
    try:
        assert proc.stdout is not None
        url = proc.stdout.readline().strip()
        env = Environment(EnvKind.DEMO, url)
        service = MTurkService(env)
        history = HistoryStore(tmp / "history-rows.sqlite3")
        engine = Engine(service, history, env)
        service.get_balance()

        def preview_for() -> tuple[Any, list[Hit]]:
            ids = _ask(proc, op="hits", n=batch)["ids"]
            created = datetime.now(timezone.utc)
            # Listed as the service lists them (the emulator's titles, tests/bench/bench_bulk):
            # an outcome's HIT then keeps its place in the list sorted by title, as in the app.
            listed = [
                Hit(
                    h,
                    title=f"bench {i}",
                    max_assignments=20,
                    reward=Decimal("0.01"),
                    created=created,
                )
                for i, h in enumerate(ids)
            ]
            return plan_bulk(listed, AddEach(1)), listed

        def batch_alone() -> None:
            preview, _listed = preview_for()
            t0 = time.perf_counter()
            report = BatchRunner(engine).run(preview, member=lambda o: None)
            alone.append(time.perf_counter() - t0)
            assert report.all_succeeded, report.summary()

        for round_no in range(rounds):
            # A B, then B A: the service and the history grow with every batch, so neither
            # side always runs on the smaller one.
            if round_no % 2 == 0:
                batch_alone()
            preview, listed = preview_for()
            fill = _hits(rows - batch, prefix="F")

            class Host(App[None]):
                CSS_PATH = str(ROOT / "turktui" / "ui" / "app.tcss")

                def compose(self) -> ComposeResult:
                    yield HitTable(lambda: datetime.now(timezone.utc), id="hits")

            app = Host()
            spent = [0.0, 0]
            waits: list[float] = []
            result: dict[str, Any] = {}

            async def run(
                app: Host = app,
                listed: list[Hit] = listed,
                fill: list[Hit] = fill,
                preview: Any = preview,
                spent: list[Any] = spent,
                waits: list[float] = waits,
                result: dict[str, Any] = result,
            ) -> None:
                async with app.run_test(headless=True, size=(160, 48)) as pilot:
                    table = app.query_one(HitTable)
                    table.set_rows(fill + listed)
                    table.sort_by("title")
                    gc.freeze()  # as the app does once the HITs are loaded
                    await pilot.pause()
                    original = table.update_rows

                    def timed(items: Any) -> int:
                        s = time.perf_counter()
                        n = original(list(items))
                        spent[0] += time.perf_counter() - s
                        spent[1] += n
                        return n

                    # The rows the workers posted are applied by the table's inbox.
                    table._inbox._deliver = timed

                    def post_hit(hit: Hit) -> None:
                        s = time.perf_counter()
                        table.post_hit(hit)
                        waits.append(time.perf_counter() - s)

                    # The app's progress screen, fed as the app feeds it (`Controller.run_batch`).
                    runner = BatchRunner(engine)
                    screen = BatchScreen("bench", on_cancel=runner.cancel, on_retry=print)
                    await app.push_screen(screen)
                    await pilot.pause()

                    def work() -> None:
                        t = time.perf_counter()
                        bid, records = runner.record(preview)
                        screen.post_message(BatchScreen.Recorded(bid, records))
                        feed = {} if idle_app else screen.watch(post_hit)
                        report = runner.send(bid, records, **feed)
                        result["wall"] = time.perf_counter() - t
                        result["report"] = report
                        screen.post_message(BatchScreen.Finished(report))

                    thread = threading.Thread(target=work)
                    # BENCH_PROFILE=file: the UI thread's CPU profile during the batch.
                    profile = os.environ.get("BENCH_PROFILE")
                    profiler = cProfile.Profile(time.thread_time) if profile else None
                    cpu = time.thread_time()  # this thread runs the app's event loop
                    if profiler is not None:
                        profiler.enable()
                    thread.start()
                    # Wait without polling: a 100 Hz wake-up of the harness would be charged
                    # to the app (it competes for the GIL with the batch's workers).
                    await asyncio.get_running_loop().run_in_executor(None, thread.join)
                    result["ui_cpu"] = time.thread_time() - cpu
                    if profiler is not None:
                        profiler.disable()
                        profiler.dump_stats(f"{profile}.{len(with_app)}")
                    deadline = time.perf_counter() + 10
                    while (
                        (spent[1] < batch and not idle_app) or screen.running
                    ) and time.perf_counter() < deadline:
                        await pilot.pause(0.01)
                    if idle_app:
                        app.exit()
                        return
                    moved = [
                        table.rows[i].max_assignments
                        for i in table.view
                        if table.rows[i].title.startswith("bench")
                    ]
                    assert moved == [21] * batch, "rows not updated in place"
                    shown = screen.query_one(MemberTable).rows
                    assert [r.state for r in shown] == [State.SUCCEEDED] * batch, "members"
                    app.exit()

            asyncio.run(run())
            assert result["report"].all_succeeded, result["report"].summary()
            with_app.append(result["wall"])
            per_update.append(spent[0] / max(1, spent[1]))
            ui_cpu.append(result["ui_cpu"])
            handover.append(max(waits) if waits else 0.0)
            if round_no % 2 == 1:
                batch_alone()
        history.close()
    finally:
        if proc.stdin is not None:
            proc.stdin.close()
        proc.wait(timeout=10)
    return {
        "batch": batch,
        "rows": rows,
        "alone_s": med(alone),
        "with_app_s": med(with_app),
        "slowdown": med(with_app) / med(alone),
        "ui_ms_per_update": med(per_update) * 1000,
        "worker_handover_max_ms": max(handover) * 1000,
        "ui_cpu_s": med(ui_cpu),
    }


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("which", nargs="*", help="bulk and/or rows (default: both)")
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--quick", action="store_true", help="1 round")
    parser.add_argument("--marks", type=int, default=10_000)
    parser.add_argument("--rows", type=int, default=50_000)
    parser.add_argument("--batch", type=int, default=500)
    parser.add_argument(
        "--idle-app", action="store_true", help="rows: the app fed nothing (the noise floor)"
    )
    args = parser.parse_args(argv)
    rounds = 1 if args.quick else max(1, args.rounds)
    which = args.which or ["bulk", "rows"]
    if set(which) - {"bulk", "rows"}:
        parser.error("measurements are: bulk, rows")
    with tempfile.TemporaryDirectory() as tmp_name:
        tmp = Path(tmp_name)
        _hermetic(tmp)
        if "bulk" in which:
            print(json.dumps({"bulk": bench_bulk_dialog(args.marks, rounds)}), flush=True)
        if "rows" in which:
            print(
                json.dumps(
                    {"rows": bench_batch_rows(args.batch, args.rows, rounds, tmp, args.idle_app)}
                ),
                flush=True,
            )
    return 0


if __name__ == "__main__":
    sys.exit(main())
