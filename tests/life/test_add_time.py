"""Add time over loopback: time only (one record, shown as "time"), assignments and time in
one record with both outcomes, the rules (never shorter, 60 s..365 d, from now once expired),
exactly once under a dropped answer, and `turktui extend HIT [N] --add-time D`."""

from __future__ import annotations

import json
import subprocess
import sys
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from tests.conftest import subprocess_env
from turktui.domain.records import State
from turktui.domain.rules import add_time
from turktui.pipeline.engine import PlanRefused

OP = "UpdateExpirationForHIT"


def hit_expiring(emulator, service, delta: timedelta, **fields):
    when = (datetime.now(UTC) + delta).replace(microsecond=0)
    hit_id = emulator.state.add_hit(
        MaxAssignments=3, Reward="0.50", Expiration=when.timestamp(), **fields
    )
    return service.get_hit(hit_id)


def server_expiration(emulator, hit_id: str) -> int:
    return int(emulator.state.get_hit_raw(hit_id)["Expiration"])


def test_add_time_rule_counts_from_the_later_of_expiration_and_now() -> None:
    now = datetime(2026, 6, 1, 12, 0, 0, 500_000, tzinfo=UTC)
    later = now + timedelta(hours=5)
    assert add_time(later, 3600, now) == (later + timedelta(hours=1)).replace(microsecond=0)
    past = now - timedelta(hours=5)
    assert add_time(past, 3600, now) == (now + timedelta(hours=1)).replace(microsecond=0)
    assert add_time(None, 60, now) == (now + timedelta(seconds=60)).replace(microsecond=0)


def test_time_only_is_one_record(emulator, service, engine, history) -> None:
    hit = hit_expiring(emulator, service, timedelta(hours=5))
    target = add_time(hit.expiration, 2 * 86400, engine.clock())
    outcome = engine.extend(hit, 0, target)
    assert outcome.succeeded, outcome.message
    assert server_expiration(emulator, hit.hit_id) == int(target.timestamp())
    rec = history.get(outcome.record.id)
    assert rec.change_label == "time" and rec.state is State.SUCCEEDED
    assert rec.operation == "update_expiration"
    assert emulator.state.get_hit_raw(hit.hit_id)["MaxAssignments"] == 3
    assert [a.operation for a in rec.attempts] == [OP]


def test_assignments_and_time_record_both_outcomes(emulator, service, engine, history) -> None:
    hit = hit_expiring(emulator, service, timedelta(hours=5))
    target = add_time(hit.expiration, 86400, engine.clock())
    outcome = engine.extend(hit, 2, target)
    assert outcome.succeeded, outcome.message
    # Issue 21: two operations, two records, each recorded before it was sent, one group.
    rec, time_part = (history.get(r.id) for r in outcome.records)
    assert rec.state is State.SUCCEEDED and time_part.state is State.SUCCEEDED
    assert (rec.change_label, time_part.change_label) == ("+2", "time")
    assert rec.group_id is not None and rec.group_id == time_part.group_id
    raw = emulator.state.get_hit_raw(hit.hit_id)
    assert raw["MaxAssignments"] == 5 and int(raw["Expiration"]) == int(target.timestamp())


def test_time_on_an_expired_hit_counts_from_now(emulator, service, engine, history) -> None:
    hit = hit_expiring(emulator, service, -timedelta(hours=2))
    target = add_time(hit.expiration, 6 * 3600, engine.clock())
    assert target > engine.clock() + timedelta(hours=5)
    outcome = engine.extend(hit, 0, target)
    assert outcome.succeeded, outcome.message
    assert emulator.state.get_hit_raw(hit.hit_id)["HITStatus"] == "Assignable"


@pytest.mark.parametrize("seconds", [30, 366 * 86400, -3600])
def test_rules_refuse_before_sending(emulator, service, engine, seconds) -> None:
    hit = hit_expiring(emulator, service, timedelta(hours=5))
    sent = emulator.state.request_count(OP)
    with pytest.raises(PlanRefused):
        engine.plan(hit, 0, hit.expiration + timedelta(seconds=seconds))
    assert emulator.state.request_count(OP) == sent


def test_a_dropped_answer_is_recorded_once_and_right(emulator, service, engine, history) -> None:
    hit = hit_expiring(emulator, service, timedelta(hours=5))
    target = add_time(hit.expiration, 3 * 3600, engine.clock())
    emulator.faults.add(op=OP, drop=1, count=1)
    outcome = engine.extend(hit, 0, target)
    assert outcome.succeeded, outcome.message
    rec = history.get(outcome.record.id)
    assert [a.outcome for a in rec.attempts] == ["error", "already_processed"]
    # Applied once: the expiration moved by 3 h, not 6 h.
    assert server_expiration(emulator, hit.hit_id) == int(target.timestamp())


# -- the command ----------------------------------------------------------------------------
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
        timeout=60,
        stdin=subprocess.DEVNULL,
    )


def test_cli_add_time_only_and_with_assignments(emulator, service, cli_env) -> None:
    hit = hit_expiring(emulator, service, timedelta(hours=5))
    res = run(
        cli_env, "extend", hit.hit_id, "--add-time", "1d", "--json", "--endpoint-url", emulator.url
    )
    assert res.returncode == 0, res.stdout + res.stderr
    data = json.loads(res.stdout)
    assert data["state"] == "succeeded" and data["change"] == "time" and data["n"] == 0
    expected = int((hit.expiration + timedelta(days=1)).timestamp())
    assert server_expiration(emulator, hit.hit_id) == expected
    res = run(
        cli_env,
        "extend",
        hit.hit_id,
        "2",
        "--add-time",
        "2h",
        "--json",
        "--endpoint-url",
        emulator.url,
    )
    assert res.returncode == 0, res.stdout + res.stderr
    data = json.loads(res.stdout)
    assert data["change"] == "+2 +time" and data["expiry_state"] == "succeeded"
    assert server_expiration(emulator, hit.hit_id) == expected + 7200
    assert emulator.state.get_hit_raw(hit.hit_id)["MaxAssignments"] == 5


@pytest.mark.parametrize(
    ("args", "code"),
    [
        (["--add-time", "30s"], 3),  # under a minute: refused, nothing sent
        (["--add-time", "1d", "--expire-in", "2d"], 2),
        (["--add-time", "soon"], 2),
        ([], 2),  # neither N nor a time
    ],
)
def test_cli_add_time_refusals_send_nothing(emulator, service, cli_env, args, code) -> None:
    hit = hit_expiring(emulator, service, timedelta(hours=5))
    sent = emulator.state.request_count(OP)
    res = run(cli_env, "extend", hit.hit_id, *args, "--endpoint-url", emulator.url)
    assert res.returncode == code, res.stdout + res.stderr
    assert "Traceback" not in res.stderr
    assert emulator.state.request_count(OP) == sent
