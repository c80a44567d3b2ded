"""The pure list model behind every table: no Textual, no I/O."""

from __future__ import annotations

import random
from dataclasses import dataclass, replace

import pytest

from turktui.domain.listmodel import ListModel, PagedModel


@dataclass(frozen=True)
class Row:
    key: str
    title: str
    n: int


def make(rows: list[Row]) -> ListModel[Row]:
    model: ListModel[Row] = ListModel(lambda r: r.key)
    model.set_rows(rows)
    return model


def reference(model: ListModel[Row], sort, reverse: bool, pred) -> list[str]:
    """What a full filter + stable sort gives (ties in row order in both directions)."""
    shown = [r for r in model.rows if pred is None or pred(r)]
    if sort is not None:
        shown = sorted(shown, key=sort, reverse=reverse)
    return [r.key for r in shown]


def keys(model: ListModel[Row]) -> list[str]:
    return [model.rows[i].key for i in model.view]


ROWS = [Row("a", "pear", 3), Row("b", "apple", 1), Row("c", "fig", 3), Row("d", "kiwi", 2)]


def test_sort_ties_keep_row_order_both_ways() -> None:
    model = make(ROWS)
    model.set_sort("n", lambda r: r.n)
    assert keys(model) == ["b", "d", "a", "c"]
    model.set_sort("n", lambda r: r.n, reverse=True)
    assert keys(model) == ["a", "c", "d", "b"]
    model.set_sort(None, None)
    assert keys(model) == ["a", "b", "c", "d"]


def test_update_moves_one_row_and_cursor_follows_its_row() -> None:
    model = make(ROWS)
    model.set_sort("title", lambda r: r.title)
    assert keys(model) == ["b", "c", "d", "a"]
    assert model.move_to("d")  # cursor on kiwi
    model.update(replace(ROWS[1], title="zucchini"))  # apple -> last
    assert keys(model) == ["c", "d", "a", "b"]
    assert model.cursor_key == "d"
    model.update(replace(ROWS[3], title="aaa"))  # the cursor row itself moves to the top
    assert keys(model) == ["d", "c", "a", "b"] and model.cursor == 0 and model.cursor_key == "d"
    assert model.update(Row("zz", "x", 0)) is False  # not listed: nothing changes
    assert keys(model) == ["d", "c", "a", "b"]


class Shifts(list):
    """A view list that records each shift (an insert or a deletion)."""

    def __init__(self, items, log: list[str]) -> None:
        super().__init__(items)
        self.log = log

    def insert(self, index, item) -> None:
        self.log.append("insert")
        super().insert(index, item)

    def __delitem__(self, index) -> None:
        self.log.append("del")
        super().__delitem__(index)


@pytest.mark.parametrize("sort", [None, "title"])
def test_an_update_that_keeps_its_place_shifts_nothing(sort: str | None) -> None:
    """A batch's new counts on a list sorted by title: each row stays where it is, and
    the view (50,000 entries in the app) is not shifted twice per row."""
    model = make(ROWS)
    if sort:
        model.set_sort(sort, lambda r: r.title)
    model.move_to("c")
    before = keys(model)
    log: list[str] = []
    model.view = Shifts(model.view, log)
    model._vkeys = Shifts(model._vkeys, log)
    for row in ROWS:
        assert model.update(replace(row, n=row.n + 10))
    assert log == [] and keys(model) == before and model.cursor_key == "c"
    assert [r.n for r in model.rows] == [13, 11, 13, 12]
    model.update(replace(ROWS[1], title="zucchini"))
    assert log if sort else log == []  # a row that sorts elsewhere moves


def test_update_leaves_and_enters_the_filter() -> None:
    model = make(ROWS)
    model.set_filter(lambda r: r.n >= 2)
    assert keys(model) == ["a", "c", "d"]
    model.move_to("c")
    model.update(replace(ROWS[2], n=0))  # the cursor row leaves the view
    assert keys(model) == ["a", "d"] and model.cursor_key == "d"
    model.update(replace(ROWS[1], n=5))  # b enters, in row order
    assert keys(model) == ["a", "b", "d"] and model.cursor_key == "d"


def test_marks_by_key_survive_sort_filter_and_reload() -> None:
    model = make(ROWS)
    model.toggle_mark("c")
    model.set_filter(lambda r: r.n == 1)
    model.mark_shown()
    assert model.marked == {"b", "c"}
    model.set_sort("title", lambda r: r.title)
    assert [r.key for r in model.marked_rows] == ["b", "c"]  # row order, shown or not
    model.set_rows([ROWS[0], ROWS[2]])  # b gone after a reload: unmarked
    assert model.marked == {"c"}


def test_reload_keeps_cursor_on_its_key() -> None:
    model = make(ROWS)
    model.move_to("c")
    model.set_rows([Row("x", "x", 0), *ROWS])
    assert model.cursor_key == "c" and model.cursor == 3


def test_append_keeps_order_and_cursor() -> None:
    model = make(ROWS[:2])
    model.set_sort("title", lambda r: r.title)
    model.move_to("a")
    model.append(ROWS[2:])
    assert keys(model) == ["b", "c", "d", "a"] and model.cursor_key == "a"
    many = [Row(f"k{i:03}", f"t{random.Random(i).random()}", i) for i in range(100)]
    model.append(many)  # the merge path
    assert keys(model) == reference(model, lambda r: r.title, False, None)
    assert model.cursor_key == "a"


