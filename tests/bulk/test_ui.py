"""Pilot tests: marking, every mode's preview, cancel, partial failure, retry, production."""

from __future__ import annotations

from datetime import datetime, timezone
from typing import Any

import pytest

from tests.bulk.conftest import OP
from tests.conftest import FIXED_NOW
from tests.ui.helpers import notifications, screen_text, wait_for, wait_loaded
from turktui.domain.environment import EnvKind
from turktui.domain.records import State
from turktui.ui.app import TurkTuiApp
from turktui.ui.screens.bulk import (
    CANCELLED,
    SENDING,
    SPINNER,
    BatchScreen,
    BulkScreen,
    MemberTable,
    PreviewTable,
)
from turktui.ui.screens.confirm import ConfirmScreen

NOW = FIXED_NOW.timestamp()
OLD = datetime(2014, 3, 1, tzinfo=timezone.utc).timestamp()
MIXED = [(1, False), (4, False), (7, False), (9, False), (10, False), (25, False), (4, True)]


def seed(server: Any, spec: list[tuple[int, bool]] = MIXED, **kw: Any) -> list[str]:
    return [
        server.state.add_hit(
            MaxAssignments=m,
            Reward="0.10",
            Title=f"Survey max {m}" + (" old" if old else ""),
            CreationTime=OLD if old else NOW - 86400,
            **kw,
        )
        for m, old in spec
    ]


async def start(pilot: Any) -> Any:
    await wait_loaded(pilot)
    return pilot.app.main_screen.table


@pytest.mark.parametrize("size", [(80, 24), (160, 48)])
async def test_marking_survives_sort_filter_and_refresh(make_emulator, make_context, size) -> None:
    server = make_emulator(0)
    ids = seed(server, [(m, False) for m in (3, 12, 20, 5)])
    app = TurkTuiApp(make_context(server.url))
    async with app.run_test(size=size) as pilot:
        table = await start(pilot)
        first = table.cursor_hit.hit_id
        await pilot.press("space")
        assert table.marked == {first} and table.cursor == 1  # marked and moved down
        assert "\u25cf" in screen_text(app) and "1 marked (b: bulk)" in screen_text(app)
        await pilot.press("space")
        assert len(table.marked) == 2
        await pilot.press("s", "s", "s", "s")  # sort by Max
        await pilot.pause()
        assert len(table.marked) == 2 and screen_text(app).count("\u25cf") == 2
        await pilot.press("slash", *"max 2", "enter")  # filter: only "Survey max 20"
        await pilot.pause()
        assert len(table.view) == 1
        await pilot.press("a")  # marks only what is shown
        assert len(table.marked) == 3
        await pilot.press("escape")
        await pilot.pause()
        assert len(table.marked) == 3 and "3 marked" in screen_text(app)
        # A refresh keeps marks of HITs still listed and drops the vanished one.
        server.state.update_hit(first, Expiration=NOW - 10)
        server.state.op_delete_hit({"HITId": first})
        await pilot.press("r")
        await wait_loaded(pilot)
        assert first not in table.marked and len(table.marked) == 2
        assert {h.hit_id for h in table.marked_hits} <= set(ids)
        await pilot.press("u")
        assert not table.marked and "marked" not in screen_text(app)


async def test_bulk_needs_marks(make_emulator, make_context) -> None:
    server = make_emulator(0)
    seed(server)
    app = TurkTuiApp(make_context(server.url))
    async with app.run_test(size=(80, 24)) as pilot:
        await start(pilot)
        await pilot.press("b")
        await pilot.pause()
        assert not isinstance(app.screen, BulkScreen)
        assert any("Mark HITs with space first" in n.message for n in notifications(app))


async def test_read_only_has_no_bulk(make_emulator, make_context) -> None:
    server = make_emulator(0)
    seed(server)
    app = TurkTuiApp(make_context(server.url, read_only=True))
    async with app.run_test(size=(80, 24)) as pilot:
        await start(pilot)
        await pilot.press("a", "b")
        await pilot.pause()
        assert not isinstance(app.screen, BulkScreen)


