"""The request history (`h`): newest first, filterable, a detail view, and resolve.

The list is the generic table (`turktui.ui.widgets.vtable.PagedTable`) over a `PagedModel`:
only the lines on screen are rendered, and records are read from SQLite a page at a time by
workers as the operator scrolls, so the screen opens as fast with 100,000 records as with
ten (Textual's DataTable needs ~0.5 s just to build 500 rows).
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from datetime import datetime, timezone
from decimal import Decimal
from functools import partial
from typing import Any, ClassVar, cast

from rich.text import Text
from textual import on
from textual.app import ComposeResult
from textual.binding import BindingType
from textual.containers import VerticalScroll
from textual.message import Message
from textual.screen import ModalScreen, Screen
from textual.widgets import Input, Static

from turktui.adapters.history import HistoryError, HistoryStore, live_until, other_host
from turktui.adapters.history_reader import HistoryQuery, HistoryReader
from turktui.adapters.stores import reader_of
from turktui.domain.environment import EnvKind
from turktui.domain.listmodel import PagedModel
from turktui.domain.records import Record, State, describe_owner
from turktui.domain.rules import format_money
from turktui.domain.text import one_line, redact, sanitize
from turktui.domain.timefmt import iso
from turktui.pipeline.operations import operation_label
from turktui.ui import keymap
from turktui.ui.keys import KeyScreen, refused_read_only
from turktui.ui.widgets.key_line import StableFooter
from turktui.ui.widgets.vtable import Column, PagedTable

PAGE = 200
FILTER_DELAY = 0.0  # a keystroke queries at once (off the UI thread; stale answers dropped)
CACHE_PAGES = 64
_STATE_MARK = {
    State.SUCCEEDED: "\u2713 succeeded",
    State.RESOLVED_SUCCEEDED: "\u2713 resolved ok",
    State.RESOLVED_NOT_APPLIED: "\u2717 not applied",
    State.REFUSED: "\u2717 refused",
    State.FAILED: "\u2717 failed",
    State.UNKNOWN: "? unknown",
    State.SENDING: "? sending",
    State.PLANNED: "\u2026 planned",
    State.CONFLICT: "! conflict",
}
WIDE = 120  # from here: full dates, environment names, and (room allowing) Error, Batch


def env_short(env_kind: str) -> str:
    """PROD, SBOX, CUST, DEMO (80 columns); an unknown label is shown as it is."""
    try:
        return EnvKind(env_kind).short
    except ValueError:
        return one_line(env_kind)[:4].upper()


#: `e` in the history cycles through these (None: every environment).
ENV_CYCLE: tuple[str | None, ...] = (None, "production", "sandbox", "custom", "demo")


def state_label(state: State) -> str:
    return _STATE_MARK.get(state, state.label)


# Display order; the title takes what the others leave. Batch (from ~140 columns) and Error
# (from ~165) show when they fit.
COLUMNS: tuple[Column, ...] = (
    Column("id", "#", 5),
    Column("created", "Created (UTC)", 19, narrow=11, narrow_label="Created UTC"),
    Column("env", "Environment", 11, narrow=4, narrow_label="Env"),
    Column("state", "State", 13),
    Column("add", "Add", 8),
    Column("max", "Max", 17, narrow=11),
    Column("hit", "HIT", 30, narrow=12),
    Column("title", "Title", 8, flex=True),
    Column("error", "Error", 26, priority=2),
    Column("batch", "Batch", 12, priority=1),
)


def about_assignment(rec: Record) -> bool:
    """Is `rec` a review or a bonus (its subject an assignment, not its HIT)?"""
    return bool(rec.subject) and rec.subject != rec.hit_id


def record_cells(rec: Record, wide: bool) -> tuple[str, ...]:
    """Every column's text for one record (in `COLUMNS` order), made safe. A review or a
    bonus (its subject an assignment) shows its operation ('approve', 'bonus'), no maximum."""
    created = iso(rec.created).removesuffix(" UTC")
    review = about_assignment(rec)
    return (
        f"{rec.id}",
        created if wide else created[5:16],
        one_line(rec.env_kind) if wide else env_short(rec.env_kind),
        state_label(rec.state),
        ("\u25a3" if rec.batch_id else "")
        + (one_line(operation_label(rec)) if review else rec.change_label),
        "\u2014" if review else f"{rec.max_before:,}\u2192{rec.expected_after:,}",
        one_line(rec.hit_id),
        one_line(rec.hit_title),
        one_line(rec.error_code),
        one_line((rec.batch_id or "").removeprefix("batch-")),
    )


def _record_key(rec: Record) -> str:
    return str(rec.id)


class Listed(Message):
    """A worker's answer to a query: the count and first page (or why not)."""

    def __init__(
        self,
        generation: int,
        total: int,
        first: list[Record],
        error: str | None = None,
        indexed: bool = False,
        counting: bool = False,
    ) -> None:
        super().__init__()
        #: True: `total` is what is known so far (a full first page); a Counted follows
        self.counting = counting
        self.generation = generation
        self.total = total
        self.first = first
        self.error = error
        self.indexed = indexed


