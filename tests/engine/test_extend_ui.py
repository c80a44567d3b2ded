"""Pilot tests of the extend dialog, the production confirmation, the history screen and the
start-up offer to resolve, in a small host App that offers the app's public API."""

from __future__ import annotations

from datetime import datetime, timedelta, timezone
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest
from textual.widgets import Button, Input, Static

from tests.ui.helpers import notifications, wait_for
from turktui.adapters.config import Paths, Settings
from turktui.adapters.mturk import MTurkService
from turktui.domain.environment import Environment, EnvKind
from turktui.domain.models import Balance, Hit
from turktui.domain.records import State
from turktui.pipeline.engine import Engine, new_token
from turktui.ui import extend_flow
from turktui.ui.context import AppContext
from turktui.ui.controller import ControllerApp
from turktui.ui.screens.confirm import ConfirmScreen
from turktui.ui.screens.extend import ExtendScreen
from turktui.ui.screens.history import HistoryScreen, RecordList, RecordScreen

UTC = timezone.utc
OP = "CreateAdditionalAssignmentsForHIT"


class Host(ControllerApp):
    """Stands in for TurkTuiApp: a controller app whose hooks record what they were told."""

    def __init__(self, ctx: AppContext) -> None:
        super().__init__(ctx)
        self.updated: list[Hit] = []
        self.balance_refreshes = 0

    def show_hit(self, hit: Hit) -> None:
        self.updated.append(hit)

    def refresh_balance(self) -> None:
        self.balance_refreshes += 1


def make_ctx(
    url: str,
    tmp_path: Path,
    kind: EnvKind = EnvKind.DEMO,
    *,
    read_only: bool = False,
    balance: str | None = "100.00",
    history_at: Path | str | None = None,
) -> AppContext:
    """`history_at` (the fixture): a file, or a PostgreSQL URL (the shared history)."""
    env = Environment(kind, url, None, read_only)
    creds = ("AKIDTESTTESTTEST0000", "secret") if kind is not EnvKind.DEMO else None
    shared = history_at if isinstance(history_at, str) else None
    paths = Paths(
        config_file=tmp_path / "c.toml",
        data_dir=tmp_path / "data",
        history_db=Path(history_at or tmp_path / "data" / "history.sqlite3")
        if not shared
        else tmp_path / "data" / "history.sqlite3",
        log_dir=tmp_path / "log",
        history_url=shared,
    )
    return AppContext(
        env=env,
        service=MTurkService(env, credentials=creds, read_timeout=2),
        settings=Settings(),
        paths=paths,
        balance=Balance(Decimal(balance)) if balance else None,
    )


def screen_text(app: Any) -> str:
    return "\n".join(strip.text for strip in app.screen._compositor.render_strips())


def text_of(screen: Any, selector: str) -> str:
    return str(screen.query_one(selector, Static).render())


def hit_for(emulator: Any, service: MTurkService, **fields: Any) -> Hit:
    return service.get_hit(emulator.state.add_hit(**fields))


async def open_dialog(app: Host, pilot: Any, hit: Hit) -> ExtendScreen:
    extend_flow.open_extend(app, hit)
    await wait_for(pilot, lambda: isinstance(app.screen, ExtendScreen), what="the dialog")
    return app.screen


