"""The bulk dialog (`b`) and the batch progress screen.

`BulkScreen` collects a mode and a number for the marked HITs and shows a live preview:
each HIT's planned change (capped or refused with the reason), its cost, and the totals
against the balance. It only returns the operator's intent (a `BulkPreview`);
`turktui.ui.bulk_flow` confirms (production), records and sends it.

`BatchScreen` shows a running batch: a progress bar (done / failed / remaining), each
member's status, Cancel (stops what has not started) and, afterwards, Retry (re-sends only
what did not succeed, with the same tokens). Service text goes through `one_line` into
`Text` objects, never markup.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, ClassVar

from rich.text import Text
from textual import on
from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import Horizontal, Vertical
from textual.message import Message
from textual.screen import ModalScreen
from textual.validation import ValidationResult, Validator
from textual.widgets import (
    Button,
    DataTable,
    Footer,
    Input,
    ProgressBar,
    RadioButton,
    RadioSet,
    Static,
)

from turktui.domain.bulk import (
    BulkPreview,
    LineStatus,
    Mode,
    ModeProblem,
    parse_mode,
    plan_bulk,
)
from turktui.domain.models import Hit
from turktui.domain.records import Record
from turktui.domain.rules import InputProblem, format_money, parse_count
from turktui.domain.text import one_line
from turktui.pipeline.batch import BatchProgress, BatchReport, member_status
from turktui.pipeline.engine import Outcome
from turktui.ui.context import AppContext

#: (key, label, placeholder). No amount is ever prefilled: the operator types every digit.
MODES = (
    ("add", "Add N to each HIT", "Assignments to add to each HIT"),
    ("top-up", "Top up to a target maximum (under 10: at most 9)", "Target maximum"),
    ("nine", "Top up to 9 (HITs under 10); add N to HITs at 10+",
     "Add to HITs at 10+ (empty or 0: leave them)"),
)
_STATUS_MARK = {
    LineStatus.SEND: "\u2713 send",
    LineStatus.CAPPED: "\u2193 capped",
    LineStatus.NOTHING: "\u2013 nothing",
    LineStatus.REFUSED: "\u2717 refused",
}


def strict_mode(kind: str, text: str) -> Mode:
    """The mode from what was typed, as strictly as the single dialog: the same parser
    (`rules.parse_count`) and the same messages; nothing is rewritten. `nine` also takes
    empty or 0 (leave HITs at 10+ alone)."""
    if kind == "nine" and text in ("", "0"):
        return parse_mode(kind, text)
    try:
        n = parse_count(text)
    except InputProblem as exc:
        raise ModeProblem(str(exc)) from None
    return parse_mode(kind, str(n))


class ModeValidator(Validator):
    def __init__(self, screen: BulkScreen) -> None:
        super().__init__()
        self.screen = screen

    def validate(self, value: str) -> ValidationResult:
        try:
            strict_mode(self.screen.kind, value)
        except ModeProblem as exc:
            return self.failure(str(exc))
        return self.success()


class BulkScreen(ModalScreen[BulkPreview | None]):
    """Dismisses with the preview to send (submit) or None (cancel)."""

    DEFAULT_CSS = """
    BulkScreen { align: center middle; }
    BulkScreen #bulk-dialog {
        width: 100%; max-width: 150; height: 100%; max-height: 46;
        border: thick $accent; background: $surface; padding: 0 1;
    }
    BulkScreen.-production #bulk-dialog { border: thick red; }
    BulkScreen #bulk-title { text-style: bold; }
    BulkScreen RadioSet { height: auto; width: 100%; }
    BulkScreen #bulk-number { width: 30; }
    BulkScreen #bulk-row { height: auto; }
    BulkScreen #bulk-problem { color: $error; padding: 1 0 0 1; }
    BulkScreen #bulk-preview { height: 1fr; min-height: 3; }
    BulkScreen #bulk-totals { text-style: bold; }
    BulkScreen #bulk-buttons { height: auto; align-horizontal: right; }
    BulkScreen #bulk-buttons Button { margin-left: 1; }
    """
    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("escape", "cancel", "Cancel"),
        Binding("ctrl+s", "submit", "Send"),
    ]

    def __init__(self, hits: list[Hit], ctx: AppContext) -> None:
        super().__init__()
        self.hits = hits
        self.ctx = ctx
        self.kind = "add"
        self.preview: BulkPreview | None = None
        self.problem = ""
        if ctx.env.needs_confirmation:
            self.add_class("-production")

    def compose(self) -> ComposeResult:
        n = len(self.hits)
        with Vertical(id="bulk-dialog"):
            yield Static(Text(f"Bulk extension: {n:,} marked HIT{'s' if n != 1 else ''} "
                              f"\u00b7 {one_line(self.ctx.env.kind.banner)}"), id="bulk-title")
            with RadioSet(id="bulk-mode"):
                for i, (key, label, _) in enumerate(MODES):
                    yield RadioButton(label, value=i == 0, id=f"mode-{key}")
            with Horizontal(id="bulk-row"):
                yield Input("", placeholder=MODES[0][2], id="bulk-number",
                            validators=[ModeValidator(self)])
                yield Static(Text(""), id="bulk-problem", markup=False)
            yield DataTable(id="bulk-preview", cursor_type="row", zebra_stripes=True)
            yield Static(Text(""), id="bulk-totals", markup=False)
            with Horizontal(id="bulk-buttons"):
                yield Button("Send (ctrl+s)", id="bulk-send", variant="primary")
                yield Button("Cancel (Esc)", id="bulk-cancel")
        yield Footer()

    def on_mount(self) -> None:
        table = self.query_one("#bulk-preview", DataTable)
        for label, width in (("HIT id", 22), ("Title", 20), ("Max", 7), ("Plan", 10),
                             ("Change", 20), ("Cost", 9), ("Reason", 60)):
            table.add_column(label, width=width, key=label)
        self.recompute()
        self.query_one("#bulk-number", Input).focus()

    # -- preview -----------------------------------------------------------------------------
    def recompute(self) -> None:
        value = self.query_one("#bulk-number", Input).value
        balance = self.ctx.balance.available if self.ctx.balance is not None else None
        try:
            mode = strict_mode(self.kind, value)
        except ModeProblem as exc:
            self.preview, self.problem = None, str(exc)
        else:
            self.preview, self.problem = plan_bulk(self.hits, mode, balance), ""
        self._show()

    def _show(self) -> None:
        table = self.query_one("#bulk-preview", DataTable)
        table.clear()
        self.query_one("#bulk-problem", Static).update(Text(self.problem))
        totals = self.query_one("#bulk-totals", Static)
        preview = self.preview
        if preview is None:
            totals.update(Text("Fix the number to see the plan."))
        else:
            for i, line in enumerate(preview.lines):
                table.add_row(
                    Text(one_line(line.hit.hit_id)), Text(one_line(line.hit.title)),
                    Text(f"{line.hit.max_assignments:,}", justify="right"),
                    Text(_STATUS_MARK[line.status]), Text(line.change_text),
                    Text(line.cost_text, justify="right"), Text(one_line(line.reason)),
                    key=str(i),
                )
            text = preview.totals_text()
            if preview.sufficient is False:
                text += " \u2014 top up the balance or send fewer"
            if not preview.send_count:
                text += " \u2014 nothing to send"
            totals.update(Text(text))
        self.query_one("#bulk-send", Button).disabled = not self.can_send

    @property
    def can_send(self) -> bool:
        p = self.preview
        return p is not None and p.send_count > 0 and p.sufficient is not False

    @on(RadioSet.Changed, "#bulk-mode")
    def _mode_changed(self, event: RadioSet.Changed) -> None:
        self.kind = MODES[event.index][0]
        box = self.query_one("#bulk-number", Input)
        box.placeholder = MODES[event.index][2]
        box.value = ""
        self.recompute()

    @on(Input.Changed, "#bulk-number")
    def _number_changed(self, event: Input.Changed) -> None:
        self.recompute()

    @on(Input.Submitted, "#bulk-number")
    def _number_submitted(self, event: Input.Submitted) -> None:
        event.stop()
        self.action_submit()

    @on(Button.Pressed, "#bulk-send")
    def action_submit(self) -> None:
        if self.can_send:
            self.dismiss(self.preview)
        elif self.preview is not None and self.preview.sufficient is False:
            self.notify("The balance does not cover this batch.", severity="error")
        else:
            self.notify(self.problem or "Nothing to send.", severity="warning", markup=False)

    @on(Button.Pressed, "#bulk-cancel")
    def action_cancel(self) -> None:
        self.dismiss(None)


class BatchScreen(ModalScreen[None]):
    """A running (or finished) batch: progress, members, cancel and retry."""

    DEFAULT_CSS = """
    BatchScreen { align: center middle; }
    BatchScreen #batch-dialog {
        width: 100%; max-width: 150; height: 100%; max-height: 46;
        border: thick $accent; background: $surface; padding: 0 1;
    }
    BatchScreen #batch-title { text-style: bold; }
    BatchScreen #batch-bar { width: 100%; }
    BatchScreen #batch-members { height: 1fr; }
    BatchScreen #batch-buttons { height: auto; align-horizontal: right; }
    BatchScreen #batch-buttons Button { margin-left: 1; }
    """
    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("c", "cancel_batch", "Cancel the rest"),
        Binding("r", "retry", "Retry failed"),
        Binding("escape", "close", "Close"),
    ]

    class Recorded(Message):
        def __init__(self, batch_id: str, records: list[Record]) -> None:
            super().__init__()
            self.batch_id = batch_id
            self.records = records

    class Progress(Message):
        def __init__(self, progress: BatchProgress) -> None:
            super().__init__()
            self.progress = progress

    class Member(Message):
        def __init__(self, outcome: Outcome) -> None:
            super().__init__()
            self.outcome = outcome

    class Finished(Message):
        def __init__(self, report: BatchReport | None, error: str = "") -> None:
            super().__init__()
            self.report = report
            self.error = error

    def __init__(self, title: str, *, on_cancel: Callable[[], None],
                 on_retry: Callable[[BatchScreen], None]) -> None:
        super().__init__()
        self.title_text = title
        self.on_cancel = on_cancel
        self.on_retry = on_retry
        self.batch_id: str | None = None
        self.running = True
        self.report: BatchReport | None = None
        self.progress: BatchProgress | None = None
        self._rows: dict[int, str] = {}

    def compose(self) -> ComposeResult:
        with Vertical(id="batch-dialog"):
            yield Static(Text(one_line(self.title_text)), id="batch-title")
            yield ProgressBar(id="batch-bar", show_eta=False)
            yield Static(Text("Recording the batch\u2026"), id="batch-counts", markup=False)
            yield DataTable(id="batch-members", cursor_type="row", zebra_stripes=True)
            with Horizontal(id="batch-buttons"):
                yield Button("Cancel the rest (c)", id="batch-cancel", variant="error")
                yield Button("Retry failed (r)", id="batch-retry", variant="primary")
                yield Button("Close (Esc)", id="batch-close")
        yield Footer()

    def on_mount(self) -> None:
        table = self.query_one("#batch-members", DataTable)
        table.add_column("#", width=7, key="id")
        table.add_column("HIT id", width=30, key="hit")
        table.add_column("Status", width=90, key="status")
        self._buttons()

    def check_action(self, action: str, parameters: tuple[object, ...]) -> bool | None:
        if action == "cancel_batch":
            return self.running
        if action == "retry":
            return not self.running and self.report is not None and self.report.retryable > 0
        if action == "close":
            return True
        return True

    def _buttons(self) -> None:
        self.query_one("#batch-cancel", Button).disabled = not self.running
        retry = not self.running and self.report is not None and self.report.retryable > 0
        self.query_one("#batch-retry", Button).disabled = not retry
        self.refresh_bindings()

    # -- updates (messages posted from the worker thread) --------------------------------------
    def on_batch_screen_recorded(self, message: Recorded) -> None:
        self.batch_id = message.batch_id
        table = self.query_one("#batch-members", DataTable)
        for rec in message.records:
            if rec.id not in self._rows:
                self._rows[rec.id] = str(rec.id)
                table.add_row(Text(str(rec.id)), Text(one_line(rec.hit_id)),
                              Text(member_status(rec, cancelled=False)), key=str(rec.id))
        self.query_one("#batch-title", Static).update(
            Text(one_line(f"{self.title_text} \u00b7 batch {message.batch_id}")))

    def on_batch_screen_progress(self, message: Progress) -> None:
        p = message.progress
        self.progress = p
        self.query_one("#batch-bar", ProgressBar).update(total=max(1, p.total),
                                                         progress=p.finished)
        text = f"{p.done:,} done \u00b7 {p.failed:,} failed \u00b7 {p.remaining:,} remaining"
        if p.cancelled and self.running:
            text += " \u00b7 cancelling: requests in flight finish and are recorded"
        self.query_one("#batch-counts", Static).update(Text(text))

    def on_batch_screen_member(self, message: Member) -> None:
        self._set_status(message.outcome.record)

    def _set_status(self, rec: Record, cancelled: bool = False) -> None:
        table = self.query_one("#batch-members", DataTable)
        if str(rec.id) in self._rows.values():
            table.update_cell(str(rec.id), "status",
                              Text(one_line(member_status(rec, cancelled), max_length=200)))

    def on_batch_screen_finished(self, message: Finished) -> None:
        self.running = False
        self.report = message.report
        counts = self.query_one("#batch-counts", Static)
        if message.report is None:
            counts.update(Text(one_line(f"Stopped: {message.error}", max_length=300)))
        else:
            for rec in message.report.records:
                self._set_status(rec, message.report.cancelled)
            text = message.report.summary()
            if message.report.retryable:
                text += " \u00b7 r: retry what did not succeed (same tokens)"
            if message.error:
                text += f" \u00b7 {message.error}"
            counts.update(Text(one_line(text, max_length=300)))
            done = message.report.succeeded
            self.query_one("#batch-bar", ProgressBar).update(
                total=max(1, len(message.report.records)), progress=done)
        self._buttons()

    def start_retry(self) -> None:
        self.running = True
        self.report = None
        self._buttons()

    # -- actions ---------------------------------------------------------------------------
    @on(Button.Pressed, "#batch-cancel")
    def action_cancel_batch(self) -> None:
        if self.running:
            self.on_cancel()
            self.query_one("#batch-counts", Static).update(
                Text("Cancelling: requests in flight finish and are recorded\u2026"))

    @on(Button.Pressed, "#batch-retry")
    def action_retry(self) -> None:
        if not self.running and self.report is not None and self.report.retryable:
            self.on_retry(self)

    @on(Button.Pressed, "#batch-close")
    def action_close(self) -> None:
        if self.running:
            self.notify("The batch keeps running in the background; its results go to the "
                        "history (h).", markup=False)
        self.dismiss(None)


def batch_confirm_text(preview: BulkPreview, banner: str) -> str:
    """The production confirmation: the totals restated, and the first few HITs."""
    lines = [f"{banner}: {preview.mode.describe()}", "",
             f"Send {preview.send_count:,} request{'s' if preview.send_count != 1 else ''} "
             f"(one token per HIT): +{preview.total_assignments:,} assignments in all.",
             f"Total cost: {format_money(preview.total_cost)}"
             + ("" if preview.cost_known else " plus HITs with an unknown reward")
             + (f"; balance {format_money(preview.balance)}" if preview.balance is not None
                else "; balance unknown") + ".",
             ]
    if preview.refused_count or preview.nothing_count:
        lines.append(f"Not sent: {preview.refused_count:,} refused, "
                     f"{preview.nothing_count:,} with nothing to do.")
    lines.append("")
    for line in preview.to_send[:6]:
        lines.append(f"  {one_line(line.hit.hit_id)}  {line.change_text}  {line.cost_text}")
    if preview.send_count > 6:
        lines.append(f"  \u2026 and {preview.send_count - 6:,} more")
    return "\n".join(lines)


def describe_hits(hits: list[Any]) -> str:
    return f"{len(hits):,} HIT{'s' if len(hits) != 1 else ''}"
