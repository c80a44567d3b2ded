"""Issue 22: `turktui bonus --csv FILE` — every row previewed with its fee and the total
before anything is sent, bad rows named with their row number (nothing sent unless
--send-valid), and a re-run of the same file paying nothing twice."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from tests.conftest import FIXED_NOW
from tests.reviewkit import hit_with_work
from tests.runcli import run_cli
from turktui.domain.bonusfile import read_bonus_file
from turktui.emulator.assignments import assignment_id, worker_id

DAY = 86400.0
READS = ("GetAssignment", "ListAssignmentsForHIT", "ListBonusPayments")


@pytest.fixture
def work(make_emulator: Any) -> tuple[Any, list[str]]:
    server = make_emulator(0)
    hit_id = hit_with_work(server, 3)
    return server, [assignment_id(hit_id, i) for i in range(3)]


def _paid(server: Any) -> int:
    return len(server.state._bonuses)


@pytest.mark.parametrize(
    ("text", "says"),
    [
        ("assignment_id,amount\nA1,1.00\n", "row 1: the header lacks reason"),
        ("assignment_id,amount,reason\nA1,1.005,r\n", "row 2: not a bonus amount"),
        ("assignment_id,amount,reason\nA1,-1,r\n", "row 2: not a bonus amount"),
        ("assignment_id,amount,reason\nA1,1e3,r\n", "row 2: not a bonus amount"),
        ("assignment_id,amount,reason\nA1,1.00\n", "row 2: 2 column(s)"),
        ("assignment_id,amount,reason\nA1,1.00,\x07\n", "row 2: reason has a control character"),
        ("assignment_id,amount,reason\nA1,1.00,r\nA1,1.00,r\n", "row 3: the same bonus as row 2"),
        ('assignment_id,amount,reason\nA1,1.00,"unclosed\n', "unreadable CSV"),
    ],
)
def test_bad_rows_are_named(text: str, says: str) -> None:
    _rows, problems = read_bonus_file(text.encode())
    assert any(says in str(p) for p in problems), problems


def test_bom_quotes_and_column_order_are_read() -> None:
    data = '\ufeffreason,amount,assignment_id\n"thanks, really",1.50,A1\n'.encode()
    (row,), problems = read_bonus_file(data)
    assert problems == [] and row.reason == "thanks, really" and row.assignment_id == "A1"
    assert row.worker_id == ""
    data = b"worker_id,assignment_id,amount,reason\nW1,A1,1.00,r\n,A2,1.00,r\nW 3,A3,1.00,r\n"
    rows, problems = read_bonus_file(data)
    assert [(r.assignment_id, r.worker_id) for r in rows] == [("A1", "W1"), ("A2", "")]
    assert [str(p) for p in problems] == ["row 4: not a worker id: 'W 3'"]
    # the worker is not part of the row's intent: adding the column keeps the token
    assert rows[0].token("x") == read_bonus_file(b"assignment_id,amount,reason\nA1,1.00,r\n")[0][
        0
    ].token("x")


def test_a_file_is_previewed_paid_and_a_rerun_pays_nothing_twice(
    cli_env: dict[str, str], work: Any, tmp_path: Path
) -> None:
    server, ids = work
    path = tmp_path / "bonuses.csv"
    path.write_text(
        "assignment_id,amount,reason\n"
        f'{ids[0]},1.00,good\n{ids[1]},0.03,tiny\n{ids[2]},2.50,"great, thanks"\n'
    )
    url = ("--endpoint-url", server.url)
    ran = run_cli(cli_env, "bonus", "--csv", str(path), *url)
    assert ran.returncode == 0, ran.stdout + ran.stderr
    # the preview: each row with its fee; the total (fees 0.20 + 0.01 minimum + 0.50)
    assert "fee   $0.01" in ran.stdout
    assert "3 bonus(es) to pay: $3.53 + fee $0.71 = $4.24" in ran.stdout
    assert _paid(server) == 3
    again = run_cli(cli_env, "bonus", "--csv", str(path), "--json", *url)
    assert again.returncode == 0, again.stdout + again.stderr
    data = json.loads(again.stdout)
    assert data["already_paid"] == [2, 3, 4] and _paid(server) == 3
    assert {r["state"] for r in data["results"]} == {"already_paid"}


def test_errors_send_nothing_unless_send_valid(
    cli_env: dict[str, str], work: Any, tmp_path: Path
) -> None:
    server, ids = work
    [hit_id] = server.state._hits
    path = tmp_path / "bonuses.csv"
    path.write_text(  # the optional worker_id column: checked against the assignment's worker
        "assignment_id,amount,reason,worker_id\n"
        f"{ids[0]},1.00,good,{worker_id(hit_id, 0)}\nNOSUCHASSIGNMENT,1.00,who,\n"
        f"{ids[1]},1e3,bad,\n{ids[2]},1.00,wrong worker,{worker_id(hit_id, 0)}\n"
    )
    url = ("--endpoint-url", server.url)
    ran = run_cli(cli_env, "bonus", "--csv", str(path), *url)
    assert ran.returncode == 2, ran.stdout + ran.stderr
    assert "row     3  ERROR: MTurk refused it: Assignment NOSUCHASSIGNMENT does not exist" in (
        ran.stdout
    )
    assert "row     4  ERROR: not a bonus amount" in ran.stdout
    assert (
        f"row     5  ERROR: worker_id {worker_id(hit_id, 0)} is not the worker of assignment "
        f"{ids[2]} ({worker_id(hit_id, 2)})"
    ) in ran.stdout
    assert "nothing was sent" in ran.stderr and _paid(server) == 0
    valid = run_cli(cli_env, "bonus", "--csv", str(path), "--send-valid", *url)
    assert valid.returncode == 3, valid.stdout + valid.stderr  # the bad rows: not sent
    assert _paid(server) == 1


def test_a_balance_too_small_for_the_file_sends_nothing(
    cli_env: dict[str, str], make_emulator: Any, tmp_path: Path
) -> None:
    server = make_emulator(0, balance="3.00")
    now = FIXED_NOW.timestamp()
    hit_id = server.state.add_hit(
        CreationTime=now - DAY,
        Expiration=now + 30 * DAY,
        Reward="0.10",
        MaxAssignments=2,
        NumberOfAssignmentsSubmitted=2,
    )
    path = tmp_path / "b.csv"
    path.write_text(
        "assignment_id,amount,reason\n"
        f"{assignment_id(hit_id, 0)},1.00,a\n{assignment_id(hit_id, 1)},2.00,b\n"
    )
    ran = run_cli(cli_env, "bonus", "--csv", str(path), "--endpoint-url", server.url)
    assert ran.returncode == 3 and "more than the available balance" in ran.stderr
    assert _paid(server) == 0


def test_rows_are_read_a_hit_at_a_time(
    cli_env: dict[str, str], make_emulator: Any, tmp_path: Path, monkeypatch: Any
) -> None:
    """A file's rows over two HITs are previewed with one GetAssignment, one assignment
    listing and one bonus listing per HIT (the 1,000-row preview budget), and an earlier
    bonus of one row is still found (already paid)."""
    from turktui.cli import prompts

    server = make_emulator(0)
    hits = [hit_with_work(server, 12) for _ in range(2)]
    ids = [assignment_id(h, i) for h in hits for i in range(12)]
    path = tmp_path / "bonuses.csv"
    path.write_text(f"assignment_id,amount,reason\n{ids[5]},1.00,first\n")
    url = ("--endpoint-url", server.url)
    assert run_cli(cli_env, "bonus", "--csv", str(path), *url).returncode == 0
    path.write_text("assignment_id,amount,reason\n" + "".join(f"{a},1.00,first\n" for a in ids))
    before = {op: server.state.request_count(op) for op in READS}
    monkeypatch.setattr(
        prompts, "confirm_spend", lambda *a: prompts.Declined(1, "declined", "preview only")
    )
    ran = run_cli(cli_env, "bonus", "--csv", str(path), "--json", *url)
    data = json.loads(ran.stdout)
    assert data["state"] == "declined" and _paid(server) == 1
    assert "23 bonus(es) to pay" in ran.stderr + ran.stdout
    used = {op: server.state.request_count(op) - before[op] for op in READS}
    pages = -(-12 // 10)  # ListAssignmentsForHIT's pages of 10
    assert used == {
        "GetAssignment": 2,
        "ListAssignmentsForHIT": 2 * pages,
        "ListBonusPayments": 3,  # the first HIT's listing ends with an empty page
    }
