"""The main screen: context banner, the HIT list, filter input, status line and footer."""

from __future__ import annotations

from dataclasses import dataclass, replace
from datetime import datetime
from typing import TYPE_CHECKING, ClassVar

from rich.text import Text
from textual import on
from textual.app import ComposeResult
from textual.binding import BindingType
from textual.reactive import reactive
from textual.screen import Screen
from textual.widgets import Input, Static

from turktui.domain.models import Hit
from turktui.ui import heap, keymap
from turktui.ui.context import AppContext
from turktui.ui.errors import describe, one_line_summary
from turktui.ui.keys import KeyScreen
from turktui.ui.messages import (
    BalanceFailed,
    BalanceLoaded,
    BalanceWanted,
    ExpireWanted,
    HitsFailed,
    HitsLoaded,
    HitsPage,
)
from turktui.ui.widgets.env_banner import EnvBanner
from turktui.ui.widgets.hit_table import COLUMN_LABELS, HitTable
from turktui.ui.widgets.key_line import StableFooter
from turktui.ui.widgets.status_bar import StatusBar

if TYPE_CHECKING:
    from turktui.ui.host import TurkHost


@dataclass(frozen=True)
class LoadState:
    """Where the listing is: loading (streaming into an empty table, or refreshing behind
    the rows shown), how many pages and staged rows, and the last failure."""

    loading: bool = False
    streaming: bool = True
    pages: int = 0
    staged: int = 0
    error: BaseException | None = None


