"""The campaign's large-group category at its smallest: one `turktui approve --hit H
--all-submitted` of `offload.OFFLOAD_AT` assignments in a child process, its second sender
SIGKILLed while the group is sent; then resolve. Nothing lost, wrong, unknown or paid twice,
and no process left behind.

`TURKTUI_GROUP_TRIALS=56 pytest tests/reliability/test_group_send.py` runs every operation
and fault at the campaign's group sizes (the campaign: `python -m tests.reliability.campaign
--only group`)."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from tests.reliability import group_send
from turktui.adapters.offload import OFFLOAD_AT
from turktui.emulator import EmulatorServer

pytestmark = pytest.mark.timeout(600)

TRIALS = int(os.environ.get("TURKTUI_GROUP_TRIALS", "1"))


def test_group_trials(emu: EmulatorServer, tmp_path: Path) -> None:
    small = TRIALS == 1
    tally = group_send.run_group_trials(
        TRIALS,
        seed=4,
        home=tmp_path / "home",
        server=emu,
        ops=("approve",) if small else group_send.GROUP_OPS,
        kinds=("sigkill_sender",) if small else group_send.GROUP_FAULTS,
        size=OFFLOAD_AT if small else None,
    )
    assert tally.violations == 0, tally.failures
    assert not tally.failures
    assert tally.total == TRIALS and tally.senders_seen == TRIALS
    if small:
        assert tally.senders_killed == 1 and tally.assignments == OFFLOAD_AT
