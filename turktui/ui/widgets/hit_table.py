"""A virtual table of HITs: only the visible lines are ever rendered.

Textual's DataTable builds per-row structures up front (~2.3 s for 10,000 rows here), so this
widget keeps the rows as a plain list of `Hit` objects, a *view* (row indices after filter and
sort) and a cursor, and turns only the lines on screen into `Strip`s. Formatted cells are
cached per row and recomputed when the clock moves on (relative times) or a row changes.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass
from datetime import datetime, timezone
from decimal import Decimal
from typing import Any, ClassVar

from rich.cells import cell_len, set_cell_size
from rich.segment import Segment
from rich.style import Style
from textual import events
from textual.binding import Binding, BindingType
from textual.geometry import Size
from textual.message import Message
from textual.scroll_view import ScrollView
from textual.strip import Strip

from turktui.domain.models import Hit
from turktui.domain.rules import ExtensionRange, extension_range, format_money
from turktui.domain.text import one_line
from turktui.domain.timefmt import ago_label, expires_label

_EPOCH = datetime(1970, 1, 1, tzinfo=timezone.utc)


@dataclass(frozen=True, slots=True)
class Column:
    key: str
    label: str
    width: int
    right: bool = False
    #: 0 = essential (always shown); higher numbers hide first on narrow terminals
    priority: int = 0


# Display order. Priorities decide which optional columns fit.
COLUMNS: tuple[Column, ...] = (
    Column("hit_id", "HIT id", 30),
    Column("title", "Title", 20),
    Column("status", "Status", 12),
    Column("max", "Max", 7, right=True),
    Column("available", "Avail", 7, right=True, priority=2),
    Column("pending", "Pend", 7, right=True, priority=3),
    Column("completed", "Done", 7, right=True, priority=4),
    Column("reward", "Reward", 7, right=True, priority=5),
    Column("created", "Created", 11, right=True, priority=6),
    Column("expires", "Expires", 18, right=True, priority=1),
    Column("headroom", "Headroom", 13, right=True),
)
COLUMN_KEYS = tuple(c.key for c in COLUMNS)
COLUMN_LABELS = {c.key: c.label for c in COLUMNS}
_INDEX = {c.key: i for i, c in enumerate(COLUMNS)}
TITLE_MIN = 20
NARROW_ID = 14


def headroom(hit: Hit) -> ExtensionRange:
    return extension_range(hit.max_assignments, hit.created)


def _ts(moment: datetime | None) -> float:
    return (moment - _EPOCH).total_seconds() if moment is not None else float("-inf")


def _headroom_key(hit: Hit) -> int:
    rng = headroom(hit)
    return rng.high if rng.extendable else -1


SORT_KEYS: dict[str, Callable[[Hit], Any]] = {
    "hit_id": lambda h: h.hit_id,
    "title": lambda h: h.title.casefold(),
    "status": lambda h: h.status,
    "max": lambda h: h.max_assignments,
    "available": lambda h: h.available,
    "pending": lambda h: h.pending,
    "completed": lambda h: h.completed,
    "reward": lambda h: h.reward if h.reward is not None else Decimal(-1),
    "created": lambda h: _ts(h.created),
    "expires": lambda h: _ts(h.expiration),
    "headroom": _headroom_key,
}


def format_cells(hit: Hit, now: datetime) -> tuple[str, ...]:
    """Every column's text for one HIT, sanitized (service text is never markup)."""
    return (
        one_line(hit.hit_id),
        one_line(hit.title) or "(no title)",
        one_line(hit.status),
        f"{hit.max_assignments:,}",
        f"{hit.available:,}",
        f"{hit.pending:,}",
        f"{hit.completed:,}",
        format_money(hit.reward),
        ago_label(hit.created, now),
        expires_label(hit.expiration, now),
        headroom(hit).label,
    )


def fit(text: str, width: int, right: bool = False) -> str:
    """Pad or cut `text` to exactly `width` cells, marking a cut with an ellipsis."""
    if width <= 0:
        return ""
    length = cell_len(text)
    if length > width:
        return set_cell_size(text, width - 1) + "\u2026"
    if right:
        return " " * (width - length) + text
    return text + " " * (width - length)