@pytest.mark.parametrize(
    "fields, expect_range, expect_typed",
    [
        (
            {"MaxAssignments": 4, "Reward": "1.00"},
            "1\u20135: this HIT has 4 assignments (under 10: it can never reach 10)",
            ("2", "4 \u2192 6", "$2.40", "20% fee"),
        ),
        (
            {"MaxAssignments": 12, "Reward": "1.00"},
            "1\u2013999,988: a HIT may have at most 1,000,000 assignments",
            ("3", "12 \u2192 15", "$4.20", "40% fee"),
        ),
        (
            {"MaxAssignments": 8, "Reward": "0.05"},
            "1: this HIT has 8 assignments (under 10: it can never reach 10)",
            ("1", "8 \u2192 9", "$0.06", "enough"),
        ),
    ],
)
async def test_live_range_and_cost(emulator, tmp_path, fields, expect_range, expect_typed) -> None:
    ctx = make_ctx(emulator.url, tmp_path)
    hit = hit_for(emulator, ctx.service, **fields)
    app = Host(ctx)
    async with app.run_test(size=(100, 40)) as pilot:
        screen = await open_dialog(app, pilot, hit)
        assert text_of(screen, "#extend-range") == expect_range
        assert screen.query_one("#extend-submit", Button).disabled
        assert "Enter the number" in text_of(screen, "#extend-problem")
        n, *parts = expect_typed
        await pilot.press(*n)
        preview = text_of(screen, "#extend-preview")
        for part in parts:
            assert part in preview, preview
        assert "$100.00" in preview
        assert not screen.query_one("#extend-submit", Button).disabled
        assert text_of(screen, "#extend-problem") == ""
        await pilot.press("escape", "escape")  # clears the number, then closes
        assert not isinstance(app.screen, ExtendScreen)
    assert emulator.state.get_hit_raw(hit.hit_id)["MaxAssignments"] == fields["MaxAssignments"]


@pytest.mark.parametrize(
    "fields, says, time_ok",
    [
        ({"MaxAssignments": 9}, "can never reach 10), so none can be added", True),
        (
            {
                "MaxAssignments": 20,
                "CreationTime": datetime(2015, 1, 1, tzinfo=UTC).timestamp(),
                "Expiration": datetime(2015, 1, 8, tzinfo=UTC).timestamp(),
            },
            "before 2015-07-22",
            False,
        ),
    ],
)
async def test_cannot_be_extended_says_why(emulator, tmp_path, fields, says, time_ok) -> None:
    ctx = make_ctx(emulator.url, tmp_path)
    hit = hit_for(emulator, ctx.service, **fields)
    app = Host(ctx)
    async with app.run_test(size=(100, 40)) as pilot:
        screen = await open_dialog(app, pilot, hit)
        assert says in text_of(screen, "#extend-blocked")
        assert not screen.query("#extend-count")
        if not time_ok:  # expired over a year ago: no time either, nothing to submit
            assert "No time can be added" in text_of(screen, "#extend-blocked")
            assert not screen.query("#extend-submit") and not screen.query("#extend-expire")
            await pilot.press("enter")  # "Close" has focus
            assert not isinstance(app.screen, ExtendScreen)
            return
        # No assignments can be asked for; time still can (issue 16), nothing until typed.
        assert screen.query_one("#extend-submit", Button).disabled
        await pilot.press("enter")  # nothing typed: Enter sends nothing
        assert app.screen is screen
        await pilot.press("escape")
        assert not isinstance(app.screen, ExtendScreen)


async def test_expired_hit_offers_expiration_and_does_both(emulator, tmp_path) -> None:
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
        assert "will not reopen" in text_of(screen, "#extend-expired")
        assert screen.query_one("#extend-expire", Input).value == "1d"
        await pilot.press("2")
        assert "\u2192 " in text_of(screen, "#extend-preview").split("Expiration: ")[1]
        screen.query_one("#extend-expire", Input).value = "soon"
        await pilot.pause()
        assert "Expiration:" in text_of(screen, "#extend-problem")
        assert screen.query_one("#extend-submit", Button).disabled
        screen.query_one("#extend-expire", Input).value = "2d"
        await pilot.pause()
        screen.query_one("#extend-count", Input).focus()
        await pilot.press("enter")
        await wait_for(pilot, lambda: app.updated, what="the HIT to be updated")
    raw = emulator.state.get_hit_raw(hit.hit_id)
    assert raw["MaxAssignments"] == 5
    assert raw["Expiration"] > now + 86400 and raw["HITStatus"] == "Assignable"
    assert app.updated[-1].max_assignments == 5 and app.balance_refreshes == 1


