"""The bulk dialog (`b`) and the batch progress screen.

`BulkScreen` collects a mode and a number for the marked HITs, and optionally a time to add
to each HIT's expiration (from now for an expired HIT; the extend dialog's rules, one
implementation: `rules.new_expiration`), and shows a live preview: each HIT's planned change
(capped or refused with the reason), its new expiration, its cost, and the totals against the
balance. No number and a time: time only, for every HIT. It only returns the operator's
intent (a `BulkPreview`); `turktui.ui.controller` confirms (production), records and sends it.

`BatchScreen` shows a running batch: a progress bar (done / failed / remaining), each
member's status, Cancel the rest (`C`: stops what has not started) and, afterwards,
Retry failed (`F`: re-sends only what did not succeed, with the same tokens). Service text
goes through `one_line` into `Text` objects, never markup.
"""

from __future__ import annotations

import dataclasses
from collections import Counter
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from decimal import Decimal
from functools import partial
from typing import Any, ClassVar

from rich.text import Text
from textual import on
from textual.app import ComposeResult
from textual.binding import BindingType
from textual.containers import Horizontal, Vertical
from textual.content import Content
from textual.message import Message
from textual.screen import ModalScreen
from textual.validation import ValidationResult, Validator
from textual.widgets import (
    Button,
    Input,
    RadioButton,
    RadioSet,
    Static,
)

from turktui.domain.bulk import (
    BulkLine,
    BulkPreview,
    LineStatus,
    Mode,
    ModeProblem,
    TimeOnly,
    parse_mode,
    plan_bulk,
    plan_line,
)
from turktui.domain.listmodel import ListModel
from turktui.domain.models import Hit
from turktui.domain.records import Record, State
from turktui.domain.rules import InputProblem, parse_count
from turktui.domain.text import one_line
from turktui.domain.timefmt import parse_duration
from turktui.pipeline.batch import BatchProgress, BatchReport, member_status
from turktui.pipeline.engine import Outcome
from turktui.ui import heap, keymap
from turktui.ui.context import AppContext
from turktui.ui.inbox import Inbox
from turktui.ui.keys import KeyScreen, available_balance, status_line
from turktui.ui.screens.dialog import dialog_title
from turktui.ui.widgets.key_line import StableFooter
from turktui.ui.widgets.progress_line import ProgressLine
from turktui.ui.widgets.vtable import Column, VirtualTable

#: (key, label, placeholder). No amount is ever prefilled: the operator types every digit.
MODES = (
    ("add", "Add N to each HIT", "Assignments to add to each HIT"),
    ("top-up", "Top up to a target maximum (under 10: at most 9)", "Target maximum"),
    (
        "nine",
        "Top up to 9 (HITs under 10); add N to HITs at 10+",
        "Add to HITs at 10+ (empty or 0: leave them)",
    ),
)
NOTHING_YET = "Type a number of assignments, a time to add, or both."
#: Mode kinds where an empty number with a time means "time only".
_TIME_ONLY_KINDS = ("add", "top-up")
TIME_HINT = "optional, e.g. 6h, 1d; from now if expired"
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


def _number_hint(kind: str, hint: str) -> str:
    return hint + (" (empty: time only)" if kind in _TIME_ONLY_KINDS else "")


class ModeValidator(Validator):
    def __init__(self, screen: BulkScreen) -> None:
        super().__init__()
        self.screen = screen

    def validate(self, value: str) -> ValidationResult:
        if value == "" and self.screen.kind in _TIME_ONLY_KINDS:
            return self.success()  # optional when a time is given (the dialog says so)
        try:
            strict_mode(self.screen.kind, value)
        except ModeProblem as exc:
            return self.failure(str(exc))
        return self.success()


class ModeButton(RadioButton):
    """A radio button whose state is in the text: "(•)" chosen, "( )" not (colour is never
    the only signal: NO_COLOR, 16 colours)."""

    @property
    def _button(self) -> Content:
        style = self.get_visual_style("toggle--button")
        return Content.assemble(("(\u2022)" if self.value else "( )", style))


