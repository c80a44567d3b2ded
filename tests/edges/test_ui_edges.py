"""Pilot tests: the environment in the app (banner, confirmations), the history screen's
environments, resolve at each record's own endpoint, strict bulk input, read-only refusals."""

from __future__ import annotations

import argparse
from typing import Any

from tests.bulk.test_ui import OP, seed, start
from tests.conftest import FIXED_NOW
from tests.edges.conftest import SECRET
from tests.ui.helpers import notifications, screen_text, wait_for
from turktui.adapters.history import open_history
from turktui.domain.environment import EnvKind
from turktui.domain.records import State
from turktui.domain.rules import InputProblem, parse_count
from turktui.ui.app import TurkTuiApp
from turktui.ui.screens.bulk import BatchScreen, BulkScreen
from turktui.ui.screens.confirm import ConfirmScreen
from turktui.ui.screens.history import HistoryScreen, RecordScreen

KEYS = ("AKIDTESTTESTTEST0000", "test-secret")


def notes(app: Any) -> list[str]:
    return [str(n.message) for n in notifications(app)]


def message_of(text: str) -> str:
    """The single dialog's message for `text` (its parser, without a HIT's range)."""
    try:
        parse_count(text)
    except InputProblem as exc:
        return str(exc)
    return "That number is far too large."  # beyond any HIT's range: the parser's own words


# -- --production with --endpoint-url in the app -----------------------------------------------
async def test_production_with_endpoint_url_is_production_in_the_app(
    make_emulator, monkeypatch
) -> None:
    from turktui.cli.options import open_connection
    from turktui.cli.run_app import build_app
    from turktui.ui.screens.extend import ExtendScreen

    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "AKIDTESTTESTTEST0000")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "test-secret")
    server = make_emulator(0)
    seed(server, [(3, False)])
    conn = open_connection(argparse.Namespace(production=True, endpoint_url=server.url))
    try:
        assert conn.env.kind is EnvKind.PRODUCTION
        app = build_app(conn, conn.service(), None)
        async with app.run_test(size=(80, 24)) as pilot:
            await start(pilot)
            assert app.has_class("-production")
            banner = app.main_screen.query_one("#banner")
            assert banner.has_class("-production")
            assert "PRODUCTION \u2014 real money" in screen_text(app)
            await pilot.press("e")
            await wait_for(pilot, lambda: isinstance(app.screen, ExtendScreen))
            await pilot.press("1", "enter")
            await wait_for(pilot, lambda: isinstance(app.screen, ConfirmScreen))
            assert "PRODUCTION" in screen_text(app)
            await pilot.press("escape")
            await pilot.pause()
            assert server.state.request_count(OP) == 0
    finally:
        conn.close()


async def test_remote_custom_endpoint_confirms_in_the_app(make_emulator, make_context) -> None:
    from turktui.ui.screens.extend import ExtendScreen

    server = make_emulator(0)
    seed(server, [(3, False)])
    ctx = make_context(server.url, EnvKind.CUSTOM, credentials=KEYS)
    # The service talks to the emulator; the environment says where an operator believes it
    # goes: a host that is not this machine.
    object.__setattr__(ctx, "env", type(ctx.env)(EnvKind.CUSTOM, "http://10.1.2.3:8443"))
    app = TurkTuiApp(ctx)
    async with app.run_test(size=(100, 30)) as pilot:
        await start(pilot)
        assert "CUSTOM endpoint \u2014 not on this machine" in screen_text(app)
        await pilot.press("e")
        await wait_for(pilot, lambda: isinstance(app.screen, ExtendScreen))
        await pilot.press("1", "enter")
        await wait_for(pilot, lambda: isinstance(app.screen, ConfirmScreen))
        assert "Confirm: CUSTOM request" in screen_text(app)
        await pilot.press("escape")
        await pilot.pause()
        assert server.state.request_count(OP) == 0


# -- the history screen knows environments -----------------------------------------------------
def _records(ctx: Any, *kinds: tuple[str, str]) -> list[int]:
    history = open_history(ctx.paths.history_db)
    ids = []
    for i, (kind, endpoint) in enumerate(kinds):
        ids.append(
            history.create(
                env_kind=kind,
                endpoint=endpoint,
                profile=None,
                hit_id=f"HIT{kind.upper()}{i}",
                hit_title=f"{kind} record",
                n=1,
                token=f"turktui-{kind}-{i:04d}",
                max_before=3,
                expected_after=4,
                state=State.SUCCEEDED,
                now=FIXED_NOW,
            )
        )
    history.close()
    return ids


