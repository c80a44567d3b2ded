"""`turktui list` over loopback: the same HITs as `aws mturk list-hits`, the app's filters,
JSON Lines / JSON array / CSV."""

from __future__ import annotations

import csv
import io
import json
import subprocess
import sys
from datetime import UTC, datetime
from typing import Any

import pytest

from tests.runcli import run_cli
from turktui.emulator import EmulatorServer


@pytest.fixture(scope="module")
def srv() -> EmulatorServer:
    with EmulatorServer(hits=430, seed=11) as server:
        yield server


def lines(srv: EmulatorServer, env: dict[str, str], *args: str) -> list[dict]:
    res = run_cli(env, "list", "--json", "--endpoint-url", srv.url, *args)
    assert res.returncode == 0, res.stderr
    return [json.loads(line) for line in res.stdout.splitlines()]


def test_list_json_agrees_with_aws_cli(srv: EmulatorServer, cli_env: dict[str, str]) -> None:
    aws = subprocess.run(
        [
            sys.executable,
            "-m",
            "awscli",
            "mturk",
            "list-hits",
            "--endpoint-url",
            srv.url,
            "--region",
            "us-east-1",
            "--output",
            "json",
        ],
        env=cli_env,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert aws.returncode == 0, aws.stderr
    theirs = json.loads(aws.stdout)["HITs"]
    ours = lines(srv, cli_env)
    assert len(ours) == len(theirs) == 430
    assert [h["HITId"] for h in ours] == [h["HITId"] for h in theirs]
    by_id = {h["HITId"]: h for h in theirs}
    for hit in ours:
        other = by_id[hit["HITId"]]
        for key in (
            "MaxAssignments",
            "NumberOfAssignmentsAvailable",
            "NumberOfAssignmentsPending",
            "NumberOfAssignmentsCompleted",
            "HITStatus",
            "Title",
        ):
            assert hit[key] == other[key], (hit["HITId"], key)


def test_filters_match_the_app_rules(srv: EmulatorServer, cli_env: dict[str, str]) -> None:
    every = lines(srv, cli_env)
    now = datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
    expired = lines(srv, cli_env, "--expired")
    assert expired and len(expired) < len(every)
    assert all(h["Expired"] and h["Expiration"] <= now for h in expired)
    assert {h["HITId"] for h in expired} == {h["HITId"] for h in every if h["Expired"]}
    ext = lines(srv, cli_env, "--extendable")
    assert ext and all(h["Extendable"] and h["CanAdd"] >= 1 for h in ext)
    assert {h["HITId"] for h in ext} == {h["HITId"] for h in every if h["Extendable"]}
    word = every[5]["Title"].split()[0].upper()
    text = lines(srv, cli_env, "--filter", word)
    assert text and all(word.casefold() in h["Title"].casefold() for h in text)
    review = lines(srv, cli_env, "--status", "reviewable")
    assert review and {h["HITStatus"] for h in review} == {"Reviewable"}
    both = lines(srv, cli_env, "--status", "Reviewable", "--expired", "--extendable")
    assert {h["HITId"] for h in both} == {
        h["HITId"]
        for h in every
        if h["Expired"] and h["Extendable"] and h["HITStatus"] == "Reviewable"
    }


def test_json_array_and_csv_hold_the_same_hits(
    srv: EmulatorServer, cli_env: dict[str, str]
) -> None:
    ids = [h["HITId"] for h in lines(srv, cli_env, "--expired")]
    res = run_cli(cli_env, "list", "--json-array", "--expired", "--endpoint-url", srv.url)
    assert res.returncode == 0, res.stderr
    assert [h["HITId"] for h in json.loads(res.stdout)] == ids
    res = run_cli(cli_env, "list", "--csv", "--expired", "--endpoint-url", srv.url)
    assert res.returncode == 0, res.stderr
    rows = list(csv.DictReader(io.StringIO(res.stdout)))
    assert [r["HITId"] for r in rows] == ids
    none = run_cli(
        cli_env,
        "list",
        "--json-array",
        "--filter",
        "no such text at all",
        "--endpoint-url",
        srv.url,
    )
    assert none.returncode == 0 and json.loads(none.stdout) == []


def test_unreachable_endpoint_is_one_line_exit_4(cli_env: dict[str, str]) -> None:
    res = run_cli(cli_env, "list", "--json", "--endpoint-url", "http://127.0.0.1:9")
    assert res.returncode == 4, res.stderr
    assert "Traceback" not in res.stderr and res.stdout == ""
    assert "incomplete" in res.stderr


@pytest.mark.parametrize("empty_last_page", [True, False], ids=["mturk-shape", "short-shape"])
def test_list_reads_both_ends_of_a_listing(
    make_emulator: Any, cli_env: dict[str, str], empty_last_page: bool
) -> None:
    # MTurk ends a listing with an empty page (FIDELITY.md); other services end on the last
    # page without a NextToken: `turktui list` gives every HIT once either way
    server = make_emulator(250, empty_last_page=empty_last_page)
    res = run_cli(cli_env, "list", "--endpoint-url", server.url)
    assert res.returncode == 0, res.stderr
    assert res.stderr.strip().endswith("250 HITs")
    res = run_cli(cli_env, "list", "--json", "--endpoint-url", server.url)
    assert [json.loads(line)["HITId"] for line in res.stdout.splitlines()] == (
        server.state.hit_ids()
    )
    assert server.state.request_count("ListHITs") == 2 * (4 if empty_last_page else 3)