INVALID = [
    "0",
    "-1",
    "+5",
    "abc",
    "1e3",
    " 5",
    "5 ",
    "\uff15",
    "\u0663",
    "6",
    "1,0",
    "99999999999999999999",
    "Add five",
    "",
]


async def test_every_invalid_input_disables_submit(emulator, tmp_path) -> None:
    ctx = make_ctx(emulator.url, tmp_path)
    hit = hit_for(emulator, ctx.service, MaxAssignments=4, Reward="1.00")
    sent = emulator.state.request_count(OP)
    app = Host(ctx)
    async with app.run_test(size=(100, 40)) as pilot:
        screen = await open_dialog(app, pilot, hit)
        field = screen.query_one("#extend-count", Input)
        for value in INVALID:
            field.value = value
            await pilot.pause()
            assert screen.query_one("#extend-submit", Button).disabled, value
            assert text_of(screen, "#extend-problem"), value
            await pilot.press("enter")
            assert app.screen is screen  # Enter does nothing while invalid
        field.value = "5"
        await pilot.pause()
        assert not screen.query_one("#extend-submit", Button).disabled
    assert emulator.state.request_count(OP) == sent


async def test_insufficient_balance_disables_submit(emulator, tmp_path) -> None:
    ctx = make_ctx(emulator.url, tmp_path, balance="1.00")
    hit = hit_for(emulator, ctx.service, MaxAssignments=4, Reward="1.00")
    app = Host(ctx)
    async with app.run_test(size=(100, 40)) as pilot:
        screen = await open_dialog(app, pilot, hit)
        await pilot.press("3")
        assert "NOT enough" in text_of(screen, "#extend-preview")
        assert screen.query_one("#extend-submit", Button).disabled


async def test_submit_success_records_and_updates(emulator, tmp_path, history_at) -> None:
    ctx = make_ctx(emulator.url, tmp_path, history_at=history_at)
    hit = hit_for(emulator, ctx.service, MaxAssignments=2, Reward="0.25")
    sent = emulator.state.request_count(OP)
    app = Host(ctx)
    async with app.run_test(size=(100, 40)) as pilot:
        await open_dialog(app, pilot, hit)
        await pilot.press("3", "enter")
        await wait_for(pilot, lambda: ctx.state.last_outcome is not None, what="the outcome")
        outcome = ctx.state.last_outcome
        assert outcome.record.state is State.SUCCEEDED
        assert app.updated[-1].max_assignments == 5
        assert any("Added 3 assignments" in str(n.message) for n in notifications(app))
    assert emulator.state.request_count(OP) == sent + 1
    assert ctx.history.count() == 1


async def test_refusal_is_announced_and_recorded(emulator, tmp_path) -> None:
    ctx = make_ctx(emulator.url, tmp_path, balance=None)
    hit = hit_for(emulator, ctx.service, MaxAssignments=2, Reward="9.00")
    emulator.state.set_balance("1.00")
    app = Host(ctx)
    try:
        async with app.run_test(size=(100, 40)) as pilot:
            await open_dialog(app, pilot, hit)
            await pilot.press("2", "enter")
            await wait_for(pilot, lambda: ctx.state.last_outcome is not None, what="the outcome")
            outcome = ctx.state.last_outcome
            assert outcome.record.state is State.REFUSED
            assert outcome.record.error_code == "AWS.MechanicalTurk.InsufficientFunds"
            assert any(n.title == "Not applied" for n in notifications(app))
    finally:
        emulator.state.set_balance("100000000.00")
    assert emulator.state.get_hit_raw(hit.hit_id)["MaxAssignments"] == 2


