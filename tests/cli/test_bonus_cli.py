"""Issue 22: `turktui bonus` and `turktui bonuses` over loopback (in-process CLI): paid once,
a repeat refused without --allow-second, the same token never pays twice, bad input named on
one line with nothing sent, the balance checked, and the listing in text, JSON and CSV."""

from __future__ import annotations

import csv
import io
import json
from typing import Any

import pytest

from tests.conftest import FIXED_NOW
from tests.reviewkit import hit_with_work
from tests.runcli import run_cli

DAY = 86400.0


@pytest.fixture
def work(make_emulator: Any) -> tuple[Any, str, str]:
    server = make_emulator(0)
    hit_id = hit_with_work(server, 1)
    from turktui.emulator.assignments import assignment_id

    return server, hit_id, assignment_id(hit_id, 0)


def _bonuses(cli_env: dict[str, str], server: Any, aid: str) -> list[dict[str, Any]]:
    ran = run_cli(cli_env, "bonuses", "--assignment", aid, "--json", "--endpoint-url", server.url)
    assert ran.returncode == 0, ran.stderr
    return list(json.loads(ran.stdout)["payments"])


def test_paid_once_then_a_second_needs_allow_second(cli_env: dict[str, str], work: Any) -> None:
    server, _hit, aid = work
    url = ("--endpoint-url", server.url)
    paid = run_cli(cli_env, "bonus", aid, "1.50", "--reason", "great work", *url)
    assert paid.returncode == 0, paid.stdout + paid.stderr
    assert "fee $0.30, total $1.80" in paid.stdout and "Paid a bonus of $1.50" in paid.stdout
    (payment,) = _bonuses(cli_env, server, aid)
    assert payment["BonusAmount"] == "1.50" and payment["Reference"].startswith("tt:")
    assert payment["Reason"] == f"great work [{payment['Reference']}]"
    again = run_cli(cli_env, "bonus", aid, "1.50", "--reason", "great work", *url)
    assert again.returncode == 3 and "--allow-second" in again.stdout
    assert len(_bonuses(cli_env, server, aid)) == 1
    second = run_cli(cli_env, "bonus", aid, "0.50", "--reason", "more", "--allow-second", *url)
    assert second.returncode == 0, second.stdout + second.stderr
    assert len(_bonuses(cli_env, server, aid)) == 2


def test_the_same_token_never_pays_twice(cli_env: dict[str, str], work: Any) -> None:
    server, _hit, aid = work
    args = ("bonus", aid, "2.00", "--reason", "r", "--token", "T-1", "--endpoint-url", server.url)
    server.faults.add("SendBonus", drop=1.0)
    lost = run_cli(cli_env, *args)
    assert lost.returncode == 5, lost.stdout + lost.stderr
    server.faults.clear()
    rerun = run_cli(cli_env, *args)
    assert rerun.returncode == 0, rerun.stdout + rerun.stderr
    assert "settling it (never paying twice)" in rerun.stdout
    assert len(_bonuses(cli_env, server, aid)) == 1
    third = run_cli(cli_env, *args)
    assert third.returncode == 0 and len(_bonuses(cli_env, server, aid)) == 1


@pytest.mark.parametrize(
    ("amount", "reason", "says"),
    [
        ("1.005", "r", "not a bonus amount"),
        ("-1", "r", "not a bonus amount"),
        ("1e3", "r", "not a bonus amount"),
        ("0.00", "r", "more than $0.00"),
        ("1.00", " ", "reason is required"),
        ("1.00", "tab\there", "control character"),
    ],
)
def test_bad_input_is_one_line_and_sends_nothing(
    cli_env: dict[str, str], work: Any, amount: str, reason: str, says: str
) -> None:
    server, _hit, aid = work
    ran = run_cli(cli_env, "bonus", aid, amount, "--reason", reason, "--endpoint-url", server.url)
    assert ran.returncode == 2 and says in ran.stderr, ran.stderr
    assert len(ran.stderr.strip().splitlines()) == 1 and "Traceback" not in ran.stderr
    assert _bonuses(cli_env, server, aid) == []


