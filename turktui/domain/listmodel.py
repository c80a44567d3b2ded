"""Pure list models: rows, a view (filter + sort), marks and a cursor kept by key.

No I/O and no Textual: `turktui.ui.widgets.vtable.VirtualTable` draws one of these, and
tests drive them directly. `TableModel` is what the table reads (a length, the row at a
position or None while it is being read, a cursor); `ListModel` holds every row in memory,
`PagedModel` only the pages read so far (a listing too large to hold, e.g. the history).

ListModel: Rows are any objects with a stable string key (a HIT id, a record
id). The view holds row indices in display order; beside it the model keeps each shown
row's sort key, so one changed row moves with a binary search (O(log n) compares plus one
list shift) instead of re-filtering and re-sorting every row.

Order: by the sort key, ties in row (service) order in both directions; with no sort key,
row order. The cursor is a position in the view, but it follows its row's key through
updates, sorts and filters.
"""

from __future__ import annotations

from collections import OrderedDict
from collections.abc import Callable, Iterable, Sequence
from typing import Any, Generic, TypeVar

T = TypeVar("T")

#: With no sort key every row's key is this, so row order decides.
_NO_KEY: tuple[()] = ()


class TableModel(Generic[T]):
    """What a table reads: `len()`, `row_at(position)` (None: not read yet), a cursor (a
    position that follows its row's key), marks by key, and the sort shown in the header."""

    key_of: Callable[[T], str]
    cursor: int
    marked: set[str]
    sort_name: str | None
    sort_reverse: bool

    def __len__(self) -> int:
        raise NotImplementedError

    def row_at(self, position: int) -> T | None:
        raise NotImplementedError

    def slot(self, position: int) -> int:
        """A key for the formatted-cell cache: stable while the row at `position` is."""
        raise NotImplementedError

    def position_of(self, key: str) -> int | None:
        raise NotImplementedError

    @property
    def cursor_row(self) -> T | None:
        if 0 <= self.cursor < len(self):
            return self.row_at(self.cursor)
        return None

    @property
    def cursor_key(self) -> str | None:
        row = self.cursor_row
        return None if row is None else self.key_of(row)

    def clamp_cursor(self) -> None:
        size = len(self)
        self.cursor = max(0, min(self.cursor, size - 1)) if size else 0

    def move_cursor(self, delta: int = 0, to: int | None = None) -> bool:
        """True when the cursor moved."""
        old = self.cursor
        self.cursor = to if to is not None else self.cursor + delta
        self.clamp_cursor()
        return self.cursor != old

    def move_to(self, key: str) -> bool:
        pos = self.position_of(key)
        if pos is None:
            return False
        self.cursor = pos
        return True

    def toggle_mark(self, key: str) -> None:
        self.marked.symmetric_difference_update({key})

    def clear_marks(self) -> None:
        self.marked.clear()


