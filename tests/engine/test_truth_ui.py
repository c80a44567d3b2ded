"""The app tells the truth too (issue 11): the dialog refuses what MTurk's expiration rules
forbid, a second request on a HIT needs a confirmation that shows the unsettled one, a
conflict is announced as such, and the start-up offer leaves live records alone."""

from __future__ import annotations

import subprocess
import sys

import pytest
from textual.widgets import Button, Input

from tests.engine.test_extend_ui import (
    Host,
    hit_for,
    make_ctx,
    open_dialog,
    text_of,
)
from tests.ui.helpers import notifications, wait_for
from turktui.adapters.history import _proc_start
from turktui.domain.records import State
from turktui.pipeline.engine import new_token
from turktui.ui import extend_flow
from turktui.ui.screens.confirm import ConfirmScreen

OP = "CreateAdditionalAssignmentsForHIT"


async def test_dialog_refuses_an_expiration_too_soon(emulator, tmp_path) -> None:
    ctx = make_ctx(emulator.url, tmp_path)
    now = emulator.state.now()
    hit = hit_for(
        emulator,
        ctx.service,
        MaxAssignments=3,
        Reward="0.50",
        CreationTime=now - 20 * 86400,
        Expiration=now - 10 * 86400,
        HITStatus="Reviewable",
    )
    app = Host(ctx)
    async with app.run_test(size=(100, 45)) as pilot:
        screen = await open_dialog(app, pilot, hit)
        await pilot.press("2")
        screen.query_one("#extend-expire", Input).value = "30s"
        await pilot.pause()
        problem = text_of(screen, "#extend-problem")
        assert "60 seconds" in problem and "expired at" in problem
        assert screen.query_one("#extend-submit", Button).disabled
        screen.query_one("#extend-expire", Input).value = "360d"  # 370 days after the current one
        await pilot.pause()
        assert "365 days" in text_of(screen, "#extend-problem")
        screen.query_one("#extend-expire", Input).value = "1d"
        await pilot.pause()
        assert not screen.query_one("#extend-submit", Button).disabled


@pytest.mark.parametrize("size", [(80, 24), (160, 48)])
async def test_second_request_needs_a_confirmation_showing_the_first(
    emulator, tmp_path, size
) -> None:
    """Old app: a second request on a HIT with one unsettled started without a word. The
    way to resolve the first is said in the key map's keys (R resolves; r only reloads)."""
    ctx = make_ctx(emulator.url, tmp_path)
    hit = hit_for(emulator, ctx.service, MaxAssignments=2, Reward="0.25")
    app = Host(ctx)
    history = extend_flow.get_history(app)
    rid = history.create(
        env_kind="demo",
        endpoint=emulator.url,
        profile=None,
        hit_id=hit.hit_id,
        hit_title="",
        n=2,
        token=new_token(),
        max_before=2,
        expected_after=4,
        state=State.UNKNOWN,
    )
    sent = emulator.state.request_count(OP)
    async with app.run_test(size=size) as pilot:
        await open_dialog(app, pilot, hit)
        await pilot.press("3", "enter")
        await wait_for(pilot, lambda: isinstance(app.screen, ConfirmScreen), what="the question")
        body = text_of(app.screen, "#confirm-body")
        assert f"#{rid}" in body and "unsettled" in body
        assert "(history: h, then R)" in " ".join(body.split())
        assert emulator.state.request_count(OP) == sent
        await pilot.press("y")
        await wait_for(pilot, lambda: ctx.state.last_outcome is not None, what="the outcome")
        assert ctx.state.last_outcome.record.state is State.SUCCEEDED
    assert emulator.state.get_hit_raw(hit.hit_id)["MaxAssignments"] == 5


async def test_conflict_is_announced_as_a_conflict(emulator, tmp_path) -> None:
    ctx = make_ctx(emulator.url, tmp_path)
    a = hit_for(emulator, ctx.service, MaxAssignments=20, Reward="0.25")
    b = hit_for(emulator, ctx.service, MaxAssignments=20, Reward="0.25")
    token = new_token()
    ctx.service.create_additional_assignments(a.hit_id, 1, token)  # another machine did
    app = Host(ctx)
    async with app.run_test(size=(120, 40)) as pilot:
        history = extend_flow.get_history(app)
        engine = extend_flow.make_engine(app, history)
        extend_flow.run_plan(app, engine, engine.plan(b, 1, token=token))
        await wait_for(pilot, lambda: ctx.state.last_outcome is not None, what="the outcome")
        assert ctx.state.last_outcome.record.state is State.CONFLICT
        assert any(n.title == "Conflict: check the HIT" for n in notifications(app))


async def test_startup_offer_leaves_live_records_alone(emulator, tmp_path) -> None:
    ctx = make_ctx(emulator.url, tmp_path)
    app = Host(ctx)
    history = extend_flow.get_history(app)
    proc = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(60)"])
    try:
        import socket

        owner = f"{socket.gethostname()}|{proc.pid}|{_proc_start(proc.pid)}"
        live = history.create(
            env_kind="demo",
            endpoint=emulator.url,
            profile=None,
            hit_id="H" * 30,
            hit_title="",
            n=1,
            token=new_token(),
            max_before=3,
            expected_after=4,
            owner=owner,
        )
        dead = history.create(
            env_kind="demo",
            endpoint=emulator.url,
            profile=None,
            hit_id="G" * 30,
            hit_title="",
            n=1,
            token=new_token(),
            max_before=3,
            expected_after=4,
        )
        async with app.run_test(size=(100, 40)) as pilot:
            extend_flow.check_unsettled(app)
            await wait_for(
                pilot, lambda: isinstance(app.screen, ConfirmScreen), what="the question"
            )
            body = text_of(app.screen, "#confirm-body")
            assert f"#{dead}" in body and f"#{live} " not in body
        assert history.get(live).state is State.PLANNED
    finally:
        proc.kill()
        proc.wait(timeout=30)