def test_a_balance_too_small_is_refused(cli_env: dict[str, str], make_emulator: Any) -> None:
    server = make_emulator(0, balance="1.00")
    now = FIXED_NOW.timestamp()
    hit_id = server.state.add_hit(
        CreationTime=now - DAY,
        Expiration=now + 30 * DAY,
        Reward="0.10",
        MaxAssignments=1,
        NumberOfAssignmentsSubmitted=1,
    )
    from turktui.emulator.assignments import assignment_id

    aid = assignment_id(hit_id, 0)
    ran = run_cli(cli_env, "bonus", aid, "5.00", "--reason", "r", "--endpoint-url", server.url)
    assert ran.returncode == 3 and "more than the available balance" in ran.stdout
    assert _bonuses(cli_env, server, aid) == []


def test_bonuses_of_a_hit_as_text_and_csv(cli_env: dict[str, str], work: Any) -> None:
    server, hit_id, aid = work
    url = ("--endpoint-url", server.url)
    assert run_cli(cli_env, "bonus", aid, "1.00", "--reason", 'say "hi", ok', *url).returncode == 0
    text = run_cli(cli_env, "bonuses", "--hit", hit_id, *url)
    assert text.returncode == 0 and "1 bonus payment, $1.00" in text.stdout
    table = run_cli(cli_env, "bonuses", "--hit", hit_id, "--csv", *url)
    rows = list(csv.DictReader(io.StringIO(table.stdout)))
    assert [r["AssignmentId"] for r in rows] == [aid]
    assert rows[0]["Reason"].startswith('say "hi", ok [tt:')
    unknown = run_cli(cli_env, "bonuses", "--hit", "NOSUCHHIT", *url)
    assert unknown.returncode == 4 and "does not exist" in unknown.stderr


def test_sigkill_after_the_bonus_was_sent_then_resolve_pays_nothing_twice(
    cli_env: dict[str, str], work: Any
) -> None:
    import signal

    from tests.runcli import run_process
    from tests.seams import crash_after_send

    server, _hit, aid = work
    crashed = run_process(
        cli_env,
        "bonus",
        aid,
        "1.00",
        "--reason",
        "r",
        "--endpoint-url",
        server.url,
        extra=crash_after_send(),
    )
    assert crashed.returncode == -signal.SIGKILL, crashed.stderr
    assert len(_bonuses(cli_env, server, aid)) == 1  # it was paid
    pending = json.loads(run_cli(cli_env, "history", "--json", "--unsettled").stdout)
    assert [r["state"] for r in pending["records"]] == ["sending"]
    settled = run_cli(cli_env, "resolve", "--yes", "--json", "--endpoint-url", server.url)
    assert settled.returncode == 0, settled.stdout + settled.stderr
    assert [r["state"] for r in json.loads(settled.stdout)["records"]] == ["resolved_succeeded"]
    assert len(_bonuses(cli_env, server, aid)) == 1  # exactly once


def test_the_history_names_each_action(cli_env: dict[str, str], work: Any) -> None:
    server, _hit, aid = work
    url = ("--endpoint-url", server.url)
    assert run_cli(cli_env, "approve", aid, *url).returncode == 0
    assert run_cli(cli_env, "bonus", aid, "1.00", "--reason", "r", *url).returncode == 0
    listing = run_cli(cli_env, "history", "--limit", "10")
    assert listing.returncode == 0, listing.stderr
    lines = [line for line in listing.stdout.splitlines() if line[:2] in ("#1", "#2")]
    assert len(lines) == 2
    assert " bonus " in lines[0] and " approve " in lines[1]
    records = json.loads(run_cli(cli_env, "history", "--json").stdout)["records"]
    assert [r["operation"] for r in records] == ["bonus", "approve"]
    bonus, approve = records
    assert approve["subject"] == aid and approve["data"]["worker_id"]
    assert (
        bonus["data"]["amount"] == "1.00"
        and bonus["data"]["worker_id"] == (approve["data"]["worker_id"])
    )