@dataclass(frozen=True, slots=True)
class _Verdict:
    """What the dialog shows and checks of a full plan, worked out once (each of these
    walks every line: at 10,000 lines that is worth doing off the UI thread)."""

    totals: str
    send_count: int
    sufficient: bool | None

    @classmethod
    def of(cls, preview: BulkPreview) -> _Verdict:
        return cls(preview.totals_text(), preview.send_count, preview.sufficient)


def _line_cells(line: BulkLine) -> tuple[str, ...]:
    hit = line.hit
    return (
        one_line(hit.hit_id),
        one_line(hit.title),
        f"{hit.max_assignments:,}",
        _STATUS_MARK[line.status],
        line.change_text,
        line.expiration_text.removesuffix(" UTC"),
        line.cost_text,
        one_line(line.reason),
    )


#: At 80 columns the HIT, its title, the change, the new expiration and the reason stay; the
#: plan mark (the change says it too), Max (the change says it too) and the cost go first.
PREVIEW_COLUMNS = (
    Column("hit", "HIT id", 22, narrow=14),
    Column("title", "Title", 20, narrow=12),
    Column("max", "Max", 7, right=True, priority=3),
    Column("plan", "Plan", 10, priority=4),
    Column("change", "Change", 20, narrow=15),
    Column("expires", "New expiry (UTC)", 19),
    Column("cost", "Cost", 9, right=True, priority=2),
    Column("reason", "Reason", 30, flex=True),
)


class PreviewTable(VirtualTable[int]):
    """The bulk preview: rows are positions in the marked list; a row's line is planned
    when it is drawn (only the visible ones), or read from the full plan once it is in."""

    narrow_below = 100
    flex_min = 12

    def __init__(self, screen: BulkScreen, **kwargs: Any) -> None:
        super().__init__(
            ListModel(str), PREVIEW_COLUMNS, lambda i: _line_cells(screen.line(i)), **kwargs
        )


