"""The assignments of one HIT (read-only): ListAssignmentsForHIT, every page, in a virtual
table — assignment id, worker id, status, accept / submit / auto-approval times — with the
counts by status above it. Opened with `A` from the main list and the HIT detail view.

The listing runs in a thread worker; the UI thread only shows what it brings back."""

from __future__ import annotations

from typing import ClassVar

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
from turktui.domain.timefmt import iso
from turktui.ui import keymap
from turktui.ui.context import AppContext
from turktui.ui.keys import KeyScreen
from turktui.ui.widgets.env_banner import EnvBanner
from turktui.ui.widgets.key_line import StableFooter
from turktui.ui.widgets.vtable import Column, VirtualTable

COLUMNS = (
    Column("assignment", "Assignment id", 30),
    Column("worker", "Worker id", 16),
    Column("status", "Status", 9),
    Column("accepted", "Accepted (UTC)", 19),
    Column("submitted", "Submitted (UTC)", 19, priority=1),
    Column("auto", "Auto-approval (UTC)", 19, priority=2),
)


def _when(moment: object) -> str:
    return iso(moment)[:-4] if moment is not None else "\u2014"  # type: ignore[arg-type]


def assignment_cells(a: Assignment) -> tuple[str, ...]:
    status = a.status or "?"
    if a.problem:
        status += " !"
    return (
        one_line(a.assignment_id),
        one_line(a.worker_id),
        one_line(status),
        _when(a.accept_time),
        _when(a.submit_time),
        _when(a.auto_approval_time),
    )


SORT_KEYS = {
    "assignment": lambda a: a.assignment_id,
    "worker": lambda a: a.worker_id,
    "status": lambda a: a.status,
    "accepted": lambda a: a.accept_time.timestamp() if a.accept_time else 0.0,
    "submitted": lambda a: a.submit_time.timestamp() if a.submit_time else 0.0,
    "auto": lambda a: a.auto_approval_time.timestamp() if a.auto_approval_time else 0.0,
}


def counts_text(hit: Hit, rows: list[Assignment] | None, error: str = "") -> Text:
    text = Text()
    text.append(f"Assignments of HIT {sanitize(hit.hit_id)}", style="bold")
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
    text.append(
        f"  \u00b7 HIT: max {hit.max_assignments:,}, {hit.pending:,} in progress "
        "(not listed by MTurk), "
        f"{hit.available:,} available"
    )
    return text


class AssignmentsScreen(KeyScreen, Screen[None]):
    """Read-only list of a HIT's assignments."""

    KEYMAP_SCREEN = "assignments"
    BINDINGS: ClassVar[list[BindingType]] = keymap.bindings("assignments")
    DEFAULT_CSS = """
    AssignmentsScreen #asg-counts { height: auto; padding: 0 1; }
    AssignmentsScreen #asg-table { height: 1fr; }
    """

    def __init__(self, ctx: AppContext, hit: Hit) -> None:
        super().__init__()
        self.ctx = ctx
        self.hit = hit
        self.loaded: list[Assignment] | None = None
        self.error = ""
        self.loads = 0
        self.table: VirtualTable[Assignment] = VirtualTable(
            ListModel(lambda a: a.assignment_id),
            COLUMNS,
            assignment_cells,
            sort_keys=SORT_KEYS,
            id="asg-table",
        )
        self.table.empty_message = "Listing assignments\u2026"

    def compose(self) -> ComposeResult:
        yield EnvBanner(self.ctx, id="banner")
        yield Static(counts_text(self.hit, None), id="asg-counts")
        yield self.table
        yield StableFooter(compact=True, show_command_palette=False)

    def on_mount(self) -> None:
        self.table.focus()
        self.load()

    def load(self) -> None:
        self.loaded, self.error = None, ""
        self._show()
        service, hit_id = self.ctx.service, self.hit.hit_id

        def work() -> None:  # results come back as Messages (post_message is thread-safe)
            try:
                rows = service.list_assignments(hit_id)
            except TurkError as exc:
                self.post_message(self.Listed(None, exc.message))
                return
            except Exception as exc:  # never a traceback in front of an operator
                self.post_message(self.Listed(None, f"{type(exc).__name__}: {exc}"))
                return
            self.post_message(self.Listed(rows, ""))

        self.run_worker(
            work,
            thread=True,
            group="assignments",
            exclusive=True,
            exit_on_error=False,
            name=f"assignments {hit_id}",
        )

    class Listed(Message):
        """The worker's answer: every assignment, or why there are none."""

        def __init__(self, rows: list[Assignment] | None, error: str) -> None:
            super().__init__()
            self.rows = rows
            self.error = error

    def on_assignments_screen_listed(self, message: Listed) -> None:
        if message.rows is None:
            self._failed(message.error)
        else:
            self._done(message.rows)

    def _done(self, rows: list[Assignment]) -> None:
        self.loaded = rows
        self.loads += 1
        self.table.empty_message = "No submitted, approved or rejected assignments."
        self.table.set_rows(rows)
        self._show()

    def _failed(self, message: str) -> None:
        self.error = message or "unknown error"
        self.loads += 1
        self.table.empty_message = "No assignments listed."
        self._show()

    def _show(self) -> None:
        if self.is_mounted:
            self.query_one("#asg-counts", Static).update(
                counts_text(self.hit, self.loaded, self.error)
            )

    def action_back(self) -> None:
        self.dismiss()

    def action_close(self) -> None:
        self.action_back()

    def action_reload(self) -> None:
        self.load()

    def action_sort_next(self) -> None:
        keys = [c.key for c in COLUMNS]
        current = self.table.sort_key
        nxt = (
            keys[0]
            if current is None
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


def open_assignments(app: object, hit: Hit | None) -> None:
    """`A`: the assignments of `hit` (main list or detail view)."""
    if hit is None:
        app.notify("No HIT selected.", severity="warning")  # type: ignore[attr-defined]
        return
    app.push_screen(AssignmentsScreen(app.ctx, hit))  # type: ignore[attr-defined]