async def _open_bulk(pilot: Any, amount: str = "5") -> BulkScreen:
    """Mark everything, open the dialog and type the amount (nothing is prefilled)."""
    await start(pilot)
    await pilot.press("a", "b")
    await wait_for(pilot, lambda: isinstance(pilot.app.screen, BulkScreen))
    screen: BulkScreen = pilot.app.screen  # type: ignore[assignment]
    await pilot.press(*amount)
    await wait_for(pilot, lambda: screen.preview is not None)
    return screen


async def _set(pilot: Any, screen: BulkScreen, mode: str, value: str) -> str:
    await pilot.click(f"#mode-{mode}")
    box = screen.query_one("#bulk-number")
    box.value = value
    await pilot.pause()
    return screen_text(pilot.app)


async def test_every_mode_preview(make_emulator, make_context) -> None:
    server = make_emulator(0)
    seed(server)
    app = TurkTuiApp(make_context(server.url))
    async with app.run_test(size=(160, 48)) as pilot:
        screen = await _open_bulk(pilot)
        await pilot.pause()
        text = screen_text(app)
        assert "7 marked HITs" in text
        # Add 5 to each (typed by _open_bulk).
        plan = {
            (ln.hit.max_assignments, "old" in ln.hit.title): ln.change_text
            for ln in screen.preview.lines
        }
        assert plan[1, False] == "+5 (1 \u2192 6)" and plan[7, False] == "capped +2 (7 \u2192 9)"
        assert plan[9, False] == "refused" and plan[4, True] == "refused"
        assert "capped" in text and "\u2717 refused" in text and "created on 2014-03-01" in text
        assert "5 of 7 HITs to send" in text and "1 capped" in text and "2 refused" in text
        assert "balance" in text
        text = await _set(pilot, screen, "top-up", "20")
        plan = {
            (ln.hit.max_assignments, "old" in ln.hit.title): ln.change_text
            for ln in screen.preview.lines
        }
        assert plan[4, False] == "capped +5 (4 \u2192 9)"
        assert plan[10, False] == "+10 (10 \u2192 20)" and plan[25, False] == "nothing to do"
        assert "already at 25 (target 20)" in text
        text = await _set(pilot, screen, "nine", "")
        plan = {
            (ln.hit.max_assignments, "old" in ln.hit.title): ln.change_text
            for ln in screen.preview.lines
        }
        assert plan[1, False] == "+8 (1 \u2192 9)" and plan[10, False] == "nothing to do"
        assert "3 of 7 HITs to send" in text
        text = await _set(pilot, screen, "nine", "2")
        assert screen.preview.lines[4].change_text == "+2 (10 \u2192 12)"
        # Invalid: submit disabled, the reason shown.
        text = await _set(pilot, screen, "add", "0")
        assert screen.preview is None and "at least 1" in text
        assert screen.query_one("#bulk-send").disabled


async def test_send_then_rows_and_history_show_the_batch(make_emulator, make_context) -> None:
    server = make_emulator(0)
    ids = seed(server)
    app = TurkTuiApp(make_context(server.url))
    async with app.run_test(size=(160, 48)) as pilot:
        screen = await _open_bulk(pilot)
        expected = {ln.hit.hit_id: ln.new_max for ln in screen.preview.to_send}
        await pilot.press("ctrl+s")
        await wait_for(pilot, lambda: isinstance(app.screen, BatchScreen))
        batch = app.screen
        await wait_for(pilot, lambda: not batch.running)
        assert batch.report.succeeded == 5 and "5 of 5 succeeded" in screen_text(app)
        for hit_id, new_max in expected.items():
            assert server.state.get_hit_raw(hit_id)["MaxAssignments"] == new_max
        await pilot.press("escape")
        await pilot.pause()
        rows = {h.hit_id: h.max_assignments for h in app.main_screen.table.rows}
        assert all(rows[h] == m for h, m in expected.items())
        assert set(ids) >= set(expected)


