"""`turktui extend` shows the engine's plan's verdicts and makes no rule check of its own (the
+N rules, the ranges, HITTooOldForExtension, the time rules live in `Engine.plan` alone), and
prints the request's words from its operation (the lines the app's confirmation shows).

Was: cmd_extend checked the range itself before planning (a copy of the plan's check with its
own wording), so the plan was never asked for a request the rules refuse."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from typing import Any

import pytest

from tests.runcli import run_cli
from turktui.pipeline import engine as engine_module
from turktui.pipeline.model import PlanRefused

CREATE = "CreateAdditionalAssignmentsForHIT"
OLD = datetime(2015, 1, 1, tzinfo=UTC).timestamp()


@pytest.fixture
def planned(monkeypatch: pytest.MonkeyPatch) -> list[tuple[int, Any]]:
    """Every (n, expire_at) the engine's plan is asked for."""
    asked: list[tuple[int, Any]] = []
    plan = engine_module.Engine.plan

    def spy(self: Any, hit: Any, n: int, expire_at: Any = None, **kw: Any) -> Any:
        asked.append((n, expire_at))
        return plan(self, hit, n, expire_at, **kw)

    monkeypatch.setattr(engine_module.Engine, "plan", spy)
    return asked


@pytest.mark.parametrize(
    ("fields", "argv", "code", "words"),
    [
        ({"MaxAssignments": 3}, ("50",), "rules", "At most 6 can be added: this HIT has 3"),
        ({"MaxAssignments": 12, "CreationTime": OLD}, ("5",), "rules", "before 2015-07-22"),
        ({"MaxAssignments": 9}, ("1",), "rules", "Cannot be extended: this HIT has 9"),
        ({"MaxAssignments": 3}, ("--expire-in", "30s"), "expiration", "60 s"),
    ],
    ids=["range", "too-old", "no-headroom", "time"],
)
def test_the_plan_refuses_and_the_cli_shows_its_verdict(
    fields: dict[str, Any],
    argv: tuple[str, ...],
    code: str,
    words: str,
    planned: list[tuple[int, Any]],
    cli_env: dict[str, str],
    emulator: Any,
) -> None:
    hit = str(emulator.state.add_hit(**fields))
    ran = run_cli(cli_env, "extend", hit, *argv, "--json", "--endpoint-url", emulator.url)
    assert ran.returncode == 3, ran.stdout + ran.stderr
    data = json.loads(ran.stdout)
    assert data["state"] == "refused" and data["error_code"] == code
    assert data["message"].startswith("turktui: refused (nothing sent): ")
    assert words in data["message"]
    assert data["max_before"] == fields["MaxAssignments"] and data["hit_id"] == hit
    assert len(planned) == 1  # the verdict is the plan's
    assert emulator.state.request_count(CREATE) == 0


def test_the_plans_verdict_is_the_only_one(
    monkeypatch: pytest.MonkeyPatch, cli_env: dict[str, str], emulator: Any
) -> None:
    """A plan that refuses what the rules allow is shown as it is (no second opinion)."""

    def refuse(self: Any, hit: Any, n: int, *a: Any, **kw: Any) -> Any:
        raise PlanRefused("the plan says no", "rules")

    monkeypatch.setattr(engine_module.Engine, "plan", refuse)
    hit = str(emulator.state.add_hit(MaxAssignments=20))
    ran = run_cli(cli_env, "extend", hit, "2", "--endpoint-url", emulator.url)
    assert (ran.returncode, ran.stderr.strip()) == (
        3,
        "turktui: refused (nothing sent): the plan says no",
    )


def test_the_cli_prints_the_operations_words(cli_env: dict[str, str], emulator: Any) -> None:
    from turktui.pipeline.operations import add_assignments

    hit = str(emulator.state.add_hit(MaxAssignments=12, Reward="1.00", Title="Words"))
    ran = run_cli(cli_env, "extend", hit, "2", "--endpoint-url", emulator.url)
    assert ran.returncode == 0, ran.stderr
    lines = ran.stdout.splitlines()
    assert f"CUSTOM: add 2 assignments to HIT {hit}" in lines[0]
    assert lines[1:4] == [
        "\u201cWords\u201d",
        "MaxAssignments 12 \u2192 14.",
        f"Cost: {add_assignments.cost_text(_cost('1.00', 2, 14))}.",
    ]


def _cost(reward: str, n: int, new_max: int) -> Any:
    from decimal import Decimal

    from turktui.domain.rules import extension_cost

    return extension_cost(Decimal(reward), n, new_max)


def test_a_rerun_with_its_token_settles_its_request(
    cli_env: dict[str, str], emulator: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A script re-runs `extend H 2 --token T` after an unknown outcome: the engine attaches
    the re-run to that record and settles it (issue 21). Was: the command's own "one request
    per HIT" check refused it first (exit 3), naming the very request it would settle."""
    hit = str(emulator.state.add_hit(MaxAssignments=3))
    argv = ("extend", hit, "2", "--token", "T-rerun", "--endpoint-url", emulator.url)
    from turktui.pipeline.model import Backoff

    monkeypatch.setattr(Backoff, "delay", lambda *a: 0.0)  # the retries: no waiting
    emulator.faults.add(op=CREATE, drop=1.0)  # applied, every answer lost
    try:
        assert run_cli(cli_env, *argv).returncode == 5
    finally:
        emulator.faults.clear()
    again = run_cli(cli_env, *argv, "--json")
    assert again.returncode == 0, again.stdout + again.stderr
    data = json.loads(again.stdout)
    assert (data["record_id"], data["state"], data["max_after"]) == (1, "resolved_succeeded", 5)
    assert emulator.state.get_hit_raw(hit)["MaxAssignments"] == 5
