"""The HIT list: the generic `VirtualTable` over a `ListModel` of `Hit`s keyed by HIT id.

This module adds what is HIT-specific: the columns, their sort keys, the filter (text,
extendable only, expired only), dim expired rows, and relative-time cells recomputed when
the clock moves on. Updating one HIT moves its row in place (binary search), see
`turktui.domain.listmodel`.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from datetime import datetime, timezone
from decimal import Decimal
from typing import Any

from turktui.domain.listmodel import ListModel
from turktui.domain.models import Hit
from turktui.domain.rules import ExtensionRange, extension_range, format_money
from turktui.domain.text import one_line
from turktui.domain.timefmt import ago_label, expires_label
from turktui.ui.widgets.vtable import Column, VirtualTable

_EPOCH = datetime(1970, 1, 1, tzinfo=timezone.utc)


# Display order. The title takes the spare width: optional columns (priority 2 first)
# show only while it keeps TITLE_WANT cells; the id, the title, Status, Max, Expires and
# Headroom always show (the expiry is what an operator watches). Under
# `HitTable.narrow_below` (e.g. 80 columns) the id is cut to NARROW_ID cells, Expires is
# compact ("in 2 d" / "2 d ago") and Headroom too ("none" for "none (9 of 9)"): the preview
# line under the rows shows the cursor row's full HIT id and title.
COLUMNS: tuple[Column, ...] = (
    Column("hit_id", "HIT id", 30, narrow=12),
    Column("title", "Title", 20, flex=True),
    Column("status", "Status", 12),
    Column("max", "Max", 7, right=True),
    Column("available", "Avail", 7, right=True, priority=2),
    Column("pending", "Pend", 7, right=True, priority=3),
    Column("completed", "Done", 7, right=True, priority=4),
    Column("reward", "Reward", 7, right=True, priority=5),
    Column("created", "Created", 10, right=True, priority=6),
    Column("expires", "Expires", 16, right=True, narrow=10),
    Column("headroom", "Headroom", 13, right=True, narrow=8),
)
COLUMN_KEYS = tuple(c.key for c in COLUMNS)
COLUMN_LABELS = {c.key: c.label for c in COLUMNS}
_INDEX = {c.key: i for i, c in enumerate(COLUMNS)}
TITLE_MIN = 20
#: Optional columns give way before the title is narrower than this.
TITLE_WANT = 36
NARROW_ID = 12


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


def format_cells(hit: Hit, now: datetime, compact: bool = False) -> tuple[str, ...]:
    """Every column's text for one HIT, sanitized (service text is never markup).
    `compact`: the narrow layout's shorter Expires ("2 d ago", not "expired 2 d ago") and
    Headroom ("none", not "none (9 of 9)")."""
    room = headroom(hit)
    expires = expires_label(hit.expiration, now)
    if compact and expires.startswith("expired "):
        expires = expires[len("expired ") :]
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
        expires,
        room.label if not compact or room.extendable else room.label.split(" (")[0],
    )


def filter_words(table: HitTable) -> str:
    """The active filters for a sentence: ' “xyz”, only expired' or ': only expired'."""
    words = []
    if table.extendable_only:
        words.append("only extendable")
    if table.expired_only:
        words.append("only expired")
    if table.filter_text:
        quoted = f" \u201c{one_line(table.filter_text)}\u201d"
        return quoted + "".join(", " + w for w in words)
    return ": " + ", ".join(words) if words else ""


def preview_text(hit: Hit) -> str:
    """The preview line of a HIT: its full id and title (what the columns may cut)."""
    return f"\u25b6 {one_line(hit.hit_id)} \u00b7 {one_line(hit.title) or '(no title)'}"


class HitTable(VirtualTable[Hit]):
    """The HIT list. `rows` are `Hit`s; `view` holds row indices after filter and sort."""

    narrow_below = 120
    flex_min = TITLE_MIN
    flex_want = TITLE_WANT
    show_preview = True

    class CursorMoved(VirtualTable.CursorMoved):
        @property
        def hit(self) -> Hit | None:
            return self.row

    class Activated(VirtualTable.Activated):
        @property
        def hit(self) -> Hit:
            return self.row

    class SortChanged(VirtualTable.SortChanged):
        pass

    class MarksChanged(VirtualTable.MarksChanged):
        pass

    def __init__(self, clock: Callable[[], datetime], **kwargs: Any) -> None:
        self._clock = clock
        self._cells_stamp = 0.0
        self._now = clock()
        self._compact: bool | None = None
        super().__init__(
            ListModel(lambda hit: hit.hit_id),
            COLUMNS,
            self._format_hit,
            sort_keys=SORT_KEYS,
            **kwargs,
        )
        self.filter_text = ""
        self.extendable_only = False
        self.expired_only = False
        self.empty_message = "Loading HITs\u2026"

    def _format_hit(self, hit: Hit) -> tuple[str, ...]:
        return format_cells(hit, self._now, bool(self._compact))

    def preview_text(self, row: Hit | None) -> str:
        return preview_text(row) if row is not None else ""

    def empty_text(self) -> str:
        """A filter that hides every HIT says so (and how to clear it)."""
        if not (self.rows and self.filtered):
            return self.empty_message
        return f"no HITs match{filter_words(self)} (Esc clears)"

    # -- data --------------------------------------------------------------------------------
    @property
    def filtered(self) -> bool:
        return bool(self.filter_text or self.extendable_only or self.expired_only)

    @property
    def cursor_hit(self) -> Hit | None:
        return self.model.cursor_row

    @property
    def marked_hits(self) -> list[Hit]:
        """The marked HITs, in list order (whether shown by the filter or not)."""
        return self.model.marked_rows

    def set_rows(self, rows: Iterable[Hit], keep_id: str | None = None) -> None:  # type: ignore[override]
        super().set_rows(rows, keep_key=keep_id)

    def update_hit(self, hit: Hit) -> bool:
        """Replace the row with the same HIT id in place; False when it is not listed."""
        return self.update_row(hit)

    def post_hit(self, hit: Hit) -> None:
        """From any thread, without waiting: the row is updated on the UI thread."""
        self.post_update(hit)

    def move_to_hit(self, hit_id: str) -> bool:
        return self.move_to_key(hit_id)

    def rebuild(self, keep_id: str | None = None) -> None:  # type: ignore[override]
        # The filter may read the clock (expired only): take it afresh.
        self.model.predicate = self._predicate()
        super().rebuild(keep_key=keep_id)

    def matches(self, hit: Hit, now: datetime) -> bool:
        if self.filter_text:
            needle = self.filter_text.casefold()
            if needle not in hit.hit_id.casefold() and needle not in hit.title.casefold():
                return False
        if self.extendable_only and not headroom(hit).extendable:
            return False
        return not (self.expired_only and not hit.is_expired(now))

    def _predicate(self) -> Callable[[Hit], bool] | None:
        if not self.filtered:
            return None
        now = self._clock()
        return lambda hit: self.matches(hit, now)

    # -- sorting / filtering ---------------------------------------------------------------
    def cycle_sort(self) -> None:
        """Next column (in display order among the visible ones); after the last: service order."""
        keys = self.visible_columns()
        if self.sort_key is None:
            nxt: str | None = keys[0]
        elif self.sort_key in keys and keys.index(self.sort_key) + 1 < len(keys):
            nxt = keys[keys.index(self.sort_key) + 1]
        else:
            nxt = None
        self.sort_by(nxt, False)

    def reverse_sort(self) -> None:
        if self.sort_key is None:
            self.sort_by("created", True)
        else:
            self.sort_by(self.sort_key, not self.sort_reverse)

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

    # -- rendering ---------------------------------------------------------------------------
    def before_render(self) -> None:
        now = self._clock()
        stamp = now.timestamp()
        # Relative times ("in 3 h") are good to a minute: refresh the cache that often.
        compact = self.line_width < self.narrow_below
        if abs(stamp - self._cells_stamp) >= 30 or compact != self._compact:
            self._cells.clear()
            self._cells_stamp = stamp
            self._compact = compact
        self._now = now

    def row_muted(self, row: Hit) -> bool:
        return row.is_expired(self._now)