class Counted(Message):
    """The count of a listing whose first page was shown before it was counted."""

    def __init__(self, generation: int, total: int | None, error: str | None = None) -> None:
        super().__init__()
        self.generation = generation
        self.total = total
        self.error = error


class PageRead(Message):
    def __init__(self, generation: int, page: int, rows: list[Record] | None) -> None:
        super().__init__()
        self.generation = generation
        self.page = page
        self.rows = rows


class DetailRead(Message):
    """A record read in full (with its batch), for the detail view or resolve."""

    def __init__(self, record: Record, batch: Text | None, then: str) -> None:
        super().__init__()
        self.record = record
        self.batch = batch
        self.then = then


class RecordList(PagedTable[Record]):
    """The records of a listing, newest first: the generic table over a `PagedModel`
    (pages of `PAGE` records read by the screen's workers, `CACHE_PAGES` kept)."""

    COMPONENT_CLASSES: ClassVar[set[str]] = {
        *PagedTable.COMPONENT_CLASSES,
        "record-list--unsettled",
    }
    DEFAULT_CSS = """
    RecordList { height: 1fr; background: $surface; }
    RecordList > .record-list--unsettled { color: $warning; }
    """
    narrow_below = WIDE - 1  # a WIDE terminal is wide with or without the scrollbar
    flex_min = 8

    class Activated(PagedTable.Activated):
        """Enter / double click on a record that has been read."""

        @property
        def record(self) -> Record:
            return cast(Record, self.row)

    def __init__(self, **kwargs: Any) -> None:
        super().__init__(
            PagedModel(_record_key, page_size=PAGE, cache_pages=CACHE_PAGES),
            COLUMNS,
            lambda rec: record_cells(rec, bool(self._wide)),
            **kwargs,
        )
        self._wide: bool | None = None

    @property
    def total(self) -> int:
        return len(self.model)

    @property
    def current(self) -> Record | None:
        """The record under the cursor (None while its page is being read)."""
        return cast(Record | None, self.model.cursor_row)

    def before_render(self) -> None:
        wide = not self.narrow  # (the scrollbar coming or going changes it too)
        if wide != self._wide:  # dates and environments are written out from WIDE
            self._wide = wide
            self._cells.clear()

    def row_style_class(self, row: Record) -> str | None:
        return None if row.settled else "record-list--unsettled"

    def action_select(self) -> None:
        rec = self.current
        if rec is not None:
            self.post_message(self.Activated(rec))


