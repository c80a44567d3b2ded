"""Issue 22's campaign category at a small scale: bonus, approve and reject under dropped
answers, throttling, 5xx, a crash after sending, a second run racing (engine, in-process),
and SIGKILL / two processes at once (the real command). 0 double payments, 0 lost or wrong
records, nothing left unknown.

The default run makes 21 engine trials (every operation × fault pair once) and one process
trial of each kind (a bonus: the money); `TURKTUI_REVIEW_TRIALS=700
TURKTUI_REVIEW_PROCESS_TRIALS=60 pytest tests/reliability/test_review_pay.py` a larger
scale (the campaign's: `python -m tests.reliability.campaign --only review`)."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from tests.reliability import review_pay
from turktui.emulator import EmulatorServer

pytestmark = pytest.mark.timeout(600)

TRIALS = int(os.environ.get("TURKTUI_REVIEW_TRIALS", "21"))
PROCESS_TRIALS = int(os.environ.get("TURKTUI_REVIEW_PROCESS_TRIALS", "1"))


def _assert_clean(tally: review_pay.ReviewTally) -> None:
    assert tally.double == 0, tally.failures
    assert tally.lost == 0 and tally.wrong == 0, tally.failures
    assert tally.wrong_balance == 0, tally.failures
    assert tally.unknown_left == 0, tally.failures
    assert not tally.failures


def test_engine_trials_every_operation_and_fault(emu: EmulatorServer, tmp_path: Path) -> None:
    tally = review_pay.run_engine_trials(TRIALS, seed=5, workdir=tmp_path, server=emu)
    _assert_clean(tally)
    pairs = {f"{op}:{kind}" for op in review_pay.OPS for kind in review_pay.ENGINE_FAULTS}
    if len(pairs) <= TRIALS:
        assert set(tally.trials) == pairs
    assert tally.applied > 0 and tally.resolved > 0


@pytest.mark.parametrize("kind", review_pay.PROCESS_FAULTS)
def test_process_trials(emu: EmulatorServer, tmp_path: Path, kind: str) -> None:
    """`turktui bonus` SIGKILLed at a random moment, or run twice at once; then resolve.
    (At a larger scale approve and reject too.)"""
    ops = tuple(review_pay.OPS) if PROCESS_TRIALS > 1 else ("bonus",)
    tally = review_pay.run_process_trials(
        PROCESS_TRIALS, seed=9, home=tmp_path / "home", server=emu, ops=ops, kinds=(kind,)
    )
    _assert_clean(tally)
    assert tally.total == PROCESS_TRIALS