class ListModel(TableModel[T]):
    """Rows of `T`, identified by `key(row)`, shown through a filter and a sort."""

    def __init__(self, key: Callable[[T], str]) -> None:
        self.key_of = key
        self.rows: list[T] = []
        #: Row indices in display order.
        self.view: list[int] = []
        #: Display-order composite keys of the shown rows (parallel to `view`).
        self._vkeys: list[tuple[Any, int]] = []
        self._index: dict[str, int] = {}
        self._sort: Callable[[T], Any] | None = None
        self.sort_name: str | None = None
        self.sort_reverse = False
        #: Which rows are shown (None: all). Assign, then `rebuild()`; or `set_filter`.
        self.predicate: Callable[[T], bool] | None = None
        self.cursor = 0
        #: Marked keys. Kept by key, so marks survive sort, filter and reloads.
        self.marked: set[str] = set()

    # -- reading ---------------------------------------------------------------------------
    def __len__(self) -> int:
        return len(self.view)

    def row_at(self, position: int) -> T:
        return self.rows[self.view[position]]

    def slot(self, position: int) -> int:
        return self.view[position]

    def index_of(self, key: str) -> int | None:
        """The row index of `key` (shown or not), or None."""
        return self._index.get(key)

    def get(self, key: str) -> T | None:
        index = self._index.get(key)
        return None if index is None else self.rows[index]

    @property
    def cursor_row(self) -> T | None:
        if 0 <= self.cursor < len(self.view):
            return self.rows[self.view[self.cursor]]
        return None

    def position_of(self, key: str) -> int | None:
        """Where `key` is shown (a binary search), or None when it is filtered out or absent."""
        index = self._index.get(key)
        if index is None:
            return None
        ck = self._composite(self.rows[index], index)
        pos = self._bisect(ck)
        if pos < len(self.view) and self.view[pos] == index:
            return pos
        return None

    @property
    def marked_rows(self) -> list[T]:
        """The marked rows in row order, shown or not."""
        if not self.marked:
            return []
        return [row for row in self.rows if self.key_of(row) in self.marked]

    # -- ordering helpers -------------------------------------------------------------------
    def _composite(self, row: T, index: int) -> tuple[Any, int]:
        if self._sort is None:
            return (_NO_KEY, index)
        # Descending display keeps ties in row order: (k, -i) read from the top down.
        return (self._sort(row), -index if self.sort_reverse else index)

    def _bisect(self, ck: tuple[Any, int]) -> int:
        """First display position whose key does not come before `ck`."""
        keys = self._vkeys
        lo, hi = 0, len(keys)
        if self.sort_reverse and self._sort is not None:
            while lo < hi:
                mid = (lo + hi) // 2
                if keys[mid] > ck:
                    lo = mid + 1
                else:
                    hi = mid
        else:
            while lo < hi:
                mid = (lo + hi) // 2
                if keys[mid] < ck:
                    lo = mid + 1
                else:
                    hi = mid
        return lo

    def _shows(self, row: T) -> bool:
        return self.predicate is None or self.predicate(row)

    # -- whole-view changes -----------------------------------------------------------------
    def rebuild(self, keep_key: str | None = None) -> None:
        """Recompute the view (filter + sort), keeping the cursor on the same row."""
        if keep_key is None:
            keep_key = self.cursor_key
        rows = self.rows
        shown = (
            [i for i, row in enumerate(rows) if self._shows(row)]
            if self.predicate
            else list(range(len(rows)))
        )
        decorated = [self._composite(rows[i], i) for i in shown]
        decorated.sort(reverse=self.sort_reverse and self._sort is not None)
        self._vkeys = decorated
        if self._sort is None:
            self.view = shown
        elif self.sort_reverse:
            self.view = [-i for _, i in decorated]
        else:
            self.view = [i for _, i in decorated]
        self._place_cursor(keep_key)

    def _place_cursor(self, keep_key: str | None) -> None:
        if keep_key is not None:
            pos = self.position_of(keep_key)
            if pos is not None:
                self.cursor = pos
                return
        self.clamp_cursor()

    def set_rows(self, rows: Iterable[T], keep_key: str | None = None) -> None:
        """Replace every row (a reload); marks of rows now gone are dropped."""
        if keep_key is None:
            keep_key = self.cursor_key
        self.rows = list(rows)
        self._index = {self.key_of(row): i for i, row in enumerate(self.rows)}
        self.marked.intersection_update(self._index)
        self.cursor = 0 if keep_key is None else self.cursor
        self.rebuild(keep_key=keep_key)

    def set_sort(
        self, name: str | None, key: Callable[[T], Any] | None, reverse: bool = False
    ) -> None:
        self.sort_name = name if key is not None else None
        self._sort = key
        self.sort_reverse = bool(reverse) if key is not None else False
        self.rebuild()

    def set_filter(self, predicate: Callable[[T], bool] | None) -> None:
        self.predicate = predicate
        self.rebuild()

    # -- incremental changes ----------------------------------------------------------------
    def append(self, rows: Sequence[T]) -> bool:
        """Add rows at the end; True when the view changed. Rows whose key is already listed
        replace the old row instead (a page seen twice)."""
        changed = False
        fresh: list[T] = []
        for row in rows:
            if self.key_of(row) in self._index:
                changed = self.update(row) or changed
            else:
                fresh.append(row)
        if not fresh:
            return changed
        start = len(self.rows)
        for offset, row in enumerate(fresh):
            self._index[self.key_of(row)] = start + offset
        self.rows.extend(fresh)
        if self._sort is None and self.predicate is None:
            self.view.extend(range(start, len(self.rows)))
            self._vkeys.extend((_NO_KEY, i) for i in range(start, len(self.rows)))
            return True
        new = [i for i in range(start, len(self.rows)) if self._shows(self.rows[i])]
        if not new:
            return changed
        if len(new) <= 32:
            for i in new:
                self._insert(i)
            return True
        keep = self.cursor_key
        pairs = list(zip(self._vkeys, self.view, strict=True))
        pairs.extend((self._composite(self.rows[i], i), i) for i in new)
        # Timsort finds the two sorted runs: close to linear.
        pairs.sort(key=lambda p: p[0], reverse=self.sort_reverse and self._sort is not None)
        self._vkeys = [k for k, _ in pairs]
        self.view = [i for _, i in pairs]
        self._place_cursor(keep)
        return True

    def _insert(self, index: int) -> int:
        ck = self._composite(self.rows[index], index)
        pos = self._bisect(ck)
        self._vkeys.insert(pos, ck)
        self.view.insert(pos, index)
        if pos <= self.cursor and len(self.view) > 1:
            self.cursor += 1
        return pos

    def _remove(self, pos: int) -> None:
        del self._vkeys[pos]
        del self.view[pos]
        if pos < self.cursor:
            self.cursor -= 1
        self.clamp_cursor()

    def update(self, row: T) -> bool:
        """Replace the row with the same key in place and move it to where it now sorts.

        O(log n) compares and one list shift; the cursor stays on its row (which may be this
        one). A row that keeps its place (the same sort key, still shown: e.g. a batch's
        new counts on a list sorted by title) is replaced where it is, with no shift (each
        shift moves up to the whole view: 50,000 entries). False when the key is not
        listed (nothing changes)."""
        key = self.key_of(row)
        index = self._index.get(key)
        if index is None:
            return False
        old_pos = self.position_of(key)
        if (
            old_pos is not None
            and self._shows(row)
            and self._composite(row, index) == self._vkeys[old_pos]
        ):
            self.rows[index] = row
            return True
        on_cursor = old_pos is not None and old_pos == self.cursor
        if old_pos is not None:
            self._remove(old_pos)
        self.rows[index] = row
        if self._shows(row):
            pos = self._insert(index)
            if on_cursor:
                self.cursor = pos
        elif on_cursor:
            self.clamp_cursor()
        return True

    # -- marks -------------------------------------------------------------------------------
    def mark_shown(self) -> None:
        self.marked.update(self.key_of(self.rows[i]) for i in self.view)