class HistoryScreen(KeyScreen, Screen[None]):
    """Lists records; `enter` shows one, `R` resolves an unsettled one."""

    DEFAULT_CSS = """
    HistoryScreen #history-title { text-style: bold; background: $panel; padding: 0 1; }
    HistoryScreen #history-count { color: $text-muted; padding: 0 1; }
    HistoryScreen #history-filter { dock: bottom; margin-bottom: 1; }
    """

    KEYMAP_SCREEN = "history"
    BINDINGS: ClassVar[list[BindingType]] = keymap.bindings("history")

    def __init__(
        self,
        history: HistoryStore | Callable[[], HistoryStore | None],
        resolve: Callable[[Record], None] | None = None,
        *,
        resolve_batch: Callable[[str], None] | None = None,
        take_over: Callable[[Record], None] | None = None,
        clock: Callable[[], datetime] = lambda: datetime.now(timezone.utc),
    ) -> None:
        """`history`: the store, or a function that opens it (called in a worker: opening
        may create or upgrade the file). The list reads through the store's reader.
        `take_over`: `T` on a record another host's process holds (None: off)."""
        super().__init__()
        self.take_over_cb = take_over
        self.clock = clock
        #: only this operator's requests (`O`; None: everyone's)
        self.operator_filter: str | None = None
        self.history: HistoryStore | None = history if isinstance(history, HistoryStore) else None
        self._open_store = (lambda: history) if isinstance(history, HistoryStore) else history
        self.resolve_cb = resolve
        self.resolve_batch_cb = resolve_batch
        self.total = 0
        self.filter_text = ""
        self.only_unsettled = False
        self.env_filter: str | None = None
        #: True from a query until its answer is listed (tests and benchmarks wait on it)
        self.reading = True
        #: the generation whose first page is on screen (its count may still be coming)
        self.shown = 0
        #: whether the last query used the FTS5 index
        self.indexed = False
        self.generation = 0
        self._query = HistoryQuery()
        self._timer: Any = None
        self._error: str | None = None
        self._reader: HistoryReader | None = None
        self._reader_lock = threading.Lock()  # workers only; never held across the UI

    def compose(self) -> ComposeResult:
        ctx = getattr(self.app, "ctx", None)
        if ctx is not None and getattr(ctx, "env", None) is not None:
            from turktui.ui.widgets.env_banner import EnvBanner

            yield EnvBanner(ctx, id="history-banner")
        yield Static(Text("Request history (newest first)"), id="history-title")
        yield RecordList(id="history-list")
        yield Static(Text("Reading the history\u2026"), id="history-count")
        yield Input(placeholder="Filter: HIT id, title, token, state, error…", id="history-filter")
        yield StableFooter()

    def on_mount(self) -> None:
        self.reload()
        self.query_one(RecordList).focus()

    def on_unmount(self) -> None:
        reader, self._reader = self._reader, None
        if reader is not None and self.reading:  # a count of ours may be running: stop it
            reader.interrupt()  # (the store keeps the reader: the next screen lists at once)

    @property
    def records(self) -> list[Record]:
        """The first page of what is listed, as far as it has been read (tests, callers)."""
        model = self.query_one(RecordList).model
        return [r for i in range(min(len(model), PAGE)) if (r := model.held(i)) is not None]

    # -- data (read in workers, on the screen's own read-only connection) -------------------
    def _get_reader(self) -> HistoryReader:
        """Worker threads only: opens the store (first use) and takes its kept reader. No
        lock is held while the store opens (it may tell the operator via the UI thread)."""
        reader = self._reader
        if reader is not None:
            return reader
        store = self._open_store()
        if store is None:
            raise HistoryError("the request history is unavailable")
        with self._reader_lock:
            if self._reader is None:
                self.history = store
                self._reader = reader_of(store)
            return self._reader

    def reload(self) -> None:
        """Re-count and list the newest matching records, in a worker (more on scroll)."""
        states = (State.PLANNED, State.SENDING, State.UNKNOWN) if self.only_unsettled else None
        self.generation += 1
        self._query = HistoryQuery(
            text=self.filter_text,
            states=states,
            env_kind=self.env_filter,
            operator=self.operator_filter,
        )
        self.reading = True
        if self._reader is not None:
            self._reader.interrupt()  # a search typed past: its answer would be dropped
        self.run_worker(
            partial(self._list, self.generation, self._query),
            thread=True,
            exclusive=True,
            group="history-list",
            name="history list",
            exit_on_error=False,
        )

    def _list(self, generation: int, query: HistoryQuery) -> None:
        try:
            reader = self._get_reader()
            first = reader.page(query, 0, PAGE)
        except HistoryError as exc:  # damaged after opening, unavailable: say so, never crash
            self.post_message(Listed(generation, 0, [], error=str(exc)))
            return
        if len(first) < PAGE:
            self.post_message(Listed(generation, len(first), first, indexed=reader.indexed))
            return
        # The first page now; counting a broad match over 100,000 rows takes longer.
        self.post_message(
            Listed(generation, len(first), first, indexed=reader.indexed, counting=True)
        )
        if generation != self.generation:
            return  # typed past already
        try:
            self.post_message(Counted(generation, reader.count(query)))
        except HistoryError as exc:
            self.post_message(Counted(generation, None, str(exc)))

    def _want_page(self, generation: int, page: int) -> None:
        self.run_worker(
            partial(self._read_page, generation, page, self._query),
            thread=True,
            group="history-page",
            name="history page",
            exit_on_error=False,
        )

    def _read_page(self, generation: int, page: int, query: HistoryQuery) -> None:
        try:
            rows: list[Record] | None = self._get_reader().page(query, page * PAGE, PAGE)
            error = None
        except HistoryError as exc:
            rows, error = None, str(exc)
        self.post_message(PageRead(generation, page, rows))
        if error is not None and generation == self.generation:
            self.post_message(Listed(-1, 0, [], error=error))

    @on(Listed)
    def _listed(self, message: Listed) -> None:
        if message.generation == -1:  # a page could not be read: say so, keep the list
            self._show_error(message.error or "")
            return
        if message.generation != self.generation:
            return
        self.reading = message.counting
        self.shown = self.generation
        self._error = None
        lst = self.query_one(RecordList)
        # (not before: the first listing may be coming)
        lst.empty_message = self._no_records()
        if message.error is not None:
            self.total = 0
            lst.set_source(self._want_page, 0, [], generation=self.generation)
            self._show_error(message.error)
            return
        self.total = message.total
        self.indexed = message.indexed
        lst.set_source(self._want_page, message.total, message.first, generation=self.generation)
        if message.counting:
            self.query_one("#history-count", Static).update(Text("Counting\u2026"))
            return
        self._show_count()

    @on(Counted)
    def _counted(self, message: Counted) -> None:
        if message.generation != self.generation:
            return
        self.reading = False
        if message.total is None:
            self._show_error(message.error or "")
            return
        self.total = message.total
        self.query_one(RecordList).set_total(message.total)
        self._show_count()

    def _no_records(self) -> str:
        """What the empty list says: a filter that hides every record says which."""
        words = [f"\u201c{one_line(self.filter_text)}\u201d"] if self.filter_text else []
        if self.only_unsettled:
            words.append("unsettled only")
        if self.env_filter is not None:
            words.append(f"{self.env_filter} only")
        if self.operator_filter is not None:
            words.append(f"by {one_line(self.operator_filter)} only")
        return "no records match " + ", ".join(words) if words else "No records."

    def _show_count(self) -> None:
        what = "unsettled " if self.only_unsettled else ""
        if self.env_filter is not None:
            what += f"{self.env_filter} "
        suffix = f" matching \u201c{one_line(self.filter_text)}\u201d" if self.filter_text else ""
        if self.operator_filter is not None:
            suffix += f" by {one_line(self.operator_filter)}"
        self.query_one("#history-count", Static).update(
            Text(
                f"{self.total:,} {what}record{'s' if self.total != 1 else ''}{suffix} \u00b7 "
                "Enter: detail \u00b7 R: resolve \u00b7 U: unsettled only \u00b7 E: env \u00b7 "
                "m: batch"
            )
        )

    @on(PageRead)
    def _page_read(self, message: PageRead) -> None:
        # A page that could not be read is shown empty (never asked for again in a loop).
        self.query_one(RecordList).put_page(
            message.generation, message.page, message.rows if message.rows is not None else []
        )

    def _show_error(self, error: str) -> None:
        self._error = error
        self.query_one("#history-count", Static).update(
            Text(one_line(f"The history cannot be read: {error}", max_length=400))
        )

    @property
    def current(self) -> Record | None:
        return self.query_one(RecordList).current

    @on(Input.Changed, "#history-filter")
    def _filter_changed(self, event: Input.Changed) -> None:
        self.filter_text = event.value.strip()
        if self._timer is not None:
            self._timer.stop()
            self._timer = None
        if FILTER_DELAY > 0:
            self._timer = self.set_timer(FILTER_DELAY, self.reload)
        else:
            self.reload()

    @on(Input.Submitted, "#history-filter")
    def _filter_submitted(self, event: Input.Submitted) -> None:
        event.stop()
        if self._timer is not None:
            self._timer.stop()
        text = event.value.strip()
        if text != self._query.text:
            self.filter_text = text
            self.reload()
        self.query_one(RecordList).focus()

    @on(RecordList.Activated)
    def _row_selected(self, event: RecordList.Activated) -> None:
        event.stop()
        self.action_detail()

    # -- actions ---------------------------------------------------------------------------
    def action_back(self) -> None:
        """Esc: in the filter box, clear it and back to the list; on the list, close."""
        if not self.leave_filter(
            self.query_one("#history-filter", Input), self.query_one(RecordList)
        ):
            self.dismiss(None)

    def action_close(self) -> None:
        self.action_back()

    def action_filter(self) -> None:
        self.open_filter(self.query_one("#history-filter", Input))

    def action_reload(self) -> None:
        """`r`: read the history again (what another session recorded since shows)."""
        self.reload()

    def action_copy_id(self) -> None:
        """`c`: the HIT id of the record under the cursor."""
        rec = self.current
        if rec is None:
            return
        self.copied(rec.hit_id, f"HIT id {one_line(rec.hit_id)}")

    def action_cycle_env(self) -> None:
        """All → production → sandbox → custom → demo → all."""
        at = ENV_CYCLE.index(self.env_filter) if self.env_filter in ENV_CYCLE else 0
        self.env_filter = ENV_CYCLE[(at + 1) % len(ENV_CYCLE)]
        self.reload()

    def action_toggle_unsettled(self) -> None:
        self.only_unsettled = not self.only_unsettled
        self.reload()

    def action_filter_operator(self) -> None:
        """Only the requests of the selected record's operator; again: everyone's."""
        if self.operator_filter is not None:
            self.operator_filter = None
        else:
            rec = self.current
            if rec is None:
                return
            if not rec.operator:
                self.notify(
                    f"Request #{rec.id} names no operator (recorded before operators were).",
                    markup=False,
                )
                return
            self.operator_filter = rec.operator
        self.reload()

    def _read_full(self, rec: Record, then: str) -> None:
        """Worker: the record with its attempts (the listed one if the file cannot be read
        now) and, for the detail view, its batch."""
        try:
            reader = self._get_reader()
            full = reader.get(rec.id) or rec
        except HistoryError as exc:
            self.post_message(Listed(-1, 0, [], error=str(exc)))
            reader, full = None, rec
        batch = self._batch_text(reader, full) if then == "detail" else None
        self.post_message(DetailRead(full, batch, then))

    def _fetch_full(self, rec: Record, then: str) -> None:
        self.run_worker(
            partial(self._read_full, rec, then),
            thread=True,
            group="history-detail",
            name="history record",
            exit_on_error=False,
        )

    @on(DetailRead)
    def _detail_read(self, message: DetailRead) -> None:
        if not self.is_current:
            return  # the operator has moved on
        if message.then == "detail":
            self.app.push_screen(
                RecordScreen(
                    message.record,
                    self.resolve_cb,
                    batch=message.batch,
                    take_over=self.take_over_cb,
                    now=self.clock(),
                )
            )
        elif message.then == "take_over":
            _take_over(self, message.record, self.take_over_cb)
        elif self.resolve_cb is not None:
            self.resolve_cb(message.record)

    def action_detail(self) -> None:
        rec = self.current
        if rec is not None:
            self._fetch_full(rec, "detail")

    # -- batches ---------------------------------------------------------------------------
    @staticmethod
    def _batch_text(reader: HistoryReader | None, rec: Record, limit: int = 30) -> Text | None:
        """The record's batch: its members' states, for the detail view (worker)."""
        if not rec.batch_id:
            return None
        try:
            if reader is None:
                raise HistoryError("the history cannot be read now")
            members = reader.batch_records(rec.batch_id)
        except HistoryError as exc:
            return Text(one_line(f"Batch members cannot be read: {exc}", max_length=300))
        counts: dict[str, int] = {}
        for m in members:
            counts[state_label(m.state)] = counts.get(state_label(m.state), 0) + 1
        text = Text()
        text.append(
            f"\nBatch {one_line(rec.batch_id)}: {len(members):,} members \u2014 ", style="bold"
        )
        text.append(", ".join(f"{n:,} {label}" for label, n in counts.items()) + "\n")
        for m in members[:limit]:
            here = "\u25b6" if m.id == rec.id else " "
            text.append(
                one_line(
                    f"{here} #{m.id:<6} {state_label(m.state):<16} {m.change_label:<7} {m.hit_id}"
                )
                + "\n"
            )
        if len(members) > limit:
            text.append(
                f"  \u2026 and {len(members) - limit:,} more (m in the list: only this batch)\n"
            )
        return text

    def action_filter_batch(self) -> None:
        """Show only the current record's batch (again: show everything)."""
        rec = self.current
        field = self.query_one("#history-filter", Input)
        if rec is None or not rec.batch_id:
            if field.value:
                field.value = ""
                return
            self.notify("This request is not part of a batch.", markup=False)
            return
        field.value = "" if field.value == rec.batch_id else rec.batch_id

    def action_resolve_batch(self) -> None:
        rec = self.current
        if rec is None or not rec.batch_id:
            self.notify("This request is not part of a batch.", markup=False)
            return
        if self.resolve_batch_cb is None:
            self._resolve_off()
            return
        self.resolve_batch_cb(rec.batch_id)

    def action_resolve(self) -> None:
        rec = self.current
        if rec is None:
            return
        if rec.settled:
            self.notify(f"Request #{rec.id} is already settled ({rec.state.label}).", markup=False)
            return
        if self.resolve_cb is None:
            self._resolve_off()
            return
        self._fetch_full(rec, "resolve")

    def _resolve_off(self) -> None:
        _resolve_off(self)

    def action_take_over(self) -> None:
        """`T`: the record read afresh (its owner now), then asked about (the controller)."""
        rec = self.current
        if rec is not None:
            self._fetch_full(rec, "take_over")


