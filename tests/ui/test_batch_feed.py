"""A batch's workers feed the progress screen without a message per row: rows are queued
(`Inbox`) and shown together, at most once per frame, in one repaint of what changed.

No emulator: the screen is fed as `Controller.run_batch` feeds it (`BatchScreen.watch`),
from a thread, with records made here."""

from __future__ import annotations

import dataclasses
import threading
from collections.abc import Callable
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

import pytest
from rich.style import Style
from textual.app import App
from textual.geometry import Region
from textual.screen import ModalScreen
from textual.widgets import Static

import turktui.ui
from tests.ui.helpers import screen_text, wait_for
from turktui.domain.models import Hit
from turktui.domain.records import Record, State
from turktui.pipeline.engine import Outcome
from turktui.ui.inbox import Inbox
from turktui.ui.screens.bulk import SENDING, SPINNER, BatchScreen, MemberTable
from turktui.ui.widgets.hit_table import HitTable
from turktui.ui.widgets.progress_line import ProgressLine
from turktui.ui.widgets.vtable import VirtualTable

NOW = datetime(2026, 1, 5, 12, 0, tzinfo=timezone.utc)
MEMBERS = 60  # more than a window shows at 160x48


def _record(i: int, state: State = State.PLANNED) -> Record:
    return Record(
        i, NOW, NOW, "demo", "http://127.0.0.1:1", None, f"H{i:029d}", "", 1, f"t{i}", 3, 4,
        state, batch_id="batch-1",
    )  # fmt: skip


class Host(App[None]):
    CSS_PATH = str(Path(turktui.ui.__file__).parent / "app.tcss")


def _in_thread(work: Callable[[], object]) -> None:
    """Run `work` in a thread to its end while the UI thread is held: everything it queues
    is queued before the UI can show any of it."""
    thread = threading.Thread(target=work)
    thread.start()
    thread.join()


def _spy(monkeypatch: pytest.MonkeyPatch, obj: object, name: str) -> list[tuple[Any, ...]]:
    """The positional arguments of each call to `obj.name` from now on (which still runs)."""
    calls: list[tuple[Any, ...]] = []
    real = getattr(obj, name)

    def spy(*args: Any, **kwargs: Any) -> Any:
        calls.append(args)
        return real(*args, **kwargs)

    monkeypatch.setattr(obj, name, spy)
    return calls


def _count_style_reads(monkeypatch: pytest.MonkeyPatch) -> list[int]:
    """From now on, each read of a table's style (`rich_style`) is counted in the list."""
    reads = [0]
    style = VirtualTable.rich_style

    def counting(self: Any) -> Style:
        reads[0] += 1
        return style.fget(self)  # type: ignore[attr-defined,no-any-return]

    monkeypatch.setattr(VirtualTable, "rich_style", property(counting))
    return reads


async def _batch_of(pilot: Any, records: list[Record]) -> tuple[BatchScreen, MemberTable]:
    """The progress screen on top, its members `records` listed (planned)."""
    screen = BatchScreen("test", on_cancel=lambda: 0, on_retry=lambda s: None)
    await pilot.app.push_screen(screen)
    screen.post_message(BatchScreen.Recorded("batch-1", records))
    table = screen.query_one(MemberTable)
    await wait_for(pilot, lambda: len(table.rows) == len(records))
    return screen, table


