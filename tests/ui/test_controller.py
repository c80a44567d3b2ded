"""Pilot tests of the typed controller: screens ask by message, workers answer by message,
batch rows reach the table without a worker waiting for the UI thread, and the status line
follows the app's reactive state."""

from __future__ import annotations

import threading
from datetime import datetime, timezone
from decimal import Decimal
from typing import Any

import pytest

from tests.ui.helpers import notifications, screen_text, wait_for, wait_loaded
from turktui.domain.models import Balance, Hit
from turktui.domain.records import Record, State
from turktui.ui.app import TurkTuiApp
from turktui.ui.controller import ControllerApp
from turktui.ui.messages import BulkWanted, ExtendWanted, ResolveWanted
from turktui.ui.screens.bulk import BatchScreen, BulkScreen
from turktui.ui.screens.extend import ExtendScreen

pytestmark = pytest.mark.timeout(90)


class Host(ControllerApp):
    """A bare controller app: what its hooks and reactive state were told, in order."""

    def __init__(self, ctx: Any) -> None:
        super().__init__(ctx)
        self.shown: list[Hit] = []
        self.flights: list[tuple[str, ...]] = []
        self.balance_refreshes = 0

    def show_hit(self, hit: Hit) -> None:
        self.shown.append(hit)

    def refresh_balance(self) -> None:
        self.balance_refreshes += 1

    def watch_in_flight(self, flights: tuple[str, ...]) -> None:
        self.flights.append(flights)


async def test_extend_by_message_reports_by_message(make_emulator, make_context) -> None:
    server = make_emulator(0)
    hit_id = server.state.add_hit(MaxAssignments=3, Reward="0.50", Title="By message")
    ctx = make_context(server.url)
    hit = ctx.service.get_hit(hit_id)
    # The answer takes 0.3 s: the request is still in flight when the app hears its worker
    # start (a request answered at once may be over before that).
    server.faults.add(op="CreateAdditionalAssignmentsForHIT", latency=0.3)
    app = Host(ctx)
    async with app.run_test(size=(100, 40)) as pilot:
        app.post_message(ExtendWanted(hit))
        await wait_for(pilot, lambda: isinstance(app.screen, ExtendScreen))
        await pilot.press("2", "enter")
        await wait_for(pilot, lambda: ctx.state.last_outcome is not None)
        await wait_for(pilot, lambda: app.in_flight == ())
        assert ctx.state.last_outcome.record.state is State.SUCCEEDED
        # The result came back as messages: the hit to show, the balance to fetch again,
        # and the flight started and ended (the status line's reactive state).
        assert app.shown[-1].hit_id == hit_id and app.shown[-1].max_assignments == 5
        assert app.balance_refreshes == 1
        assert (f"+2 to {hit_id}",) in app.flights and app.flights[-1] == ()
    assert server.state.get_hit_raw(hit_id)["MaxAssignments"] == 5


async def test_read_only_controller_refuses_by_message(make_emulator, make_context) -> None:
    server = make_emulator(0)
    hit_id = server.state.add_hit(MaxAssignments=3, Reward="0.50")
    ctx = make_context(server.url, read_only=True)
    hit = ctx.service.get_hit(hit_id)
    app = Host(ctx)
    async with app.run_test(size=(100, 40)) as pilot:
        app.post_message(ExtendWanted(hit))
        app.post_message(BulkWanted([hit]))
        app.post_message(ResolveWanted([]))
        app.post_message(ResolveWanted([_record(hit)]))
        await wait_for(pilot, lambda: len(notifications(app)) == 3, what="three refusals")
        await pilot.pause()
        assert app.screen is app.screen_stack[0]  # no dialog opened
        said = [n.message for n in notifications(app)]
        # One gate, one wording (resolving said it its own way before).
        assert said == [
            "read-only: extending is off (started with --read-only or read_only = true)",
            "read-only: bulk extension is off (started with --read-only or read_only = true)",
            "read-only: resolving is off (started with --read-only or read_only = true)",
        ]
    assert server.state.get_hit_raw(hit_id)["MaxAssignments"] == 3


def _record(hit: Hit) -> Record:
    now = datetime.now(timezone.utc)
    return Record(
        1, now, now, "demo", "http://127.0.0.1:1", None, hit.hit_id, "", 1, "t", 3, 4, State.UNKNOWN
    )