async def test_cancel_then_retry(make_emulator, make_context) -> None:
    server = make_emulator(0)
    seed(server, [(20, False)] * 36)
    server.faults.add(op=OP, latency=0.4)
    app = TurkTuiApp(make_context(server.url))
    async with app.run_test(size=(80, 24)) as pilot:
        await _open_bulk(pilot)
        await pilot.press("ctrl+s")
        await wait_for(pilot, lambda: isinstance(app.screen, BatchScreen))
        batch = app.screen
        await wait_for(pilot, lambda: batch.progress is not None and batch.progress.done >= 3)
        await pilot.press("C")  # cancel the rest
        await wait_for(pilot, lambda: not batch.running)
        report = batch.report
        assert report.cancelled and 0 < report.not_sent < 36
        statuses = [row.status for row in batch.query_one(MemberTable).rows]
        assert statuses.count(CANCELLED) == report.not_sent
        assert "retry" in screen_text(app)
        planned = {r.id: r.token for r in report.records if r.state is State.PLANNED}
        sent = server.state.request_count(OP)
        server.faults.clear()
        await pilot.press("F")  # retry failed
        await wait_for(pilot, lambda: batch.report is not None and not batch.running)
        assert batch.report.all_succeeded
        assert server.state.request_count(OP) == sent + len(planned)
        assert {r.id: r.token for r in batch.report.records if r.id in planned} == planned


@pytest.mark.parametrize("size", [(80, 24), (160, 48)])
async def test_batch_rows_follow_the_true_states_through_cancel_and_retry(
    make_emulator, make_context, size
) -> None:
    """Rows on the wire say so (a spinner), never "not sent"; the bar counts what is
    settled; C says how many are on the wire and those finish and are shown; F never turns
    a settled row back and the bar never drops."""
    server = make_emulator(0)
    seed(server, [(20, False)] * 30)
    # Slow enough that the first members are still on the wire when C lands, on a loaded
    # machine too (the screen may lag the workers by a second).
    server.faults.add(op=OP, latency=1.5)
    app = TurkTuiApp(make_context(server.url))
    async with app.run_test(size=size) as pilot:
        await _open_bulk(pilot)
        await pilot.press("ctrl+s")
        await wait_for(pilot, lambda: isinstance(app.screen, BatchScreen))
        batch = app.screen
        table = batch.query_one(MemberTable)
        bar = batch.query_one("#batch-bar")
        await wait_for(pilot, lambda: batch.sending > 0, what="members on the wire")
        text = screen_text(app)
        assert SENDING in text
        assert "not sent" not in text and any(frame in text for frame in SPINNER)
        await pilot.press("C")  # at once: a loaded machine may lag the screen by seconds
        wire = batch.cancelled_with
        assert wire is not None and wire > 0
        # said on the counts line (no toast over the members) until the summary replaces it
        assert f"cancelled: {wire} on the wire finish and are shown" in batch.counts_text()
        while batch.running:  # the bar counts what is settled
            assert bar.progress == batch.settled
            await pilot.pause(0.05)
        report = batch.report
        assert report.cancelled and report.not_sent > 0
        recorded = {r.id: r.state for r in report.records}
        shown = {row.record_id: row.state for row in table.rows}
        assert shown == recorded  # every row as the history has it
        assert server.state.request_count(OP) == report.succeeded == 30 - report.not_sent
        assert bar.progress == report.succeeded and bar.total == 30
        settled = {rid for rid, st in recorded.items() if st is State.SUCCEEDED}
        server.faults.clear()
        server.faults.add(op=OP, latency=0.2)
        lowest = bar.progress
        await pilot.press("F")
        while batch.running or batch.report is None:
            rows = {row.record_id: row for row in table.rows}
            assert all(rows[rid].state is State.SUCCEEDED for rid in settled)
            assert not any(row.status == CANCELLED for row in rows.values())
            assert bar.progress >= lowest
            lowest = bar.progress
            await pilot.pause(0.05)
        assert batch.report.all_succeeded and bar.progress == bar.total == 30
        assert "30 of 30 succeeded" in screen_text(app)


