"""Two operators on two hosts, one shared PostgreSQL history, racing on one HIT: each
"host" is a process with its own HOME and host name (tests.seams.as_host) running the real
`turktui extend` command; exactly one request sent each trial, and the operator who lost is
told who holds the HIT (which host, which process, since when). The default run makes 25
trials; `TURKTUI_TWO_HOSTS_TRIALS=100 pytest tests/reliability/test_two_hosts.py` the
issue's 100."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from tests.conftest import subprocess_env
from tests.runcli import TEST_KEYS
from tests.seams import as_host

OP = "CreateAdditionalAssignmentsForHIT"
TRIALS = int(os.environ.get("TURKTUI_TWO_HOSTS_TRIALS", "25"))

#: One "host": runs `turktui extend HIT 1` (in this process, the real command) for every HIT
#: id read from stdin, and answers with its exit code and output.
HOST = """
import contextlib, io, json, os, sys
from turktui.cli import main
url = sys.argv[1]
print("ready", flush=True)
for line in sys.stdin:
    out, err = io.StringIO(), io.StringIO()
    with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
        code = main(["extend", line.strip(), "1", "--endpoint-url", url, "--json"])
    print(json.dumps({"code": code, "out": out.getvalue(), "err": err.getvalue(),
                      "pid": os.getpid()}), flush=True)
"""


def _host(
    name: str, home: Path, history_url: str, emulator_url: str, barrier: Path
) -> subprocess.Popen[str]:
    base = subprocess_env(home, **TEST_KEYS, TURKTUI_HISTORY_URL=history_url)
    env = {**base, **as_host(name, base, barrier=barrier)}
    proc = subprocess.Popen(
        [sys.executable, "-c", HOST, emulator_url],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env=env,
    )
    assert proc.stdout is not None and proc.stdout.readline().strip() == "ready"
    return proc


@pytest.mark.slow
@pytest.mark.timeout(600)
def test_two_hosts_racing_on_one_hit_send_exactly_once(
    make_emulator: Any, pg_db_url: str, tmp_path: Path
) -> None:
    server = make_emulator(0)
    # Both hosts reach the record of each trial's request together (a barrier seam): the
    # race is decided by the database, never by which process the scheduler ran first (a
    # request settled before the other one starts is a new intent, rightly sent).
    barrier = tmp_path / "barrier"
    barrier.mkdir()
    hosts = {
        name: _host(name, tmp_path / name, pg_db_url, server.url, barrier)
        for name in ("host-a", "host-b")
    }
    wins: dict[str, int] = {}
    try:
        for trial in range(TRIALS):
            hit_id = server.state.add_hit(MaxAssignments=2, Reward="0.10")
            sent = server.state.request_count(OP)
            for proc in hosts.values():
                assert proc.stdin is not None
                proc.stdin.write(hit_id + "\n")
                proc.stdin.flush()
            answers = {}
            for name, proc in hosts.items():
                assert proc.stdout is not None
                answers[name] = json.loads(proc.stdout.readline())
            codes = sorted(a["code"] for a in answers.values())
            where = f"trial {trial}: {answers}"
            assert codes == [0, 3], where
            assert server.state.request_count(OP) == sent + 1, where
            assert server.state.get_hit_raw(hit_id)["MaxAssignments"] == 3, where
            winner = next(n for n, a in answers.items() if a["code"] == 0)
            loser = next(a for a in answers.values() if a["code"] == 3)
            told = loser["out"] + loser["err"]
            assert f"(pid {answers[winner]['pid']} on {winner}) at " in told, where
            wins[winner] = wins.get(winner, 0) + 1
    finally:
        for proc in hosts.values():
            proc.communicate(timeout=60)
    assert sum(wins.values()) == TRIALS


@pytest.mark.timeout(300)
def test_sigkill_on_one_host_is_resolved_by_another_only_after_the_lease_lapses(
    make_emulator: Any, pg_db_url: str, tmp_path: Path
) -> None:
    """host-a is SIGKILLed right after its request was applied, before the outcome was
    recorded. host-b's resolve leaves the record alone while host-a's lease runs (the
    database's clock), then settles it: applied once, never sent twice."""
    import signal

    from tests.pg import driver
    from tests.runcli import run_process
    from tests.seams import crash_after_send
    from tests.ui.helpers import wait_until

    server = make_emulator(0)
    hit_id = server.state.add_hit(MaxAssignments=2, Reward="0.10")

    def host(name: str, **extra: str) -> dict[str, str]:
        home = tmp_path / name
        config = home / "config" / "turktui" / "config.toml"
        config.parent.mkdir(parents=True, exist_ok=True)
        config.write_text("lease_seconds = 5\n", encoding="utf-8")
        base = subprocess_env(home, **TEST_KEYS, TURKTUI_HISTORY_URL=pg_db_url)
        return {**base, **as_host(name, base), **extra}

    a = host("host-a")
    killed = run_process(
        a, "extend", hit_id, "2", "--endpoint-url", server.url, extra=crash_after_send(a)
    )
    assert killed.returncode == -signal.SIGKILL, killed.stdout + killed.stderr
    assert server.state.get_hit_raw(hit_id)["MaxAssignments"] == 4  # applied, not recorded

    def lease_left() -> float:
        with driver().connect(pg_db_url) as conn:
            row = conn.execute(
                "SELECT lease_until - extract(epoch from clock_timestamp()), state "
                "FROM turktui.requests"
            ).fetchone()
        assert row[1] == "sending"
        return float(row[0])

    b = host("host-b")
    assert lease_left() > 1  # host-a's lease still runs: host-b must leave it alone
    early = run_process(b, "resolve", "--yes", "--json", "--endpoint-url", server.url)
    assert lease_left() > 0, "the check took longer than the lease: inconclusive"
    assert "host-a" in early.stdout + early.stderr and "lease" in early.stdout + early.stderr
    with driver().connect(pg_db_url) as conn:
        assert conn.execute("SELECT state FROM turktui.requests").fetchone() == ("sending",)
    wait_until(lambda: lease_left() < 0, timeout=30, what="host-a's lease to lapse")
    late = run_process(b, "resolve", "--yes", "--json", "--endpoint-url", server.url)
    assert late.returncode == 0, late.stdout + late.stderr
    with driver().connect(pg_db_url) as conn:
        assert conn.execute("SELECT state FROM turktui.requests").fetchone() == (
            "resolved_succeeded",
        )
    assert server.state.get_hit_raw(hit_id)["MaxAssignments"] == 4  # once