class MainScreen(KeyScreen, Screen[None]):
    # The keys come from the key map (turktui.ui.keymap): footer labels are terse so that
    # the shown ones fit at 80 columns (the key, coloured, right before its label); `?`
    # lists them all.
    KEYMAP_SCREEN = "main"
    BINDINGS: ClassVar[list[BindingType]] = keymap.bindings("main")

    #: the listing's progress; the status line follows it (watch_load: only that line is
    #: repainted, not the screen)
    load: reactive[LoadState] = reactive(LoadState, always_update=False, repaint=False)

    def __init__(self, ctx: AppContext) -> None:
        super().__init__()
        self.ctx = ctx
        self.generation = 0
        self._staging: list[Hit] = []
        self._keep_id: str | None = None
        #: when the listing on screen was read (the app's clock), None before the first
        self.updated_at: datetime | None = None

    @property
    def is_loading(self) -> bool:
        return self.load.loading

    @property
    def load_pages(self) -> int:
        return self.load.pages

    @property
    def load_error(self) -> BaseException | None:
        return self.load.error

    def watch_load(self) -> None:
        self._status_changed()

    def _status_changed(self) -> None:
        if self.is_mounted:
            self.status_bar.source_changed()

    @property
    def tui(self) -> TurkHost:
        return self.app  # type: ignore[return-value]

    def compose(self) -> ComposeResult:
        yield EnvBanner(self.ctx, id="banner")
        yield HitTable(self.ctx.clock, id="hits")
        yield Static("", id="error-panel", markup=False)
        yield Input(placeholder="filter id or title (Enter: keep, Esc: clear)", id="filter")
        yield StatusBar(self.status_text, id="status")
        yield StableFooter(compact=True, show_command_palette=False)

    @property
    def table(self) -> HitTable:
        return self.query_one(HitTable)

    @property
    def status_bar(self) -> StatusBar:
        return self.query_one(StatusBar)

    def on_mount(self) -> None:
        self.query_one("#filter", Input).display = False
        self.query_one("#error-panel").display = False
        self.table.focus()
        # The status line follows the app's state it shows (repainted only if its text
        # changed: see StatusBar.source_changed).
        for name in ("marks", "in_flight"):
            self.watch(self.app, name, self._status_changed, init=False)
        # Paint the first frame before the worker imports boto3 (slow).
        self.call_after_refresh(self.tui.start_up)

    # -- loading -----------------------------------------------------------------------------
    def begin_load(self) -> int:
        """Start a new load generation; the old rows stay on screen until the new ones arrive."""
        self.generation += 1
        self._staging = []
        streaming = not self.table.rows
        self.load = LoadState(loading=True, streaming=streaming)
        hit = self.table.cursor_hit
        self._keep_id = hit.hit_id if hit else None
        if streaming:
            self.table.empty_message = "Loading HITs\u2026"
            self.show_error(None)
        return self.generation

    def on_hits_page(self, message: HitsPage) -> None:
        if message.generation != self.generation:
            return
        heap.hold()  # no full GC rescans of the rows while they stream in
        if self.load.streaming:
            self.table.append_rows(message.hits)
        else:
            self._staging.extend(message.hits)
        # The status line follows (one repaint per frame, however many pages arrived).
        self.load = replace(self.load, pages=message.page, staged=len(self._staging))

    def on_hits_loaded(self, message: HitsLoaded) -> None:
        if message.generation != self.generation:
            return
        if not self.load.streaming:
            # The HIT under the cursor now wins (the operator may have moved while the list
            # was read: the one at the start of the refresh is history). Marks are kept by
            # HIT id; those of HITs no longer listed go.
            hit = self.table.cursor_hit
            self.table.set_rows(self._staging, keep_id=hit.hit_id if hit else self._keep_id)
            self._staging = []
        else:
            self.table.rebuild()
        self.table.empty_message = "No HITs in this account." if not self.table.rows else ""
        self.updated_at = self.ctx.clock()
        self.load = replace(self.load, loading=False, staged=0)
        # After the frame that shows the new rows: free what the freezes kept (heap.py).
        self.call_after_refresh(heap.listing_done)

    def on_hits_failed(self, message: HitsFailed) -> None:
        if message.generation != self.generation:
            return
        self._staging = []
        self.load = replace(self.load, loading=False, staged=0, error=message.error)
        self.call_after_refresh(heap.listing_done)
        if not self.table.rows:
            self.show_error(message.error)
        else:
            self.app.notify(
                one_line_summary(message.error) + " \u2014 press r to retry.",
                title="Refresh failed",
                severity="error",
                timeout=8,
                markup=False,
            )

    def show_error(self, error: BaseException | None) -> None:
        """Show a failure where the table would be (or hide it again)."""
        panel = self.query_one("#error-panel", Static)
        if error is None:
            panel.display = False
            self.table.display = True
            return
        title, message, hint = describe(error)
        text = Text()
        text.append(f"Could not load HITs \u2014 {title}\n\n", style="bold")
        text.append(message + "\n")
        if hint:
            text.append("\n" + hint + "\n")
        text.append("\nPress r to retry, q to quit.", style="bold")
        panel.update(text)
        panel.display = True
        self.table.display = False
        panel.focus()

    def on_balance_loaded(self, message: BalanceLoaded) -> None:
        if self.tui.balance_answer_is_latest(message.asked):
            self.tui.balance = message.balance
            self.tui.balance_error = None

    def on_balance_wanted(self, message: BalanceWanted) -> None:
        self.tui.refresh_balance()

    def on_balance_failed(self, message: BalanceFailed) -> None:
        if self.tui.balance_answer_is_latest(message.asked):
            self.tui.balance_error = one_line_summary(message.error)

    # -- status ------------------------------------------------------------------------------
    def status_text(self) -> tuple[str, str]:
        """The status line (left, right), from the table, the load and the app's state."""
        table = self.table
        total = len(table.rows)
        load = self.load
        hits = f"{total:,} HIT{'s' if total != 1 else ''}"
        if load.loading and load.streaming:
            left = f"Loading\u2026 {total:,} HITs (page {load.pages})"
        elif load.loading:
            # The rows shown are the old ones until the new listing is complete: their count.
            left = f"{hits} \u00b7 refreshing\u2026"
            if load.pages:
                left += f" (page {load.pages})"
        elif load.error is not None and not total:
            left = "Not loaded \u2014 press r to retry"
        else:
            left = hits
            if load.error is not None:
                left += " (refresh failed: r to retry)"
        if table.filtered:
            left += f" \u00b7 {len(table.view):,} shown"
            bits = []
            if table.filter_text:
                bits.append(f"\u201c{table.filter_text}\u201d")
            if table.extendable_only:
                bits.append("extendable only")
            if table.expired_only:
                bits.append("expired only")
            left += " \u00b7 filter: " + ", ".join(bits)
        if table.sort_key:
            arrow = "\u25bc" if table.sort_reverse else "\u25b2"
            left += f" \u00b7 sort: {COLUMN_LABELS[table.sort_key]} {arrow}"
        marks = self.tui.marks
        if marks:
            left += f" \u00b7 {marks:,} marked ({keymap.key('app.bulk', 'main')}: bulk)"
        flights = self.tui.in_flight
        if len(flights) == 1:
            left = f"\u27f3 adding {flights[0]}\u2026 \u00b7 " + left
        elif flights:
            left = f"\u27f3 {len(flights)} requests in flight \u00b7 " + left
        right = f"{table.cursor + 1:,}/{len(table.view):,}" if table.view else ""
        if self.updated_at is not None:
            # Local time, from the app's clock (tests fix it).
            updated = f"updated {self.updated_at.astimezone().strftime('%H:%M:%S')}"
            right = f"{updated} \u00b7 {right}" if right else updated
        return left, right

    # The table says when its view or cursor changes (filter, sort, rows, cursor): the status
    # line follows.
    def on_hit_table_cursor_moved(self, message: HitTable.CursorMoved) -> None:
        self._status_changed()

    def on_hit_table_sort_changed(self, message: HitTable.SortChanged) -> None:
        self._status_changed()

    def on_hit_table_activated(self, message: HitTable.Activated) -> None:
        self.action_detail()

    # -- actions -----------------------------------------------------------------------------
    def action_sort_next(self) -> None:
        self.table.cycle_sort()

    def action_sort_reverse(self) -> None:
        self.table.reverse_sort()

    def action_expire(self) -> None:
        """`X`: expire the HIT under the cursor now (the controller confirms and runs it)."""
        self.post_message(ExpireWanted(self.table.cursor_hit))

    def action_assignments(self) -> None:
        """`A`: the assignments of the HIT under the cursor (to review and pay)."""
        from turktui.ui.screens.assignments import open_assignments

        open_assignments(self.app, self.table.cursor_hit)

    def action_toggle_extendable(self) -> None:
        self.table.set_filter(extendable_only=not self.table.extendable_only)

    def action_toggle_expired(self) -> None:
        self.table.set_filter(expired_only=not self.table.expired_only)

    def action_filter(self) -> None:
        self.open_filter(self.query_one("#filter", Input))

    @on(Input.Changed, "#filter")
    def _filter_changed(self, event: Input.Changed) -> None:
        self.table.set_filter(event.value)

    @on(Input.Submitted, "#filter")
    def _filter_submitted(self, event: Input.Submitted | None) -> None:
        box = self.query_one("#filter", Input)
        box.display = bool(box.value)
        self.table.focus()

    def action_back(self) -> None:
        """Esc on the main list: clear the filters (there is nothing to go back to)."""
        box = self.query_one("#filter", Input)
        if self.leave_filter(box, self.table) or self.table.filtered:
            box.value = ""
            box.display = False
            self.table.set_filter("", extendable_only=False, expired_only=False)
            self.table.focus()

    def action_clear_filters(self) -> None:
        self.action_back()

    def action_reload(self) -> None:
        self.tui.reload_hits()

    def action_detail(self) -> None:
        hit = self.table.cursor_hit
        if hit is None:
            self.app.notify("No HIT selected.", severity="warning")
            return
        from turktui.ui.screens.detail import DetailScreen

        self.app.push_screen(DetailScreen(self.ctx, hit))

    def action_toggle_mark(self) -> None:
        self.table.toggle_mark()

    def action_mark_all(self) -> None:
        self.table.mark_visible()

    def action_clear_marks(self) -> None:
        self.table.clear_marks()

    def on_hit_table_marks_changed(self, message: HitTable.MarksChanged) -> None:
        """The one writer of the app's `marks`: the table says whenever its marks change
        (a key, a reload dropping HITs no longer listed, a batch clearing what it extended)."""
        self.tui.marks = message.count

    def action_copy_id(self) -> None:
        self.tui.copy_hit_id(self.table.cursor_hit)
