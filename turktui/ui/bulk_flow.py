"""Glue between the app and bulk batches: the bulk dialog, the production confirmation that
restates the totals, the worker that records and sends the batch, retry and per-batch resolve.

The app calls `open_bulk(app)` (`b`); the marked HITs come from `app.marked_hits()` (or the
main table's `marked_hits`). Rows and the balance are refreshed via `app.update_hit(hit)` and
`app.refresh_balance()`, as for a single extension.
"""

from __future__ import annotations

import contextlib
from typing import Any

from turktui.adapters.history import HistoryError
from turktui.domain.bulk import BulkPreview
from turktui.domain.environment import EnvKind
from turktui.domain.models import Hit
from turktui.domain.text import one_line
from turktui.pipeline.batch import BatchReport, BatchRunner
from turktui.pipeline.engine import Outcome, PlanRefused
from turktui.ui.extend_flow import _notify, get_history, make_engine
from turktui.ui.screens.bulk import BatchScreen, BulkScreen, batch_confirm_text
from turktui.ui.screens.confirm import ConfirmScreen


def marked_hits(app: Any) -> list[Hit]:
    getter = getattr(app, "marked_hits", None)
    if callable(getter):
        return list(getter())
    table = app.main_screen.table
    return list(getattr(table, "marked_hits", []))


def open_bulk(app: Any, hits: list[Hit] | None = None) -> None:
    """The bulk dialog for the marked HITs; on submit confirm (production), then run."""
    ctx = app.ctx
    if ctx.read_only:
        app.notify("Read-only session: extending is disabled.", severity="warning")
        return
    hits = marked_hits(app) if hits is None else hits
    if not hits:
        app.notify("Mark HITs with space first (a: mark all shown, u: clear marks).",
                   severity="warning", markup=False)
        return

    def submitted(preview: BulkPreview | None) -> None:
        if preview is not None:
            submit_bulk(app, preview)

    app.push_screen(BulkScreen(hits, ctx), submitted)


def submit_bulk(app: Any, preview: BulkPreview) -> None:
    if app.ctx.env.kind is EnvKind.DEMO:  # every other endpoint restates the totals first
        run_batch(app, preview)
        return

    def confirmed(yes: bool | None) -> None:
        if yes:
            run_batch(app, preview)
        else:
            app.notify("Cancelled: nothing was sent.", markup=False)

    body = batch_confirm_text(preview, app.ctx.env.kind.banner)
    app.push_screen(ConfirmScreen(f"Confirm: {app.ctx.env.kind.banner} batch", body,
                                  danger=True), confirmed)


def _runner(app: Any) -> BatchRunner | None:
    history = get_history(app)
    if history is None:
        return None
    return BatchRunner(make_engine(app, history))


def _member(app: Any, screen: BatchScreen) -> Any:
    def member(outcome: Outcome) -> None:
        screen.post_message(BatchScreen.Member(outcome))
        if outcome.hit is not None:
            with contextlib.suppress(Exception):  # the app may be closing
                app.call_from_thread(_update_row, app, outcome.hit)

    return member


def _update_row(app: Any, hit: Hit) -> None:
    if hasattr(app, "update_hit"):
        with contextlib.suppress(Exception):  # the list may not hold this HIT any more
            app.update_hit(hit)


def _finished(app: Any, report: BatchReport | None) -> None:
    if hasattr(app, "refresh_balance"):
        app.refresh_balance()
    from turktui.ui.screens.history import HistoryScreen

    for screen in app.screen_stack:
        if isinstance(screen, HistoryScreen):
            screen.reload()
    if report is not None:
        app.ctx.state.last_batch = report
        severity = "information" if report.all_succeeded else "warning"
        app.notify(one_line(f"Batch {report.batch_id}: {report.summary()}", max_length=400)
                   + _unmark_succeeded(app, report),
                   severity=severity, markup=False, timeout=10)