@pytest.mark.parametrize("size", [(80, 24), (160, 48)])
async def test_worker_rows_are_shown_together_in_one_repaint(
    size: tuple[int, int], monkeypatch: pytest.MonkeyPatch
) -> None:
    records = [_record(i) for i in range(1, MEMBERS + 1)]
    app = Host()
    async with app.run_test(size=size) as pilot:
        screen, table = await _batch_of(pilot, records)
        deliveries: list[int] = []
        update_rows = table.update_rows

        def counted(rows: Any, **kw: Any) -> int:
            if rows:  # (a frame may only turn the spinner)
                deliveries.append(len(rows))
            return update_rows(rows, **kw)

        monkeypatch.setattr(table, "update_rows", counted)
        posted: list[Hit] = []
        feed = screen.watch(posted.append)

        # Two members taken by workers: shown sending (a spinner), in one delivery.
        _in_thread(lambda: [feed["started"](rec) for rec in records[:2]])
        await wait_for(pilot, lambda: screen.sending == 2, what="2 sending")
        assert deliveries == [2]
        text = screen_text(app)
        assert SENDING in text and any(frame in text for frame in SPINNER)
        assert "2 sending" in screen.counts_text()

        # The spinner turns: only the rows on the wire are formatted again.
        formats: list[int] = []
        fmt = table._format
        monkeypatch.setattr(table, "_format", lambda row: formats.append(row.record_id) or fmt(row))
        frame = table.frame
        await wait_for(pilot, lambda: table.frame > frame, what="a spinner tick")
        assert set(formats) <= {1, 2}

        # Every member goes out and comes back: one delivery, one repaint, one read of the
        # table's style for all the lines it repaints (not one per line).
        reads = _count_style_reads(monkeypatch)
        counts = screen.query_one("#batch-counts", Static)
        layouts: list[bool] = []
        refresh = counts.refresh

        def counted_refresh(*regions: Any, **kw: Any) -> Any:
            layouts.append(bool(kw.get("layout")))
            return refresh(*regions, **kw)

        monkeypatch.setattr(counts, "refresh", counted_refresh)

        def send_all() -> None:
            for rec in records:
                feed["started"](rec)
                done = _record(rec.id, State.SUCCEEDED)
                feed["member"](Outcome(done, Hit(rec.hit_id, max_assignments=4), "ok"))

        _in_thread(send_all)
        await wait_for(pilot, lambda: screen.settled == MEMBERS, what="every member settled")
        await pilot.pause()
        assert deliveries == [2, MEMBERS]
        assert {row.state for row in table.rows} == {State.SUCCEEDED}
        assert len(posted) == MEMBERS  # each HIT handed to the list
        assert reads[0] <= 3, reads  # refresh_changed, then one per rendering pass
        assert screen.counts_text() == f"{MEMBERS} of {MEMBERS} settled \u00b7 {MEMBERS} succeeded"
        assert screen.query_one("#batch-bar").progress == MEMBERS
        assert not any(layouts), "the counts kept their height: no layout of the dialog"
        assert f"{MEMBERS} succeeded" in screen_text(app)

        # A row below the window changes: nothing drawn is compared or repainted.
        lines = _spy(monkeypatch, table, "_line")
        table.update_rows([dataclasses.replace(table.rows[-1], status="below")])
        assert lines == []
        table.update_rows([dataclasses.replace(table.rows[0], status="in the window")])
        assert lines, "a row in the window is compared and repainted"
        await pilot.pause()
        assert "in the window" in screen_text(app)


async def test_inbox_delivers_in_order_and_flush_does_not_wait() -> None:
    app = Host()
    async with app.run_test(size=(80, 24)) as pilot:
        got: list[list[int]] = []
        inbox: Inbox[int] = Inbox(app, got.append, interval=60)
        _in_thread(lambda: [inbox.put(i) for i in range(100)])
        await wait_for(pilot, lambda: got)
        assert got == [list(range(100))]  # one delivery, in the order put
        inbox.put(100)  # right after a delivery: held back for the interval
        await pilot.pause()
        assert len(got) == 1
        assert inbox.flush() == 1 and got[-1] == [100]  # e.g. before a final state
        assert inbox.flush() == 0 and len(got) == 2


