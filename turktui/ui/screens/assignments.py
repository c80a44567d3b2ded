"""The assignments of one HIT, to review and pay: ListAssignmentsForHIT, every page, in a
virtual table — status, worker, submit time, time to auto-approval (by MTurk's clock when its
answer carried one), the answer's text, the assignment id — with the counts by status above
it and the cursor row's whole answer under it. Opened with `A` from the main list and the HIT
detail view.

Approve (`Y`), reject (`N`) and bonus (`$`) act on the marked rows (the main list's mark
keys), else on the cursor row; `P` approves every Submitted one. Each asks the app's review
flow (ReviewWanted; an `@work` coroutine, turktui.ui.controller): the review dialog
(turktui.ui.screens.review) shows what will happen and what cannot, then the confirmation
where one is needed, then the controller sends it through the engine in a thread worker (the
command line's own functions, turktui.pipeline.reviewing); the result comes back as a
ReviewsDone message, said on this screen's one status line, and the rows are read again.

The listing runs in a thread worker; the UI thread only shows what it brings back."""

from __future__ import annotations

import time
from collections.abc import Callable, Sequence
from datetime import datetime, timedelta
from typing import Any, ClassVar

from rich.text import Text
from textual.app import ComposeResult
from textual.binding import BindingType
from textual.message import Message
from textual.screen import Screen
from textual.widgets import Static

from turktui.domain.errors import TurkError
from turktui.domain.listmodel import ListModel
from turktui.domain.models import Assignment, Hit, count_by_status
from turktui.domain.text import one_line, sanitize
from turktui.domain.timefmt import iso, until_label
from turktui.pipeline.operations import APPROVE, BONUS, REJECT
from turktui.pipeline.operations.bonus import Bonus
from turktui.pipeline.operations.review import ReviewOperation
from turktui.ui import keymap
from turktui.ui.context import AppContext
from turktui.ui.keys import KeyScreen, status_line
from turktui.ui.messages import ReviewsDone, ReviewWanted
from turktui.ui.widgets.env_banner import EnvBanner
from turktui.ui.widgets.key_line import StableFooter
from turktui.ui.widgets.vtable import Column, VirtualTable

COLUMNS = (
    Column("status", "Status", 9),
    Column("worker", "Worker id", 14),
    Column("submitted", "Submitted", 11, priority=1),
    Column("auto", "Auto-approval", 13, narrow=10, narrow_label="Auto-appr"),
    Column("answer", "Answer", 20, flex=True),
    Column("assignment", "Assignment id", 30, priority=2),
    Column("accepted", "Accepted", 11, priority=3),
)


def _when(moment: datetime | None) -> str:
    """'06-15 10:31' (UTC, the header says so): the year is the detail line's."""
    return iso(moment)[5:16] if moment is not None else "\u2014"


def assignment_cells(a: Assignment, now: datetime) -> tuple[str, ...]:
    """A row's cells at MTurk's time `now`: time to auto-approval only while Submitted."""
    status = a.status or "?"
    if a.problem:
        status += " !"
    return (
        one_line(status),
        one_line(a.worker_id),
        _when(a.submit_time),
        until_label(a.auto_approval_time, now) if a.status == "Submitted" else "\u2014",
        one_line(a.answer, max_length=300),
        one_line(a.assignment_id),
        _when(a.accept_time),
    )


SORT_KEYS = {
    "assignment": lambda a: a.assignment_id,
    "worker": lambda a: a.worker_id,
    "status": lambda a: a.status,
    "answer": lambda a: a.answer.casefold(),
    "accepted": lambda a: a.accept_time.timestamp() if a.accept_time else 0.0,
    "submitted": lambda a: a.submit_time.timestamp() if a.submit_time else 0.0,
    "auto": lambda a: a.auto_approval_time.timestamp() if a.auto_approval_time else 0.0,
}


def answer_line(a: Assignment | None) -> Text:
    """The cursor row's whole answer (wrapped under the table), literally."""
    if a is None:
        return Text("")
    text = Text()
    text.append(f"Answer of {one_line(a.assignment_id)}: ", style="bold")
    text.append(one_line(a.answer) or "(no text)")
    return text


class AssignmentTable(VirtualTable[Assignment]):
    """The assignments; relative times ("in 2d 3h") follow MTurk's clock, good to a minute."""

    flex_min = 12
    flex_want = 24
    narrow_below = 100

    def __init__(self, now: Callable[[], datetime], **kwargs: Any) -> None:
        self._now_of = now
        self._stamp = 0.0
        super().__init__(
            ListModel(lambda a: a.assignment_id),
            COLUMNS,
            lambda a: assignment_cells(a, self._now_of()),
            sort_keys=SORT_KEYS,
            **kwargs,
        )

    def before_render(self) -> None:
        stamp = time.monotonic()
        if stamp - self._stamp >= 30:
            self._stamp = stamp
            self._cells.clear()
            self._fit_cache.clear()