def _unmark_succeeded(app: Any, report: BatchReport) -> str:
    """After a batch, the HITs it extended lose their marks (so the same keys cannot repeat
    it); the others keep theirs, and the message says so."""
    main = getattr(app, "main_screen", None)
    table = getattr(main, "table", None) if main is not None else None
    if table is None:
        return ""
    done = {r.hit_id for r in report.records if r.state.applied}
    before = len(table.marked)
    table.marked.difference_update(done)
    with contextlib.suppress(Exception):
        table.refresh()
        main.update_status()
    cleared, kept = before - len(table.marked), len(table.marked)
    if not cleared:
        return f" {kept:,} HIT(s) stay marked." if kept else ""
    text = f" Marks cleared on the {cleared:,} HIT(s) extended"
    return text + (f"; {kept:,} not extended stay marked (u: clear)." if kept else ".")


def run_batch(app: Any, preview: BulkPreview) -> BatchScreen | None:
    """Record every member (one token each), then send them in a thread worker."""
    runner = _runner(app)
    if runner is None:
        return None
    title = f"{app.ctx.env.kind.banner}: {preview.mode.describe()} on " \
            f"{preview.send_count:,} HITs"
    screen = BatchScreen(title, on_cancel=runner.cancel,
                         on_retry=lambda s: retry_batch(app, runner, s))
    app.ctx.state.batch_runner = runner
    app.push_screen(screen)

    def work() -> BatchReport | None:
        try:
            bid, records = runner.record(preview)
        except (PlanRefused, HistoryError) as exc:
            screen.post_message(BatchScreen.Finished(None, f"Not sent: {exc}"))
            _notify(app, f"Not sent: {exc}", severity="error")
            return None
        screen.post_message(BatchScreen.Recorded(bid, records))
        report = runner.send(bid, records,
                             progress=lambda p: screen.post_message(BatchScreen.Progress(p)),
                             member=_member(app, screen))
        error = "; ".join(one_line(e) for e in list(report.errors.values())[:1])
        screen.post_message(BatchScreen.Finished(report, error))
        app.call_from_thread(_finished, app, report)
        return report

    app.run_worker(work, thread=True, group="bulk", exit_on_error=False, name="bulk batch")
    return screen


def retry_batch(app: Any, runner: BatchRunner, screen: BatchScreen) -> None:
    """Re-send only what did not succeed, each member with its recorded token."""
    bid = screen.batch_id
    if bid is None:
        return
    screen.start_retry()

    def work() -> BatchReport:
        report = runner.retry(bid, progress=lambda p: screen.post_message(
            BatchScreen.Progress(p)), member=_member(app, screen))
        screen.post_message(BatchScreen.Finished(report))
        app.call_from_thread(_finished, app, report)
        return report

    app.run_worker(work, thread=True, group="bulk", exit_on_error=False, name="bulk retry")


def resolve_batch(app: Any, batch_id: str) -> Any:
    """Settle a batch's unsettled members (history screen, `B`)."""
    history = get_history(app)
    if history is None:
        return None
    try:
        pending = [r for r in history.batch_records(batch_id) if not r.settled]
    except HistoryError as exc:
        app.notify(one_line(f"The history cannot be read: {exc}"), severity="error",
                   markup=False)
        return None
    if any(r.endpoint != app.ctx.env.endpoint_url for r in pending):
        # Sent elsewhere: settle each member at the endpoint it went to.
        from turktui.ui.extend_flow import resolve_records

        return resolve_records(app, pending)
    runner = BatchRunner(make_engine(app, history))

    def work() -> BatchReport:
        report = runner.resolve(batch_id)
        app.call_from_thread(_finished, app, report)
        for outcome in report.outcomes.values():
            if outcome.hit is not None:
                app.call_from_thread(_update_row, app, outcome.hit)
        return report

    app.notify(f"Resolving batch {one_line(batch_id)}\u2026", markup=False, timeout=4)
    return app.run_worker(work, thread=True, group="extend", exit_on_error=False,
                          name="resolve batch")