@pytest.mark.parametrize("size", [(80, 24), (160, 48)])
async def test_extend_preview_follows_the_balance(size, make_emulator, make_context) -> None:
    """The dialog's preview watches the app's `balance` (its one owner): a balance that
    arrives, or changes, while the dialog is open shows at once (it waited for a key)."""
    server = make_emulator(0)
    hit_id = server.state.add_hit(MaxAssignments=3, Reward="0.50", Title="Balance")
    ctx = make_context(server.url)
    hit = ctx.service.get_hit(hit_id)
    app = Host(ctx)
    async with app.run_test(size=size) as pilot:
        app.post_message(ExtendWanted(hit))
        await wait_for(pilot, lambda: isinstance(app.screen, ExtendScreen), what="the dialog")
        dialog = app.screen
        await pilot.press("2")
        await wait_for(pilot, lambda: dialog.count == 2, what="2 typed")
        preview = dialog.query_one("#extend-preview")
        assert "Balance available: unknown" in str(preview.render())
        app.balance = Balance(Decimal("0.40"))
        await pilot.pause()
        assert "$0.40 \u2014 NOT enough" in str(preview.render())
        assert dialog.query_one("#extend-submit").disabled
        app.balance = Balance(Decimal("123.45"))
        await pilot.pause()
        assert "$123.45 \u2014 enough" in str(preview.render())
        assert not dialog.query_one("#extend-submit").disabled
        await pilot.press("escape", "escape")  # nothing sent
        await wait_for(pilot, lambda: app.screen is app.screen_stack[0], what="the dialog shut")
    assert server.state.get_hit_raw(hit_id)["MaxAssignments"] == 3


async def test_batch_rows_are_posted_never_waited_for(
    make_emulator, make_context, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A batch's workers hand each row to the table with post_hit and never block on the UI
    thread (call_from_thread); the marks of the HITs extended are cleared and the status line
    follows the app's `marks`."""
    server = make_emulator(0)
    ids = [
        server.state.add_hit(MaxAssignments=m, Reward="0.10", Title=f"Batch {m}") for m in (2, 3, 4)
    ]
    app = TurkTuiApp(make_context(server.url))
    blocking: list[str] = []
    real_call_from_thread = app.call_from_thread

    def recording(callback: Any, *args: Any, **kw: Any) -> Any:
        blocking.append(threading.current_thread().name)
        return real_call_from_thread(callback, *args, **kw)

    monkeypatch.setattr(app, "call_from_thread", recording)
    async with app.run_test(size=(120, 40)) as pilot:
        await wait_loaded(pilot)
        table = app.main_screen.table
        posted: list[tuple[str, bool]] = []
        real_post = table.post_hit

        def post_hit(hit: Hit) -> None:
            posted.append((hit.hit_id, threading.get_ident() == app._thread_id))
            real_post(hit)

        monkeypatch.setattr(table, "post_hit", post_hit)
        await pilot.press("a")
        await pilot.pause()
        assert app.marks == 3 and "3 marked (b: bulk)" in screen_text(app)
        await pilot.press("b")
        await wait_for(pilot, lambda: isinstance(app.screen, BulkScreen))
        await pilot.press("2")
        screen: BulkScreen = app.screen  # type: ignore[assignment]
        await wait_for(pilot, lambda: screen.preview is not None)
        await pilot.press("enter")
        await wait_for(pilot, lambda: isinstance(app.screen, BatchScreen))
        await wait_for(pilot, lambda: app.ctx.state.last_batch is not None, timeout=30)
        await wait_for(
            pilot,
            lambda: all(
                table.model.rows[table.model.index_of(i)].max_assignments >= 4 for i in ids
            ),
        )
        assert sorted(h for h, _ in posted) == sorted(ids)
        assert not any(on_ui for _, on_ui in posted), "rows are posted from the workers"
        assert blocking == [], "no worker waited for the UI thread"
        assert app.marks == 0 and not table.marked
        await pilot.press("escape")
        await pilot.pause()
        assert "marked" not in screen_text(app)
    assert [server.state.get_hit_raw(i)["MaxAssignments"] for i in ids] == [4, 5, 6]


async def test_status_line_follows_reactive_state(make_emulator, make_context) -> None:
    server = make_emulator(0)
    for m in (2, 3):
        server.state.add_hit(MaxAssignments=m, Reward="0.10")
    app = TurkTuiApp(make_context(server.url))
    async with app.run_test(size=(100, 30)) as pilot:
        await wait_loaded(pilot)
        status = app.main_screen.status_bar
        assert status.text[0].startswith("2 HITs")
        app.in_flight = ("+3 to X",)
        app.marks = 7  # assigning the state is all it takes: the watchers redraw
        await pilot.pause()
        assert "\u27f3 adding +3 to X\u2026" in screen_text(app)
        assert "7 marked (b: bulk)" in screen_text(app)
        app.in_flight = ("a", "b")
        await pilot.pause()
        assert "\u27f3 2 requests in flight" in screen_text(app)
        app.balance_error = "MTurk error: down"
        app.balance = None
        await pilot.pause()
        assert "balance unavailable" in screen_text(app)


async def test_a_row_that_arrives_as_the_app_quits_is_dropped_quietly(
    emulator: Any, make_context: Any
) -> None:
    """An outcome can arrive while the app closes (its request was in flight when `q` was
    pressed): the list is gone by then, and showing the HIT's row must not raise (it did:
    NoMatches for HitTable, a traceback at exit). The history has the outcome."""
    from turktui.ui.widgets.hit_table import HitTable

    app = TurkTuiApp(make_context(emulator.url))
    async with app.run_test(size=(80, 24)) as pilot:
        await wait_loaded(pilot)
        hit = app.main_screen.table.rows[0]
        await app.main_screen.query_one(HitTable).remove()  # as when the app tears down
        app.show_hit(hit)
        app.post_hit(hit)
        await pilot.pause()
