"""Issue 22: `turktui approve` and `turktui reject` over loopback (in-process CLI, the emulator
through real boto3): outcomes, repeats, bad input named on one line with nothing sent, the
confirmation, exit codes and --json."""

from __future__ import annotations

import json
from typing import Any

import pytest

from tests.reviewkit import hit_with_work
from tests.runcli import TEST_KEYS, run_cli
from turktui.adapters.mturk import MTurkService
from turktui.domain.environment import Environment, EnvKind

DAY = 86400.0


@pytest.fixture
def work(make_emulator: Any) -> tuple[Any, str, list[str], MTurkService]:
    server = make_emulator(0)
    hit_id = hit_with_work(server, 3)
    service = MTurkService(
        Environment(EnvKind.CUSTOM, server.url), credentials=tuple(TEST_KEYS.values())[:2]
    )
    ids = [a.assignment_id for a in service.list_assignments(hit_id)]
    return server, hit_id, ids, service


def _status(service: MTurkService, assignment_id: str) -> str:
    return service.get_assignment(assignment_id)[0].status


def test_approve_then_again_is_already_approved(cli_env: dict[str, str], work: Any) -> None:
    server, _hit, ids, service = work
    done = run_cli(
        cli_env, "approve", ids[0], "--feedback", "Thanks!", "--endpoint-url", server.url
    )
    assert done.returncode == 0, done.stderr
    assert f"{ids[0]}: Approved assignment {ids[0]}" in done.stdout
    assert "Confirmed: the assignment is Approved" in done.stdout
    assert _status(service, ids[0]) == "Approved"
    again = run_cli(cli_env, "approve", ids[0], "--json", "--endpoint-url", server.url)
    assert again.returncode == 0, again.stderr
    data = json.loads(again.stdout)
    (result,) = data["results"]
    assert result["state"] == "succeeded" and "Already approved" in result["message"]
    assert result["attempt_count"] == 0


def test_approve_all_submitted_of_a_hit(cli_env: dict[str, str], work: Any) -> None:
    server, hit_id, ids, service = work
    reads = server.state.request_count("GetAssignment")
    listings = server.state.request_count("ListAssignmentsForHIT")
    done = run_cli(
        cli_env, "approve", "--hit", hit_id, "--all-submitted", "--endpoint-url", server.url
    )
    assert done.returncode == 0, done.stderr
    assert "3 of 3 assignments approved" in done.stdout
    assert "Approve 3 assignments (about $3.60 with MTurk's fee" in done.stdout
    assert "Confirmed: the assignment is Approved" in done.stdout
    # in the order listed; planned from the HIT's listing and confirmed by listing it again
    # (the 1,000-approval budget): no GetAssignment each
    assert sorted(ids, key=done.stdout.index) == ids
    assert server.state.request_count("GetAssignment") == reads
    # two listings (the preview's, the confirmation's): a page each and the empty page that
    # ends it
    assert server.state.request_count("ListAssignmentsForHIT") - listings == 4
    assert {_status(service, a) for a in ids} == {"Approved"}
    none_left = run_cli(
        cli_env, "approve", "--hit", hit_id, "--all-submitted", "--endpoint-url", server.url
    )
    assert none_left.returncode == 0 and "no Submitted assignment" in none_left.stdout


def test_reject_needs_yes_feedback_and_then_refuses_approve_without_override(
    cli_env: dict[str, str], work: Any
) -> None:
    server, _hit, ids, service = work
    asked = run_cli(cli_env, "reject", ids[0], "--feedback", "random", "--endpoint-url", server.url)
    assert asked.returncode == 2 and "pass --yes" in asked.stderr
    assert _status(service, ids[0]) == "Submitted"
    done = run_cli(
        cli_env, "reject", ids[0], "--feedback", "random", "--yes", "--endpoint-url", server.url
    )
    assert done.returncode == 0, done.stderr
    assert _status(service, ids[0]) == "Rejected"
    refused = run_cli(cli_env, "approve", ids[0], "--endpoint-url", server.url)
    assert refused.returncode == 3 and "--override-rejection" in refused.stdout
    assert _status(service, ids[0]) == "Rejected"
    override = run_cli(
        cli_env, "approve", ids[0], "--override-rejection", "--endpoint-url", server.url
    )
    assert override.returncode == 0, override.stderr
    assert _status(service, ids[0]) == "Approved"


@pytest.mark.parametrize(
    ("args", "says"),
    [
        (["reject", "{a}", "--feedback", "bad\x1b[31m", "--yes"], "control character"),
        (["reject", "{a}", "--feedback", "x" * 1025, "--yes"], "at most 1,024"),
        (["reject", "{a}", "--feedback", "   ", "--yes"], "feedback is required"),
        (["approve", "{a}", "--feedback", "tab\there"], "control character"),
        (["approve", "not an id!"], "not an assignment id"),
        (["approve", "--hit", "HIT1"], "--hit and --all-submitted go together"),
    ],
)
def test_bad_input_is_one_line_and_sends_nothing(
    cli_env: dict[str, str], work: Any, args: list[str], says: str
) -> None:
    server, _hit, ids, service = work
    argv = [a.replace("{a}", ids[0]) for a in args]
    result = run_cli(cli_env, *argv, "--endpoint-url", server.url)
    assert result.returncode == 2, result.stderr
    assert says in result.stderr and "Traceback" not in result.stderr
    assert len(result.stderr.strip().splitlines()) == 1
    assert _status(service, ids[0]) == "Submitted"


def test_an_unknown_assignment_is_refused_and_the_others_go_through(
    cli_env: dict[str, str], work: Any
) -> None:
    server, _hit, ids, service = work
    result = run_cli(cli_env, "approve", "NOSUCHASSIGNMENT", ids[1], "--endpoint-url", server.url)
    assert result.returncode == 3, result.stderr
    assert "NOSUCHASSIGNMENT: refused" in result.stdout and "does not exist" in result.stdout
    assert _status(service, ids[1]) == "Approved"


def test_status_null_is_unknown_then_resolve_settles_it(cli_env: dict[str, str], work: Any) -> None:
    server, _hit, ids, service = work
    server.state.assignment_lag = 1e9
    result = run_cli(cli_env, "approve", ids[0], "--endpoint-url", server.url)
    assert result.returncode == 5, result.stderr
    assert "turktui resolve" in result.stdout and "failed" not in result.stdout.lower()
    assert "status of: null" in result.stdout and "may have been applied" not in result.stdout
    server.state.assignment_lag = 0.0
    settled = run_cli(cli_env, "resolve", "--yes", "--endpoint-url", server.url)
    assert settled.returncode == 0, settled.stderr + settled.stdout
    assert _status(service, ids[0]) == "Approved"