def _take_over(
    screen: Screen[None], rec: Record, take_over: Callable[[Record], None] | None
) -> None:
    """`T` on `rec` (as read just now): refused in words unless another host's process holds
    it and it is unsettled; else handed to `take_over` (it asks first)."""
    if rec.settled:
        screen.notify(f"Request #{rec.id} is already settled ({rec.state.label}).", markup=False)
    elif not other_host(rec.owner):
        screen.notify(
            f"Request #{rec.id} is not held by a process on another host: "
            f"{keymap.key('resolve', 'history')} resolves it.",
            markup=False,
        )
    elif take_over is None:
        _resolve_off(screen)
    else:
        take_over(rec)


def holder_rows(rec: Record, now: datetime) -> list[tuple[str, str]]:
    """Who holds an unsettled record and until when that counts (the detail view, the
    take-over dialog): [] when it is settled or no one holds it."""
    if rec.settled or not rec.owner:
        return []
    elsewhere = other_host(rec.owner)
    rows = [("Held by", describe_owner(rec.owner) + (" (another host)" if elsewhere else ""))]
    if rec.operator:
        rows.append(("Operator", rec.operator))
    rows.append(("Since", f"{iso(rec.updated)} (its last change)"))
    if elsewhere:
        until = live_until(rec.updated, now, rec.lease_until)
        how = (
            "its lease, on the shared history's clock, renewed while that process runs"
            if rec.lease_until is not None
            else "an hour after its last change"
        )
        if until is None:
            rows.append(("Live until", "taken over (no time to judge by)"))
        else:
            over = " — no longer: anyone may settle it" if until <= now else ""
            rows.append(("Live until", f"{iso(until)} ({how}){over}"))
    return rows