async def test_history_screen_environment_column_banner_and_filter(
    make_emulator, make_context
) -> None:
    server = make_emulator(0)
    ctx = make_context(server.url, EnvKind.SANDBOX, credentials=KEYS)
    _records(
        ctx,
        ("production", "https://mturk-requester.us-east-1.amazonaws.com"),
        ("sandbox", "https://mturk-requester-sandbox.us-east-1.amazonaws.com"),
        ("custom", f"http://ops:{SECRET}@127.0.0.1:9"),
    )
    app = TurkTuiApp(ctx)
    async with app.run_test(size=(80, 24)) as pilot:
        await start(pilot)
        await pilot.press("h")
        await wait_for(pilot, lambda: isinstance(app.screen, HistoryScreen))
        screen = app.screen
        await wait_for(pilot, lambda: not screen.reading)
        await pilot.pause()
        text = screen_text(app)
        assert "SANDBOX (test money)" in text, (app.screen_stack, text)  # the banner
        assert " Env " in text
        for short, hit in (
            ("PROD", "HITPRODUCTION0"),
            ("SBOX", "HITSANDBOX1"),
            ("CUST", "HITCUSTOM2"),
        ):
            line = next(ln for ln in text.splitlines() if hit[:8] in ln)
            assert short in line, line
        await pilot.press("E")  # production only
        await wait_for(pilot, lambda: screen.env_filter == "production" and not screen.reading)
        assert [r.hit_id for r in screen.records] == ["HITPRODUCTION0"]
        assert "1 production record" in screen_text(app)
        for expected in ("sandbox", "custom", "demo", None):
            await pilot.press("E")
            await wait_for(pilot, lambda e=expected: screen.env_filter == e and not screen.reading)
        assert len(screen.records) == 3
        await pilot.press("home", "enter")  # newest first: the custom record's detail: no password
        await wait_for(pilot, lambda: isinstance(app.screen, RecordScreen))
        await pilot.pause()
        detail = screen_text(app)
        assert "custom \u00b7 http://127.0.0.1:9" in detail
        assert SECRET not in detail


async def test_history_at_wide_width_names_the_environment(make_emulator, make_context) -> None:
    server = make_emulator(0)
    ctx = make_context(server.url, EnvKind.SANDBOX, credentials=KEYS)
    _records(ctx, ("production", "https://mturk-requester.us-east-1.amazonaws.com"))
    app = TurkTuiApp(ctx)
    async with app.run_test(size=(160, 48)) as pilot:
        await start(pilot)
        await pilot.press("h")
        await wait_for(
            pilot, lambda: isinstance(app.screen, HistoryScreen) and not app.screen.reading
        )
        await pilot.pause()
        line = next(ln for ln in screen_text(app).splitlines() if "HITPRODUCTION0" in ln)
        assert "production" in line


# -- the app resolves each record at its own endpoint ------------------------------------------
async def test_start_up_offer_resolves_records_of_another_endpoint(
    make_emulator, make_context, monkeypatch
) -> None:
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", KEYS[0])  # the other endpoint: the usual chain
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", KEYS[1])
    here, there = make_emulator(0), make_emulator(0)
    hit_id = there.state.add_hit(MaxAssignments=20, Reward="0.10", Title="Elsewhere")
    ctx = make_context(here.url, EnvKind.CUSTOM, credentials=KEYS)
    history = open_history(ctx.paths.history_db)
    record_id = history.create(
        env_kind="custom",
        endpoint=there.url,
        profile=None,
        hit_id=hit_id,
        hit_title="Elsewhere",
        n=2,
        token="turktui-elsewhere-000001",
        max_before=20,
        expected_after=22,
        state=State.PLANNED,
        now=FIXED_NOW,
    )
    history.add_attempt(
        record_id,
        operation=OP,
        outcome="started",
        at=FIXED_NOW,
        state=State.SENDING,
        first_sent=FIXED_NOW,
    )
    # MTurk's time when it was sent: without it no re-send (issue 21), only a comparison.
    history.update(record_id, read_at_server=FIXED_NOW)
    history.close()
    app = TurkTuiApp(ctx)
    async with app.run_test(size=(100, 30)) as pilot:
        await wait_for(pilot, lambda: isinstance(app.screen, ConfirmScreen), timeout=20)
        assert there.url in screen_text(app)  # the offer names where each record went
        await pilot.press("y")
        await wait_for(
            pilot,
            lambda: app.ctx.history is not None and not app.ctx.history.unsettled(),
            timeout=20,
        )
        assert app.ctx.history.get(record_id).state is State.RESOLVED_SUCCEEDED
    assert there.state.get_hit_raw(hit_id)["MaxAssignments"] == 22
    assert here.state.request_count(OP) == 0


async def test_unreachable_endpoint_is_named_in_the_app(
    make_emulator, make_context, monkeypatch
) -> None:
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", KEYS[0])
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", KEYS[1])
    here, there = make_emulator(0), make_emulator(0)
    dead = there.url
    there.stop()
    ctx = make_context(here.url, EnvKind.CUSTOM, credentials=KEYS)
    history = open_history(ctx.paths.history_db)
    record_id = history.create(
        env_kind="custom",
        endpoint=dead,
        profile=None,
        hit_id="HITGONE",
        hit_title="Gone",
        n=2,
        token="turktui-gone-0000000001",
        max_before=20,
        expected_after=22,
        state=State.UNKNOWN,
        now=FIXED_NOW,
    )
    history.close()
    app = TurkTuiApp(ctx)
    async with app.run_test(size=(100, 30)) as pilot:
        await wait_for(pilot, lambda: isinstance(app.screen, ConfirmScreen), timeout=20)
        await pilot.press("y")
        await wait_for(pilot, lambda: any("cannot reach it" in n for n in notes(app)), timeout=30)
        note = next(n for n in notes(app) if "cannot reach it" in n)
        assert dead in note and f"turktui resolve --endpoint-url {dead}" in note
        assert app.ctx.history.get(record_id).state is State.UNKNOWN