class BulkScreen(KeyScreen, ModalScreen[BulkPreview | None]):
    """Dismisses with the preview to send (submit) or None (cancel).

    Planning thousands of HITs takes a while (~10 µs each), so past `SYNC_LIMIT` marked
    HITs a keystroke plans only the lines on screen at once and the full plan (totals,
    what Send would send) in a worker; Send waits for it (`pending`)."""

    #: Up to this many marked HITs the whole plan is made at once on each keystroke.
    SYNC_LIMIT = 1000

    #: The box is app.tcss's `.dialog` (here as wide and tall as the screen allows); the
    #: totals, the problem line and the buttons are docked at its bottom.
    DEFAULT_CSS = """
    BulkScreen { align: center middle; }
    BulkScreen #bulk-mode { height: auto; width: 100%; }
    BulkScreen .bulk-row { height: 1; }
    BulkScreen .bulk-label { width: auto; padding-right: 1; text-style: bold; }
    BulkScreen #bulk-number { width: 16; }
    BulkScreen #bulk-time { width: 12; }
    BulkScreen .bulk-hint { width: 1fr; padding-left: 1; color: $text-muted; }
    BulkScreen #bulk-preview { height: 1fr; min-height: 3; }
    BulkScreen #bulk-detail { height: auto; max-height: 3; background: $panel; }
    BulkScreen #bulk-problem { color: $error; }
    BulkScreen #bulk-totals { text-style: bold; }
    """
    #: the number box has the focus as the dialog mounts (not the mode first, then moved)
    AUTO_FOCUS = "#bulk-number"
    KEYMAP_SCREEN = "bulk"
    STATUS_LINE = True
    BINDINGS: ClassVar[list[BindingType]] = keymap.bindings("bulk")

    class Planned(Message):
        """The full plan for generation `generation`, from the planning worker."""

        def __init__(self, generation: int, preview: BulkPreview, verdict: _Verdict) -> None:
            super().__init__()
            self.generation = generation
            self.preview = preview
            self.verdict = verdict

    def __init__(self, hits: list[Hit], ctx: AppContext) -> None:
        super().__init__()
        self.hits = hits
        self.ctx = ctx
        self.kind = "add"
        #: The full plan for what is typed now (None: invalid, or still being planned).
        self.preview: BulkPreview | None = None
        #: True while the worker plans the mode typed last.
        self.pending = False
        self.problem = ""
        self.mode: Mode | None = None
        self._generation = 0
        self._submit_when_planned = False
        self._verdict: _Verdict | None = None
        self._lines: dict[int, BulkLine] = {}
        #: Time added to each HIT's expiration (None: none typed), planned against `_now`.
        self.add_seconds: float | None = None
        self._now = ctx.clock()
        # A HIT listed twice is planned once (plan_bulk refuses the repeat): know the first.
        first: dict[str, int] = {}
        for i, hit in enumerate(hits):
            first.setdefault(hit.hit_id, i)
        self._first = first
        if ctx.env.needs_confirmation:
            self.add_class("-production")

    def compose(self) -> ComposeResult:
        n = len(self.hits)
        with Vertical(id="bulk-dialog", classes="dialog") as dialog:
            dialog.border_title = dialog_title(
                f"Bulk: {n:,} marked HIT{'s' if n != 1 else ''}", self.ctx.env
            )
            with RadioSet(id="bulk-mode", compact=True):
                for i, (key, label, _) in enumerate(MODES):
                    yield ModeButton(label, value=i == 0, id=f"mode-{key}")
            with Horizontal(id="bulk-row", classes="bulk-row"):
                yield Static(Text("Number:"), classes="bulk-label")
                yield Input(
                    "",
                    placeholder="",
                    id="bulk-number",
                    validators=[ModeValidator(self)],
                    compact=True,
                )
                yield Static(
                    Text(_number_hint(MODES[0][0], MODES[0][2])),
                    id="bulk-number-hint",
                    classes="bulk-hint",
                )
            with Horizontal(id="bulk-time-row", classes="bulk-row"):
                yield Static(Text("Add time:"), classes="bulk-label")
                yield Input("", placeholder="", id="bulk-time", compact=True)
                yield Static(Text(TIME_HINT), id="bulk-time-hint", classes="bulk-hint")
            yield PreviewTable(self, id="bulk-preview")
            # The cursor row whole (the columns cut the id, the title and the reason).
            yield Static(Text(""), id="bulk-detail", markup=False)
            with Vertical(id="bulk-decision", classes="dialog-decision"):
                yield status_line()
                yield Static(Text(""), id="bulk-totals", markup=False, classes="decision")
                yield Static(Text(""), id="bulk-problem", markup=False, classes="decision")
                with Horizontal(id="bulk-buttons", classes="dialog-buttons"):
                    yield Button("Send (ctrl+s)", id="bulk-send", variant="primary")
                    yield Button("Cancel (Esc)", id="bulk-cancel")
        yield StableFooter()

    def on_mount(self) -> None:
        self.recompute()

    # -- preview -----------------------------------------------------------------------------
    def line(self, i: int) -> BulkLine:
        """Row `i`'s planned line for the current mode (planned now if need be)."""
        if self.preview is not None:
            return self.preview.lines[i]
        line = self._lines.get(i)
        if line is None:
            hit = self.hits[i]
            assert self.mode is not None
            if self._first[hit.hit_id] != i:
                line = plan_bulk(
                    [hit, hit], self.mode, add_seconds=self.add_seconds, now=self._now
                ).lines[1]
            else:
                line = plan_line(hit, self.mode, self.add_seconds, self._now)
            self._lines[i] = line
        return line

    def _read_time(self) -> tuple[float | None, str]:
        """(seconds to add or None, the problem in words)."""
        text = self.query_one("#bulk-time", Input).value
        if not text.strip():
            return None, ""
        try:
            return parse_duration(text), ""
        except ValueError as exc:
            return None, f"Time: {exc}"

    def recompute(self) -> None:
        value = self.query_one("#bulk-number", Input).value
        self._generation += 1
        self._lines = {}
        self._submit_when_planned = False
        self.preview = None
        self._verdict = None
        self._now = self.ctx.clock()
        self.add_seconds, time_problem = self._read_time()
        try:
            if time_problem:
                raise ModeProblem(time_problem)
            if value == "" and self.kind in _TIME_ONLY_KINDS:
                if self.add_seconds is None:
                    raise ModeProblem(NOTHING_YET)
                self.mode = TimeOnly()
            else:
                self.mode = strict_mode(self.kind, value)
        except ModeProblem as exc:
            self.mode, self.problem, self.pending = None, str(exc), False
            self._show()
            return
        self.problem = ""
        plan = partial(plan_bulk, add_seconds=self.add_seconds, now=self._now)
        if len(self.hits) <= self.SYNC_LIMIT:
            self.pending = False
            self.preview = plan(self.hits, self.mode, available_balance(self))
            self._verdict = _Verdict.of(self.preview)
            self._show()
            return
        self.pending = True
        self._show()
        self._plan_in_worker(self._generation, plan, self.mode, available_balance(self))

    def _plan_in_worker(
        self,
        generation: int,
        planner: Callable[..., BulkPreview],
        mode: Mode,
        balance: Decimal | None,
    ) -> None:
        hits = self.hits

        def plan() -> None:
            preview = planner(hits, mode, balance)
            # Tens of thousands of new objects: without this the next full GC pass rescans
            # them all while the UI waits (~80 ms at 10,000 lines, measured). They hold no
            # cycles, so reference counting still frees them (as the HIT pages, see main).
            heap.hold()
            self.post_message(self.Planned(generation, preview, _Verdict.of(preview)))

        self.run_worker(plan, thread=True, exclusive=True, group="bulk-plan", exit_on_error=False)

    @on(Planned)
    def _planned(self, message: Planned) -> None:
        if message.generation != self._generation:
            return  # typed again since: that plan is stale
        self.preview, self.pending = message.preview, False
        self._verdict = message.verdict
        self._show()
        if self._submit_when_planned:
            self._submit_when_planned = False
            self.action_submit()

    def detail_text(self) -> str:
        """The cursor row whole (wrapped): its HIT id and the reason, or with no reason its
        title and change (the reason restates the change: "capped at +3 (asked +5)")."""
        table = self.query_one(PreviewTable)
        if self.mode is None or not table.rows:
            return ""
        line = self.line(table.model.cursor_row)
        hit_id = one_line(line.hit.hit_id)
        if line.reason:
            return f"{hit_id}: {one_line(line.reason, max_length=400)}"
        return (
            f"{hit_id} \u201c{one_line(line.hit.title, max_length=120)}\u201d: {line.change_text}"
        )

    def _show_detail(self) -> None:
        self.query_one("#bulk-detail", Static).update(Text(self.detail_text()))

    @on(PreviewTable.CursorMoved)
    def _cursor_moved(self, event: PreviewTable.CursorMoved) -> None:
        self._show_detail()

    def _show(self) -> None:
        table = self.query_one(PreviewTable)
        self.query_one("#bulk-problem", Static).update(Text(one_line(self.problem)))
        totals = self.query_one("#bulk-totals", Static)
        if self.mode is None:
            typed = any(box.value.strip() for box in self.query(Input))
            waiting = (
                "Fix the number or the time to see the plan."
                if typed
                else "The plan shows here once a number or a time is typed."
            )
            table.empty_message = waiting
            if table.rows:
                table.set_rows([])
            totals.update(Text(waiting))
        else:
            if len(table.rows) != len(self.hits):
                table.set_rows(range(len(self.hits)))
            else:
                table.invalidate_cells()
            verdict = self._verdict
            if self.preview is None or verdict is None:
                totals.update(Text(f"Planning {len(self.hits):,} HITs\u2026"))
            else:
                text = verdict.totals
                if verdict.sufficient is False:
                    text += " \u2014 top up the balance or send fewer"
                if not verdict.send_count:
                    text += " \u2014 nothing to send"
                totals.update(Text(text))
        self.query_one("#bulk-send", Button).disabled = not (self.can_send or self.pending)
        self._show_detail()

    @property
    def can_send(self) -> bool:
        v = self._verdict
        return (
            self.preview is not None
            and v is not None
            and v.send_count > 0
            and v.sufficient is not False
        )

    @on(RadioSet.Changed, "#bulk-mode")
    def _mode_changed(self, event: RadioSet.Changed) -> None:
        self.kind = MODES[event.index][0]
        hint = _number_hint(self.kind, MODES[event.index][2])
        self.query_one("#bulk-number-hint", Static).update(Text(hint))
        box = self.query_one("#bulk-number", Input)
        box.value = ""
        self.recompute()

    @on(Input.Changed, "#bulk-number")
    @on(Input.Changed, "#bulk-time")
    def _number_changed(self, event: Input.Changed) -> None:
        self.recompute()

    @on(Input.Submitted, "#bulk-number")
    @on(Input.Submitted, "#bulk-time")
    def _number_submitted(self, event: Input.Submitted) -> None:
        event.stop()
        self.action_submit()

    @on(Button.Pressed, "#bulk-send")
    def action_submit(self) -> None:
        if self.pending:
            self._submit_when_planned = True  # sent (or refused) as soon as it is planned
            return
        if self.can_send:
            self.dismiss(self.preview)
        elif self._verdict is not None and self._verdict.sufficient is False:
            self.notify("The balance does not cover this batch.", severity="error")
        else:
            self.notify(self.problem or "Nothing to send.", severity="warning", markup=False)

    @on(Button.Pressed, "#bulk-cancel")
    def _pressed_cancel(self) -> None:
        self.dismiss(None)

    def action_cancel(self) -> None:
        """Esc: first clear the focused box if it has text; Esc on an empty one closes."""
        if not self.clear_focused_box():
            self.dismiss(None)


