"""One generic virtual table over a list model: only the lines on screen are rendered.

Textual's DataTable builds per-row structures up front (~2.3 s for 10,000 rows, and a full
rebuild per change), so this widget keeps nothing per row but a cache of formatted cells,
and turns only the visible lines into `Strip`s. It draws a header (click a header to sort by
it, again to reverse), a cursor (a ▶ in the gutter, visible without colour), marks (a ●),
and fits its columns to the width: optional columns hide by priority, the flex column
takes what is left.

Over a `ListModel` (every row in memory: the HIT list, the bulk preview, batch progress),
row updates go through the model in place (a binary search, not a re-sort). From a worker
thread, `post_update(row)` queues the row and returns at once; the UI thread drains the
queue in one go and repaints once (the worker never waits on the UI).

A change repaints only the lines it changed (`refresh_changed`: each line is compared with
what was last drawn there), each up to its last changed cell: over SSH every byte is
latency, and a cursor move changes two rows, not the screen.

`PagedTable` is the same table over a `PagedModel` (a listing too large to hold, e.g. the
history): a row whose page is not held yet is drawn as "… reading" while a worker reads it.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from typing import Any, ClassVar, Generic, TypeVar

from rich.cells import cell_len, set_cell_size
from rich.segment import Segment
from rich.style import Style
from textual import events
from textual.binding import Binding, BindingType
from textual.dom import NoScreen
from textual.geometry import Region, Size
from textual.message import Message
from textual.screen import Screen
from textual.scroll_view import ScrollView
from textual.strip import Strip

from turktui.domain.listmodel import PagedModel, TableModel
from turktui.ui.inbox import Inbox

T = TypeVar("T")


@dataclass(frozen=True, slots=True)
class Column:
    key: str
    label: str
    width: int
    right: bool = False
    #: 0 = essential (always shown); higher numbers hide first on narrow terminals
    priority: int = 0
    #: Takes the width the other columns leave (at least `VirtualTable.flex_min`).
    flex: bool = False
    #: Width under `VirtualTable.narrow_below` columns of terminal (None: `width`).
    narrow: int | None = None
    #: Header label under `VirtualTable.narrow_below` (None: `label`).
    narrow_label: str | None = None


def fit(text: str, width: int, right: bool = False) -> str:
    """Pad or cut `text` to exactly `width` terminal cells, marking a cut with an ellipsis.

    Cells are measured the way Rich and Textual render them (`rich.cells`): East Asian wide
    characters and emoji take two, combining and zero-width characters none. A wide
    character that would straddle the cut becomes a space before the ellipsis, never half
    a glyph."""
    if width <= 0:
        return ""
    length = cell_len(text)
    if length > width:
        return set_cell_size(text, width - 1) + "\u2026"
    if length == width:
        return text
    if right:
        return " " * (width - length) + text
    return text + " " * (width - length)


def runs(texts: Iterable[str]) -> tuple[str, ...]:
    """Column texts (already fitted) joined by one-cell separators into as few runs as
    keep every column at its cell offset: a run ends after any text whose characters are
    not one cell each (wide, combining, zero-width). The terminal needs no split (it
    places by cells) but an SVG screenshot does: it spreads a run's characters over as
    many cells as it has characters, so a wide character would pull the rest of its run
    left. A plain row stays one segment (the cost of a line is in its segments)."""
    out: list[str] = []
    current: list[str] = []
    for i, text in enumerate(texts):
        current.append(" " + text if i else text)
        if not text.isascii() and cell_len(text) != len(text):
            out.append("".join(current))
            current = []
    if current:
        out.append("".join(current))
    return tuple(out)


def changed_end(old: Strip, new: Strip) -> int:
    """The cell after the last one where two renderings of a line differ (0: none does).
    A repaint of the line can stop there: the terminal keeps the cells after it."""
    if old.cell_length != new.cell_length:
        return max(old.cell_length, new.cell_length)
    a, b = list(old), list(new)
    end = old.cell_length
    while a and b and a[-1] == b[-1]:
        end -= cell_len(a.pop().text)
        b.pop()
    if not (a or b):
        return 0
    if a and b and a[-1].style == b[-1].style:
        # The same style: the characters the two last segments end with are kept too.
        ta, tb = a[-1].text, b[-1].text
        same = 0
        while same < min(len(ta), len(tb)) and ta[-1 - same] == tb[-1 - same]:
            same += 1
        tail = ta[len(ta) - same :]
        if cell_len(tail) == same:  # one cell per character: cells and characters agree
            end -= same
    return end


def layout_columns(
    columns: Sequence[Column],
    width: int,
    *,
    flex_min: int = 20,
    narrow_below: int = 0,
    flex_want: int | None = None,
) -> list[tuple[int, Column, int]]:
    """(x, column, width) of each column that fits `width` cells.

    A row is the gutter (the cursor ▶, one cell), then each column after a one-cell
    separator (the first one holds the mark ●): `x` is the column's first cell, its
    separator is at `x - 1`. Essential columns (priority 0) always show; optional ones
    join in priority order while the flex column keeps `flex_want` cells (default
    `flex_min + 4`); the flex column takes the rest (at least 4)."""
    want = flex_min + 4 if flex_want is None else flex_want
    widths = {
        c.key: (c.narrow if c.narrow is not None and width < narrow_below else c.width)
        for c in columns
    }
    shown = {c.key for c in columns if c.priority == 0}
    has_flex = any(c.flex for c in columns)

    def used(keys: set[str]) -> int:
        return 1 + sum(widths[c.key] + 1 for c in columns if c.key in keys and not c.flex)

    for col in sorted((c for c in columns if c.priority), key=lambda c: c.priority):
        room = width - used(shown | {col.key}) - 1
        if room >= (want if has_flex else -1):
            shown.add(col.key)
        else:
            break
    for col in columns:
        if col.flex:
            widths[col.key] = max(4, width - used(shown) - 1)
    layout: list[tuple[int, Column, int]] = []
    x = 2
    for col in columns:
        if col.key in shown:
            layout.append((x, col, widths[col.key]))
            x += widths[col.key] + 1
    return layout


class VirtualTable(ScrollView, Generic[T], can_focus=True):
    """A table of `model` rows. `cells(row)` gives each column's text (in `columns` order,
    already sanitised: service text is never markup); `sort_keys` names the sortable
    columns. Reading, drawing and the cursor need any `TableModel`; the methods that change
    rows (set/append/update, sort, filter, marks of the shown rows) need a `ListModel`."""

    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("down,j", "cursor_down", "Down", show=False),
        Binding("up,k", "cursor_up", "Up", show=False),
        Binding("pagedown,ctrl+f", "page_down", "Page down", show=False),
        Binding("pageup,ctrl+b", "page_up", "Page up", show=False),
        Binding("home,g", "first", "First", show=False),
        Binding("end,G", "last", "Last", show=False),
    ]
    COMPONENT_CLASSES: ClassVar[set[str]] = {
        "vtable--header",
        "vtable--cursor",
        "vtable--muted",
        "vtable--empty",
        "vtable--preview",
    }
    DEFAULT_CSS = """
    VirtualTable { scrollbar-size-vertical: 1; overflow-x: hidden; }
    VirtualTable > .vtable--header { text-style: bold underline; background: $panel; }
    VirtualTable > .vtable--cursor { text-style: reverse bold; }
    VirtualTable > .vtable--muted { color: $text-muted; }
    VirtualTable > .vtable--empty { color: $text-muted; text-style: italic; }
    VirtualTable > .vtable--preview { background: $panel; }
    """
    #: Rows posted from workers are applied at most this often (seconds)...
    DRAIN_INTERVAL = 0.1
    #: ...and this often while a dialog covers the table's screen (it shows dimmed around
    #: the dialog). Applied there, they change the table's data only: the table is not
    #: repainted until its screen is on top again (`refresh_changed`), since Textual
    #: repaints the whole terminal after any change under a dialog (profiled during a
    #: batch: a full repaint per change).
    COVERED_DRAIN_INTERVAL = 1.0
    #: Terminal widths below this use each column's `narrow` width.
    narrow_below = 0
    flex_min = 20
    #: Optional columns show only while the flex column keeps this many cells (None:
    #: `flex_min + 4`).
    flex_want: int | None = None
    #: Draw a preview of the cursor row (`preview_text`) on the table's last line.
    show_preview = False

    class CursorMoved(Message):
        def __init__(self, row: Any, position: int, total: int) -> None:
            super().__init__()
            self.row = row
            self.position = position
            self.total = total

    class Activated(Message):
        """Enter / double click on a row."""

        def __init__(self, row: Any) -> None:
            super().__init__()
            self.row = row

    class SortChanged(Message):
        pass

    class MarksChanged(Message):
        """The set of marked rows changed (`count`: how many are marked now)."""

        def __init__(self, count: int) -> None:
            super().__init__()
            self.count = count

    def __init__(
        self,
        model: TableModel[T],
        columns: Sequence[Column],
        cells: Callable[[T], tuple[str, ...]],
        *,
        sort_keys: dict[str, Callable[[T], Any]] | None = None,
        **kwargs: Any,
    ) -> None:
        super().__init__(**kwargs)
        self.model: Any = model
        self.columns = tuple(columns)
        self._format = cells
        self.sort_keys = dict(sort_keys or {})
        self._col_index = {c.key: i for i, c in enumerate(self.columns)}
        self._cells: dict[int, tuple[str, ...]] = {}
        #: slot -> (the cells, the layout, the cells fitted to it): see `fitted_cells`
        self._fit_cache: dict[int, tuple[tuple[str, ...], object, tuple[str, ...]]] = {}
        self.empty_message = ""
        #: The text of a row not read yet ({n}: its 1-based position).
        self.reading_message = "#{n:,} \u2026 reading"
        self._columns_cache: tuple[int, list[tuple[int, Column, int]]] | None = None
        self._size_timer: Any = None
        self._inbox: Inbox[T] = Inbox(self, self.update_rows, self._drain_interval)
        self._appending: list[T] = []
        self._append_timer: Any = None
        self._cursor_said: tuple[str | None, int, int] | None = None
        #: content line -> the strip last rendered there (see `refresh_changed`)
        self._painted: dict[int, Strip] = {}
        #: the table's style during a rendering pass (`render_lines`), once a line needed it
        self._pass_style: Style | None = None
        self._in_pass = False
        #: the width of the line being rendered (for `before_render`, without measuring)
        self.line_width = 0
        #: a repaint held while the table's screen is covered (`refresh_changed`)
        self._paint_held = False

    # -- model passthrough -------------------------------------------------------------------
    @property
    def rows(self) -> list[T]:
        return self.model.rows

    @property
    def view(self) -> list[int]:
        return self.model.view

    @property
    def cursor(self) -> int:
        return self.model.cursor

    @cursor.setter
    def cursor(self, value: int) -> None:
        self.model.cursor = value

    @property
    def cursor_row(self) -> T | None:
        return self.model.cursor_row

    @property
    def marked(self) -> set[str]:
        return self.model.marked

    @property
    def sort_key(self) -> str | None:
        return self.model.sort_name

    @property
    def sort_reverse(self) -> bool:
        return self.model.sort_reverse

    # -- row changes -------------------------------------------------------------------------
    def set_rows(self, rows: Iterable[T], keep_key: str | None = None) -> None:
        """Replace every row (a reload), keeping the cursor on `keep_key` when still there."""
        if self._append_timer is not None:
            self._append_timer.stop()
            self._append_timer = None
        self._appending = []
        self._cells.clear()
        self._fit_cache.clear()
        marks = len(self.model.marked)
        self.model.set_rows(rows, keep_key=keep_key)
        self._after_view_change(moved=True)
        if len(self.model.marked) != marks:  # the marks of rows no longer listed went
            self._marks_changed()

    def append_rows(self, rows: Sequence[T]) -> None:
        """Add rows (a page while loading). Off-screen rows cost nothing to show.

        Into a sorted or filtered view, pages are merged at most ~7×/s (each merge walks the
        whole view: per page at 50,000 rows that would starve the keyboard)."""
        model = self.model
        if (model.predicate is not None or model.sort_name is not None) and model.view:
            self._appending.extend(rows)
            if self._append_timer is None:
                self._append_timer = self.set_timer(0.15, self.flush_appends)
            return
        self._append_now(rows)

    def flush_appends(self) -> None:
        """Merge the pages held back by `append_rows` now."""
        if self._append_timer is not None:
            self._append_timer.stop()
            self._append_timer = None
        rows, self._appending = self._appending, []
        if rows:
            self._append_now(rows)

    def _append_now(self, rows: Sequence[T]) -> None:
        was_empty = not self.model.view
        before = self.model.cursor_key
        if not self.model.append(rows):
            return
        if was_empty or self.model.cursor_key != before:
            self._after_view_change(moved=True)
            return
        self.refresh_changed()
        # Resize the scroll range at most 4×/s (each resize re-lays the widget out).
        if self._size_timer is None:
            self._size_timer = self.set_timer(0.25, self._sync_size)

    def update_row(self, row: T) -> bool:
        """Replace the row with the same key in place (it moves to where it now sorts)."""
        if self._appending:
            self.flush_appends()
        index = self.model.index_of(self.model.key_of(row))
        if index is None:
            return False
        self._cells.pop(index, None)
        shown = len(self.model)
        self.model.update(row)
        self._changed(resized=len(self.model) != shown)
        return True

    def update_rows(self, rows: Iterable[T], reformat: Iterable[str] = ()) -> int:
        """Many updates, one repaint; the rows keyed `reformat` are formatted again too
        (e.g. a spinner's next frame)."""
        if self._appending:
            self.flush_appends()
        slots = [i for i in map(self.model.index_of, reformat) if i is not None]
        shown = len(self.model)
        count = 0
        for row in rows:
            index = self.model.index_of(self.model.key_of(row))
            if index is None:
                continue
            self.model.update(row)
            slots.append(index)
            count += 1
        for index in slots:
            self._cells.pop(index, None)
        if slots:
            self._changed(slots, resized=len(self.model) != shown)
        return count

    def post_update(self, row: T) -> None:
        """Thread-safe and non-blocking: queue `row`; the UI applies queued rows together,
        at most once per `DRAIN_INTERVAL` (a fast batch does not keep the UI thread, and
        the GIL its workers need, busy repainting)."""
        self._inbox.put(row)

    def on_mount(self) -> None:
        self.app.screen_change_signal.subscribe(self, self._screen_changed)

    def _screen_changed(self, screen: Screen[Any]) -> None:
        if screen is self.screen:  # uncovered: what was held for it shows now
            self._inbox.flush()
            if self._paint_held:
                self.refresh_changed()

    @property
    def covered(self) -> bool:
        """Whether another screen (e.g. a dialog) is over the table's."""
        try:
            return not self.screen.is_active
        except NoScreen:
            return False

    def _drain_interval(self) -> float:
        return self.COVERED_DRAIN_INTERVAL if self.covered else self.DRAIN_INTERVAL

    def drain_updates(self) -> int:
        """Apply the rows queued by `post_update` now."""
        return self._inbox.flush()

    def _changed(self, slots: Sequence[int] | None = None, *, resized: bool) -> None:
        """After in-place updates (of the rows at `slots`, None: any): the lines they
        changed repainted, a cursor message if its row moved; the scroll range soon after
        when the number of rows shown changed (`resized`: a row left or entered the
        filter), not per update (a timer each: a batch's frames made one every 0.12 s)."""
        if resized and self._size_timer is None:
            self._size_timer = self.set_timer(0.05, self._sync_size)
        if slots is None or self._may_show(slots):
            self.refresh_changed()
        self.scroll_to_cursor()
        model = self.model
        if self._cursor_said != (model.cursor_key, model.cursor, len(model)):
            self._post_cursor()

    def _may_show(self, slots: Sequence[int]) -> bool:
        """Whether changing the rows at `slots` may change what is drawn: rows that keep
        their places (no sort, no filter) only where the window shows them (e.g. a batch
        whose members finish below the window repaints nothing)."""
        model = self.model
        if model.sort_name is not None or model.predicate is not None:
            return True  # a row that moves shifts the others
        top = int(self.scroll_y)
        shown = set(model.view[top : top + self.size.height])
        if 0 <= model.cursor < len(model):
            shown.add(model.slot(model.cursor))  # (the preview line)
        return not shown.isdisjoint(slots)

    def rebuild(self, keep_key: str | None = None) -> None:
        """Recompute the view (filter + sort), keeping the cursor on the same row."""
        self.flush_appends()
        self.model.rebuild(keep_key=keep_key)
        self._after_view_change(moved=True)

    def invalidate_cells(self) -> None:
        self._cells.clear()
        self._fit_cache.clear()
        self.refresh_changed()

    def _sync_size(self) -> None:
        """The scroll range: one line per row plus the header."""
        if self._size_timer is not None:
            self._size_timer.stop()
            self._size_timer = None
        height = len(self.model) + 1 + self._preview_lines
        # The width the rows will have once this size is set: without the vertical
        # scrollbar's cells when they will overflow. Taken before the scrollbar shows, the
        # width changed again at the next sync (the next refresh): a full repaint of a list
        # that had not changed.
        width = self.content_region.width
        if height > self.content_region.height and self.styles.overflow_y != "hidden":
            width -= self.styles.scrollbar_size_vertical
        size = Size(max(width, 0), height)
        if self.virtual_size != size:
            self.virtual_size = size

    def _after_view_change(self, moved: bool) -> None:
        self._sync_size()
        if moved:
            self.model.clamp_cursor()
            self.scroll_to_cursor()
            self._post_cursor()
        self.refresh_changed()

    # -- sorting / filtering -----------------------------------------------------------------
    def sort_by(self, key: str | None, reverse: bool | None = None) -> None:
        """Sort by column `key` (None: row order). Same column again without `reverse`:
        the other direction."""
        self.flush_appends()
        if key is not None and key == self.model.sort_name and reverse is None:
            reverse = not self.model.sort_reverse
        self.model.set_sort(key, self.sort_keys.get(key) if key else None, bool(reverse))
        self._after_view_change(moved=True)
        self.post_message(self.SortChanged())

    def set_predicate(self, predicate: Callable[[T], bool] | None) -> None:
        self.flush_appends()
        self.model.set_filter(predicate)
        self._after_view_change(moved=True)

    # -- marks --------------------------------------------------------------------------------
    @property
    def marked_rows(self) -> list[T]:
        return self.model.marked_rows

    def toggle_mark(self) -> None:
        key = self.model.cursor_key
        if key is None:
            return
        self.model.toggle_mark(key)
        self._marks_changed()
        self.move_cursor(1)

    def mark_visible(self) -> None:
        self.model.mark_shown()
        self._marks_changed()

    def clear_marks(self) -> None:
        self.model.clear_marks()
        self._marks_changed()

    def unmark(self, keys: Iterable[str]) -> None:
        """Clear the marks of these rows (e.g. the HITs a batch extended)."""
        self.model.marked.difference_update(keys)
        self._marks_changed()

    def _marks_changed(self) -> None:
        """Every change of the marks ends here: the rows are redrawn and the owner of the
        session's state is told the count (MarksChanged)."""
        self.refresh_changed()
        self.post_message(self.MarksChanged(len(self.model.marked)))

    # -- cursor -------------------------------------------------------------------------------
    @property
    def _page(self) -> int:
        return max(1, self.scrollable_content_region.height - 1 - self._preview_lines)

    def move_cursor(self, delta: int | None = None, to: int | None = None) -> None:
        if self.model.move_cursor(delta or 0, to):
            self._sync_size()
            self.scroll_to_cursor()
            self.refresh_changed()
            self._post_cursor()

    def move_to_key(self, key: str) -> bool:
        pos = self.model.position_of(key)
        if pos is None:
            return False
        self.move_cursor(to=pos)
        return True

    def scroll_to_cursor(self) -> None:
        visible = self._page
        top = int(self.scroll_y)
        cursor = self.model.cursor
        if cursor < top:
            self.scroll_to(y=cursor, animate=False, immediate=True)
        elif cursor >= top + visible:
            self.scroll_to(y=cursor - visible + 1, animate=False, immediate=True)

    def _post_cursor(self) -> None:
        model = self.model
        self._cursor_said = (model.cursor_key, model.cursor, len(model))
        self.post_message(
            self.CursorMoved(self.model.cursor_row, self.model.cursor, len(self.model))
        )

    def action_cursor_down(self) -> None:
        self.move_cursor(1)

    def action_cursor_up(self) -> None:
        self.move_cursor(-1)

    def action_page_down(self) -> None:
        self.move_cursor(self._page)

    def action_page_up(self) -> None:
        self.move_cursor(-self._page)

    def action_first(self) -> None:
        self.move_cursor(to=0)

    def action_last(self) -> None:
        self.move_cursor(to=len(self.model) - 1)

    # -- mouse --------------------------------------------------------------------------------
    def on_click(self, event: events.Click) -> None:
        offset = event.get_content_offset(self)
        if offset is None:
            return
        if offset.y == 0:
            for x, col, width in self._layout(self._content_width()):
                if x - 1 <= offset.x < x + width:
                    if col.key in self.sort_keys:
                        self.sort_by(col.key)
                    return
            return
        if self._preview_lines and offset.y == self.scrollable_content_region.height - 1:
            return
        row = int(self.scroll_y) + offset.y - 1
        if 0 <= row < len(self.model):
            self.move_cursor(to=row)
            if event.chain >= 2 and self.model.cursor_row is not None:
                self.post_message(self.Activated(self.model.cursor_row))

    # -- layout & rendering -------------------------------------------------------------------
    def _content_width(self) -> int:
        return self.scrollable_content_region.width

    def on_resize(self, event: events.Resize) -> None:
        self._columns_cache = None
        self._painted.clear()
        self._fit_cache.clear()
        self._sync_size()
        self.scroll_to_cursor()

    @property
    def narrow(self) -> bool:
        """Whether the columns use their narrow widths and labels now."""
        return self._content_width() < self.narrow_below

    def _layout(self, width: int) -> list[tuple[int, Column, int]]:
        cached = self._columns_cache
        if cached is not None and cached[0] == width:
            return cached[1]
        layout = layout_columns(
            self.columns,
            width,
            flex_min=self.flex_min,
            narrow_below=self.narrow_below,
            flex_want=self.flex_want,
        )
        self._columns_cache = (width, layout)
        return layout

    def visible_columns(self) -> list[str]:
        return [col.key for _, col, _ in self._layout(self._content_width())]

    def column_spans(self) -> list[tuple[str, int, int]]:
        """(key, x, width) of each shown column, in cells from the table's left edge; the
        column's separator is the cell at x - 1."""
        return [(col.key, x, w) for x, col, w in self._layout(self._content_width())]

    def row_cells(self, slot: int, row: T) -> tuple[str, ...]:
        """`row`'s cells, cached under the model's `slot` for its position."""
        cells = self._cells.get(slot)
        if cells is None:
            cells = self._format(row)
            self._cells[slot] = cells
        return cells

    def row_muted(self, row: T) -> bool:
        """Rows drawn dim (e.g. expired HITs). Subclasses decide."""
        return False

    def row_style_class(self, row: T) -> str | None:
        """A component class whose style a row is drawn in (None: the table's)."""
        return "vtable--muted" if self.row_muted(row) else None

    def before_render(self) -> None:
        """Hook run once per rendered line before cells are read (e.g. a clock check)."""

    def empty_text(self) -> str:
        """What the table says when it shows no row (a filter hiding everything, say)."""
        return self.empty_message

    def preview_text(self, row: T | None) -> str:
        """The preview line of the cursor row (with `show_preview`): e.g. its full id and
        title, whatever the columns had to cut. Subclasses decide."""
        return ""

    @property
    def _preview_lines(self) -> int:
        """1 when the preview line is drawn (it needs a header and a row above it)."""
        if not self.show_preview:
            return 0
        return 1 if self.scrollable_content_region.height >= 3 else 0

    def fitted_cells(
        self, slot: int, row: T, layout: list[tuple[int, Column, int]]
    ) -> tuple[str, ...]:
        """`row`'s line after the gutter as runs of text (see `runs`): its cells cut or
        padded to their column widths in terminal cells, cached per row and layout
        (measuring cells is the costly part of a line)."""
        cells = self.row_cells(slot, row)
        entry = self._fit_cache.get(slot)
        if entry is not None and entry[0] is cells and entry[1] is layout:
            return entry[2]
        index = self._col_index
        fitted = runs(fit(cells[index[col.key]], w, col.right) for _x, col, w in layout)
        self._fit_cache[slot] = (cells, layout, fitted)
        return fitted

    @staticmethod
    def _strip(lead: str, texts: tuple[str, ...], width: int, end: int, style: Style) -> Strip:
        """A line: `lead` (the gutter and the first column's separator) joined to the first
        run, then one segment per further run (`runs`)."""
        parts = list(texts) or [""]
        parts[0] = lead + parts[0]
        if end < width:  # the padding ends the last run (nothing follows it)
            parts[-1] += " " * (width - end)
        segments = [Segment(text, style) for text in parts]
        if end > width:
            return Strip(segments).crop(0, width)
        return Strip(segments, width)

    def refresh_changed(self) -> None:
        """Repaint only the lines whose text or style changed since they were drawn, each
        up to its last changed cell. Over SSH every byte is latency: a cursor move changes
        two rows (and perhaps the preview), a reload that changed nothing changes none.
        Lines are compared as rendered, so nothing that shows can be missed.

        Under a dialog nothing is compared or repainted: the lines are compared once the
        table's screen is on top again (`_screen_changed`)."""
        if self.covered:
            self._paint_held = True
            return
        self._paint_held = False
        if not self._painted:
            self.refresh()
            return
        region = self.scrollable_content_region
        base = self.rich_style
        dirty = []
        for y in range(region.height):
            old = self._painted.get(y)
            new = self._line(y, region, base)
            if old is None:
                dirty.append(Region(0, y, region.width, 1))
            elif old != new:
                dirty.append(Region(0, y, changed_end(old, new), 1))
        if dirty:
            self.refresh(*dirty)

    def render_lines(self, crop: Region) -> list[Strip]:
        # The table's style is read at most once per pass, not per line, and only when a
        # line is rendered: `rich_style` walks every ancestor's styles (profiled: most of
        # a repaint's time), and Textual asks for every line of the table, from its cache,
        # whenever anything in the dialog around it is repainted.
        self._in_pass = True
        try:
            return super().render_lines(crop)
        finally:
            self._in_pass = False
            self._pass_style = None

    def render_line(self, y: int) -> Strip:
        base = self._pass_style
        if base is None:
            base = self.rich_style
            if self._in_pass:
                self._pass_style = base
        strip = self._line(y, self.scrollable_content_region, base)
        self._painted[y] = strip
        return strip

    def _line(self, y: int, region: Region, base: Style) -> Strip:
        """Content line `y` as it is to be drawn now (`base`: the table's style)."""
        width = self.line_width = region.width
        layout = self._layout(width)
        if y == 0:
            return self._header(layout, width, base)
        model = self.model
        if self.show_preview and y == region.height - 1 and region.height >= 3:
            return self._preview(width, base)
        row = int(self.scroll_y) + y - 1
        size = len(model)
        if not size:
            message = self.empty_text()
            if y == 2 and message:
                style = base + self.get_component_rich_style("vtable--empty")
                return Strip([Segment(fit("  " + message, width), style)], width)
            return Strip.blank(width, base)
        if row >= size:
            return Strip.blank(width, base)
        self.before_render()
        gutter = "\u25b6" if row == model.cursor else " "
        item = model.row_at(row)
        if item is None:  # its page is being read
            style = base + self.get_component_rich_style("vtable--muted")
            if row == model.cursor:
                style = style + self.get_component_rich_style("vtable--cursor")
            text = f"{gutter} " + self.reading_message.format(n=row + 1)
            return Strip([Segment(fit(text, width), style)], width)
        texts = self.fitted_cells(model.slot(row), item, layout)
        style = base
        style_class = self.row_style_class(item)
        if style_class is not None:
            style = style + self.get_component_rich_style(style_class)
        if row == model.cursor:
            style = style + self.get_component_rich_style("vtable--cursor")
        # A ● right after the gutter: a mark visible without colour.
        marked = bool(model.marked) and model.key_of(item) in model.marked
        lead = gutter + ("\u25cf" if marked else " ")
        end = layout[-1][0] + layout[-1][2] if layout else 2
        return self._strip(lead, texts, width, end, style)

    def _header(self, layout: list[tuple[int, Column, int]], width: int, base: Style) -> Strip:
        style = base + self.get_component_rich_style("vtable--header")
        narrow = width < self.narrow_below
        labels = []
        for _x, col, w in layout:
            label = col.narrow_label if narrow and col.narrow_label is not None else col.label
            if col.key == self.model.sort_name:
                label = label + ("\u25bc" if self.model.sort_reverse else "\u25b2")
            labels.append(fit(label, w, col.right))
        end = layout[-1][0] + layout[-1][2] if layout else 2
        return self._strip("  ", runs(labels), width, end, style)

    def _preview(self, width: int, base: Style) -> Strip:
        style = base + self.get_component_rich_style("vtable--preview")
        model = self.model
        row = model.cursor_row if len(model) else None
        text = self.preview_text(row) if row is not None else ""
        return Strip([Segment(fit(text, width), style)], width)


class PagedTable(VirtualTable[T]):
    """The table over a `PagedModel`: a listing of which only some pages are held.

    `set_source` starts a listing, `put_page` hands over a page a worker read, `set_total`
    the count when it comes after the first page. Rows whose page is not held are drawn as
    `reading_message` and asked for (`want`, see `PagedModel`); nothing here reads data."""

    def __init__(
        self,
        model: PagedModel[T],
        columns: Sequence[Column],
        cells: Callable[[T], tuple[str, ...]],
        **kwargs: Any,
    ) -> None:
        super().__init__(model, columns, cells, **kwargs)

    def set_source(
        self,
        want: Callable[[int, int], None],
        total: int,
        first: list[T] | None = None,
        *,
        generation: int = 0,
    ) -> None:
        """A new listing (`PagedModel.set_source`); the cursor stays on its record when
        the first page holds it."""
        self._cells.clear()
        self._fit_cache.clear()
        self.model.set_source(want, total, first, generation=generation)
        if int(self.scroll_y) > self.model.cursor:  # the listing shrank below the view
            self.scroll_to(y=max(0, self.model.cursor - 1), animate=False, immediate=True)
        self._after_view_change(moved=True)

    def set_total(self, total: int) -> None:
        """The listing's count arrived (its first page is already shown)."""
        self.model.set_total(total)
        self._sync_size()
        self.refresh_changed()

    def put_page(self, generation: int, page: int, rows: list[T]) -> None:
        """A page a worker read; pages of an older listing are dropped."""
        model = self.model
        if not model.put_page(generation, page, rows):
            return
        size = model.page_size
        for position in range(page * size, (page + 1) * size):
            self._cells.pop(position, None)
        self.refresh_changed()
        if model.page_of(model.cursor) == page:
            self._post_cursor()  # the cursor's row is known now
