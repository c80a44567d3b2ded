"""The extend/history flows inside the real TurkTuiApp (its `e` and `h` actions)."""

from __future__ import annotations

from typing import Any

import pytest

from tests.ui.helpers import wait_for
from turktui.domain.records import State
from turktui.ui.screens.extend import ExtendScreen
from turktui.ui.screens.history import HistoryScreen

pytestmark = pytest.mark.timeout(60)


async def _until(pilot: Any, cond: Any, timeout: float = 15.0) -> None:
    await wait_for(pilot, cond, timeout)


async def test_e_extends_the_selected_hit_and_h_lists_it(make_emulator, make_context) -> None:
    from turktui.ui.app import TurkTuiApp

    server = make_emulator(0)
    hit_id = server.state.add_hit(MaxAssignments=3, Reward="0.50", Title="Integration")
    ctx = make_context(server.url)
    app = TurkTuiApp(ctx)
    async with app.run_test(size=(120, 40)) as pilot:
        await _until(pilot, lambda: app.selected_hit is not None)
        assert app.selected_hit.hit_id == hit_id
        await pilot.press("e")
        await _until(pilot, lambda: isinstance(app.screen, ExtendScreen))
        await pilot.press("4", "enter")
        await _until(pilot, lambda: app.selected_hit.max_assignments == 7)
        assert ctx.state.last_outcome.record.state is State.SUCCEEDED
        await pilot.press("h")
        await _until(pilot, lambda: isinstance(app.screen, HistoryScreen))
        assert app.screen.total == 1 and app.screen.records[0].hit_id == hit_id
    assert server.state.get_hit_raw(hit_id)["MaxAssignments"] == 7


async def test_status_line_shows_a_request_in_flight(make_emulator, make_context) -> None:
    from tests.ui.helpers import screen_text
    from turktui.ui.app import TurkTuiApp

    server = make_emulator(0)
    hit_id = server.state.add_hit(MaxAssignments=20, Reward="0.10", Title="Slow")
    server.faults.add(op="CreateAdditionalAssignmentsForHIT", latency=1.5)
    app = TurkTuiApp(make_context(server.url))
    async with app.run_test(size=(100, 30)) as pilot:
        await _until(pilot, lambda: app.selected_hit is not None)
        await pilot.press("e")
        await _until(pilot, lambda: isinstance(app.screen, ExtendScreen))
        await pilot.press("3", "enter")
        await _until(pilot, lambda: "\u27f3 adding +3 to" in screen_text(app))
        await _until(pilot, lambda: app.selected_hit.max_assignments == 23)
        await _until(pilot, lambda: "\u27f3" not in screen_text(app))
    assert server.state.get_hit_raw(hit_id)["MaxAssignments"] == 23


async def test_unsettled_requests_are_offered_at_start_up(make_emulator, make_context) -> None:
    from tests.conftest import FIXED_NOW
    from turktui.adapters.history import open_history
    from turktui.ui.app import TurkTuiApp
    from turktui.ui.screens.confirm import ConfirmScreen

    server = make_emulator(0)
    hit_id = server.state.add_hit(MaxAssignments=20, Reward="0.10", Title="Left behind")
    ctx = make_context(server.url)
    # An earlier session recorded its intent and was killed while sending it.
    history = open_history(ctx.paths.history_db)
    record_id = history.create(
        env_kind=ctx.env.kind.value,
        endpoint=ctx.env.endpoint_url,
        profile=None,
        hit_id=hit_id,
        hit_title="Left behind",
        n=2,
        token="turktui-left-behind-0001",
        max_before=20,
        expected_after=22,
        state=State.PLANNED,
        now=FIXED_NOW,
    )
    history.add_attempt(
        record_id,
        operation="CreateAdditionalAssignmentsForHIT",
        outcome="started",
        at=FIXED_NOW,
        state=State.SENDING,
        first_sent=FIXED_NOW,
    )
    history.update(record_id, read_at_server=FIXED_NOW)  # MTurk's time when sent (issue 21)
    history.close()
    app = TurkTuiApp(ctx)
    async with app.run_test(size=(100, 30)) as pilot:
        await _until(pilot, lambda: isinstance(app.screen, ConfirmScreen), timeout=20)
        await pilot.press("y")
        await _until(
            pilot,
            lambda: app.ctx.history is not None and not app.ctx.history.unsettled(),
            timeout=20,
        )
        assert app.ctx.history.get(record_id).state.settled
    assert server.state.get_hit_raw(hit_id)["MaxAssignments"] == 22