#: The spinner of a member on the wire (one frame per tick while any is).
SPINNER = "\u280b\u2819\u2839\u2838\u283c\u2834\u2826\u2827\u2807\u280f"
#: The progress screen's frame (seconds; the spinner's pace): the rows the workers queued
#: since the last one and the spinner's next turn are shown together, in one repaint.
TICK = 0.12


@dataclass(frozen=True, slots=True)
class MemberRow:
    """One batch member as the progress screen shows it: its state as recorded, or
    SENDING from the moment a worker takes it (before the history says so)."""

    key: str
    record_id: int
    hit_id: str
    state: State
    status: str

    @property
    def settled(self) -> bool:
        return self.state.settled


MEMBER_COLUMNS = (
    Column("id", "#", 7, right=True),
    Column("hit", "HIT id", 30, narrow=14),
    Column("status", "Status", 40, flex=True),
)


class MemberTable(VirtualTable[MemberRow]):
    """The batch members, in record order; a member's row is found by its record id. A
    member on the wire shows a spinner (`frame`, advanced by the screen); the cursor row's
    full status is on the preview line (the column may cut it)."""

    narrow_below = 100
    flex_min = 20
    show_preview = True

    def __init__(self, **kwargs: Any) -> None:
        self.frame = 0
        super().__init__(
            ListModel(lambda row: row.key),
            MEMBER_COLUMNS,
            lambda row: (str(row.record_id), one_line(row.hit_id), self.status_text(row)),
            **kwargs,
        )

    def status_text(self, row: MemberRow) -> str:
        if row.state is State.SENDING and row.status == SENDING:
            return f"{SPINNER[self.frame % len(SPINNER)]} {SENDING}"
        return one_line(row.status, max_length=400)

    def preview_text(self, row: MemberRow | None) -> str:
        if row is None:
            return ""
        return f"#{row.record_id} {one_line(row.hit_id)}: {one_line(row.status, max_length=400)}"

    def spinning(self) -> bool:
        """Whether a member on the wire is in the window (a spinner shows)."""
        top = int(self.scroll_y)
        rows = self.model.rows
        return any(rows[i].state is State.SENDING for i in self.view[top : top + self.size.height])