class HitTable(ScrollView, can_focus=True):
    """The HIT list. Rows are `Hit`s; `view` holds row indices after filter and sort."""

    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("down,j", "cursor_down", "Down", show=False),
        Binding("up,k", "cursor_up", "Up", show=False),
        Binding("pagedown,ctrl+f", "page_down", "Page down", show=False),
        Binding("pageup,ctrl+b", "page_up", "Page up", show=False),
        Binding("home,g", "first", "First", show=False),
        Binding("end,G", "last", "Last", show=False),
    ]
    COMPONENT_CLASSES: ClassVar[set[str]] = {
        "hit-table--header",
        "hit-table--cursor",
        "hit-table--muted",
        "hit-table--empty",
    }
    DEFAULT_CSS = """
    HitTable { scrollbar-size-vertical: 1; overflow-x: hidden; }
    """

    class CursorMoved(Message):
        def __init__(self, hit: Hit | None, position: int, total: int) -> None:
            super().__init__()
            self.hit = hit
            self.position = position
            self.total = total

    class Activated(Message):
        """Enter / double click on a row."""

        def __init__(self, hit: Hit) -> None:
            super().__init__()
            self.hit = hit

    class SortChanged(Message):
        pass

    def __init__(self, clock: Callable[[], datetime], **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self._clock = clock
        self.rows: list[Hit] = []
        self.view: list[int] = []
        self.cursor = 0
        self._index: dict[str, int] = {}
        self._cells: list[tuple[str, ...] | None] = []
        self._cells_stamp: float = 0.0
        self.sort_key: str | None = None
        self.sort_reverse = False
        self.filter_text = ""
        self.extendable_only = False
        self.expired_only = False
        self.empty_message = "Loading HITs\u2026"
        self._columns_cache: tuple[int, list[tuple[int, Column, int]]] | None = None
        self._rebuild_timer: Any = None
        self._size_timer: Any = None
        #: Marked HIT ids (bulk actions). Keyed by id, so marks survive sort/filter/refresh.
        self.marked: set[str] = set()

    # -- data --------------------------------------------------------------------------------
    @property
    def filtered(self) -> bool:
        return bool(self.filter_text or self.extendable_only or self.expired_only)

    @property
    def cursor_hit(self) -> Hit | None:
        if 0 <= self.cursor < len(self.view):
            return self.rows[self.view[self.cursor]]
        return None

    def set_rows(self, hits: Iterable[Hit], keep_id: str | None = None) -> None:
        """Replace every row (a reload), keeping the cursor on `keep_id` when it is still there."""
        if keep_id is None and self.cursor_hit is not None:
            keep_id = self.cursor_hit.hit_id
        self.rows = list(hits)
        self._index = {hit.hit_id: i for i, hit in enumerate(self.rows)}
        self.marked.intersection_update(self._index)  # HITs gone after a refresh: unmarked
        self._cells = [None] * len(self.rows)
        self.rebuild(keep_id=keep_id)

    def append_rows(self, hits: list[Hit]) -> None:
        """Add one page while loading: cheap when unsorted and unfiltered, else batched."""
        start = len(self.rows)
        for offset, hit in enumerate(hits):
            self._index[hit.hit_id] = start + offset
        self.rows.extend(hits)
        self._cells.extend([None] * len(hits))
        if self.sort_key is None and not self.filtered:
            self.view.extend(range(start, len(self.rows)))
            if not start:
                self._after_view_change(moved=True)
                return
            # Off-screen rows cost nothing to show: repaint only if they land on screen,
            # and resize the scroll range at most 4×/s (each resize re-lays the widget out).
            if start <= int(self.scroll_y) + self._page:
                self.refresh()
            if self._size_timer is None:
                self._size_timer = self.set_timer(0.25, self._sync_size)
        elif not self.view:
            self.rebuild()
        elif self._rebuild_timer is None:
            # Sorting 10,000 rows per page would starve the keyboard: coalesce.
            self._rebuild_timer = self.set_timer(0.15, self._timed_rebuild)

    def _sync_size(self) -> None:
        if self._size_timer is not None:
            self._size_timer.stop()
            self._size_timer = None
        size = Size(self._content_width(), len(self.view) + 1)
        if self.virtual_size != size:
            self.virtual_size = size

    def _timed_rebuild(self) -> None:
        self._rebuild_timer = None
        self.rebuild()

    def update_hit(self, hit: Hit) -> bool:
        """Replace the row with the same HIT id in place; False when it is not listed."""
        index = self._index.get(hit.hit_id)
        if index is None:
            return False
        self.rows[index] = hit
        self._cells[index] = None
        self.rebuild()
        return True

    # -- marks (bulk) ----------------------------------------------------------------------
    @property
    def marked_hits(self) -> list[Hit]:
        """The marked HITs, in list order (whether shown by the filter or not)."""
        return [hit for hit in self.rows if hit.hit_id in self.marked] if self.marked else []

    def toggle_mark(self) -> None:
        """Mark/unmark the cursor row and move down (space)."""
        hit = self.cursor_hit
        if hit is None:
            return
        self.marked.symmetric_difference_update({hit.hit_id})
        self.refresh()
        self.move_cursor(1)

    def mark_visible(self) -> None:
        """Mark every row the filter shows."""
        self.marked.update(self.rows[i].hit_id for i in self.view)
        self.refresh()

    def clear_marks(self) -> None:
        self.marked.clear()
        self.refresh()

    def matches(self, hit: Hit, now: datetime) -> bool:
        if self.filter_text:
            needle = self.filter_text.casefold()
            if needle not in hit.hit_id.casefold() and needle not in hit.title.casefold():
                return False
        if self.extendable_only and not headroom(hit).extendable:
            return False
        return not (self.expired_only and not hit.is_expired(now))

    def rebuild(self, keep_id: str | None = None) -> None:
        """Recompute the view (filter + sort), keeping the cursor on the same HIT."""
        if self._rebuild_timer is not None:
            self._rebuild_timer.stop()
            self._rebuild_timer = None
        if keep_id is None and self.cursor_hit is not None:
            keep_id = self.cursor_hit.hit_id
        now = self._clock()
        rows = self.rows
        if self.filtered:
            view = [i for i, hit in enumerate(rows) if self.matches(hit, now)]
        else:
            view = list(range(len(rows)))
        if self.sort_key is not None:
            key = SORT_KEYS[self.sort_key]
            # Ties keep service order, in both directions.
            decorated = [(key(rows[i]), i) for i in view]
            decorated.sort(key=lambda pair: pair[0], reverse=self.sort_reverse)
            view = [i for _, i in decorated]
        self.view = view
        position = 0
        if keep_id is not None:
            target = self._index.get(keep_id)
            if target is not None:
                try:
                    position = view.index(target)
                except ValueError:
                    position = min(self.cursor, max(0, len(view) - 1))
        self.cursor = position
        self._after_view_change(moved=True)

    def _after_view_change(self, moved: bool) -> None:
        self._sync_size()
        if moved:
            self._clamp_cursor()
            self.scroll_to_cursor()
            self._post_cursor()
        self.refresh()

    # -- sorting / filtering ---------------------------------------------------------------
    def sort_by(self, key: str | None, reverse: bool | None = None) -> None:
        if key == self.sort_key and reverse is None:
            self.sort_reverse = not self.sort_reverse
        else:
            self.sort_key = key
            self.sort_reverse = bool(reverse)
        self.rebuild()
        self.post_message(self.SortChanged())

    def cycle_sort(self) -> None:
        """Next column (in display order among the visible ones); after the last: service order."""
        keys = [col.key for _, col, _ in self._layout(self._content_width())]
        if self.sort_key is None:
            nxt: str | None = keys[0]
        elif self.sort_key in keys and keys.index(self.sort_key) + 1 < len(keys):
            nxt = keys[keys.index(self.sort_key) + 1]
        else:
            nxt = None
        self.sort_key = nxt
        self.sort_reverse = False
        self.rebuild()
        self.post_message(self.SortChanged())

    def reverse_sort(self) -> None:
        if self.sort_key is None:
            self.sort_key = "created"
            self.sort_reverse = True
        else:
            self.sort_reverse = not self.sort_reverse
        self.rebuild()
        self.post_message(self.SortChanged())

    def set_filter(
        self,
        text: str | None = None,
        *,
        extendable_only: bool | None = None,
        expired_only: bool | None = None,
    ) -> None:
        if text is not None:
            self.filter_text = text
        if extendable_only is not None:
            self.extendable_only = extendable_only
        if expired_only is not None:
            self.expired_only = expired_only
        self.rebuild()

    # -- cursor ----------------------------------------------------------------------------
    def _clamp_cursor(self) -> None:
        self.cursor = max(0, min(self.cursor, len(self.view) - 1)) if self.view else 0

    @property
    def _page(self) -> int:
        return max(1, self.scrollable_content_region.height - 1)

    def move_cursor(self, delta: int | None = None, to: int | None = None) -> None:
        old = self.cursor
        self.cursor = to if to is not None else self.cursor + (delta or 0)
        self._clamp_cursor()
        if self.cursor != old:
            self._sync_size()
            self.scroll_to_cursor()
            self.refresh()
            self._post_cursor()

    def move_to_hit(self, hit_id: str) -> bool:
        target = self._index.get(hit_id)
        if target is None or target not in self.view:
            return False
        self.move_cursor(to=self.view.index(target))
        return True

    def scroll_to_cursor(self) -> None:
        visible = self._page
        top = int(self.scroll_y)
        if self.cursor < top:
            self.scroll_to(y=self.cursor, animate=False, immediate=True)
        elif self.cursor >= top + visible:
            self.scroll_to(y=self.cursor - visible + 1, animate=False, immediate=True)

    def _post_cursor(self) -> None:
        self.post_message(self.CursorMoved(self.cursor_hit, self.cursor, len(self.view)))

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
        self.move_cursor(to=len(self.view) - 1)

    # -- mouse -----------------------------------------------------------------------------
    def on_click(self, event: events.Click) -> None:
        offset = event.get_content_offset(self)
        if offset is None:
            return
        if offset.y == 0:
            for x, col, width in self._layout(self._content_width()):
                if x <= offset.x < x + width + 1:
                    self.sort_by(col.key)
                    return
            return
        row = int(self.scroll_y) + offset.y - 1
        if 0 <= row < len(self.view):
            self.move_cursor(to=row)
            if event.chain >= 2 and self.cursor_hit is not None:
                self.post_message(self.Activated(self.cursor_hit))

    # -- layout & rendering ----------------------------------------------------------------
    def _content_width(self) -> int:
        return self.scrollable_content_region.width

    def on_resize(self, event: events.Resize) -> None:
        self._columns_cache = None
        self._sync_size()
        self.scroll_to_cursor()

    def _layout(self, width: int) -> list[tuple[int, Column, int]]:
        """(x, column, width) of each column that fits; the title takes what is left."""
        if self._columns_cache is not None and self._columns_cache[0] == width:
            return self._columns_cache[1]
        id_width = COLUMNS[0].width if width >= 120 else NARROW_ID
        widths = {c.key: c.width for c in COLUMNS}
        widths["hit_id"] = id_width
        shown = {c.key for c in COLUMNS if c.priority == 0}

        def used(keys: set[str]) -> int:
            return 1 + sum(widths[k] + 1 for k in keys if k != "title")

        for col in sorted((c for c in COLUMNS if c.priority), key=lambda c: c.priority):
            if width - used(shown | {col.key}) - 1 >= TITLE_MIN + 4:
                shown.add(col.key)
            else:
                break
        widths["title"] = max(4, width - used(shown) - 1)
        layout: list[tuple[int, Column, int]] = []
        x = 1
        for col in COLUMNS:
            if col.key in shown:
                layout.append((x, col, widths[col.key]))
                x += widths[col.key] + 1
        self._columns_cache = (width, layout)
        return layout

    def visible_columns(self) -> list[str]:
        return [col.key for _, col, _ in self._layout(self._content_width())]

    def _row_cells(self, index: int, now: datetime) -> tuple[str, ...]:
        cells = self._cells[index]
        if cells is None:
            cells = format_cells(self.rows[index], now)
            self._cells[index] = cells
        return cells

    def _check_clock(self) -> datetime:
        now = self._clock()
        stamp = now.timestamp()
        # Relative times ("in 3 h") are good to a minute: refresh the cache that often.
        if abs(stamp - self._cells_stamp) >= 30:
            self._cells = [None] * len(self.rows)
            self._cells_stamp = stamp
        return now

    def render_line(self, y: int) -> Strip:
        width = self._content_width()
        layout = self._layout(width)
        base = self.rich_style
        if y == 0:
            return self._header(layout, width, base)
        row = int(self.scroll_y) + y - 1
        if not self.view:
            if y == 2:
                style = base + self.get_component_rich_style("hit-table--empty")
                return Strip([Segment(fit("  " + self.empty_message, width), style)], width)
            return Strip.blank(width, base)
        if row >= len(self.view):
            return Strip.blank(width, base)
        index = self.view[row]
        now = self._check_clock()
        cells = self._row_cells(index, now)
        hit = self.rows[index]
        style = base
        if hit.is_expired(now):
            style = style + self.get_component_rich_style("hit-table--muted")
        if row == self.cursor:
            style = style + self.get_component_rich_style("hit-table--cursor")
        # Cursor row is also marked by a ▶ in the gutter: visible without colour.
        gutter = "\u25b6" if row == self.cursor else " "
        parts = [gutter]
        for _x, col, w in layout:
            parts.append(fit(cells[_INDEX[col.key]], w, col.right))
        text = " ".join(parts)
        if self.marked and hit.hit_id in self.marked:
            # A ● right after the gutter: a mark visible without colour.
            text = text[:1] + "\u25cf" + text[2:]
        return Strip([Segment(fit(text, width), style)], width)

    def _header(self, layout: list[tuple[int, Column, int]], width: int, base: Style) -> Strip:
        style = base + self.get_component_rich_style("hit-table--header")
        parts = [" "]
        for _x, col, w in layout:
            label = col.label
            if col.key == self.sort_key:
                label = label + ("\u25bc" if self.sort_reverse else "\u25b2")
            parts.append(fit(label, w, col.right))
        return Strip([Segment(fit(" ".join(parts), width), style)], width)
