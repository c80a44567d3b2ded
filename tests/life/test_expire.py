"""Expire now over loopback: one record per HIT (expiration only, shown as "expire"), sent as
a fixed past time, exactly once under faults through UpdateExpirationForHIT's own
idempotency (HIT id + ExpireAt), confirmed with GetHIT; and `turktui expire` as a user runs it."""

from __future__ import annotations

import json
import subprocess
import sys
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from tests.conftest import subprocess_env
from turktui.cli.output import record_line
from turktui.domain.records import State
from turktui.domain.rules import EXPIRE_NOW
from turktui.pipeline.engine import PlanRefused

OP = "UpdateExpirationForHIT"


def live_hit(emulator, service, hours: float = 5, **fields):
    expires = datetime.now(UTC) + timedelta(hours=hours)
    hit_id = emulator.state.add_hit(
        MaxAssignments=3, Reward="0.50", Expiration=expires.timestamp(), **fields
    )
    return service.get_hit(hit_id)


def expired_on_server(emulator, hit_id: str) -> bool:
    raw = emulator.state.get_hit_raw(hit_id)
    return raw["Expiration"] <= datetime.now(UTC).timestamp() + 1


def test_expire_now_is_one_record_sent_as_a_past_time(emulator, service, engine, history) -> None:
    hit = live_hit(emulator, service)
    sent = emulator.state.request_count(OP)
    added = emulator.state.request_count("CreateAdditionalAssignmentsForHIT")
    outcome = engine.extend(hit, 0, EXPIRE_NOW)
    assert outcome.succeeded, outcome.message
    assert expired_on_server(emulator, hit.hit_id)
    assert emulator.state.request_count(OP) == sent + 1
    assert emulator.state.request_count("CreateAdditionalAssignmentsForHIT") == added
    rec = history.get(outcome.record.id)
    assert rec.state is State.SUCCEEDED and rec.operation == "expire_now"
    assert rec.expire_at == EXPIRE_NOW and rec.n == 0 and rec.expiry_only
    assert [(a.operation, a.outcome) for a in rec.attempts] == [(OP, "ok")]
    assert emulator.state.get_hit_raw(hit.hit_id)["MaxAssignments"] == 3
    # The row is fresh at once (the outcome carries the re-read HIT).
    assert outcome.hit is not None and outcome.hit.is_expired(datetime.now(UTC))
    assert "Expired HIT" in outcome.message and "work in progress is kept" in outcome.message
    # The history says "expire", never "+0".
    assert rec.change_label == "expire"
    line = record_line(rec)
    assert "expire" in line and "+0" not in line


def test_dropped_answer_is_recorded_once_and_right(emulator, service, engine, history) -> None:
    hit = live_hit(emulator, service)
    sent = emulator.state.request_count(OP)
    emulator.faults.add(op=OP, drop=1, count=1)  # applied, then the answer is lost
    outcome = engine.extend(hit, 0, EXPIRE_NOW)
    assert outcome.succeeded, outcome.message
    assert expired_on_server(emulator, hit.hit_id)
    rec = history.get(outcome.record.id)
    assert rec.state is State.SUCCEEDED, rec.note
    # The retry carried the same ExpireAt: MTurk's implicit token said "already processed".
    assert [a.outcome for a in rec.attempts] == ["error", "already_processed"]
    assert rec.attempts[0].error_code == "ConnectionLost"
    assert emulator.state.request_count(OP) == sent + 2
    assert len([r for r in history.find_by_token(rec.token)]) == 1


def test_every_answer_lost_is_unknown_then_resolved(emulator, service, engine, history) -> None:
    hit = live_hit(emulator, service)
    emulator.faults.add(op=OP, drop=1)
    try:
        outcome = engine.extend(hit, 0, EXPIRE_NOW)
    finally:
        emulator.faults.clear()
    assert outcome.record.state is State.UNKNOWN, outcome.message
    assert expired_on_server(emulator, hit.hit_id)  # the first attempt went through
    settled = engine.resolve(history.get(outcome.record.id))
    assert settled.record.state is State.RESOLVED_SUCCEEDED, settled.message
    assert settled.record.operation == "expire_now"