async def test_partial_failure_shown_per_hit(make_emulator, make_context) -> None:
    server = make_emulator(0)
    ids = seed(server, [(20, False)] * 4, Expiration=NOW - 60)
    app = TurkTuiApp(make_context(server.url))
    async with app.run_test(size=(160, 48)) as pilot:
        await _open_bulk(pilot)
        for hit_id in ids[:2]:  # deleted while the dialog was open
            server.state.op_delete_hit({"HITId": hit_id})
        await pilot.press("ctrl+s")
        await wait_for(pilot, lambda: isinstance(app.screen, BatchScreen))
        batch = app.screen
        await wait_for(pilot, lambda: not batch.running)
        text = screen_text(app)
        assert batch.report.succeeded == 2 and batch.report.refused == 2
        statuses = [row.status for row in batch.query_one(MemberTable).rows]
        assert sum(s.startswith("refused:") for s in statuses) == 2 and "does not exist" in text
        assert sum(s.startswith("added +") for s in statuses) == 2
        assert batch.query_one("#batch-retry").disabled  # nothing retryable: refused stay


async def test_production_confirmation_restates_totals(make_emulator, make_context) -> None:
    server = make_emulator(0)
    seed(server)
    app = TurkTuiApp(
        make_context(
            server.url, EnvKind.PRODUCTION, credentials=("AKIDTESTTESTTEST0000", "test-secret")
        )
    )
    async with app.run_test(size=(160, 48)) as pilot:
        await _open_bulk(pilot)
        await pilot.press("ctrl+s")
        await wait_for(pilot, lambda: isinstance(app.screen, ConfirmScreen))
        text = screen_text(app)
        assert "Send 5 requests" in text and "+22 assignments" in text
        assert "Total cost: $" in text and "Not sent: 2 refused" in text
        await pilot.press("n")
        await pilot.pause()
        assert server.state.request_count(OP) == 0


async def test_history_shows_batches_filters_and_resolves_per_batch(
    make_emulator, make_context
) -> None:
    from turktui.adapters.history import HistoryStore
    from turktui.domain.bulk import AddEach, plan_bulk
    from turktui.pipeline.batch import AdaptiveRate, BatchRunner
    from turktui.pipeline.engine import Backoff, Engine
    from turktui.ui.screens.history import HistoryScreen, RecordScreen

    server = make_emulator(0)
    ids = seed(server, [(20, False)] * 3)
    ctx = make_context(server.url)
    store = HistoryStore(ctx.paths.history_db)
    engine = Engine(ctx.service, store, ctx.env, clock=ctx.clock, backoff=Backoff(attempts=1))
    single = engine.extend(ctx.service.get_hit(seed(server, [(30, False)])[0]), 1)
    server.faults.add(op=OP, drop=1.0)  # applied, answers lost → unknown
    report = BatchRunner(engine, pacer=AdaptiveRate(None)).run(
        plan_bulk([ctx.service.get_hit(h) for h in ids], AddEach(2))
    )
    server.faults.clear()
    store.close()
    assert report.unknown == 3
    app = TurkTuiApp(ctx)
    async with app.run_test(size=(160, 48)) as pilot:
        await start(pilot)
        # The three unknown members are offered for resolution at start-up: later.
        from turktui.ui.screens.confirm import ConfirmScreen

        await wait_for(pilot, lambda: isinstance(app.screen, ConfirmScreen))
        assert "3 request(s) from an earlier session" in screen_text(app)
        await pilot.press("n")
        await pilot.press("h")
        await wait_for(
            pilot, lambda: isinstance(app.screen, HistoryScreen) and not app.screen.reading
        )
        hist = app.screen
        await pilot.pause()
        text = screen_text(app)
        assert "\u25a3+2" in text and report.batch_id.removeprefix("batch-") in text
        assert len(hist.records) == 4
        await pilot.press("m")  # only this batch (its members)
        await wait_for(pilot, lambda: not hist.reading and len(hist.records) == 3)
        assert {r.batch_id for r in hist.records} == {report.batch_id}
        await pilot.press("enter")
        await wait_for(pilot, lambda: isinstance(app.screen, RecordScreen))
        text = screen_text(app)
        assert f"Batch {report.batch_id}: 3 members" in text and "3 ? unknown" in text
        await pilot.press("escape")
        await pilot.press("B")  # resolve the whole batch (re-sent with the same tokens)
        await wait_for(
            pilot, lambda: all(r.settled for r in app.ctx.history.batch_records(report.batch_id))
        )
        for h in ids:
            assert server.state.get_hit_raw(h)["MaxAssignments"] == 22
        assert app.ctx.history.get(single.record.id).state is State.SUCCEEDED


