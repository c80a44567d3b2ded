"""Benchmark: review and pay at scale (issue 22's budgets).

Run from the repo root: ``python -m tests.bench.bench_review [--assignments 1000] [--rounds 3]``.

The emulator runs in its own subprocess (no shared GIL); each round gets fresh HITs.

1. Approving N Submitted assignments through turktui — `turktui approve --hit H
   --all-submitted --yes --json`, in this process (the real command: the listing, the preview,
   each approval recorded before it is sent, sent — shared with the child the command forks
   from 200 requests on, `second_sender` — confirmed by the HIT's listing, its outcome
   recorded) — against a plain sequential boto3 loop of ApproveAssignment over the same
   number of assignments (ids known beforehand), alternating. Budget ≤ 1.5× the loop.
2. A bonus CSV of N rows (N assignments of 4 HITs) previewed: `turktui bonus --csv FILE
   --json` up to its preview (declined: not paid; every row's worker looked up, every earlier
   payment checked), run in this process. Budget ≤ 1 s.
Medians over the rounds. Not collected by pytest.
"""

from __future__ import annotations

import argparse
import contextlib
import io
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[2]
EMULATOR = """
import json, sys
from turktui.emulator import EmulatorServer
from turktui.emulator.assignments import assignment_id
srv = EmulatorServer(hits=0, seed=1, balance="100000000.00").start()
print(srv.url, flush=True)
for line in sys.stdin:
    cmd = json.loads(line)
    now = srv.state.now()
    if cmd["op"] == "hits":
        out = []
        for i in range(cmd["hits"]):
            hit = srv.state.add_hit(
                MaxAssignments=cmd["each"], NumberOfAssignmentsSubmitted=cmd["each"],
                Reward="0.05", Title=f"bench {i}", CreationTime=now - 86400,
                Expiration=now + 30 * 86400)
            out.append({"hit": hit, "ids": [assignment_id(hit, j) for j in range(cmd["each"])]})
        print(json.dumps(out), flush=True)
    elif cmd["op"] == "status":
        status = {}
        for hit in cmd["hits"]:
            listed = srv.state.op_list_assignments_for_hit(
                {"HITId": hit, "MaxResults": 100000})["Assignments"]
            for a in listed:
                status[a["AssignmentStatus"]] = status.get(a["AssignmentStatus"], 0) + 1
        print(json.dumps(status), flush=True)
srv.stop()
"""


def _hermetic(tmp: Path) -> None:
    for key in list(os.environ):
        if key.startswith(("AWS_", "TURKTUI_", "XDG_")):
            del os.environ[key]
    os.environ.update(
        {
            "HOME": str(tmp),
            "AWS_ACCESS_KEY_ID": "AKIDBENCH",
            "AWS_SECRET_ACCESS_KEY": "bench",
            "AWS_CONFIG_FILE": str(tmp / "none"),
            "AWS_SHARED_CREDENTIALS_FILE": str(tmp / "none"),
            "AWS_EC2_METADATA_DISABLED": "true",
            "XDG_CONFIG_HOME": str(tmp / ".config"),
            "XDG_DATA_HOME": str(tmp / ".local" / "share"),
        }
    )


def _ask(proc: subprocess.Popen[str], **cmd: Any) -> Any:
    assert proc.stdin is not None and proc.stdout is not None
    proc.stdin.write(json.dumps(cmd) + "\n")
    proc.stdin.flush()
    return json.loads(proc.stdout.readline())


def _turktui(*argv: str) -> tuple[int, dict[str, Any]]:
    """The real command, in this process; (exit code, its JSON)."""
    from turktui.cli import main

    out = io.StringIO()
    with contextlib.redirect_stdout(out), contextlib.redirect_stderr(io.StringIO()):
        code = main(list(argv))
    return code, json.loads(out.getvalue())


@contextlib.contextmanager
def _stop_at_the_question() -> Any:
    """The preview is complete when the command asks to go ahead: note that moment (in the
    list yielded) and decline, so nothing is paid."""
    from turktui.cli import prompts

    asked: list[float] = []
    real = prompts.confirm_spend

    def decline(env: Any, what: str, yes: bool) -> prompts.Declined:
        asked.append(time.perf_counter())
        return prompts.Declined(1, "declined", "benchmark: preview only")

    prompts.confirm_spend = decline  # type: ignore[assignment]
    try:
        yield asked
    finally:
        prompts.confirm_spend = real  # type: ignore[assignment]