def test_refused_when_the_hit_is_gone(emulator, service, engine, history) -> None:
    from dataclasses import replace

    gone = replace(live_hit(emulator, service), hit_id="NOSUCHHIT00000000000000000GONE")
    sent = emulator.state.request_count(OP)
    outcome = engine.extend(gone, 0, EXPIRE_NOW)
    assert outcome.record.state is State.REFUSED, outcome.message
    assert emulator.state.request_count(OP) == sent  # the read before sending said no
    assert "expire HIT" in outcome.message and "+0" not in outcome.message


def test_a_second_expire_now_after_a_re_open_expires_it_again(
    emulator, service, engine, history
) -> None:
    """Issue 21 (was: a conflict): a second expire-now within 24 hours sends its own past
    time, so MTurk's implicit token (HIT id + time) does not refuse it, and the HIT that
    was re-extended meanwhile is expired again, truthfully recorded."""
    hit = live_hit(emulator, service)
    assert engine.extend(hit, 0, EXPIRE_NOW).succeeded
    later = datetime.now(UTC) + timedelta(hours=3)
    emulator.state.update_hit(hit.hit_id, Expiration=later.timestamp(), HITStatus="Assignable")
    again = engine.extend(service.get_hit(hit.hit_id), 0, EXPIRE_NOW)
    assert again.record.state is State.SUCCEEDED, again.message
    assert expired_on_server(emulator, hit.hit_id)


def test_zero_assignments_without_an_expiration_is_refused(emulator, service, engine) -> None:
    hit = live_hit(emulator, service)
    with pytest.raises(PlanRefused):
        engine.plan(hit, 0)


# -- the command ----------------------------------------------------------------------------
@pytest.fixture
def cli_env(tmp_path: Path) -> dict[str, str]:
    return subprocess_env(
        tmp_path, AWS_ACCESS_KEY_ID="AKIDTESTTESTTEST0000", AWS_SECRET_ACCESS_KEY="test-secret"
    )


def run(env: dict[str, str], *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "turktui", *args],
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
        stdin=subprocess.DEVNULL,
    )


def test_cli_expire_asks_without_yes_and_records_with_it(emulator, service, cli_env) -> None:
    a, b = live_hit(emulator, service), live_hit(emulator, service)
    sent = emulator.state.request_count(OP)
    res = run(cli_env, "expire", a.hit_id, b.hit_id, "--endpoint-url", emulator.url)
    assert res.returncode == 2 and "needs confirmation" in res.stderr
    assert emulator.state.request_count(OP) == sent  # nothing sent without a yes
    res = run(
        cli_env, "expire", a.hit_id, b.hit_id, "--yes", "--json", "--endpoint-url", emulator.url
    )
    assert res.returncode == 0, res.stdout + res.stderr
    data = json.loads(res.stdout)
    assert [r["state"] for r in data["results"]] == ["succeeded", "succeeded"]
    assert all(r["change"] == "expire" and r["n"] == 0 for r in data["results"])
    assert expired_on_server(emulator, a.hit_id) and expired_on_server(emulator, b.hit_id)
    hist = run(cli_env, "history", "--json", "--limit", "5")
    records = json.loads(hist.stdout)["records"]
    assert len(records) == 2 and {r["change"] for r in records} == {"expire"}
    # Again: both already expired, nothing sent, still exit 0.
    res = run(cli_env, "expire", a.hit_id, "--yes", "--endpoint-url", emulator.url)
    assert res.returncode == 0 and "already expired" in res.stdout
    assert emulator.state.request_count(OP) == sent + 2


def test_cli_expire_unknown_hit_is_refused(emulator, cli_env) -> None:
    res = run(
        cli_env, "expire", "NOSUCHHIT000000000000000000000", "--yes", "--endpoint-url", emulator.url
    )
    assert res.returncode == 3 and "Traceback" not in res.stderr


def test_cli_expire_read_only_sends_nothing(emulator, service, cli_env) -> None:
    hit = live_hit(emulator, service)
    sent = emulator.state.request_count(OP)
    res = run(cli_env, "expire", hit.hit_id, "--yes", "--read-only", "--endpoint-url", emulator.url)
    assert res.returncode == 2 and emulator.state.request_count(OP) == sent
