"""Quitting the app with a request of this session left unknown exits 5 and says to run
`turktui resolve` (as `turktui extend` does); resolving it first leaves 0."""

from __future__ import annotations

from typing import Any

import pytest

from tests.conftest import FIXED_NOW
from tests.ui.helpers import wait_for, wait_loaded
from turktui.cli import lifecycle
from turktui.domain.records import State
from turktui.ui.app import TurkTuiApp

OP = "CreateAdditionalAssignmentsForHIT"


@pytest.fixture
def no_process_exit(monkeypatch: pytest.MonkeyPatch) -> None:
    """The settle hook may leave the process at once (os._exit): never inside a test."""

    def refuse(code: int) -> None:
        raise AssertionError(f"os._exit({code}) called")

    monkeypatch.setattr(lifecycle.os, "_exit", refuse)


# In the app Ctrl-C is a key (the terminal sends no SIGINT) that quits as q does: the
# README's exit-code table says so (turktui.pipeline.policy).
@pytest.mark.parametrize("size, key", [((80, 24), "q"), ((160, 48), "ctrl+c")])
@pytest.mark.parametrize("resolve_first", [False, True])
async def test_quit_with_a_request_left_unknown_exits_5_and_says_resolve(
    size: tuple[int, int],
    key: str,
    resolve_first: bool,
    make_emulator: Any,
    make_context: Any,
    capsys: pytest.CaptureFixture[str],
    no_process_exit: None,
) -> None:
    server = make_emulator(0)
    server.state.add_hit(
        MaxAssignments=20, Reward="0.10", Title="Survey", CreationTime=FIXED_NOW.timestamp() - 86400
    )
    server.faults.add(op=OP, drop=1.0)  # applied, the answer lost: unknown
    ctx = make_context(server.url)
    ctx.state.settle_in_flight = lifecycle.settle_and_leave
    app = TurkTuiApp(ctx)

    async def drive(pilot: Any) -> None:
        await wait_loaded(pilot)
        await pilot.press("e", "2", "enter")
        await wait_for(pilot, lambda: ctx.state.last_outcome is not None, what="the outcome")
        assert ctx.state.last_outcome.record.state is State.UNKNOWN
        if resolve_first:
            server.faults.clear()
            app.resolve_records([ctx.state.last_outcome.record])
            await wait_for(pilot, lambda: ctx.state.last_outcome.record.settled, what="resolve")
        await pilot.press(key)

    await app.run_async(headless=True, size=size, auto_pilot=drive)
    err = capsys.readouterr().err
    if resolve_first:
        assert ctx.state.exit_code == 0 and "turktui resolve" not in err
        return
    rid = ctx.state.last_outcome.record.id
    assert ctx.state.exit_code == 5
    assert f"left request #{rid} with an unknown outcome" in err and "turktui resolve" in err


def test_settle_and_leave_keeps_a_signal_code_and_says_resolve(
    capsys: pytest.CaptureFixture[str], no_process_exit: None
) -> None:
    assert lifecycle.settle_and_leave(0) == 0
    assert capsys.readouterr().err == ""
    assert lifecycle.settle_and_leave(0, None, [3, 4]) == 5
    assert "left requests #3, #4 with an unknown outcome" in capsys.readouterr().err
    assert lifecycle.settle_and_leave(130, None, [3]) == 130  # the signal's code stays
