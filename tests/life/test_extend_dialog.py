"""Pilot tests of the extend dialog's new rules (issue 16): assignments, time, or both, for
any HIT; time added to the current expiration (from now once expired), never shorter, 60 s to
365 days, the result shown in UTC and relative; one confirmation and one record."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from textual.widgets import Button, Input

from tests.engine.test_extend_ui import (
    Host,
    hit_for,
    make_ctx,
    open_dialog,
    text_of,
)
from tests.ui.helpers import wait_for
from turktui.domain.environment import EnvKind
from turktui.domain.records import State
from turktui.domain.timefmt import iso
from turktui.ui.screens.confirm import ConfirmScreen
from turktui.ui.screens.extend import ExtendScreen

pytestmark = pytest.mark.timeout(60)
OP = "UpdateExpirationForHIT"


def live_fields(emulator: Any, hours: float = 5, **extra: Any) -> dict[str, Any]:
    now = emulator.state.now()
    return {
        "MaxAssignments": 4,
        "Reward": "1.00",
        "CreationTime": now - 86400,
        "Expiration": float(int(now + hours * 3600)),
        **extra,
    }


async def test_time_only_on_a_live_hit(emulator, tmp_path) -> None:
    ctx = make_ctx(emulator.url, tmp_path)
    hit = hit_for(emulator, ctx.service, **live_fields(emulator))
    app = Host(ctx)
    async with app.run_test(size=(100, 45)) as pilot:
        screen = await open_dialog(app, pilot, hit)
        time_box = screen.query_one("#extend-expire", Input)
        assert time_box.value == ""  # a live HIT: no time unless asked
        assert "Enter the number" in text_of(screen, "#extend-problem")
        assert screen.query_one("#extend-submit", Button).disabled
        time_box.value = "2d"
        await pilot.pause()
        target = hit.expiration + timedelta(days=2)
        preview = text_of(screen, "#extend-preview")
        assert f"Expiration: {iso(hit.expiration)} \u2192 {iso(target)}" in preview
        assert "(in " in preview.split("\u2192")[-1]  # relative, too
        button = screen.query_one("#extend-submit", Button)
        assert not button.disabled and str(button.label) == "Add time"
        time_box.focus()
        await pilot.press("enter")
        await wait_for(pilot, lambda: app.updated, what="the HIT to be updated")
    raw = emulator.state.get_hit_raw(hit.hit_id)
    assert int(raw["Expiration"]) == int(target.timestamp())
    assert raw["MaxAssignments"] == 4
    records = ctx.history.find_by_token(ctx.state.last_outcome.record.token)
    assert len(records) == 1 and records[0].change_label == "time"
    assert records[0].state is State.SUCCEEDED and records[0].operation == "update_expiration"


async def test_both_in_one_record_with_both_outcomes(emulator, tmp_path) -> None:
    ctx = make_ctx(emulator.url, tmp_path)
    hit = hit_for(emulator, ctx.service, **live_fields(emulator))
    app = Host(ctx)
    async with app.run_test(size=(100, 45)) as pilot:
        screen = await open_dialog(app, pilot, hit)
        await pilot.press("3")
        screen.query_one("#extend-expire", Input).value = "12h"
        await pilot.pause()
        assert str(screen.query_one("#extend-submit", Button).label) == "Add both"
        preview = text_of(screen, "#extend-preview")
        assert "4 \u2192 7" in preview and "Expiration:" in preview
        screen.query_one("#extend-count", Input).focus()
        await pilot.press("enter")
        await wait_for(pilot, lambda: app.updated, what="the HIT to be updated")
    raw = emulator.state.get_hit_raw(hit.hit_id)
    assert raw["MaxAssignments"] == 7
    assert int(raw["Expiration"]) == int((hit.expiration + timedelta(hours=12)).timestamp())
    # Issue 21: two records (each recorded before it was sent), shown as one outcome.
    rec, time_part = ctx.state.last_outcome.records
    assert rec.state is State.SUCCEEDED and time_part.state is State.SUCCEEDED
    assert (rec.change_label, time_part.change_label) == ("+3", "time")
    assert rec.group_id == time_part.group_id is not None


@pytest.mark.parametrize(
    ("value", "says"),
    [
        ("30s", "at least 60 seconds"),
        ("366d", "at most a year"),
        ("soon", "not a duration"),
        ("5", "needs a unit"),
    ],
)
async def test_time_rules_refuse_live(emulator, tmp_path, value, says) -> None:
    ctx = make_ctx(emulator.url, tmp_path)
    hit = hit_for(emulator, ctx.service, **live_fields(emulator))
    sent = emulator.state.request_count(OP)
    app = Host(ctx)
    async with app.run_test(size=(100, 45)) as pilot:
        screen = await open_dialog(app, pilot, hit)
        await pilot.press("2")  # a valid count does not make a bad time acceptable
        box = screen.query_one("#extend-expire", Input)
        box.value = value
        await pilot.pause()
        problem = text_of(screen, "#extend-problem")
        assert problem.startswith("Expiration:") and says in problem, problem
        assert screen.query_one("#extend-submit", Button).disabled
        box.focus()
        await pilot.press("enter")
        assert app.screen is screen
        box.value = ""  # clearing the time leaves the assignments alone: allowed again
        await pilot.pause()
        assert not screen.query_one("#extend-submit", Button).disabled
    assert emulator.state.request_count(OP) == sent


async def test_time_can_be_added_to_a_hit_that_cannot_get_assignments(emulator, tmp_path) -> None:
    ctx = make_ctx(emulator.url, tmp_path)
    hit = hit_for(emulator, ctx.service, **live_fields(emulator, MaxAssignments=9))
    app = Host(ctx)
    async with app.run_test(size=(100, 45)) as pilot:
        screen = await open_dialog(app, pilot, hit)
        assert "can never reach 10" in text_of(screen, "#extend-blocked")
        assert "Time can still be added" in text_of(screen, "#extend-blocked")
        assert not screen.query("#extend-count")
        screen.query_one("#extend-expire", Input).value = "1w"
        await pilot.pause()
        screen.query_one("#extend-expire", Input).focus()
        await pilot.press("enter")
        await wait_for(pilot, lambda: app.updated, what="the HIT to be updated")
    raw = emulator.state.get_hit_raw(hit.hit_id)
    assert int(raw["Expiration"]) == int((hit.expiration + timedelta(weeks=1)).timestamp())
    assert raw["MaxAssignments"] == 9


async def test_expired_hit_time_counts_from_now(emulator, tmp_path) -> None:
    ctx = make_ctx(emulator.url, tmp_path)
    now = emulator.state.now()
    hit = hit_for(
        emulator,
        ctx.service,
        MaxAssignments=3,
        Reward="0.50",
        CreationTime=now - 5 * 86400,
        Expiration=now - 3600,
        HITStatus="Reviewable",
    )
    app = Host(ctx)
    async with app.run_test(size=(100, 45)) as pilot:
        screen = await open_dialog(app, pilot, hit)
        box = screen.query_one("#extend-expire", Input)
        assert box.value == "1d"  # an expired HIT: time is offered at once
        preview = text_of(screen, "#extend-preview")
        assert "(in 23 h)" in preview or "(in 1 d)" in preview, preview
        box.focus()
        await pilot.press("enter")  # time only reopens it
        await wait_for(pilot, lambda: app.updated, what="the HIT to be updated")
    raw = emulator.state.get_hit_raw(hit.hit_id)
    assert raw["HITStatus"] == "Assignable" and raw["MaxAssignments"] == 3
    assert raw["Expiration"] > datetime.now(UTC).timestamp() + 23 * 3600


async def test_production_time_only_is_confirmed_once_and_says_what_happens(
    emulator, tmp_path
) -> None:
    ctx = make_ctx(emulator.url, tmp_path, EnvKind.PRODUCTION)
    hit = hit_for(emulator, ctx.service, **live_fields(emulator))
    sent = emulator.state.request_count(OP)
    app = Host(ctx)
    async with app.run_test(size=(100, 45)) as pilot:
        screen = await open_dialog(app, pilot, hit)
        box = screen.query_one("#extend-expire", Input)
        box.value = "1d"
        await pilot.pause()
        box.focus()
        await pilot.press("enter")
        await wait_for(pilot, lambda: isinstance(app.screen, ConfirmScreen), what="the question")
        body = text_of(app.screen, "#confirm-body")
        assert "add time to HIT" in body and "no assignments" in body
        assert iso(hit.expiration + timedelta(days=1)) in body
        await pilot.press("n")
        await wait_for(
            pilot,
            lambda: not isinstance(app.screen, (ConfirmScreen, ExtendScreen)),
            what="the dialog to close",
        )
    assert emulator.state.request_count(OP) == sent


def test_the_confirmation_names_both_changes() -> None:
    from turktui.domain.models import Hit
    from turktui.domain.rules import extension_range
    from turktui.pipeline.model import Plan
    from turktui.pipeline.operations import confirmation

    hit = Hit("H1", title="t", max_assignments=4, expiration=datetime(2026, 6, 1, tzinfo=UTC))
    plan = Plan(hit, 2, "T", extension_range(4, None), None, 6, datetime(2026, 6, 2, tzinfo=UTC))
    text = "\n".join(confirmation(plan, "PRODUCTION", datetime(2026, 5, 1, tzinfo=UTC)))
    assert "MaxAssignments 4 \u2192 6" in text
    assert "Expiration 2026-06-01 00:00:00 UTC \u2192 2026-06-02 00:00:00 UTC" in text