def counts_text(hit: Hit, rows: list[Assignment] | None, error: str = "", marked: int = 0) -> Text:
    text = Text()
    text.append(f"Assignments of HIT {sanitize(hit.hit_id)}", style="bold")
    text.append(" (times UTC)")
    text.append(f"  \u201c{one_line(hit.title, max_length=60)}\u201d\n")
    if error:
        text.append(
            f"Could not list the assignments: {one_line(error, max_length=300)} (r to retry)",
            style="bold red",
        )
        return text
    if rows is None:
        text.append("Listing assignments\u2026 (ListAssignmentsForHIT, every page)")
        return text
    counts = count_by_status(rows)
    text.append(f"{len(rows):,} listed: ")
    text.append(", ".join(f"{n:,} {status}" for status, n in counts.items()))
    if marked:
        text.append(f" \u00b7 {marked:,} marked", style="bold")
    text.append(
        f"  \u00b7 HIT: max {hit.max_assignments:,}, {hit.pending:,} in progress "
        "(not listed by MTurk), "
        f"{hit.available:,} available"
    )
    return text


class AssignmentsScreen(KeyScreen, Screen[None]):
    """A HIT's assignments: reviewed and paid from here (see the module docstring)."""

    KEYMAP_SCREEN = "assignments"
    #: the results of reviews are said on one line (`#asg-status`), never as toasts
    STATUS_LINE = True
    BINDINGS: ClassVar[list[BindingType]] = keymap.bindings("assignments")
    DEFAULT_CSS = """
    AssignmentsScreen #asg-counts { height: auto; padding: 0 1; }
    AssignmentsScreen #asg-table { height: 1fr; }
    AssignmentsScreen #asg-answer { height: auto; max-height: 3; padding: 0 1; }
    AssignmentsScreen #asg-status { padding: 0 1; }
    """

    def __init__(self, ctx: AppContext, hit: Hit) -> None:
        super().__init__()
        self.ctx = ctx
        self.hit = hit
        self.loaded: list[Assignment] | None = None
        self.error = ""
        self.loads = 0
        #: MTurk's clock minus the local one, from the listing's answer (zero: unknown)
        self.skew = timedelta(0)
        #: MTurk's time was known (its answer carried a `Date`)
        self.server_known = False
        self.table = AssignmentTable(self.mturk_now, id="asg-table")
        self.table.empty_message = "Listing assignments\u2026"

    def compose(self) -> ComposeResult:
        yield EnvBanner(self.ctx, id="banner")
        yield Static(counts_text(self.hit, None), id="asg-counts")
        yield self.table
        yield Static(Text(""), id="asg-answer")
        yield status_line(id="asg-status")
        yield StableFooter(compact=True, show_command_palette=False)

    def on_mount(self) -> None:
        self.table.focus()
        self.load()

    def mturk_now(self) -> datetime:
        """Now by MTurk's clock as its last answer here told it (else the local clock)."""
        return self.ctx.clock() + self.skew

    def server_now(self) -> datetime | None:
        """MTurk's time now, for the rules that need it (None: its answers carry none)."""
        return self.mturk_now() if self.server_known else None

    def load(self) -> None:
        self.loaded, self.error = None, ""
        self._show()
        service, hit_id, clock = self.ctx.service, self.hit.hit_id, self.ctx.clock

        def work() -> None:  # results come back as Messages (post_message is thread-safe)
            try:
                rows = service.list_assignments(hit_id)
            except TurkError as exc:
                self.post_message(self.Listed(None, exc.message))
                return
            except Exception as exc:  # never a traceback in front of an operator
                self.post_message(self.Listed(None, f"{type(exc).__name__}: {exc}"))
                return
            dated = getattr(service, "server_date", None)  # MTurk's time of that answer
            server = dated() if dated is not None else None
            skew = server - clock() if server is not None else None
            self.post_message(self.Listed(rows, "", skew))

        self.run_worker(
            work,
            thread=True,
            group="assignments",
            exclusive=True,
            exit_on_error=False,
            name=f"assignments {hit_id}",
        )

    class Listed(Message):
        """The worker's answer: every assignment, or why there are none; and MTurk's clock
        minus the local one (None: its answer carried no time)."""

        def __init__(
            self, rows: list[Assignment] | None, error: str, skew: timedelta | None = None
        ) -> None:
            super().__init__()
            self.rows = rows
            self.error = error
            self.skew = skew

    def on_assignments_screen_listed(self, message: Listed) -> None:
        if message.skew is not None:
            self.skew, self.server_known = message.skew, True
        if message.rows is None:
            self._failed(message.error)
        else:
            self._done(message.rows)

    def _done(self, rows: list[Assignment]) -> None:
        self.loaded = rows
        self.loads += 1
        self.table.empty_message = "No submitted, approved or rejected assignments."
        self.table.set_rows(rows, keep_key=getattr(self.table.cursor_row, "assignment_id", None))
        self.table.invalidate_cells()
        self._show()

    def _failed(self, message: str) -> None:
        self.error = message or "unknown error"
        self.loads += 1
        self.table.empty_message = "No assignments listed."
        self._show()

    def _show(self) -> None:
        if self.is_mounted:
            self.query_one("#asg-counts", Static).update(
                counts_text(self.hit, self.loaded, self.error, len(self.table.marked))
            )
            self.query_one("#asg-answer", Static).update(answer_line(self.table.cursor_row))

    def on_virtual_table_cursor_moved(self, message: VirtualTable.CursorMoved) -> None:
        self.query_one("#asg-answer", Static).update(answer_line(message.row))

    def action_back(self) -> None:
        self.dismiss()

    def action_close(self) -> None:
        self.action_back()

    def action_reload(self) -> None:
        self.load()

    def action_sort_next(self) -> None:
        keys = self.table.visible_columns()
        current = self.table.sort_key
        nxt = (
            keys[0]
            if current is None or current not in keys
            else (keys[keys.index(current) + 1] if keys.index(current) + 1 < len(keys) else None)
        )
        self.table.sort_by(nxt, reverse=False)

    def action_sort_reverse(self) -> None:
        if self.table.sort_key is not None:
            self.table.sort_by(self.table.sort_key, reverse=not self.table.sort_reverse)

    def action_copy_id(self) -> None:
        """`c`: the assignment id of the row under the cursor."""
        row = self.table.cursor_row
        if row is None:
            return
        self.copied(row.assignment_id, f"assignment id {one_line(row.assignment_id)}")

    def action_copy_worker(self) -> None:
        row = self.table.cursor_row
        if row is None:
            return
        self.copied(row.worker_id, f"worker id {one_line(row.worker_id)}")

    # -- marks: the main list's keys ---------------------------------------------------------
    def action_toggle_mark(self) -> None:
        self.table.toggle_mark()
        self._show()

    def action_mark_all(self) -> None:
        self.table.mark_visible()
        self._show()

    def action_clear_marks(self) -> None:
        self.table.clear_marks()
        self._show()

    def targets(self) -> list[Assignment]:
        """The marked rows, else the cursor row."""
        marked = self.table.marked_rows
        if marked:
            return list(marked)
        row = self.table.cursor_row
        return [row] if row is not None else []

    # -- review and pay ----------------------------------------------------------------------
    def action_approve(self) -> None:
        self.start(APPROVE, self.targets())

    def action_reject(self) -> None:
        self.start(REJECT, self.targets())

    def action_bonus(self) -> None:
        self.start(BONUS, self.targets())

    def action_approve_all(self) -> None:
        submitted = [a for a in self.loaded or () if a.status == "Submitted"]
        if self.loaded is not None and not submitted:
            self.notify("No Submitted assignment: nothing to approve.", severity="warning")
            return
        self.start(APPROVE, submitted, title=f"Approve all {len(submitted):,} submitted")

    def start(
        self, op: ReviewOperation | Bonus, rows: Sequence[Assignment], title: str = ""
    ) -> None:
        """The one way into a review: the app's flow (its read-only gate, the dialog, the
        confirmation, the sending) for these rows."""
        if not rows:
            self.notify("No assignment selected.", severity="warning")
            return
        n = len(rows)
        title = title or f"{op.title} {n:,} assignment{'s' * (n != 1)}"
        self.post_message(ReviewWanted(op, list(rows), self.hit, title, self.server_now()))

    def reviewed(self, message: ReviewsDone) -> None:
        """Reviews were settled (the app hands it on): unmark what went through, read the
        rows again."""
        done = {r.data.get("assignment_id") for r in message.records if r.state.applied is True}
        model = self.table.model
        for key in done & set(model.marked):
            model.marked.discard(key)
        self.load()


def open_assignments(app: object, hit: Hit | None) -> None:
    """`A`: the assignments of `hit` (main list or detail view)."""
    if hit is None:
        app.notify("No HIT selected.", severity="warning")  # type: ignore[attr-defined]
        return
    app.push_screen(AssignmentsScreen(app.ctx, hit))  # type: ignore[attr-defined]
