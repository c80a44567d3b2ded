"""`turktui extend/history/resolve` tell the truth (issue 11), against the emulator: conflicts
exit 6 with their numbers, expiration rules refuse before sending, one request per HIT unless
--allow-second."""

from __future__ import annotations

import json
from datetime import datetime, timezone

from tests.runcli import cli_environment, history_path, run_cli
from turktui.adapters.history import HistoryStore
from turktui.domain.records import State

OP = "CreateAdditionalAssignmentsForHIT"
OP_EXPIRE = "UpdateExpirationForHIT"


def test_token_reused_for_another_hit(emulator, cli_env, tmp_path) -> None:
    """Old code: exit 0, "Added 1 assignment (max 5,000 → 5,001)" while B did not change."""
    a = emulator.state.add_hit(MaxAssignments=5000, Reward="0.01")
    b = emulator.state.add_hit(MaxAssignments=5000, Reward="0.01")
    url = ("--endpoint-url", emulator.url)
    assert run_cli(cli_env, "extend", a, "1", "--token", "T-shared", *url).returncode == 0
    # Same history: refused before sending.
    sent = emulator.state.request_count(OP)
    same = run_cli(cli_env, "extend", b, "1", "--token", "T-shared", *url)
    assert same.returncode == 3, same.stdout + same.stderr
    assert "already used" in same.stderr and emulator.state.request_count(OP) == sent
    # Another machine's history: MTurk says "already processed"; GetHIT says otherwise.
    other = cli_environment(tmp_path / "two")
    res = run_cli(other, "extend", b, "1", "--token", "T-shared", "--json", *url)
    assert res.returncode == 6, res.stdout + res.stderr
    data = json.loads(res.stdout)
    assert data["state"] == "conflict" and data["exit_code"] == 6
    assert (data["max_before"], data["expected_after"], data["actual_after"]) == (5000, 5001, 5000)
    assert emulator.state.get_hit_raw(b)["MaxAssignments"] == 5000
    listing = run_cli(other, "history")
    assert listing.returncode == 0
    assert "CONFLICT: before 5,000, expected 5,001, actual 5,000" in listing.stdout


def test_same_token_same_intent_again_is_the_earlier_request(emulator, cli_env) -> None:
    hit = emulator.state.add_hit(MaxAssignments=3, Reward="0.10")
    url = ("--endpoint-url", emulator.url)
    assert run_cli(cli_env, "extend", hit, "2", "--token", "T-again", *url).returncode == 0
    again = run_cli(cli_env, "extend", hit, "2", "--token", "T-again", *url)
    assert again.returncode == 0, again.stderr
    assert "already added" in again.stdout
    assert emulator.state.get_hit_raw(hit)["MaxAssignments"] == 5


def test_shortening_the_expiration_is_refused_naming_the_current_one(emulator, cli_env) -> None:
    """Old code: `--expire-in 1h` on a HIT expiring in 2 days moved it earlier, exit 0."""
    now = emulator.state.now()
    hit = emulator.state.add_hit(MaxAssignments=3, Reward="0.10", Expiration=now + 2 * 86400)
    sent = emulator.state.request_count(OP), emulator.state.request_count(OP_EXPIRE)
    res = run_cli(cli_env, "extend", hit, "1", "--expire-in", "1h", "--endpoint-url", emulator.url)
    assert res.returncode == 3, res.stdout + res.stderr
    current = datetime.fromtimestamp(now + 2 * 86400, timezone.utc).strftime("%Y-%m-%d %H:%M")
    assert "cannot shorten" in res.stderr and current in res.stderr
    assert (emulator.state.request_count(OP), emulator.state.request_count(OP_EXPIRE)) == sent
    assert emulator.state.get_hit_raw(hit)["Expiration"] == now + 2 * 86400


def test_expire_now(emulator, cli_env) -> None:
    now = emulator.state.now()
    hit = emulator.state.add_hit(MaxAssignments=3, Reward="0.10", Expiration=now + 86400)
    res = run_cli(
        cli_env, "extend", hit, "1", "--expire-in", "now", "--json", "--endpoint-url", emulator.url
    )
    assert res.returncode == 0, res.stdout + res.stderr
    data = json.loads(res.stdout)
    assert data["expire_at"].startswith("1970-01-01T00:00:00")
    assert data["expiry_state"] == "succeeded"
    assert emulator.state.get_hit_raw(hit)["Expiration"] <= emulator.state.now()


def test_one_request_per_hit_unless_allow_second(emulator, cli_env, tmp_path) -> None:
    """Old code: a second request started while the first was unsettled."""
    hit = emulator.state.add_hit(MaxAssignments=2, Reward="0.10")
    assert run_cli(cli_env, "paths").returncode == 0
    store = HistoryStore(history_path(tmp_path))
    try:
        store.create(
            env_kind="demo",
            endpoint=emulator.url,
            profile=None,
            hit_id=hit,
            hit_title="",
            n=2,
            token="turktui-" + "1" * 32,
            max_before=2,
            expected_after=4,
            state=State.UNKNOWN,
        )
    finally:
        store.close()
    sent = emulator.state.request_count(OP)
    res = run_cli(cli_env, "extend", hit, "2", "--endpoint-url", emulator.url)
    assert res.returncode == 3, res.stdout + res.stderr
    assert "unsettled" in res.stderr and "--allow-second" in res.stderr
    assert emulator.state.request_count(OP) == sent
    res = run_cli(cli_env, "extend", hit, "2", "--allow-second", "--endpoint-url", emulator.url)
    assert res.returncode == 0, res.stdout + res.stderr
    assert emulator.state.get_hit_raw(hit)["MaxAssignments"] == 4