def test_append_of_a_listed_key_replaces_it() -> None:
    model = make(ROWS)
    model.append([replace(ROWS[0], title="new")])
    assert len(model.rows) == 4 and model.get("a").title == "new"


@pytest.mark.parametrize("seed", range(6))
def test_random_updates_match_a_full_rebuild(seed: int) -> None:
    rnd = random.Random(seed)
    rows = [
        Row(f"id{i}", rnd.choice("abcdefgh") * rnd.randint(1, 3), rnd.randint(0, 5))
        for i in range(200)
    ]
    model = make(rows)
    sort = rnd.choice([None, lambda r: r.title, lambda r: r.n])
    reverse = sort is not None and rnd.random() < 0.5
    pred = rnd.choice([None, lambda r: r.n % 2 == 0])
    model.set_sort("s" if sort else None, sort, reverse)
    model.set_filter(pred)
    for step in range(300):
        before = model.cursor_key
        target = rnd.choice(model.rows)
        model.update(replace(target, title=rnd.choice("abcdefgh"), n=rnd.randint(0, 5)))
        assert keys(model) == reference(model, sort, reverse, pred), step
        if before is not None and before != target.key:
            assert model.cursor_key == before, step
        if step % 50 == 0:
            model.append(
                [
                    Row(f"new{seed}-{step}-{j}", rnd.choice("abc"), rnd.randint(0, 5))
                    for j in range(rnd.choice([1, 40]))
                ]
            )
            assert keys(model) == reference(model, sort, reverse, pred), step


def test_position_of_and_cursor_moves() -> None:
    model = make(ROWS)
    assert model.position_of("c") == 2 and model.position_of("nope") is None
    assert model.move_cursor(10) and model.cursor == 3
    assert not model.move_cursor(1)
    assert model.move_cursor(to=-5) and model.cursor == 0
    empty = make([])
    assert empty.cursor_row is None and not empty.move_cursor(1)


# -- the paged model (a listing too large to hold: the history) ------------------------------
def paged(
    total: int, *, page_size: int = 10, cache_pages: int = 3, generation: int = 1
) -> tuple[PagedModel[Row], list[tuple[int, int]]]:
    """A model over rows k0..k{total-1}; `asked` records every (generation, page) wanted."""
    asked: list[tuple[int, int]] = []
    model: PagedModel[Row] = PagedModel(
        lambda r: r.key, page_size=page_size, cache_pages=cache_pages
    )
    model.set_source(
        lambda g, p: asked.append((g, p)),
        total,
        page_rows(0, page_size, total),
        generation=generation,
    )
    return model, asked


def page_rows(page: int, size: int, total: int, prefix: str = "k") -> list[Row]:
    end = min(total, (page + 1) * size)
    return [Row(f"{prefix}{i}", f"t{i}", i) for i in range(page * size, end)]


def test_paged_rows_are_asked_for_once_and_none_until_they_come() -> None:
    model, asked = paged(95)
    assert len(model) == 95 and model.row_at(3).key == "k3" and asked == []
    assert model.row_at(57) is None and model.row_at(51) is None  # page 5: asked for once
    assert asked == [(1, 5)]
    assert model.put_page(1, 5, page_rows(5, 10, 95))
    assert model.row_at(57).key == "k57" and asked == [(1, 5)]
    assert model.row_at(94) is None and model.row_at(95) is None and model.row_at(-1) is None
    assert asked == [(1, 5), (1, 9)]  # beyond the listing: never asked for
    assert not model.put_page(0, 9, page_rows(9, 10, 95))  # an older listing's page: dropped
    assert model.row_at(94) is None and asked == [(1, 5), (1, 9)]


def test_paged_cache_keeps_the_recent_pages_and_asks_again_for_the_others() -> None:
    model, asked = paged(100, cache_pages=2)
    model.put_page(1, 4, page_rows(4, 10, 100))
    model.put_page(1, 7, page_rows(7, 10, 100))  # page 0 is evicted
    assert len(model.pages) == 2 and model.held(3) is None
    assert model.row_at(3) is None and asked[-1] == (1, 0)


def test_paged_cursor_follows_its_row_into_a_new_listing() -> None:
    model, _ = paged(50)
    assert model.move_cursor(to=4) and model.cursor_key == "k4"
    # A record was added on top (a reload): the cursor stays on k4, now one lower.
    model.set_source(
        lambda g, p: None, 51, [Row("new", "n", 0), *page_rows(0, 10, 50)[:9]], generation=2
    )
    assert model.cursor == 5 and model.cursor_key == "k4"
    # A filter that leaves it out: the cursor stays where it was (clamped to the listing).
    model.set_source(lambda g, p: None, 3, page_rows(0, 10, 3, prefix="f"), generation=3)
    assert model.cursor == 2 and model.cursor_key == "f2"
    model.set_total(0)
    assert model.cursor == 0 and model.cursor_row is None and not model.move_cursor(1)


def test_paged_position_of_knows_held_pages_only() -> None:
    model, _ = paged(100)
    assert model.position_of("k7") == 7 and model.position_of("k42") is None
    model.put_page(1, 4, page_rows(4, 10, 100))
    assert model.position_of("k42") == 42 and model.move_to("k42") and model.cursor == 42
