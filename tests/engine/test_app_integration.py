"""The extend/history flows inside the real TurkTuiApp (its `e` and `h` actions)."""

from __future__ import annotations

import asyncio
import time
from typing import Any

import pytest

from turktui.core.history import State
from turktui.ui.screens.extend import ExtendScreen
from turktui.ui.screens.history import HistoryScreen

pytestmark = pytest.mark.timeout(60)


async def _until(pilot: Any, cond: Any, timeout: float = 15.0) -> None:
    deadline = time.monotonic() + timeout
    while not cond():
        assert time.monotonic() < deadline, "timed out"
        await asyncio.sleep(0.02)
        await pilot.pause()


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
        assert ctx.extras["last_outcome"].record.state is State.SUCCEEDED
        await pilot.press("h")
        await _until(pilot, lambda: isinstance(app.screen, HistoryScreen))
        assert app.screen.total == 1 and app.screen.records[0].hit_id == hit_id
    assert server.state.get_hit_raw(hit_id)["MaxAssignments"] == 7