async def test_production_confirmation_restates_and_guards(emulator, tmp_path) -> None:
    ctx = make_ctx(emulator.url, tmp_path, EnvKind.PRODUCTION)
    hit = hit_for(emulator, ctx.service, MaxAssignments=10, Reward="1.00", Title="[b]x[/b]")
    sent = emulator.state.request_count(OP)
    app = Host(ctx)
    async with app.run_test(size=(100, 40)) as pilot:
        await open_dialog(app, pilot, hit)
        await pilot.press("2", "enter")
        await pilot.pause()
        assert isinstance(app.screen, ConfirmScreen)
        body = text_of(app.screen, "#confirm-body")
        for part in (
            "PRODUCTION: add 2 assignments",
            "10 \u2192 12",
            "$2.80",
            "40% fee",
            "$100.00",
            "real money",
            "[b]x[/b]",
        ):
            assert part in body, body
        # The sentence is the operation's, the one `turktui extend` prints (one place).
        from turktui.pipeline.operations import confirmation

        plan = Engine(ctx.service, None, ctx.env).plan(hit, 2)  # type: ignore[arg-type]
        balance = ctx.balance.available if ctx.balance else None
        words = confirmation(plan, "PRODUCTION", ctx.clock(), balance, real=True)
        assert body == "\n".join(words)
        await pilot.press("enter")  # focus is on Cancel: a stray Enter never sends
        await pilot.pause()
        assert not isinstance(app.screen, ConfirmScreen)
        assert emulator.state.request_count(OP) == sent
        await open_dialog(app, pilot, hit)
        await pilot.press("2", "enter")
        await pilot.pause()
        await pilot.press("y")
        await wait_for(pilot, lambda: ctx.state.last_outcome is not None, what="the outcome")
    assert emulator.state.get_hit_raw(hit.hit_id)["MaxAssignments"] == 12
    assert emulator.state.request_count(OP) == sent + 1


async def test_read_only_offers_no_extension(emulator, tmp_path) -> None:
    ctx = make_ctx(emulator.url, tmp_path, read_only=True)
    hit = hit_for(emulator, ctx.service, MaxAssignments=2)
    app = Host(ctx)
    async with app.run_test(size=(100, 40)) as pilot:
        await extend_flow.open_extend(app, hit).wait()
        assert not isinstance(app.screen, ExtendScreen)
        assert any("read-only: extending is off" in str(n.message) for n in notifications(app))
        app.push_screen(ExtendScreen(hit, ctx))
        await pilot.pause()
        # The dialog says it in the gate's one wording.
        assert "read-only: extending is off" in text_of(app.screen, "#extend-blocked")
        assert not app.screen.query("#extend-submit")


async def test_history_screen_reads_pages_on_demand_filters_and_opens_a_record(
    emulator, tmp_path
) -> None:
    # 5,000 records: many pages of the screen's reader, of which only the ones shown are read.
    # The same screen at 100,000 records, timed, is the benchmark ("History screen open").
    ctx = make_ctx(emulator.url, tmp_path)
    app = Host(ctx)
    async with app.run_test(size=(120, 40)) as pilot:
        history = extend_flow.get_history(app)
        history.import_many(
            {"hit_id": f"HIT{i:06d}", "n": 1, "token": f"t{i}", "hit_title": f"Survey {i} \x1b[31m"}
            for i in range(5_000)
        )
        extend_flow.open_history(app)
        screen = app.screen
        assert isinstance(screen, HistoryScreen)
        await wait_for(pilot, lambda: not screen.reading, what="the history to be read")
        await pilot.pause()
        listing = screen.query_one(RecordList)
        assert listing.total == 5_000 and len(listing.model.pages) == 1  # one page fetched
        assert "5,000 records" in text_of(screen, "#history-count")
        assert "HIT004999" in screen_text(app) and "\x1b" not in screen_text(app)
        await pilot.press("end")
        # The page is read by a worker.
        await wait_for(pilot, lambda: listing.current is not None, what="the last page")
        await pilot.pause()
        assert listing.current.hit_id == "HIT000000" and "HIT000000" in screen_text(app)
        assert len(listing.model.pages) == 2  # the first and the last page, nothing between
        await pilot.press("home")
        await pilot.press("slash", *"HIT00499", "enter")
        await wait_for(
            pilot,
            lambda: not screen.reading and screen.filter_text == "HIT00499",
            what="the history filtered by HIT00499",
        )
        assert screen.total == 10 and screen.records[0].hit_id == "HIT004999"
        await pilot.press("enter")
        await wait_for(pilot, lambda: isinstance(app.screen, RecordScreen), what="the record")
        assert "HIT004999" in text_of(app.screen, "#record-text")
        assert "\x1b" not in text_of(app.screen, "#record-text")
        await pilot.press("escape")
        await pilot.pause()
        assert app.screen is screen


