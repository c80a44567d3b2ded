"""Benchmark: the app's memory and CPU at rest, over auto-refreshes (issue 24: flat).

Run from the repo root: ``python -m tests.bench.bench_idle [--hits 50000] [--refreshes 20]
[--interval 2] [--tracemalloc]``.

The emulator runs in its own process; the app runs in this one, headless under Pilot, with
`auto_refresh` = `--interval` seconds (the real timer, the real loader child) and nobody at
the keys. After two warm-up refreshes each finished refresh is sampled: RSS, the Python
objects the GC holds (tracked + frozen, after a collection: what is retained), the bytes
tracemalloc traces (`--tracemalloc`, slower) and the CPU seconds the refresh cycle took.
Reported: each one's growth per refresh (least-squares slope) and first → last.
Not collected by pytest (tests/ui/test_idle_memory.py runs the same sampling small).
"""

from __future__ import annotations

import argparse
import asyncio
import gc
import json
import os
import sys
import tempfile
import time
import tracemalloc
from collections.abc import Callable, Sequence
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

WARMUP = 2


@dataclass(frozen=True)
class Sample:
    rss_mb: float
    objects: int
    traced_mb: float | None
    cpu_s: float


def rss_mb() -> float:
    with open("/proc/self/status", encoding="ascii") as status:
        for line in status:
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) / 1024
    return 0.0


def retained_objects() -> int:
    """The objects the GC tracks that outlive a full collection, frozen ones included."""
    gc.collect()
    return len(gc.get_objects()) + gc.get_freeze_count()


def slope(values: Sequence[float]) -> float:
    """Least-squares growth per step."""
    n = len(values)
    if n < 2:
        return 0.0
    mean_x, mean_y = (n - 1) / 2, sum(values) / n
    num = sum((x - mean_x) * (y - mean_y) for x, y in enumerate(values))
    return num / sum((x - mean_x) ** 2 for x in range(n))


async def sample_refreshes(
    pilot: Any,
    count: int,
    trigger: Callable[[], None] | None = None,
    timeout: float = 600.0,
) -> list[Sample]:
    """One sample after each of `count` refreshes of the main list: started by `trigger`
    (None: the auto-refresh timer), sampled once loaded and the load's collection of what
    the freezes kept (`heap.listing_done`, after the frame showing the rows) has run —
    before it, that garbage is still frozen and counted (a transient of a listing's size)."""
    from tests.ui.helpers import wait_for
    from turktui.ui import heap

    main = pilot.app.main_screen
    collections = [0]
    listing_done = heap.listing_done

    def counted() -> None:
        listing_done()
        collections[0] += 1

    heap.listing_done = counted  # main.py looks it up at the end of each load
    samples = []
    cpu = time.process_time()
    try:
        for _ in range(count):
            generation, collected = main.generation, collections[0]
            if trigger is not None:
                trigger()
            await wait_for(
                pilot,
                lambda g=generation, c=collected: (
                    main.generation > g and not main.is_loading and collections[0] > c
                ),
                timeout,
                "a refresh and its collection",
            )
            now = time.process_time()
            samples.append(
                Sample(
                    rss_mb=rss_mb(),
                    objects=retained_objects(),
                    traced_mb=tracemalloc.get_traced_memory()[0] / 2**20
                    if tracemalloc.is_tracing()
                    else None,
                    cpu_s=now - cpu,
                )
            )
            cpu = time.process_time()
    finally:
        heap.listing_done = listing_done
    return samples


def growth(samples: Sequence[Sample]) -> dict[str, Any]:
    out: dict[str, Any] = {"refreshes": len(samples)}
    for name in ("rss_mb", "objects", "traced_mb", "cpu_s"):
        values = [getattr(s, name) for s in samples]
        if None in values:
            continue
        out[name] = {"first": values[0], "last": values[-1], "per_refresh": slope(values)}
    return out


async def _run(url: str, refreshes: int, interval: float, trace: bool) -> list[Sample]:
    from turktui.cli import build_parser
    from turktui.cli.options import open_connection
    from turktui.cli.run_app import build_app
    from turktui.ui.app import TurkTuiApp

    conn = open_connection(build_parser().parse_args(["--endpoint-url", url]))
    conn = replace(conn, settings=replace(conn.settings, auto_refresh=interval))
    app: TurkTuiApp = build_app(conn, conn.service(), None)
    try:
        async with app.run_test(size=(160, 48)) as pilot:
            await sample_refreshes(pilot, 1)  # the first listing
            if trace:
                tracemalloc.start(1)
            samples = await sample_refreshes(pilot, WARMUP + refreshes)
            return samples[WARMUP:]
    finally:
        conn.close()


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--hits", type=int, default=50_000)
    parser.add_argument("--refreshes", type=int, default=20)
    parser.add_argument("--interval", type=float, default=2.0, help="auto_refresh, seconds")
    parser.add_argument("--tracemalloc", action="store_true")
    parser.add_argument("--json", action="store_true", help="print one JSON line")
    opts = parser.parse_args(argv)
    from tests.bench.bench_bulk import _hermetic
    from tests.bench.suite import emulator

    with tempfile.TemporaryDirectory() as name:
        _hermetic(Path(name))
        os.environ.update(AWS_ACCESS_KEY_ID="AKIDBENCH", AWS_SECRET_ACCESS_KEY="bench")
        os.environ.setdefault("AWS_DEFAULT_REGION", "us-east-1")
        with emulator(opts.hits) as url:
            samples = asyncio.run(_run(url, opts.refreshes, opts.interval, opts.tracemalloc))
    result = growth(samples)
    result.update(hits=opts.hits, interval_s=opts.interval)
    if opts.json:
        print(json.dumps(result))
        return 0
    print(
        f"{opts.hits:,} HITs, auto_refresh {opts.interval:g} s, {opts.refreshes} refreshes "
        f"after {WARMUP} warm-up ones (`python -m tests.bench.bench_idle`)\n"
    )
    print("| Measure | First | Last | Growth per refresh |")
    print("|---|---|---|---|")
    for name, unit in (("rss_mb", "MB"), ("traced_mb", "MB"), ("objects", ""), ("cpu_s", "s")):
        if name in result:
            r = result[name]
            print(
                f"| {name} | {r['first']:,.2f} {unit} | {r['last']:,.2f} {unit} "
                f"| {r['per_refresh']:+,.3f} {unit} |"
            )
    return 0


if __name__ == "__main__":
    sys.exit(main())
