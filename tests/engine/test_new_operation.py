"""Issue 21: a new operation is one module. This file alone defines one ("bump": one more
assignment, with a reason in its typed payload and words of its own) and runs it through
the engine, a batch, resolve and the CLI's history listing, with no change anywhere else in
the package: the registry is the only seam it touches."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.conftest import FIXED_NOW
from tests.runcli import TEST_KEYS, run_cli
from turktui.adapters.history import HistoryStore
from turktui.adapters.mturk import MTurkService
from turktui.domain.environment import Environment, EnvKind
from turktui.domain.models import Hit
from turktui.domain.records import Record, State
from turktui.pipeline import operations
from turktui.pipeline.batch import BatchRunner, new_batch_id
from turktui.pipeline.engine import Backoff, Engine
from turktui.pipeline.operations import (
    REGISTRY,
    HitOperation,
    Prepared,
    Read,
    Verdict,
    register,
)
from turktui.pipeline.resolving import settle

ADD = "CreateAdditionalAssignmentsForHIT"


class Bump(HitOperation):
    """One more assignment, for a reason kept in the record's payload."""

    name = "test_bump"
    mturk_name = ADD
    touches = frozenset({"max_assignments"})

    def prepare(self, record: Record, read: Read) -> Prepared:
        m = read.subject.max_assignments
        return Prepared({"max_before": m, "expected_after": m + 1})

    def send(self, service: Any, record: Record) -> None:
        service.create_additional_assignments(record.hit_id, 1, record.token)

    def confirm(self, record: Record, read: Read, processed: bool) -> Verdict:
        ok = read.subject.max_assignments == record.expected_after
        return Verdict(State.SUCCEEDED if ok else State.CONFLICT, "Bump confirmed." if ok else "")

    def replan(self, record: Record, read: Read) -> str | None:
        return None

    def compare(self, record: Record, read: Read) -> Verdict:
        m = read.subject.max_assignments
        if m == record.expected_after:
            return Verdict(State.RESOLVED_SUCCEEDED, "Bumped, by comparison.")
        if m == record.max_before:
            return Verdict(State.RESOLVED_NOT_APPLIED, "Not bumped, by comparison.")
        return Verdict(State.UNKNOWN, "Cannot tell.")

    def label(self, record: Record) -> str:
        return "bump"

    def what(self, record: Record) -> str:
        return f"bump HIT {record.hit_id} ({record.data.get('reason', '?')})"

    def done(self, record: Record) -> str:
        return f"Bumped HIT {record.hit_id} for {record.data.get('reason', '?')}."

    def disagree(self, record: Record) -> str:
        return f"expected {record.expected_after}"

    def numbers(self, record: Record, read: Read) -> str:
        return f"MaxAssignments is {read.subject.max_assignments}"


BUMP = Bump()


@pytest.fixture
def bump() -> Iterator[Bump]:
    register(BUMP)
    yield BUMP
    REGISTRY.pop(BUMP.name, None)


@pytest.fixture
def setup(make_emulator, cli_env, monkeypatch) -> Iterator[tuple[Any, Engine, HistoryStore]]:
    for key, value in TEST_KEYS.items():  # the dummy keys the CLI runs with
        monkeypatch.setenv(key, value)
    server = make_emulator(0)
    env = Environment(EnvKind.CUSTOM, server.url)
    path = Path(cli_env["XDG_DATA_HOME"]) / "turktui" / "history.sqlite3"
    history = HistoryStore(path)  # the CLI's own history file
    engine = Engine(
        MTurkService(env, read_timeout=0.5, connect_timeout=0.5),
        history,
        env,
        clock=lambda: FIXED_NOW,
        backoff=Backoff(attempts=2, base=0.01, cap=0.02, total=1),
    )
    try:
        yield server, engine, history
    finally:
        history.close()


def _hit(server: Any, engine: Engine) -> Hit:
    hit_id = server.state.add_hit(MaxAssignments=10, Reward="0.10", Title="Bumpable")
    hit: Hit = engine.service.get_hit(hit_id)
    return hit


def test_a_new_operation_runs_through_engine_batch_resolve_and_cli(
    bump: Bump, setup: tuple[Any, Engine, HistoryStore], cli_env: dict[str, str]
) -> None:
    server, engine, history = setup
    assert (
        operations.operation_of(
            engine.request(bump, _hit(server, engine), payload={"reason": "pilot"})
        )
        is bump
    )

    # the engine: recorded before it is sent, sent, confirmed
    hit = _hit(server, engine)
    record = engine.request(bump, hit, payload={"reason": "pilot"})
    assert record.state is State.PLANNED and record.operation == "test_bump"
    outcomes: list[Any] = []
    engine.dispatch([record], on_outcome=lambda r, o: outcomes.append(o))
    (outcome,) = outcomes
    assert outcome.record.state is State.SUCCEEDED, outcome.message
    assert outcome.message.startswith(f"Bumped HIT {hit.hit_id} for pilot.")
    assert server.state.get_hit_raw(hit.hit_id)["MaxAssignments"] == 11
    assert history.get(record.id).data["reason"] == "pilot"

    # a batch
    bid = new_batch_id()
    members = [
        engine.request(bump, _hit(server, engine), payload={"reason": "batch"}, batch_id=bid)
        for _ in range(3)
    ]
    report = BatchRunner(engine, workers=2).send(bid, members)
    assert report.succeeded == 3, report.summary()

    # resolve: the answer is lost, resolve settles it exactly once
    lost = _hit(server, engine)
    server.faults.add(ADD, drop=1.0)
    pending = engine.request(bump, lost, payload={"reason": "lost"})
    engine.dispatch([pending])
    server.faults.clear()
    assert history.get(pending.id).state is State.UNKNOWN
    result = settle(engine, [history.get(pending.id)])
    assert [o.record.state for o in result.outcomes] == [State.RESOLVED_SUCCEEDED]
    assert server.state.get_hit_raw(lost.hit_id)["MaxAssignments"] == 11

    # the CLI's output: the history listing names it in its own words
    listing = run_cli(cli_env, "history", "--limit", "10")
    assert listing.returncode == 0, listing.stderr
    lines = [line for line in listing.stdout.splitlines() if line[:2].strip("#").isdigit()]
    assert len(lines) == 6 and all(" bump " in line for line in lines)
    data = json.loads(run_cli(cli_env, "history", "--json", "--limit", "10").stdout)
    assert {r["operation"] for r in data["records"]} == {"test_bump"}
