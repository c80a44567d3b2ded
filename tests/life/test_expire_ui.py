"""`X` in the main list: expire now, confirmed on every environment but demo, recorded, the
row refreshed at once (Pilot, over loopback)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from tests.ui.helpers import screen_text, wait_for, wait_loaded
from turktui.domain.environment import EnvKind
from turktui.domain.records import State
from turktui.ui.app import TurkTuiApp
from turktui.ui.screens.confirm import ConfirmScreen

pytestmark = pytest.mark.timeout(60)
OP = "UpdateExpirationForHIT"
KEYS = ("AKIDTESTTESTTEST0000", "test-secret")


def live(emulator: Any, title: str) -> str:
    later = datetime.now(UTC) + timedelta(days=3)
    return emulator.state.add_hit(
        MaxAssignments=3, Reward="0.50", Title=title, Expiration=later.timestamp()
    )


async def _cursor_to(pilot: Any, app: TurkTuiApp, hit_id: str) -> None:
    await wait_loaded(pilot)
    assert app.main_screen.table.move_to_key(hit_id)
    await pilot.pause()
    assert app.selected_hit is not None and app.selected_hit.hit_id == hit_id


async def test_x_on_custom_asks_then_expires_and_refreshes_the_row(
    emulator: Any, make_context: Any
) -> None:
    hit_id = live(emulator, "Expire me from the app")
    sent = emulator.state.request_count(OP)
    app = TurkTuiApp(make_context(emulator.url, EnvKind.CUSTOM, credentials=KEYS))
    async with app.run_test(size=(100, 30)) as pilot:
        await _cursor_to(pilot, app, hit_id)
        await pilot.press("X")
        await wait_for(pilot, lambda: isinstance(app.screen, ConfirmScreen))
        text = screen_text(app)
        assert "Expire this HIT now?" in text
        assert "Workers can no longer accept it" in text and "Work in progress is kept" in text
        await pilot.press("n")  # no: nothing sent
        await wait_for(pilot, lambda: not isinstance(app.screen, ConfirmScreen))
        assert emulator.state.request_count(OP) == sent
        await pilot.press("X")
        await wait_for(pilot, lambda: isinstance(app.screen, ConfirmScreen))
        await pilot.press("y")
        table = app.main_screen.table
        await wait_for(
            pilot,
            lambda: (
                table.model.get(hit_id) is not None
                and table.model.get(hit_id).is_expired(datetime.now(UTC))
            ),
        )
        record = app.ctx.state.last_outcome.record
        assert record.state is State.SUCCEEDED and record.change_label == "expire"
        assert [r.id for r in app.ctx.history.find_by_token(record.token)] == [record.id]
    assert emulator.state.request_count(OP) == sent + 1
    raw = emulator.state.get_hit_raw(hit_id)
    assert raw["Expiration"] <= datetime.now(UTC).timestamp()


async def test_x_on_demo_expires_without_asking(emulator: Any, make_context: Any) -> None:
    hit_id = live(emulator, "Expire me in the demo")
    app = TurkTuiApp(make_context(emulator.url, EnvKind.DEMO))
    async with app.run_test(size=(100, 30)) as pilot:
        await _cursor_to(pilot, app, hit_id)
        await pilot.press("X")
        table = app.main_screen.table
        await wait_for(pilot, lambda: table.model.get(hit_id).is_expired(datetime.now(UTC)))
        assert not isinstance(app.screen, ConfirmScreen)


async def test_x_is_off_when_read_only(emulator: Any, make_context: Any) -> None:
    hit_id = live(emulator, "Read-only, cannot expire")
    sent = emulator.state.request_count(OP)
    app = TurkTuiApp(make_context(emulator.url, EnvKind.DEMO, read_only=True))
    async with app.run_test(size=(100, 30)) as pilot:
        await _cursor_to(pilot, app, hit_id)
        await pilot.press("X")
        await pilot.pause()
        assert not isinstance(app.screen, ConfirmScreen)
    assert emulator.state.request_count(OP) == sent


async def test_x_judges_already_expired_by_mturks_clock(
    make_emulator: Any, make_context: Any
) -> None:
    """Issue 21. Old app: with its clock an hour ahead of MTurk's, `X` said "already
    expired: nothing to do" while workers could still accept the HIT. Now the fresh read
    decides, by MTurk's clock (in doubt: sent)."""
    from tests.conftest import FIXED_NOW

    server = make_emulator(0, now=lambda: FIXED_NOW.timestamp() - 3600)
    hit_id = server.state.add_hit(
        MaxAssignments=3,
        Reward="0.50",
        Title="Open by MTurk's clock",
        Expiration=server.state.now() + 1800,
    )
    app = TurkTuiApp(make_context(server.url, EnvKind.DEMO))  # its clock: FIXED_NOW
    async with app.run_test(size=(100, 30)) as pilot:
        await _cursor_to(pilot, app, hit_id)
        await pilot.press("X")
        await wait_for(
            pilot,
            lambda: server.state.get_hit_raw(hit_id)["Expiration"] <= server.state.now(),
            what="the HIT expired by MTurk's clock",
        )
        await wait_for(pilot, lambda: app.ctx.state.last_outcome is not None, what="outcome")
        outcome = app.ctx.state.last_outcome
        assert outcome.record.state is State.SUCCEEDED, outcome.message