def take_over_body(rec: Record, now: datetime) -> str:
    """The take-over dialog's words: the request, who holds it, since and until when, and
    what taking it over does."""
    lines = [
        one_line(f"Request #{rec.id}: {rec.change_label} on HIT {rec.hit_id} ({rec.state.label})"),
        "",
        *(f"{label:<11} {one_line(value)}" for label, value in holder_rows(rec, now)),
        "",
        "Take it over only if that process is gone (a renamed machine, a synced history). "
        "It is then settled here — re-sent with its original token within MTurk's "
        "24-hour window, else compared — and the take-over is recorded with it.",
    ]
    return "\n".join(lines)


def _resolve_off(screen: Screen[None]) -> None:
    if not refused_read_only(screen, "resolving"):
        screen.notify("Resolving is not available here.", severity="warning")


def _money(value: object) -> str | None:
    """'$1.50' for a recorded amount (None: none recorded; unreadable: as recorded)."""
    if value in (None, ""):
        return None
    try:
        return format_money(Decimal(str(value)))
    except ArithmeticError:
        return one_line(value)


def record_text(rec: Record, now: datetime | None = None) -> Text:
    """Every field of a record and its attempts, as literal text (`now`: for until when a
    record another host holds counts as live)."""
    text = Text()

    def row(label: str, value: object) -> None:
        text.append(f"{label:<18}", style="bold")
        text.append(sanitize(value if value not in (None, "") else "\u2014"))
        text.append("\n")

    row("Request", f"#{rec.id}")
    row("State", state_label(rec.state))
    row("HIT", rec.hit_id)
    row("Title (then)", one_line(rec.hit_title))
    review = about_assignment(rec)
    data = rec.data if review else {}
    if review:  # a review or a bonus: what it did, to whom, for how much
        row("Operation", operation_label(rec))
        row("Assignment", data.get("assignment_id"))
        row("Worker", data.get("worker_id"))
        row("Amount", _money(data.get("amount")))
        for key, label in (("feedback", "Feedback"), ("reason", "Reason")):
            if data.get(key):
                row(label, one_line(data[key]))
        if data.get("override_rejection"):
            row("Override", "approves a rejected assignment (OverrideRejection)")
    elif rec.expiry_only:
        row("Change", "expire now" if rec.change_label == "expire" else "expiration only")
    else:
        row("Added", f"+{rec.n:,} (max {rec.max_before:,} \u2192 {rec.expected_after:,})")
    if rec.actual_after is not None and not rec.expiry_only and not review:
        row(
            "Actual (GetHIT)",
            f"max {rec.actual_after:,}"
            + (
                f" \u2014 CONFLICT: before {rec.max_before:,}, expected {rec.expected_after:,}"
                if rec.state is State.CONFLICT
                else ""
            ),
        )
    row(
        "Environment",
        f"{rec.env_kind} \u00b7 {redact(rec.endpoint)}"
        + (f" \u00b7 profile {rec.profile}" if rec.profile else ""),
    )
    row("Token", rec.token)
    if rec.operator:
        row("Operator", rec.operator)
    for label, value in holder_rows(rec, now or datetime.now(timezone.utc)):
        if label != "Operator":
            row(label, value)
    if rec.data.get("taken_over"):
        row("Taken over from", rec.data["taken_over"])
    row("Created", iso(rec.created))
    row("Updated", iso(rec.updated))
    row("First sent", iso(rec.first_sent) if rec.first_sent else None)
    row("Duration", f"{rec.duration:.3f} s" if rec.duration is not None else None)
    row("Attempts", rec.attempt_count)
    if rec.expire_at is not None:
        row(
            "Expiration",
            "\u2192 now (sent as a past time)"
            if rec.expire_at.timestamp() <= 0
            else f"\u2192 {iso(rec.expire_at)}",
        )
        row("Expiration state", rec.expiry_state or "pending")
        if rec.expiry_actual is not None:
            row("Expiration (GetHIT)", iso(rec.expiry_actual))
        if rec.expiry_error:
            row("Expiration error", one_line(rec.expiry_error))
    row("Error code", one_line(rec.error_code))
    row("Error message", one_line(redact(rec.error_message)))
    row("Note", one_line(redact(rec.note)))
    if rec.batch_id:
        row("Batch", rec.batch_id)
    if rec.attempts:
        text.append("\nAttempts\n", style="bold underline")
        for a in rec.attempts:
            dur = f"{a.duration * 1000:.0f} ms" if a.duration is not None else "?"
            text.append(
                sanitize(
                    f"{a.number:>3}. {iso(a.at)}  {a.operation}  {a.outcome}  {dur}"
                    f"  {a.error_code} "
                    f"{one_line(redact(a.error_message), max_length=120)}"
                )
            )
            text.append("\n")
    return text


