"""Bulk `--add-time` over loopback: with a mode (assignments and time per HIT, each from its
own expiration) and alone (time for each HIT, one record each)."""

from __future__ import annotations

import json
import subprocess
import sys
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from tests.conftest import subprocess_env

OP = "UpdateExpirationForHIT"


@pytest.fixture
def cli_env(tmp_path: Path) -> dict[str, str]:
    return subprocess_env(
        tmp_path, AWS_ACCESS_KEY_ID="AKIDTESTTESTTEST0000", AWS_SECRET_ACCESS_KEY="test-secret"
    )


def run(env, *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "turktui", *args],
        env=env,
        capture_output=True,
        text=True,
        timeout=90,
        stdin=subprocess.DEVNULL,
    )


def add(emulator, hours: float, **fields) -> tuple[str, int]:
    when = int((datetime.now(UTC) + timedelta(hours=hours)).timestamp())
    hit_id = emulator.state.add_hit(
        MaxAssignments=12, Reward="0.10", Expiration=float(when), **fields
    )
    return hit_id, when


def test_bulk_add_with_time_each_from_its_own_expiration(emulator, cli_env) -> None:
    (a, ea), (b, eb) = add(emulator, 5), add(emulator, 30)
    res = run(
        cli_env,
        "extend",
        a,
        b,
        "--add",
        "2",
        "--add-time",
        "1d",
        "--yes",
        "--json",
        "--endpoint-url",
        emulator.url,
    )
    assert res.returncode == 0, res.stdout + res.stderr
    for hit_id, before in ((a, ea), (b, eb)):
        raw = emulator.state.get_hit_raw(hit_id)
        assert raw["MaxAssignments"] == 14
        assert int(raw["Expiration"]) == before + 86400
    hist = json.loads(run(cli_env, "history", "--json", "--limit", "5").stdout)["records"]
    # Issue 21: per HIT two records (the assignments, then the time), one group each.
    assert sorted(r["change"] for r in hist) == ["+2", "+2", "time", "time"]
    assert {r["state"] for r in hist} == {"succeeded"}
    assert len({r["group_id"] for r in hist}) == 2


def test_bulk_time_refused_for_one_hit_sends_the_others(emulator, cli_env) -> None:
    old = datetime(2024, 1, 1, tzinfo=UTC).timestamp()
    good, eg = add(emulator, 5)
    stale = emulator.state.add_hit(
        MaxAssignments=12, Reward="0.10", CreationTime=old - 86400, Expiration=old
    )
    res = run(
        cli_env,
        "extend",
        good,
        stale,
        "--add",
        "1",
        "--add-time",
        "2h",
        "--yes",
        "--endpoint-url",
        emulator.url,
    )
    assert res.returncode == 3, res.stdout + res.stderr  # one refused before sending
    assert "time:" in res.stderr + res.stdout
    assert int(emulator.state.get_hit_raw(good)["Expiration"]) == eg + 7200
    assert emulator.state.get_hit_raw(stale)["MaxAssignments"] == 12


def test_time_only_for_several_hits(emulator, cli_env) -> None:
    (a, ea), (b, _) = add(emulator, 5), add(emulator, -2)  # b has expired: from now
    sent = emulator.state.request_count(OP)
    started = int(datetime.now(UTC).timestamp())
    res = run(
        cli_env,
        "extend",
        a,
        b,
        "--add-time",
        "6h",
        "--yes",
        "--json",
        "--endpoint-url",
        emulator.url,
    )
    assert res.returncode == 0, res.stdout + res.stderr
    data = json.loads(res.stdout)
    assert [r["change"] for r in data["results"]] == ["time", "time"]
    assert int(emulator.state.get_hit_raw(a)["Expiration"]) == ea + 6 * 3600
    assert int(emulator.state.get_hit_raw(b)["Expiration"]) >= started + 6 * 3600
    assert emulator.state.get_hit_raw(a)["MaxAssignments"] == 12
    assert emulator.state.request_count(OP) == sent + 2


def test_time_only_for_several_with_a_bad_duration_sends_nothing(emulator, cli_env) -> None:
    (a, _), (b, _) = add(emulator, 5), add(emulator, 5)
    sent = emulator.state.request_count(OP)
    for bad in ("soon", "30s"):
        res = run(
            cli_env, "extend", a, b, "--add-time", bad, "--yes", "--endpoint-url", emulator.url
        )
        assert res.returncode in (2, 3) and "Traceback" not in res.stderr, res.stderr
    assert emulator.state.request_count(OP) == sent
