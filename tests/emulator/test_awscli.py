"""The real AWS CLI against the emulator (awscli's own driver, in-process: tests/runcli.py)."""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

import pytest

from tests.runcli import Ran, run_aws
from turktui.emulator import EmulatorServer


@pytest.fixture(scope="module")
def cli_srv() -> Iterator[EmulatorServer]:
    with EmulatorServer(hits=260, seed=5) as srv:
        yield srv


def _aws(srv: EmulatorServer, env: dict[str, str], *args: str) -> Ran:
    return run_aws(
        env,
        "mturk",
        *args,
        "--endpoint-url",
        srv.url,
        "--region",
        "us-east-1",
        "--output",
        "json",
    )


def _json(proc: Ran) -> Any:
    assert proc.returncode == 0, proc.stderr
    return json.loads(proc.stdout) if proc.stdout.strip() else None


def test_list_hits_paginates_everything(
    cli_srv: EmulatorServer, subprocess_env: dict[str, str]
) -> None:
    out = _json(_aws(cli_srv, subprocess_env, "list-hits"))
    assert [h["HITId"] for h in out["HITs"]] == cli_srv.state.hit_ids()
    assert len(out["HITs"]) == 260
    assert cli_srv.state.request_count("ListHITs") >= 3  # automatic pagination happened


def test_get_hit_and_extensions(cli_srv: EmulatorServer, subprocess_env: dict[str, str]) -> None:
    hid = next(
        h
        for h in cli_srv.state.hit_ids()
        if cli_srv.state.get_hit_raw(h)["MaxAssignments"] >= 10
        and cli_srv.state.get_hit_raw(h)["CreationTime"] > 1.5e9
    )
    before = cli_srv.state.get_hit_raw(hid)["MaxAssignments"]
    out = _json(_aws(cli_srv, subprocess_env, "get-hit", "--hit-id", hid))
    assert out["HIT"]["HITId"] == hid and out["HIT"]["MaxAssignments"] == before
    _json(
        _aws(
            cli_srv,
            subprocess_env,
            "create-additional-assignments-for-hit",
            "--hit-id",
            hid,
            "--number-of-additional-assignments",
            "2",
        )
    )
    _json(
        _aws(
            cli_srv,
            subprocess_env,
            "create-additional-assignments-for-hit",
            "--hit-id",
            hid,
            "--number-of-additional-assignments",
            "3",
            "--unique-request-token",
            "cli-token-1",
        )
    )
    assert cli_srv.state.get_hit_raw(hid)["MaxAssignments"] == before + 5
    again = _aws(
        cli_srv,
        subprocess_env,
        "create-additional-assignments-for-hit",
        "--hit-id",
        hid,
        "--number-of-additional-assignments",
        "3",
        "--unique-request-token",
        "cli-token-1",
    )
    assert again.returncode in (254, 255)
    assert 'The idempotency token "cli-token-1" has already been processed.' in again.stderr
    assert cli_srv.state.get_hit_raw(hid)["MaxAssignments"] == before + 5


@pytest.fixture
def own_srv() -> Iterator[EmulatorServer]:
    """A server of its own (the module's is shared by tests that count its HITs)."""
    with EmulatorServer(hits=60, seed=5) as srv:
        yield srv


def test_review_and_pay(own_srv: EmulatorServer, subprocess_env: dict[str, str]) -> None:
    # One AWS CLI call per new operation: the CLI's own shapes and pagination agree.
    cli_srv = own_srv
    state = cli_srv.state
    hid = next(h for h in state.hit_ids() if state.submitted_count(h) >= 2)
    work = state.op_list_assignments_for_hit(
        {"HITId": hid, "AssignmentStatuses": ["Submitted"], "MaxResults": 100}
    )["Assignments"]
    first, second = work[0], work[1]
    got = _json(
        _aws(cli_srv, subprocess_env, "get-assignment", "--assignment-id", first["AssignmentId"])
    )
    assert got["Assignment"]["AssignmentStatus"] == "Submitted" and got["HIT"]["HITId"] == hid
    _json(
        _aws(
            cli_srv, subprocess_env, "approve-assignment", "--assignment-id", first["AssignmentId"]
        )
    )
    rejected = _aws(
        cli_srv,
        subprocess_env,
        "reject-assignment",
        "--assignment-id",
        second["AssignmentId"],
        "--requester-feedback",
        "Off topic",
    )
    _json(rejected)
    for token in ("cli-bonus-1", "cli-bonus-2"):
        _json(
            _aws(
                cli_srv,
                subprocess_env,
                "send-bonus",
                "--worker-id",
                first["WorkerId"],
                "--assignment-id",
                first["AssignmentId"],
                "--bonus-amount",
                "0.50",
                "--reason",
                token,
                "--unique-request-token",
                token,
            )
        )
    paid = _json(
        _aws(cli_srv, subprocess_env, "list-bonus-payments", "--hit-id", hid, "--page-size", "1")
    )
    assert [b["Reason"] for b in paid["BonusPayments"]] == ["cli-bonus-1", "cli-bonus-2"]
    type_id = _json(
        _aws(
            cli_srv,
            subprocess_env,
            "create-hit-type",
            "--assignment-duration-in-seconds",
            "600",
            "--reward",
            "0.10",
            "--title",
            "CLI type",
            "--description",
            "made by the AWS CLI",
        )
    )["HITTypeId"]
    made = _json(
        _aws(
            cli_srv,
            subprocess_env,
            "create-hit-with-hit-type",
            "--hit-type-id",
            type_id,
            "--lifetime-in-seconds",
            "600",
            "--question",
            "<q/>",
        )
    )
    assert made["HIT"]["HITTypeId"] == type_id and made["HIT"]["QualificationRequirements"] == []
    reviewable = _json(_aws(cli_srv, subprocess_env, "list-reviewable-hits"))
    assert {h["HITId"] for h in reviewable["HITs"]} == {
        h for h in state.hit_ids() if state.get_hit_raw(h)["HITStatus"] == "Reviewable"
    }