# -- bulk input is as strict as single input ---------------------------------------------------
async def _bulk(pilot: Any) -> BulkScreen:
    await start(pilot)
    await pilot.press("a", "b")
    await wait_for(pilot, lambda: isinstance(pilot.app.screen, BulkScreen))
    return pilot.app.screen  # type: ignore[no-any-return]


async def test_bulk_amount_is_never_prefilled_or_rewritten(make_emulator, make_context) -> None:
    server = make_emulator(0)
    seed(server, [(3, False), (20, False)])
    app = TurkTuiApp(make_context(server.url))
    async with app.run_test(size=(160, 48)) as pilot:
        screen = await _bulk(pilot)
        box = screen.query_one("#bulk-number")
        assert box.value == "" and screen.preview is None
        await pilot.press("a", "b", "ctrl+s")  # the keys that once sent 51 extensions
        await pilot.pause()
        assert isinstance(app.screen, BulkScreen) and server.state.request_count(OP) == 0
        for typed in ("1e3", "999999999999", "+5", "-5", "5 ", "\u0665", "0"):
            box.value = ""
            await pilot.pause()
            box.value = typed
            await pilot.pause()
            assert box.value == typed  # nothing rewritten
            assert screen.preview is None, typed
            assert screen.problem == message_of(typed), typed
            assert screen.query_one("#bulk-send").disabled
        await pilot.press("ctrl+s")
        await pilot.pause()
        assert server.state.request_count(OP) == 0


async def test_bulk_confirms_totals_on_every_non_demo_endpoint(make_emulator, make_context) -> None:
    server = make_emulator(0)
    seed(server, [(3, False), (20, False)])
    app = TurkTuiApp(make_context(server.url, EnvKind.SANDBOX, credentials=KEYS))
    async with app.run_test(size=(160, 48)) as pilot:
        await _bulk(pilot)
        await pilot.press("2", "ctrl+s")
        await wait_for(pilot, lambda: isinstance(app.screen, ConfirmScreen))
        text = screen_text(app)
        assert "Confirm: SANDBOX batch" in text and "Send 2 requests" in text
        assert "+4 assignments" in text and "Total cost: $" in text
        await pilot.press("n")
        await pilot.pause()
        assert server.state.request_count(OP) == 0


async def test_marks_cleared_on_extended_hits_after_a_batch(make_emulator, make_context) -> None:
    server = make_emulator(0)
    ids = seed(server, [(3, False), (20, False), (9, False)])  # 9 of 9: cannot be extended
    app = TurkTuiApp(make_context(server.url))
    async with app.run_test(size=(160, 48)) as pilot:
        table = await start(pilot)
        await pilot.press("a", "b")
        await wait_for(pilot, lambda: isinstance(app.screen, BulkScreen))
        await pilot.press("1", "ctrl+s")
        await wait_for(pilot, lambda: isinstance(app.screen, BatchScreen))
        batch = app.screen
        await wait_for(pilot, lambda: not batch.running)
        await wait_for(pilot, lambda: any("Marks cleared" in n for n in notes(app)))
        assert table.marked == {ids[2]}  # the one not extended stays marked, and it is said
        assert any("1 not extended stay marked" in n for n in notes(app))
        await pilot.press("escape")
        await pilot.press("b", "1", "ctrl+s")  # the same keys cannot repeat the batch
        await pilot.pause()
        assert server.state.request_count(OP) == 2


# -- every refusal says why --------------------------------------------------------------------
async def test_read_only_keys_say_why(make_emulator, make_context) -> None:
    server = make_emulator(0)
    seed(server, [(3, False)])
    ctx = make_context(server.url, read_only=True)
    history = open_history(ctx.paths.history_db)
    history.create(
        env_kind="demo",
        endpoint=server.url,
        profile=None,
        hit_id="HITLEFT",
        hit_title="Left",
        n=1,
        token="turktui-left-000000000001",
        max_before=3,
        expected_after=4,
        state=State.UNKNOWN,
        now=FIXED_NOW,
    )
    history.close()
    app = TurkTuiApp(ctx)
    async with app.run_test(size=(80, 24)) as pilot:
        await start(pilot)
        await pilot.press("e")
        await wait_for(pilot, lambda: any("read-only: extending is off" in n for n in notes(app)))
        await pilot.press("space", "b")
        await wait_for(
            pilot, lambda: any("read-only: bulk extension is off" in n for n in notes(app))
        )
        assert not isinstance(app.screen, BulkScreen)
        await pilot.press("h")
        await wait_for(pilot, lambda: isinstance(app.screen, HistoryScreen))
        await pilot.press("R")
        await wait_for(pilot, lambda: any("read-only: resolving is off" in n for n in notes(app)))
        assert server.state.request_count(OP) == 0
