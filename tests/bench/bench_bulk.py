"""Benchmark: a 500-HIT bulk batch against the emulator, with and without throttling.

Run from the repo root: ``python -m tests.bench.bench_bulk [--hits 500] [--rounds 3]``.

The emulator runs in its own subprocess (no shared GIL). Each round adds fresh HITs, plans
`AddEach(1)` for all of them, then times `BatchRunner.run` end to end: recording every
member (one transaction), sending with the default bounded concurrency and the shared
adaptive pacer, recording every attempt and outcome, and the GetHIT refresh after each
success. Requests/s is the emulator's request count during the run divided by the wall
time. Medians over the rounds. Every round also checks exactly one extension per HIT.
Not collected by pytest.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from datetime import datetime, timezone
from decimal import Decimal
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[2]
EMULATOR = """
import json, sys
from turktui.emulator import EmulatorServer
srv = EmulatorServer(hits=0, seed=1, balance="100000000.00").start()
print(srv.url, flush=True)
for line in sys.stdin:
    cmd = json.loads(line)
    if cmd["op"] == "hits":
        srv.faults.clear()
        ids = [srv.state.add_hit(MaxAssignments=20, Reward="0.01", Title=f"bench {i}")
               for i in range(cmd["n"])]
        print(json.dumps({"ids": ids, "count": srv.state.request_count()}), flush=True)
    elif cmd["op"] == "faults":
        srv.faults.parse(cmd["spec"]) if cmd["spec"] else srv.faults.clear()
        print(json.dumps({"count": srv.state.request_count()}), flush=True)
    elif cmd["op"] == "check":
        srv.faults.clear()
        maxes = [srv.state.get_hit_raw(h)["MaxAssignments"] for h in cmd["ids"]]
        print(json.dumps({"count": srv.state.request_count(), "maxes": maxes}), flush=True)
srv.stop()
"""


def _hermetic(tmp: Path) -> None:
    for key in list(os.environ):
        if key.startswith("AWS_"):
            del os.environ[key]
    os.environ["HOME"] = str(tmp)
    os.environ["AWS_CONFIG_FILE"] = str(tmp / "none")
    os.environ["AWS_SHARED_CREDENTIALS_FILE"] = str(tmp / "none")


def _ask(proc: subprocess.Popen[str], **cmd: Any) -> dict[str, Any]:
    assert proc.stdin is not None and proc.stdout is not None
    proc.stdin.write(json.dumps(cmd) + "\n")
    proc.stdin.flush()
    return json.loads(proc.stdout.readline())  # type: ignore[no-any-return]


def bench(hits: int, rounds: int, tmp: Path, faults: str) -> dict[str, float]:
    from turktui.adapters.history import HistoryStore
    from turktui.adapters.mturk import MTurkService
    from turktui.domain.bulk import AddEach, plan_bulk
    from turktui.domain.environment import Environment, EnvKind
    from turktui.domain.models import Hit
    from turktui.pipeline.batch import BatchRunner
    from turktui.pipeline.engine import Engine

    proc = subprocess.Popen(
        [sys.executable, "-c", EMULATOR],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        text=True,
        cwd=ROOT,
    )
    try:
        assert proc.stdout is not None
        url = proc.stdout.readline().strip()
        env = Environment(EnvKind.DEMO, url)
        service = MTurkService(env)
        history = HistoryStore(tmp / f"history-{len(faults)}.sqlite3")
        engine = Engine(service, history, env)
        service.get_balance()  # warm up: boto3 import, client creation
        walls: list[float] = []
        rates: list[float] = []
        throttles: list[int] = []
        for _ in range(rounds):
            ids = _ask(proc, op="hits", n=hits)["ids"]
            # The HITs as listed (no per-HIT GetHIT: the app plans from its list).
            created = datetime.now(timezone.utc)
            preview = plan_bulk(
                [
                    Hit(
                        h,
                        title="bench",
                        max_assignments=20,
                        reward=Decimal("0.01"),
                        created=created,
                    )
                    for h in ids
                ],
                AddEach(1),
            )
            start = _ask(proc, op="faults", spec=faults)["count"]
            runner = BatchRunner(engine)
            t0 = time.perf_counter()
            report = runner.run(preview)
            wall = time.perf_counter() - t0
            after = _ask(proc, op="check", ids=ids)
            if report.retryable:  # a member whose retries ran out: settle it (not timed)
                report = runner.retry(report.batch_id)
                after = _ask(proc, op="check", ids=ids)
            assert report.all_succeeded, report.summary()
            assert after["maxes"] == [21] * hits, "not exactly one extension per HIT"
            walls.append(wall)
            rates.append((after["count"] - start - 2) / wall)  # minus the control requests
            throttles.append(runner.pacer.throttle_count)
        history.close()
    finally:
        if proc.stdin is not None:
            proc.stdin.close()
        proc.wait(timeout=10)
    return {
        "wall_s": statistics.median(walls),
        "requests_per_s": statistics.median(rates),
        "hits_per_s": hits / statistics.median(walls),
        "throttled_answers": statistics.median(throttles),
    }


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--hits", type=int, default=500)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument(
        "--throttle", default="*:throttle=0.1,seed=7", help="fault spec for the throttled run"
    )
    args = parser.parse_args(argv)
    with tempfile.TemporaryDirectory() as tmp_name:
        tmp = Path(tmp_name)
        _hermetic(tmp)
        for label, spec in (("no faults", ""), (f"throttled ({args.throttle})", args.throttle)):
            result = bench(args.hits, args.rounds, tmp, spec)
            print(
                f"{args.hits}-HIT batch, {label}: median wall {result['wall_s']:.2f} s, "
                f"{result['requests_per_s']:.0f} requests/s, "
                f"{result['hits_per_s']:.0f} HITs/s, "
                f"{result['throttled_answers']:.0f} throttled answers "
                f"({args.rounds} rounds)",
                flush=True,
            )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
