"""One pipeline (issue 14): a single extension is a batch of one through the engine's
dispatcher and pacer, one insert path, one resolution loop, one exit-code policy, no test
hook in the product. Each test here fails on the code before the redesign."""

from __future__ import annotations

import re
import threading
from datetime import UTC, datetime
from pathlib import Path
from types import SimpleNamespace

from turktui.domain.records import State
from turktui.pipeline import operations
from turktui.pipeline.batch import BatchRunner
from turktui.pipeline.pacing import AdaptiveRate
from turktui.pipeline.policy import (
    EXIT_CONFLICT,
    EXIT_OK,
    EXIT_REFUSED,
    EXIT_SERVICE,
    EXIT_UNKNOWN,
    batch_exit_code,
    record_exit_code,
)

OP = "CreateAdditionalAssignmentsForHIT"
PACKAGE = Path(__file__).resolve().parents[2] / "turktui"


def test_no_test_hook_in_the_product() -> None:
    """The crash-after-send hook is installed from outside (tests/seams)."""
    offenders = [
        str(p.relative_to(PACKAGE))
        for p in PACKAGE.rglob("*.py")
        if "TURKTUI_TEST" in p.read_text(encoding="utf-8")
    ]
    assert offenders == []


def test_history_has_one_insert_path() -> None:
    source = (PACKAGE / "adapters" / "history.py").read_text(encoding="utf-8")
    # `requests_fts` is the search index, kept by triggers: not a record insert.
    assert len(re.findall(r"INSERT INTO requests\b(?!_)", source)) == 1


def test_a_single_extension_goes_through_the_engines_pacer(emulator, engine) -> None:
    hit_id = emulator.state.add_hit(MaxAssignments=3, Reward="0.10")
    emulator.faults.add(op=OP, throttle=1.0, count=1)  # the first send is throttled
    pacer = AdaptiveRate(None, min_rate=50.0)
    engine.pacer = pacer
    outcome = engine.extend(engine.service.get_hit(hit_id), 2)
    assert outcome.state is State.SUCCEEDED
    assert pacer.throttle_count == 1  # the single path is paced like a batch member
    assert emulator.state.get_hit_raw(hit_id)["MaxAssignments"] == 5


def test_batch_runner_uses_the_engine_itself(engine) -> None:
    pacer = AdaptiveRate(None)
    runner = BatchRunner(engine, workers=3, pacer=pacer)
    assert runner.engine is engine and engine.pacer is pacer and runner.pacer is pacer


def test_dispatch_of_one_runs_in_the_calling_thread(emulator, engine, history) -> None:
    hit_id = emulator.state.add_hit(MaxAssignments=2, Reward="0.10")
    record = engine.record(engine.plan(engine.service.get_hit(hit_id), 1))
    assert record.state is State.PLANNED  # recorded before anything is sent
    seen: list[tuple[str, State]] = []
    engine.dispatch(
        [record],
        workers=1,
        on_outcome=lambda r, o: seen.append((threading.current_thread().name, o.state)),
    )
    assert seen == [(threading.current_thread().name, State.SUCCEEDED)]
    assert history.get(record.id).state is State.SUCCEEDED
    assert emulator.state.get_hit_raw(hit_id)["MaxAssignments"] == 3


def test_dispatch_resolves_what_may_have_been_sent(emulator, engine, history) -> None:
    """An unknown member is settled through resolve (same token), never sent afresh."""
    hit_id = emulator.state.add_hit(MaxAssignments=2, Reward="0.10")
    emulator.faults.add(op=OP, drop=1.0, count=5)  # applied, every answer lost
    first = engine.extend(engine.service.get_hit(hit_id), 1)
    assert first.state is State.UNKNOWN
    emulator.faults.clear()
    outcomes = []
    engine.dispatch([history.get(first.record.id)], on_outcome=lambda r, o: outcomes.append(o))
    assert [o.state for o in outcomes] == [State.RESOLVED_SUCCEEDED]
    assert emulator.state.get_hit_raw(hit_id)["MaxAssignments"] == 3  # exactly once


def test_operations_say_what_gethit_must_show() -> None:
    record = SimpleNamespace(expected_after=7, max_before=4, expire_at=None)
    add = operations.ADD_ASSIGNMENTS

    def read(m: int) -> operations.Read:
        return operations.Read(SimpleNamespace(max_assignments=m), None, datetime.now(UTC))

    assert add.confirm(record, read(7), False).state is State.SUCCEEDED
    assert add.confirm(record, read(5), True).state is State.CONFLICT
    from turktui.domain.errors import RequestRefused, TokenAlreadyProcessed, TurkError

    for op in (operations.ADD_ASSIGNMENTS, operations.UPDATE_EXPIRATION):
        assert op.answer(TokenAlreadyProcessed("done", "x")) == "applied"
        assert op.answer(RequestRefused("no", "x")) == "refused"
        assert op.answer(TurkError("down")) == "error"


def _rec(state: State, expiry: str = "") -> SimpleNamespace:
    return SimpleNamespace(state=state, expiry_state=expiry)


def test_one_exit_code_policy() -> None:
    assert record_exit_code(_rec(State.SUCCEEDED)) == EXIT_OK
    assert record_exit_code(_rec(State.RESOLVED_SUCCEEDED)) == EXIT_OK
    assert record_exit_code(_rec(State.REFUSED)) == EXIT_REFUSED
    assert record_exit_code(_rec(State.FAILED)) == EXIT_SERVICE
    assert record_exit_code(_rec(State.UNKNOWN)) == EXIT_UNKNOWN
    assert record_exit_code(_rec(State.SUCCEEDED, "failed")) == EXIT_SERVICE
    assert record_exit_code(_rec(State.SUCCEEDED, "unknown")) == EXIT_UNKNOWN
    assert record_exit_code(_rec(State.SUCCEEDED, "conflict")) == EXIT_CONFLICT
    assert record_exit_code(_rec(State.CONFLICT)) == EXIT_CONFLICT
    counts = {"conflict": 0, "unknown": 0, "not_sent": 0, "failed": 0, "refused": 0}
    assert batch_exit_code(SimpleNamespace(**counts)) == EXIT_OK
    assert batch_exit_code(SimpleNamespace(**counts), refused_lines=1) == EXIT_REFUSED
    assert batch_exit_code(SimpleNamespace(**{**counts, "refused": 1, "failed": 1})) == EXIT_SERVICE
    assert (
        batch_exit_code(SimpleNamespace(**{**counts, "failed": 1, "not_sent": 1})) == EXIT_UNKNOWN
    )
    assert (
        batch_exit_code(SimpleNamespace(**{**counts, "unknown": 1, "conflict": 1})) == EXIT_CONFLICT
    )
