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
    # Each fault kind once, then as many drawn at random (the campaign runs 1,000).
    tally = exactly_once.run_engine_trials(
        16, seed=7, workdir=tmp_path, server=emu, history_at=history_at
    )
    _assert_clean(tally)
    # Every fault kind ran at least once, something was applied, something was resolved.
    assert set(tally.trials) >= set(exactly_once.ENGINE_FAULTS) - {"stale"}
    assert tally.applied > 0 and tally.resolved > 0


@pytest.mark.parametrize("kind", exactly_once.CLI_FAULTS)
def test_cli_trial_of_each_kind_then_resolve(
    emu: EmulatorServer, tmp_path: Path, kind: str
) -> None:
    """One `turktui extend` per fault kind (a test each: they run in parallel)."""
    home = tmp_path / "home"
    tally = exactly_once.run_cli_trials(1, seed=11, home=home, server=emu, kinds=(kind,))
    _assert_clean(tally)
    assert tally.trials == {f"cli:{kind}": 1}
    if kind == "crash_after_send":
        assert tally.killed == 1  # the crash hook (the random SIGKILL may land after the end)


def test_cli_trials_on_the_shared_history(
    emu: EmulatorServer, tmp_path: Path, pg_db_url: str
) -> None:
    """Every fault kind once, SIGKILL included, with the history on PostgreSQL."""
    kinds = exactly_once.CLI_FAULTS
    tally = exactly_once.run_cli_trials(
        len(kinds), seed=11, home=tmp_path / "home", server=emu, history_url=pg_db_url
    )
    _assert_clean(tally)
    assert tally.trials == {f"cli:{kind}": 1 for kind in kinds}


#: What a truth trial of this kind must have met, besides no violation.
TRUTH_EXPECTED = {
    "token_reuse": ("conflicts", "the token reused for another HIT: a conflict"),
    "second_intent": ("cannot_tell", "a second request on the HIT: cannot tell, with numbers"),
}


#: Kinds that cycle through variants: a trial of each (issue 21: how a planned time went
#: stale; no `Date` on the answers, or GetHIT failing at resolve).
TRUTH_VARIANTS = {"stale_resend": len(exactly_once.STALE_HOW), "no_mturk_time": 2}


@pytest.mark.parametrize("kind", exactly_once.TRUTH_KINDS)
def test_truth_trial_of_each_kind(emu: EmulatorServer, tmp_path: Path, kind: str) -> None:
    """Issues 11 and 21 at a small scale: each kind (and variant) once (a test each: they
    run in parallel); no record claims what MTurk contradicts."""
    count = TRUTH_VARIANTS.get(kind, 1)
    tally = exactly_once.run_truth_trials(
        count, seed=3, workdir=tmp_path, server=emu, kinds=(kind,)
    )
    assert tally.violations == 0 and not tally.failures, tally.failures
    assert tally.trials == {kind: count}
    if kind in TRUTH_EXPECTED:
        figure, what = TRUTH_EXPECTED[kind]
        assert getattr(tally, figure) >= 1, what