def _crashed_record(emulator: Any, ctx: AppContext, history: Any) -> tuple[int, str]:
    hit_id = emulator.state.add_hit(MaxAssignments=3, Reward="1.00")
    token = new_token()
    rid = history.create(
        env_kind="demo",
        endpoint=emulator.url,
        profile=None,
        hit_id=hit_id,
        hit_title="t",
        n=2,
        token=token,
        max_before=3,
        expected_after=5,
    )
    now = datetime.now(UTC)
    history.add_attempt(
        rid,
        operation=OP,
        outcome="started",
        at=now,
        state=State.SENDING,
        first_sent=now - timedelta(minutes=5),
    )
    ctx.service.create_additional_assignments(hit_id, 2, token)  # applied; never recorded
    return rid, hit_id


async def test_startup_offers_to_resolve_unsettled(emulator, tmp_path, history_at) -> None:
    ctx = make_ctx(emulator.url, tmp_path, history_at=history_at)
    app = Host(ctx)
    history = extend_flow.get_history(app)
    rid, hit_id = _crashed_record(emulator, ctx, history)
    async with app.run_test(size=(100, 40)) as pilot:
        extend_flow.check_unsettled(app)
        await wait_for(pilot, lambda: isinstance(app.screen, ConfirmScreen), what="the question")
        assert f"#{rid}" in text_of(app.screen, "#confirm-body")
        await pilot.press("y")
        await wait_for(
            pilot,
            lambda: history.get(rid).state is State.RESOLVED_SUCCEEDED,
            what="the record to be resolved",
        )
    assert emulator.state.get_hit_raw(hit_id)["MaxAssignments"] == 5


async def test_resolve_from_history_screen(emulator, tmp_path, history_at) -> None:
    ctx = make_ctx(emulator.url, tmp_path, history_at=history_at)
    app = Host(ctx)
    history = extend_flow.get_history(app)
    rid, hit_id = _crashed_record(emulator, ctx, history)
    async with app.run_test(size=(120, 40)) as pilot:
        extend_flow.open_history(app)
        await pilot.pause()
        await pilot.press("R")
        await wait_for(
            pilot,
            lambda: history.get(rid).state is State.RESOLVED_SUCCEEDED,
            what="the record to be resolved",
        )
        await wait_for(
            pilot,
            lambda: app.screen.records[0].state is State.RESOLVED_SUCCEEDED,
            what="the list to show the record resolved",
        )
    assert emulator.state.get_hit_raw(hit_id)["MaxAssignments"] == 5


@pytest.mark.parametrize("size", [(80, 24), (160, 48)])
async def test_small_hit_says_what_is_known(emulator, tmp_path, size) -> None:
    """GetHIT does not say how many assignments a HIT was created with: the dialog says
    what it has now (it said "created with N", N being the current MaxAssignments)."""
    ctx = make_ctx(emulator.url, tmp_path)
    hit = hit_for(emulator, ctx.service, MaxAssignments=4, Reward="1.00")
    app = Host(ctx)
    async with app.run_test(size=size) as pilot:
        await open_dialog(app, pilot, hit)
        text = screen_text(app)
        assert "this HIT has 4 assignments (under 10: it can never reach 10)" in text, text
        assert "created with" not in text