async def test_large_plan_made_in_a_worker_and_send_waits_for_it(
    make_emulator, make_context, monkeypatch
) -> None:
    # Past SYNC_LIMIT marks the lines on screen are planned at once and the full plan (the
    # totals, what Send sends) in a worker; Send pressed meanwhile waits for that plan.
    monkeypatch.setattr(BulkScreen, "SYNC_LIMIT", 0)
    server = make_emulator(0)
    ids = seed(server)
    app = TurkTuiApp(make_context(server.url))
    async with app.run_test(size=(160, 48)) as pilot:
        await start(pilot)
        await pilot.press("a", "b")
        await wait_for(pilot, lambda: isinstance(app.screen, BulkScreen))
        screen: BulkScreen = app.screen  # type: ignore[assignment]
        await pilot.press("5", "ctrl+s")  # Send before the worker's plan is in
        await wait_for(pilot, lambda: isinstance(app.screen, BatchScreen))
        batch = app.screen
        await wait_for(pilot, lambda: not batch.running)
        assert screen.preview is not None and not screen.pending
        assert screen.preview.mode.describe() == "add 5 to each"
        assert batch.report.succeeded == 5  # 2 refused: not sent
        assert server.state.request_count(OP) == 5
        assert len(batch.query_one(MemberTable).rows) == 5
        del ids


async def test_stale_plan_is_never_shown_or_sent(make_emulator, make_context, monkeypatch) -> None:
    monkeypatch.setattr(BulkScreen, "SYNC_LIMIT", 0)
    server = make_emulator(0)
    seed(server)
    app = TurkTuiApp(make_context(server.url))
    async with app.run_test(size=(160, 48)) as pilot:
        await start(pilot)
        await pilot.press("a", "b")
        await wait_for(pilot, lambda: isinstance(app.screen, BulkScreen))
        screen: BulkScreen = app.screen  # type: ignore[assignment]
        await pilot.press("1", "backspace", "2")
        await wait_for(pilot, lambda: screen.preview is not None)
        assert screen.preview.mode.describe().startswith("add 2 ")
        await pilot.pause()
        assert "+2 (1 \u2192 3)" in screen_text(app)  # lines on screen: this mode's
        # The visible lines are those of the full plan.
        table = screen.query_one(PreviewTable)
        assert [screen.line(i) for i in table.view] == list(screen.preview.lines)


@pytest.mark.parametrize("size", [(80, 24), (160, 48)])
async def test_preview_reason_can_be_read_whole(make_emulator, make_context, size) -> None:
    """The Reason column cuts ("this HIT …"); the cursor row's detail line under the
    table shows its id, title, change and reason whole, wrapped."""
    server = make_emulator(0)
    seed(server)
    app = TurkTuiApp(make_context(server.url))
    async with app.run_test(size=size) as pilot:
        screen = await _open_bulk(pilot, "5")
        table = screen.query_one(PreviewTable)
        refused = next(i for i, ln in enumerate(screen.preview.lines) if ln.reason)
        line = screen.preview.lines[refused]
        table.focus()
        while table.model.cursor_row != refused:
            await pilot.press("down")
        detail = screen.query_one("#bulk-detail")
        await wait_for(pilot, lambda: line.hit.hit_id in screen.detail_text())
        region = detail.region
        rows = screen_text(app).splitlines()[region.y : region.y + region.height]
        shown = " ".join(r[region.x : region.x + region.width].strip() for r in rows)
        assert line.reason in shown and line.hit.hit_id in shown, shown