def bench(assignments: int, rounds: int) -> dict[str, Any]:
    import boto3

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
        raw = boto3.session.Session(
            aws_access_key_id="AKIDBENCH", aws_secret_access_key="bench", region_name="us-east-1"
        ).client("mturk", endpoint_url=url)
        # warm up both paths (imports, clients, the history file)
        (warm,) = _ask(proc, op="hits", hits=1, each=3)
        raw.approve_assignment(AssignmentId=warm["ids"][0])
        _turktui("approve", warm["ids"][1], "--yes", "--json", "--endpoint-url", url)
        loop_s: list[float] = []
        ours_s: list[float] = []
        preview_s: list[float] = []
        for _ in range(rounds):
            (theirs,) = _ask(proc, op="hits", hits=1, each=assignments)
            t0 = time.perf_counter()
            for aid in theirs["ids"]:
                raw.approve_assignment(AssignmentId=aid)
            loop_s.append(time.perf_counter() - t0)
            (mine,) = _ask(proc, op="hits", hits=1, each=assignments)
            t0 = time.perf_counter()
            code, data = _turktui(
                "approve", "--hit", mine["hit"], "--all-submitted", "--yes", "--json",
                "--endpoint-url", url,
            )  # fmt: skip
            ours_s.append(time.perf_counter() - t0)
            states = {r["state"] for r in data["results"]}
            assert code == 0 and states == {"succeeded"}, (code, states)
            assert len(data["results"]) == assignments
            shown = _ask(proc, op="status", hits=[mine["hit"], theirs["hit"]])
            assert shown == {"Approved": 2 * assignments}, shown
            # a bonus file of `assignments` rows over 4 HITs, previewed (declined: not paid)
            each = -(-assignments // 4)
            made = _ask(proc, op="hits", hits=4, each=each)
            ids = [aid for h in made for aid in h["ids"]][:assignments]
            with tempfile.NamedTemporaryFile("w", suffix=".csv", delete=False) as f:
                f.write("assignment_id,amount,reason\n")
                f.writelines(f"{aid},0.{10 + i % 90},row {i}\n" for i, aid in enumerate(ids))
            t0 = time.perf_counter()
            with _stop_at_the_question() as asked:
                code, data = _turktui("bonus", "--csv", f.name, "--json", "--endpoint-url", url)
            preview_s.append(asked[0] - t0)
            os.unlink(f.name)
            assert not data.get("problems"), str(data.get("problems"))[:300]
            assert data.get("state") == "declined", str(data)[:300]
    finally:
        if proc.stdin is not None:
            proc.stdin.close()
        proc.wait(timeout=30)
    loop, ours = statistics.median(loop_s), statistics.median(ours_s)
    return {
        "assignments": assignments,
        "loop_s": loop,
        "approve_s": ours,
        "approve_ratio": ours / loop,
        "bonus_preview_s": statistics.median(preview_s),
    }


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--assignments", type=int, default=1000)
    parser.add_argument("--rounds", type=int, default=3)
    opts = parser.parse_args(argv)
    with tempfile.TemporaryDirectory() as name:
        _hermetic(Path(name))
        r = bench(opts.assignments, max(1, opts.rounds))
    n = r["assignments"]
    print(
        f"approve {n:,} Submitted assignments (recorded, confirmed): {r['approve_s']:.2f} s; "
        f"boto3 loop {r['loop_s']:.2f} s; {r['approve_ratio']:.2f}× (budget 1.5×) "
        f"{'OK' if r['approve_ratio'] <= 1.5 else 'OVER'}"
    )
    print(
        f"bonus file of {n:,} rows previewed: {r['bonus_preview_s']:.2f} s (budget 1 s) "
        f"{'OK' if r['bonus_preview_s'] <= 1 else 'OVER'}"
    )
    print(json.dumps(r))
    return 0


if __name__ == "__main__":
    sys.exit(main())