async def test_rows_posted_under_a_dialog_are_applied_less_often(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """Under a dialog (e.g. the batch's progress), the list applies posted rows at its
    covered pace, to its data only: each repaint under a dialog costs Textual a repaint
    of the whole terminal. Nothing is lost: they show as soon as the dialog closes."""
    monkeypatch.setattr(VirtualTable, "DRAIN_INTERVAL", 0)
    monkeypatch.setattr(VirtualTable, "COVERED_DRAIN_INTERVAL", 60)

    class ListHost(Host):
        def compose(self) -> Any:
            yield HitTable(lambda: NOW)

    def hit(hit_id: str, most: int) -> Hit:
        return Hit(hit_id, title=hit_id, max_assignments=most)

    app = ListHost()
    async with app.run_test(size=(80, 24)) as pilot:
        table = app.query_one(HitTable)
        table.set_rows([hit("A", 1), hit("B", 1)])
        shown = lambda key: table.rows[table.model.index_of(key)].max_assignments  # noqa: E731
        _in_thread(lambda: table.post_hit(hit("A", 2)))
        await wait_for(pilot, lambda: shown("A") == 2, what="A applied at once")
        await app.push_screen(ModalScreen())
        _in_thread(lambda: table.post_hit(hit("B", 2)))
        await pilot.pause()
        assert shown("B") == 1  # held: the list is covered
        repaints = _spy(monkeypatch, table, "refresh")
        lines = _spy(monkeypatch, table, "_line")
        assert table.drain_updates() == 1  # the covered pace's delivery
        assert shown("B") == 2  # in the table's data...
        assert repaints == [] and lines == []  # ...but nothing compared or repainted
        _in_thread(lambda: table.post_hit(hit("A", 3)))
        app.pop_screen()
        await wait_for(pilot, lambda: shown("A") == 3, what="A applied once uncovered")
        assert repaints, "uncovered: the rows that changed are repainted"

        def maxima() -> dict[str, str]:
            rows = [ln.split() for ln in screen_text(app).splitlines()[1:3]]
            return {cells[-5]: cells[-3] for cells in rows}

        await wait_for(pilot, lambda: maxima() == {"A": "3", "B": "2"}, what="both drawn")

        # A row that enters the filter changes the scroll range (soon after, not per row).
        table.set_filter("A")
        height = table.virtual_size.height
        table.update_hit(Hit("B", title="AB", max_assignments=2))
        await wait_for(pilot, lambda: table.virtual_size.height == height + 1, what="resized")


@pytest.mark.parametrize("size", [(80, 24), (160, 48)])
async def test_a_frame_of_members_below_the_window_repaints_the_dialogs_foot_only(
    size: tuple[int, int], monkeypatch: pytest.MonkeyPatch
) -> None:
    """Members settling below the window change the bar and the counts only: both are at
    the dialog's foot, so a frame repaints those lines, not the dialog from top to foot
    (Textual repaints the union of what changed), and the bar is one line redrawn only
    when a cell or its percentage changes."""
    records = [_record(i) for i in range(1, MEMBERS + 1)]
    app = Host()
    async with app.run_test(size=size) as pilot:
        screen, table = await _batch_of(pilot, records)
        await pilot.pause()
        crops: list[Region] = []
        compositor = screen._compositor
        partial = compositor.render_partial_update

        def spied() -> Any:
            if compositor._dirty_regions:
                crops.append(Region.from_union(list(compositor._dirty_regions)))
            return partial()

        monkeypatch.setattr(compositor, "render_partial_update", spied)
        timers = _spy(monkeypatch, table, "set_timer")
        passes = _spy(monkeypatch, table, "render_lines")
        feed = screen.watch(lambda hit: None)
        below = records[-10:]
        assert not {str(r.id) for r in below} & {
            str(table.rows[i].record_id) for i in range(int(table.scroll_y), table.size.height)
        }
        done = [Outcome(_record(r.id, State.SUCCEEDED), None, "ok") for r in below]
        _in_thread(lambda: [feed["member"](outcome) for outcome in done])
        await wait_for(pilot, lambda: screen.settled == 10, what="10 settled")
        bar = screen.query_one("#batch-bar", ProgressLine)
        counts = screen.query_one("#batch-counts", Static)
        await wait_for(pilot, lambda: bool(crops), what="the frame painted")
        foot = bar.region.union(counts.region)
        assert foot.height == 2 and not foot.overlaps(table.region)
        assert all(foot.contains_region(crop) for crop in crops), (foot, crops)
        assert passes == [], "the members' lines are not read again for a frame at the foot"
        assert timers == [], "rows updated in place: the scroll range is not measured again"

        # A pass over the table's lines that renders none (all cached) reads no style.
        reads = _count_style_reads(monkeypatch)
        assert len(table.render_lines(Region(0, 0, *table.size))) == table.size.height
        assert reads == [0]

        width = bar.size.width
        cells = width - 5
        filled = cells * 10 // MEMBERS
        assert bar.render_line(0).text == "\u2588" * filled + "\u2591" * (cells - filled) + "  16%"
        repaints: list[object] = []
        monkeypatch.setattr(bar, "refresh", lambda *a, **kw: repaints.append(a))
        bar.update(total=MEMBERS, progress=10)  # what it shows already
        assert repaints == []
        bar.update(total=MEMBERS, progress=MEMBERS)
        assert repaints

        # No spinner in the window: a frame every other tick; one in it: every tick.
        screen.ticker.pause()
        shows = _spy(monkeypatch, screen, "_show_rows")
        for _ in range(4):
            screen._tick()
        assert len(shows) == 2
        _in_thread(lambda: feed["started"](records[0]))
        screen._tick()  # (may be the skipped one: the row is not shown sending yet)
        screen._tick()
        assert table.spinning()
        shows.clear()
        for _ in range(4):
            screen._tick()
        assert len(shows) == 4