class PageCache(Generic[T]):
    """Least-recently-used pages of rows (like toolong's line cache)."""

    def __init__(self, size: int) -> None:
        self.size = size
        self._pages: OrderedDict[int, list[T]] = OrderedDict()

    def get(self, page: int) -> list[T] | None:
        rows = self._pages.get(page)
        if rows is not None:
            self._pages.move_to_end(page)
        return rows

    def peek(self, page: int) -> list[T] | None:
        """Like `get`, without making the page the most recently used."""
        return self._pages.get(page)

    def put(self, page: int, rows: list[T]) -> None:
        self._pages[page] = rows
        self._pages.move_to_end(page)
        while len(self._pages) > self.size:
            self._pages.popitem(last=False)

    def items(self) -> list[tuple[int, list[T]]]:
        return list(self._pages.items())

    def __len__(self) -> int:
        return len(self._pages)


class PagedModel(TableModel[T]):
    """A listing of `total` rows of which only some pages are held (an LRU `PageCache`).

    A row not held is asked for with `want(generation, page)` (once, until it arrives) and
    reads as None meanwhile; whoever reads pages (a worker) hands them back to `put_page`.
    Each listing (`set_source`) has a generation: pages of an older one are dropped. The
    order is the source's (no sort, no filter here: the source filters); no marks.
    """

    def __init__(
        self, key: Callable[[T], str], *, page_size: int = 200, cache_pages: int = 64
    ) -> None:
        self.key_of = key
        self.page_size = page_size
        self.cache_pages = cache_pages
        self.total = 0
        self.generation = 0
        self.cursor = 0
        self.marked: set[str] = set()
        self.sort_name: str | None = None
        self.sort_reverse = False
        self.pages: PageCache[T] = PageCache(cache_pages)
        self._pending: set[int] = set()
        self._want: Callable[[int, int], None] = lambda generation, page: None

    def __len__(self) -> int:
        return self.total

    def set_source(
        self,
        want: Callable[[int, int], None],
        total: int,
        first: list[T] | None = None,
        *,
        generation: int = 0,
        keep_key: str | None = None,
    ) -> None:
        """A new listing of `total` rows, `first` its first page. The cursor stays on
        `keep_key` (default: its row now) if the first page holds it; else where it was."""
        if keep_key is None:
            held = self.held(self.cursor)
            keep_key = None if held is None else self.key_of(held)
        self._want = want
        self.generation = generation
        self.total = total
        self.pages = PageCache(self.cache_pages)
        self._pending = set()
        if first is not None:
            self.pages.put(0, first)
        if keep_key is None or not self.move_to(keep_key):
            self.clamp_cursor()

    def set_total(self, total: int) -> None:
        """The listing's count arrived (its first page is already held)."""
        self.total = total
        self.clamp_cursor()

    def put_page(self, generation: int, page: int, rows: list[T]) -> bool:
        """A page read for `generation`; False (and nothing held) when that listing is gone."""
        if generation != self.generation:
            return False
        self._pending.discard(page)
        self.pages.put(page, rows)
        return True

    def page_of(self, position: int) -> int:
        return position // self.page_size

    def held(self, position: int) -> T | None:
        """The row at `position` if its page is held (nothing is asked for)."""
        if not 0 <= position < self.total:
            return None
        page, offset = divmod(position, self.page_size)
        rows = self.pages.peek(page)
        return rows[offset] if rows is not None and offset < len(rows) else None

    def row_at(self, position: int) -> T | None:
        """The row at `position` if its page is held; else None and the page is asked for
        (never read here: this runs on the UI thread)."""
        if not 0 <= position < self.total:
            return None
        page = position // self.page_size
        rows = self.pages.get(page)
        if rows is None:
            if page not in self._pending:
                self._pending.add(page)
                self._want(self.generation, page)
            return None
        offset = position - page * self.page_size
        return rows[offset] if offset < len(rows) else None

    def slot(self, position: int) -> int:
        return position

    def position_of(self, key: str) -> int | None:
        """Where `key` is, if a held page has it (the others are not known)."""
        for page, rows in self.pages.items():
            for offset, row in enumerate(rows):
                if self.key_of(row) == key:
                    position = page * self.page_size + offset
                    return position if position < self.total else None
        return None
