"""`turktui extend/history/resolve` (in-process), and a SIGKILL between send and record (a real
process: the TURKTUI_TEST_CRASH_AFTER_SEND seam)."""

from __future__ import annotations

import json
import signal
from decimal import Decimal

import pytest

from tests.runcli import run_cli, run_process
from tests.seams import crash_after_send
from turktui.domain.rules import extension_cost

OP = "CreateAdditionalAssignmentsForHIT"


def test_extend_json_success_then_history(emulator, cli_env) -> None:
    hit_id = emulator.state.add_hit(MaxAssignments=3, Reward="0.40")
    before = emulator.state.balance
    res = run_cli(cli_env, "extend", hit_id, "2", "--json", "--endpoint-url", emulator.url)
    assert res.returncode == 0, res.stderr
    data = json.loads(res.stdout)
    assert data["state"] == "succeeded" and data["max_after"] == 5 and data["exit_code"] == 0
    assert emulator.state.balance == before - extension_cost(Decimal("0.40"), 2, 5).total
    hist = run_cli(cli_env, "history", "--json", "--limit", "5")
    assert hist.returncode == 0, hist.stderr
    listing = json.loads(hist.stdout)
    assert listing["count"] == 1 and listing["records"][0]["token"] == data["token"]


@pytest.mark.parametrize("n, code", [("abc", 2), ("+5", 2), ("0", 2), ("7", 3), ("5", 0)])
def test_extend_exit_codes(emulator, cli_env, n, code) -> None:
    hit_id = emulator.state.add_hit(MaxAssignments=4, Reward="0.10")
    sent = emulator.state.request_count(OP)
    res = run_cli(cli_env, "extend", hit_id, n, "--endpoint-url", emulator.url)
    assert res.returncode == code, res.stdout + res.stderr
    assert emulator.state.request_count(OP) == sent + (1 if code == 0 else 0)


def test_refused_by_mturk_is_3_and_unknown_hit_is_3(emulator, cli_env) -> None:
    hit_id = emulator.state.add_hit(MaxAssignments=3, Reward="100.00")
    emulator.state.set_balance("1.00")
    try:
        res = run_cli(cli_env, "extend", hit_id, "2", "--json", "--endpoint-url", emulator.url)
    finally:
        emulator.state.set_balance("100000000.00")
    assert res.returncode == 3
    assert json.loads(res.stdout)["error_code"] == "AWS.MechanicalTurk.InsufficientFunds"
    res = run_cli(
        cli_env, "extend", "NOSUCHHIT000000000000000000000", "1", "--endpoint-url", emulator.url
    )
    assert res.returncode == 3


def test_service_error_is_4(cli_env) -> None:
    res = run_cli(cli_env, "extend", "H" * 30, "1", "--endpoint-url", "http://127.0.0.1:9")
    assert res.returncode == 4, res.stderr


def test_extend_help_documents_exit_codes(cli_env) -> None:
    res = run_cli(cli_env, "extend", "--help")
    assert res.returncode == 0
    for line in ("0  success", "3  refused", "4  service error", "5  outcome unknown", "2  usage"):
        assert line in res.stdout


def test_sigkill_between_send_and_record_then_resolve(emulator, cli_env) -> None:
    hit_id = emulator.state.add_hit(MaxAssignments=2, Reward="1.00")
    before = emulator.state.balance
    res = run_process(
        cli_env, "extend", hit_id, "3", "--endpoint-url", emulator.url, extra=crash_after_send()
    )
    assert res.returncode == -signal.SIGKILL
    assert emulator.state.get_hit_raw(hit_id)["MaxAssignments"] == 5  # it was applied
    pending = json.loads(run_cli(cli_env, "history", "--json", "--unsettled").stdout)
    assert pending["count"] == 1 and pending["records"][0]["state"] == "sending"
    res = run_cli(cli_env, "resolve", "--yes", "--json", "--endpoint-url", emulator.url)
    assert res.returncode == 0, res.stdout + res.stderr
    data = json.loads(res.stdout)
    assert [r["state"] for r in data["records"]] == ["resolved_succeeded"]
    assert emulator.state.get_hit_raw(hit_id)["MaxAssignments"] == 5  # exactly once
    assert emulator.state.balance == before - extension_cost(Decimal("1.00"), 3, 5).total
    again = run_cli(cli_env, "resolve", "--yes", "--endpoint-url", emulator.url)
    assert again.returncode == 0 and "Nothing to resolve" in again.stdout


def test_resolve_without_tty_or_yes_only_lists(emulator, cli_env) -> None:
    hit_id = emulator.state.add_hit(MaxAssignments=2, Reward="1.00")
    crashed = run_process(
        cli_env, "extend", hit_id, "1", "--endpoint-url", emulator.url, extra=crash_after_send()
    )
    assert crashed.returncode == -signal.SIGKILL, crashed.stderr
    sent = emulator.state.request_count(OP)
    res = run_cli(cli_env, "resolve", "--endpoint-url", emulator.url)
    assert res.returncode == 2 and "--yes" in res.stderr
    assert emulator.state.request_count(OP) == sent