SENDING = "sending\u2026"
PLANNED = "planned"
CANCELLED = "planned, not sent (cancelled)"


def _member_row(rec: Record, cancelled: bool = False) -> MemberRow:
    if rec.state is State.PLANNED:
        status = CANCELLED if cancelled else PLANNED
    elif rec.state is State.SENDING:
        status = SENDING
    else:
        status = member_status(rec)
    return MemberRow(str(rec.id), rec.id, rec.hit_id, rec.state, status)


def _sending_row(rec: Record) -> MemberRow:
    return MemberRow(str(rec.id), rec.id, rec.hit_id, State.SENDING, SENDING)


#: The words of the counts line, in its order, by the state a member shows.
_COUNT_WORDS = (
    ((State.SENDING,), "sending"),
    ((State.PLANNED,), "planned"),
    ((State.SUCCEEDED, State.RESOLVED_SUCCEEDED), "succeeded"),
    ((State.REFUSED, State.RESOLVED_NOT_APPLIED), "refused"),
    ((State.FAILED,), "failed"),
    ((State.CONFLICT,), "in conflict"),
    ((State.UNKNOWN,), "unknown"),
)


def update_line(static: Static, text: Text) -> None:
    """Show `text` in `static`, laying the screen out again only when that changes the
    static's height (it wraps): during a batch, a layout of the whole dialog per update of
    the counts was most of the UI thread's time (profiled)."""
    if static.content == text:
        return
    static.update(text, layout=False)
    size = static.content_size
    if not size.width or static.get_content_height(size, size, size.width) != size.height:
        static.refresh(layout=True)