class RecordScreen(KeyScreen, ModalScreen[None]):
    """One record in full; `R` resolves it when unsettled."""

    DEFAULT_CSS = """
    RecordScreen { align: center middle; }
    """

    KEYMAP_SCREEN = "record"
    BINDINGS: ClassVar[list[BindingType]] = keymap.bindings("record")

    def __init__(
        self,
        record: Record,
        resolve: Callable[[Record], None] | None,
        *,
        batch: Text | None = None,
        take_over: Callable[[Record], None] | None = None,
        now: datetime | None = None,
    ) -> None:
        super().__init__()
        self.record = record
        self.resolve_cb = resolve
        self.batch = batch
        self.take_over_cb = take_over
        self.now = now

    def compose(self) -> ComposeResult:
        # app.tcss's `.dialog`: capped to the screen, the banner row uncovered; it scrolls.
        with VerticalScroll(id="record-box", classes="dialog"):
            yield Static(record_text(self.record, self.now), id="record-text", markup=False)
            if self.batch is not None:
                yield Static(self.batch, id="record-batch", markup=False)
        yield StableFooter()

    def check_action(self, action: str, parameters: tuple[object, ...]) -> bool | None:
        if action in ("resolve", "take_over") and self.record.settled:
            return False
        return super().check_action(action, parameters)

    def action_take_over(self) -> None:
        if not self.record.settled and other_host(self.record.owner):
            self.dismiss(None)
        _take_over(self, self.record, self.take_over_cb)

    def action_back(self) -> None:
        self.dismiss(None)

    def action_close(self) -> None:
        self.action_back()

    def action_copy_id(self) -> None:
        self.copied(self.record.hit_id, f"HIT id {one_line(self.record.hit_id)}")

    def action_resolve(self) -> None:
        if self.record.settled:
            return
        if self.resolve_cb is None:
            _resolve_off(self)
            return
        self.dismiss(None)
        self.resolve_cb(self.record)
