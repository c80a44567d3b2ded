"""Category 1 at a small scale: the campaign's exactly-once trials (engine and CLI)."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.reliability import exactly_once
from turktui.emulator import EmulatorServer

pytestmark = pytest.mark.timeout(180)


def _assert_clean(tally: exactly_once.Tally) -> None:
    assert tally.double == 0, tally.failures
    assert tally.lost_or_wrong == 0, tally.failures
    assert tally.unresolved == 0, tally.failures
    assert tally.wrong_balance == 0, tally.failures
    assert tally.invalid_sent == 0, tally.failures
    assert not tally.failures


def test_engine_trials_every_fault_kind(
    emu: EmulatorServer, tmp_path: Path, history_at: Path | str
) -> None:
    tally = exactly_once.run_engine_trials(
        32, seed=7, workdir=tmp_path, server=emu, history_at=history_at
    )
    _assert_clean(tally)
    # Every fault kind ran at least once, something was applied, something was resolved.
    assert set(tally.trials) >= set(exactly_once.ENGINE_FAULTS) - {"stale"}
    assert tally.applied > 0 and tally.resolved > 0


@pytest.mark.parametrize("shared", [False, True], ids=["sqlite", "postgres"])
def test_cli_trials_with_sigkill_and_resolve(
    emu: EmulatorServer, tmp_path: Path, shared: bool, request: pytest.FixtureRequest
) -> None:
    url = request.getfixturevalue("pg_db_url") if shared else None
    tally = exactly_once.run_cli_trials(
        7, seed=11, home=tmp_path / "home", server=emu, history_url=url
    )
    _assert_clean(tally)
    assert {k.removeprefix("cli:") for k in tally.trials} == set(exactly_once.CLI_FAULTS)
    assert tally.killed >= 1  # the crash hook at least; the random kill usually too


def test_truth_trials_every_kind(emu: EmulatorServer, tmp_path: Path) -> None:
    """Issue 11 at a small scale: each kind once; no record claims what MTurk contradicts."""
    tally = exactly_once.run_truth_trials(
        len(exactly_once.TRUTH_KINDS), seed=3, workdir=tmp_path, server=emu
    )
    assert tally.violations == 0 and not tally.failures, tally.failures
    assert set(tally.trials) == set(exactly_once.TRUTH_KINDS)
    assert tally.conflicts >= 1  # the token reused for another HIT
    assert tally.cannot_tell >= 1  # comparison with a second request on the HIT