class BatchScreen(KeyScreen, ModalScreen[None]):
    """A running (or finished) batch: progress, members, cancel and retry.

    Each member's row follows its true state as it changes: planned, sending (a spinner,
    from the moment a worker takes it), then its outcome (succeeded, refused, failed, in
    conflict, unknown). The bar counts the members settled; `C` stops what has not
    started and says how many are on the wire (those finish and are shown); `F` re-sends
    what did not succeed and never turns a settled row back."""

    #: The box is app.tcss's `.dialog` (as large as the screen allows); the counts and the
    #: buttons are docked at its bottom.
    DEFAULT_CSS = """
    BatchScreen { align: center middle; }
    BatchScreen #batch-title { text-style: bold; }
    BatchScreen #batch-body { height: 1fr; }
    BatchScreen #batch-members { height: 1fr; }
    """
    KEYMAP_SCREEN = "batch"
    STATUS_LINE = True
    BINDINGS: ClassVar[list[BindingType]] = keymap.bindings("batch")

    class Recorded(Message):
        def __init__(self, batch_id: str, records: list[Record]) -> None:
            super().__init__()
            self.batch_id = batch_id
            self.records = records

    class Finished(Message):
        def __init__(self, report: BatchReport | None, error: str = "") -> None:
            super().__init__()
            self.report = report
            self.error = error

    def __init__(
        self,
        title: str,
        *,
        on_cancel: Callable[[], int | None],
        on_retry: Callable[[BatchScreen], None],
    ) -> None:
        super().__init__()
        self.title_text = title
        self.on_cancel = on_cancel
        self.on_retry = on_retry
        self.batch_id: str | None = None
        self.running = True
        self.report: BatchReport | None = None
        self.progress: BatchProgress | None = None
        #: each member's state as shown (the counts and the bar are made from it)
        self.states: dict[int, State] = {}
        self._counts: Counter[State] = Counter()
        #: set by C: how many were on the wire then (None: not cancelled)
        self.cancelled_with: int | None = None
        #: rows made by the workers (`watch`), shown together once per frame (`TICK`)
        self._inbox: Inbox[MemberRow] = Inbox()
        self._ticks = 0

    def compose(self) -> ComposeResult:
        with Vertical(id="batch-dialog", classes="dialog") as dialog:
            env = getattr(getattr(self.app, "ctx", None), "env", None)
            if env is not None:
                dialog.border_title = dialog_title("Batch", env)
            yield Static(Text(one_line(self.title_text)), id="batch-title")
            # In a box of their own: Textual re-reads every line of each widget whose box
            # (clip) meets what it repaints, and a frame mostly repaints the foot only.
            with Vertical(id="batch-body"):
                yield MemberTable(id="batch-members")
            with Vertical(id="batch-decision", classes="dialog-decision"):
                yield status_line()
                # The bar beside the counts: a frame that changes only these two lines
                # repaints a strip at the dialog's foot, not the dialog from top to foot.
                yield ProgressLine(id="batch-bar")
                yield Static(
                    Text("Recording the batch\u2026"),
                    id="batch-counts",
                    markup=False,
                    classes="decision",
                )
                with Horizontal(id="batch-buttons", classes="dialog-buttons"):
                    yield Button("Cancel the rest (C)", id="batch-cancel", variant="error")
                    yield Button("Retry failed (F)", id="batch-retry", variant="primary")
                    yield Button("Close (Esc)", id="batch-close")
        yield StableFooter()

    def on_mount(self) -> None:
        self._buttons()
        #: the screen's frame: shows what the workers queued, turns the spinner
        self.ticker = self.set_interval(TICK, self._tick)

    def check_action(self, action: str, parameters: tuple[object, ...]) -> bool | None:
        if action == "cancel_batch":
            return self.running
        if action == "retry":
            return not self.running and self.report is not None and self.report.retryable > 0
        return super().check_action(action, parameters)

    def _buttons(self) -> None:
        self.query_one("#batch-cancel", Button).disabled = not self.running
        retry = not self.running and self.report is not None and self.report.retryable > 0
        self.query_one("#batch-retry", Button).disabled = not retry
        self.refresh_bindings()

    # -- the members' states -------------------------------------------------------------------
    def _show_rows(self, rows: Iterable[MemberRow], spin: bool = False) -> None:
        """Show `rows` (members of this batch only; a member's last row wins), keeping the
        counts; `spin`: the spinner of the members on the wire turns too (one repaint)."""
        shown = []
        for row in {row.record_id: row for row in rows}.values():
            before = self.states.get(row.record_id)
            if before is None:
                continue  # not a member shown here
            self._counts[before] -= 1
            self._counts[row.state] += 1
            self.states[row.record_id] = row.state
            shown.append(row)
        table = self.query_one(MemberTable)
        turning: list[str] = []
        if spin and self.sending:
            table.frame += 1
            turning = [str(rid) for rid, state in self.states.items() if state is State.SENDING]
        if shown or turning:
            table.update_rows(shown, reformat=turning)
        if shown:
            self._show_counts()

    @property
    def settled(self) -> int:
        return sum(n for state, n in self._counts.items() if state.settled)

    @property
    def sending(self) -> int:
        return self._counts[State.SENDING]

    def counts_text(self) -> str:
        total = len(self.states)
        parts = [f"{self.settled:,} of {total:,} settled"]
        for states, words in _COUNT_WORDS:
            n = sum(self._counts[s] for s in states)
            if n:
                parts.append(f"{n:,} {words}")
        wire = self.cancelled_with
        if wire is not None:  # said here, not in a toast over the members
            parts.append(
                f"cancelled: {wire:,} on the wire finish and are shown"
                if wire
                else "cancelled: none was on the wire"
            )
        return " \u00b7 ".join(parts)

    def _show_counts(self) -> None:
        total = len(self.states)
        self.query_one("#batch-bar", ProgressLine).update(total=total, progress=self.settled)
        if not self.running:
            return  # the summary of the run stays
        update_line(self.query_one("#batch-counts", Static), Text(self.counts_text()))

    def _tick(self) -> None:
        """A frame: what the workers queued, and the spinner's turn. With no spinner in the
        window (most of a large batch: the members on the wire are below it), every other
        tick only: the rows, the counts and the bar at ~4 frames a second, each frame a
        repaint of the dialog's foot."""
        self._ticks += 1
        if self._ticks % 2 and not self.query_one(MemberTable).spinning():
            return
        self._show_rows(self._inbox.take(), spin=True)

    # -- updates from the worker threads --------------------------------------------------------
    def watch(self, post_hit: Callable[[Hit], None]) -> dict[str, Any]:
        """The callbacks of a batch run (`BatchRunner.send`'s `progress`, `member`,
        `started`) that show it here; `post_hit` hands each HIT a member changed to the
        list. Called from the batch's worker threads, they never wait on the UI: each row
        is made there and queued (`Inbox`), and the screen shows what is queued once per
        frame (`TICK`), in one repaint (a message per row kept the UI thread, and the GIL
        the workers need, busy: profiled, the batch took 2.7x as long as alone)."""

        def started(record: Record) -> None:
            self._inbox.put(_sending_row(record))

        def member(outcome: Outcome) -> None:
            self._inbox.put(_member_row(outcome.record))
            if outcome.hit is not None:
                post_hit(outcome.hit)

        def progress(progress: BatchProgress) -> None:
            self.progress = progress  # the latest counts (read, never shown: the rows are)

        return {"progress": progress, "member": member, "started": started}

    def on_batch_screen_recorded(self, message: Recorded) -> None:
        self.batch_id = message.batch_id
        rows = [_member_row(rec) for rec in message.records]
        for row in rows:
            self.states[row.record_id] = row.state
            self._counts[row.state] += 1
        self.query_one(MemberTable).append_rows(rows)
        self.query_one("#batch-title", Static).update(
            Text(one_line(f"{self.title_text} \u00b7 batch {message.batch_id}"))
        )
        self._show_counts()

    def on_batch_screen_finished(self, message: Finished) -> None:
        self._show_rows(self._inbox.take())  # what the workers said before the end, first
        self.running = False
        self.report = message.report
        counts = self.query_one("#batch-counts", Static)
        if message.report is None:
            counts.update(Text(one_line(f"Stopped: {message.error}", max_length=300)))
        else:
            # The records as the history has them now: what did not start stays planned.
            cancelled = message.report.cancelled
            self._show_rows(_member_row(rec, cancelled) for rec in message.report.records)
            text = message.report.summary()
            if message.report.retryable:
                retry = keymap.key("retry", "batch")
                text += f" \u00b7 {retry}: retry what did not succeed (same tokens)"
            if message.error:
                text += f" \u00b7 {message.error}"
            counts.update(Text(one_line(text, max_length=300)))
        self._buttons()

    def start_retry(self) -> None:
        self.running = True
        self.report = None
        self.cancelled_with = None
        # Rows that were cancelled are planned again (settled rows are never touched).
        table = self.query_one(MemberTable)
        again = [
            dataclasses.replace(row, status=PLANNED)
            for row in table.rows
            if row.state is State.PLANNED and row.status != PLANNED
        ]
        if again:
            table.update_rows(again)
        self._show_counts()
        self._buttons()

    # -- actions ---------------------------------------------------------------------------
    @on(Button.Pressed, "#batch-cancel")
    def action_cancel_batch(self) -> None:
        if not self.running or self.cancelled_with is not None:
            return
        wire = self.on_cancel()
        self.cancelled_with = wire if wire is not None else self.sending
        self._show_counts()

    @on(Button.Pressed, "#batch-retry")
    def action_retry(self) -> None:
        if not self.running and self.report is not None and self.report.retryable:
            self.on_retry(self)

    def action_copy_id(self) -> None:
        """`c`: the HIT id of the member under the cursor."""
        row = self.query_one(MemberTable).cursor_row
        if row is None:
            return
        self.copied(row.hit_id, f"HIT id {one_line(row.hit_id)}")

    def action_back(self) -> None:
        self.action_close()

    @on(Button.Pressed, "#batch-close")
    def action_close(self) -> None:
        if self.running:
            self.notify(
                "The batch keeps running in the background; its results go to the history "
                f"({keymap.key('app.history', 'main')}).",
                markup=False,
            )
        self.dismiss(None)


def describe_hits(hits: list[Any]) -> str:
    return f"{len(hits):,} HIT{'s' if len(hits) != 1 else ''}"
