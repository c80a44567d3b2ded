"""`turktui extend` with several HITs, --from-file, every mode; history/resolve --batch."""

from __future__ import annotations

import json
import time

import pytest

from tests.bulk.conftest import OP
from tests.runcli import run_cli


def _hits(server, maxes: list[int], **kw) -> list[str]:  # type: ignore[no-untyped-def]
    return [
        server.state.add_hit(MaxAssignments=m, Reward="0.20", CreationTime=time.time() - 60, **kw)
        for m in maxes
    ]


def _max(server, hit_id: str) -> int:  # type: ignore[no-untyped-def]
    return int(server.state.get_hit_raw(hit_id)["MaxAssignments"])


@pytest.mark.parametrize(
    ("mode", "expected", "code"),
    [
        (["--add", "3"], [4, 7, 9, 23], 3),  # the 9 is refused → 3
        (["--top-up-to", "25"], [9, 9, 9, 25], 0),
        (["--top-up-to-nine"], [9, 9, 9, 20], 0),
        (["--top-up-to-nine", "--large-add", "2"], [9, 9, 9, 22], 0),
    ],
    ids=["add", "top-up-to", "nine", "nine+large"],
)
def test_modes_with_several_ids(server, cli_env, mode, expected, code) -> None:
    ids = _hits(server, [1, 4, 9, 20])
    res = run_cli(cli_env, "extend", *ids, *mode, "--yes", "--json", "--endpoint-url", server.url)
    assert res.returncode == code, res.stderr
    data = json.loads(res.stdout)
    assert data["exit_code"] == code and data["batch_id"].startswith("batch-")
    assert [_max(server, h) for h in ids] == expected
    assert [p["hit_id"] for p in data["preview"]] == ids
    assert len({m["token"] for m in data["members"]}) == len(data["members"])
    assert "HIT id" in res.stderr and "to send" in res.stderr  # the preview, on stderr in --json


def test_from_file_with_comments_and_history_batch(server, cli_env, tmp_path) -> None:
    ids = _hits(server, [10, 30])
    path = tmp_path / "ids.txt"
    path.write_text(f"# survey batch\n{ids[0]}  # first\n\n{ids[1]}\n{ids[0]}\n")
    res = run_cli(
        cli_env,
        "extend",
        "--from-file",
        str(path),
        "--add",
        "5",
        "--yes",
        "--endpoint-url",
        server.url,
    )
    assert res.returncode == 0, res.stderr
    assert [_max(server, h) for h in ids] == [15, 35]  # the repeated id is sent once
    assert "2 of 2 succeeded" in res.stdout and "+10 assignments" in res.stdout
    bid = res.stdout.split("Batch ")[1].split(":")[0]
    hist = run_cli(cli_env, "history")
    assert f"[{bid}]" in hist.stdout
    members = run_cli(cli_env, "history", "--batch", bid, "--json")
    assert json.loads(members.stdout)["count"] == 2


def test_unknown_then_resolve_batch_and_retry_batch(server, cli_env) -> None:
    ids = _hits(server, [20, 20, 20])
    server.faults.add(op=OP, drop=1.0)  # applied, every answer lost → unknown
    res = run_cli(
        cli_env, "extend", *ids, "--add", "1", "--yes", "--json", "--endpoint-url", server.url
    )
    assert res.returncode == 5, res.stderr
    data = json.loads(res.stdout)
    assert data["unknown"] == 3 and "--retry-batch" in data["message"]
    server.faults.clear()
    resolved = run_cli(
        cli_env,
        "resolve",
        "--batch",
        data["batch_id"],
        "--yes",
        "--json",
        "--endpoint-url",
        server.url,
    )
    assert resolved.returncode == 0, resolved.stderr
    assert {r["state"] for r in json.loads(resolved.stdout)["records"]} == {"resolved_succeeded"}
    assert [_max(server, h) for h in ids] == [21, 21, 21]
    again = run_cli(
        cli_env, "extend", "--retry-batch", data["batch_id"], "--json", "--endpoint-url", server.url
    )
    assert again.returncode == 0 and json.loads(again.stdout)["succeeded"] == 3


def test_usage_errors_and_single_form_unchanged(server, cli_env) -> None:
    ids = _hits(server, [20, 20])
    assert run_cli(cli_env, "extend", *ids, "--endpoint-url", server.url).returncode == 2
    assert (
        run_cli(cli_env, "extend", ids[0], "--add", "0", "--endpoint-url", server.url).returncode
        == 2
    )
    nothing = run_cli(
        cli_env, "extend", ids[0], "--top-up-to", "5", "--yes", "--endpoint-url", server.url
    )
    assert nothing.returncode == 3 and "nothing to send" in nothing.stderr
    single = run_cli(cli_env, "extend", ids[0], "2", "--json", "--endpoint-url", server.url)
    assert single.returncode == 0 and json.loads(single.stdout)["max_after"] == 22
    assert "--top-up-to-nine" in run_cli(cli_env, "extend", "--help").stdout


def test_insufficient_balance_refuses_before_sending(server, cli_env) -> None:
    ids = _hits(server, [20, 20])
    server.state.set_balance("0.10")
    poor = run_cli(cli_env, "extend", *ids, "--add", "5", "--yes", "--endpoint-url", server.url)
    assert poor.returncode == 3 and "does not cover" in poor.stderr
    assert [_max(server, h) for h in ids] == [20, 20]
