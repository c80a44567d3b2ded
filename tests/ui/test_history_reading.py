"""The history is read off the UI thread, on its own connection, and searched via FTS5.

Issue 14: with the writers' shared connection held (a writer waiting for another process's
write lock), the history list waited seconds on the UI thread; a filter keystroke ran LIKE
over every column on the UI thread; a failing worker left no trace.
"""

from __future__ import annotations

import contextlib
import sqlite3
import threading
import time
from pathlib import Path
from typing import Any

import pytest

from tests.bulk.test_ui import start
from tests.ui.helpers import screen_text, show_history, wait_for
from turktui.adapters import history as history_module
from turktui.adapters.history import HistoryStore, open_history
from turktui.adapters.history_reader import HistoryQuery, HistoryReader
from turktui.domain.listmodel import PageCache
from turktui.domain.records import State, StateChanged
from turktui.ui import extend_flow
from turktui.ui.app import TurkTuiApp
from turktui.ui.screens.history import HistoryScreen, RecordList
from turktui.ui.widgets.vtable import VirtualTable

KEYS = ("AKIDTESTTESTTEST0000", "test-secret")


def _fill(store: HistoryStore, count: int) -> None:
    store.import_many(
        {
            "hit_id": f"HIT{i:06d}",
            "n": 1,
            "token": f"turktui-{i:08x}",
            "hit_title": f"Survey {i} about_things 100%",
            "max_before": 3,
            "expected_after": 4,
            "state": "succeeded" if i % 3 else "unknown",
        }
        for i in range(count)
    )


@pytest.fixture
def store(tmp_path: Path) -> Any:
    s = open_history(tmp_path / "h" / "history.sqlite3")
    yield s
    s.close()


# -- the reader ---------------------------------------------------------------------------
@pytest.mark.parametrize(
    "text",
    [
        "HIT00012",
        "survey 1",
        "ABOUT_THINGS",
        "100%",
        "unknown",
        "s",
        "12",
        "zzz",
        'a"b',
        "turktui-0000001",
    ],
)
def test_search_index_finds_what_like_finds(store: HistoryStore, text: str) -> None:
    _fill(store, 400)
    store.update(
        7, state=State.FAILED, error_code="ThrottlingException", error_message="Rate exceeded"
    )
    store.update(12, state=State.SENDING)  # being sent: out of the index, found by LIKE
    reader = HistoryReader(store.path)
    assert reader.indexed
    query = HistoryQuery(text=text)
    indexed = [r.id for r in reader.page(query, 0, 1000)]
    count = reader.count(query)
    reader.indexed = False  # the LIKE path: what an SQLite without FTS5 does
    assert [r.id for r in reader.page(query, 0, 1000)] == indexed
    assert reader.count(query) == count == len(indexed)
    reader.close()


def test_search_index_follows_updates(store: HistoryStore) -> None:
    _fill(store, 10)
    reader = HistoryReader(store.path)
    assert reader.count(HistoryQuery(text="Throttling")) == 0
    store.update(3, state=State.FAILED, error_code="ThrottlingException")
    assert [r.id for r in reader.page(HistoryQuery(text="throttling"), 0, 10)] == [3]
    store.update(3, error_code="")
    assert reader.count(HistoryQuery(text="throttling")) == 0
    reader.close()


def _indexed(path: Path, *, all_settled: bool = False) -> int:
    """How many records the search index holds; `all_settled` (none being sent): and it
    holds exactly what the records say (FTS5's integrity check, rank 1: the content too)."""
    con = sqlite3.connect(path, isolation_level=None)
    try:
        if all_settled:
            con.execute(
                "INSERT INTO requests_fts(requests_fts, rank) VALUES ('integrity-check', 1)"
            )
        return int(con.execute("SELECT count(*) FROM requests_fts_docsize").fetchone()[0])
    finally:
        con.close()


def _sending(count: int) -> list[dict[str, Any]]:
    return [
        {
            "env_kind": "sandbox",
            "endpoint": "https://mturk-requester-sandbox.us-east-1.amazonaws.com",
            "hit_id": "HITGROUP",
            "subject": f"ASSIGN{i:04d}",
            "n": 0,
            "token": f"turktui-group-{i:04d}",
            "max_before": count,
            "expected_after": count,
            "operation": "approve",
            "state": State.SENDING,
        }
        for i in range(count)
    ]


def test_a_group_is_indexed_once_at_its_verdict_in_one_statement(store: HistoryStore) -> None:
    """Issue 22's thousand approvals: a group's records, written "sending", are indexed
    once, when their verdict is written (one statement for alike verdicts), not at insert
    and again at the verdict; a search finds them all along."""
    _fill(store, 5)
    ids = store.insert(_sending(60), allow_second=False, started="ApproveAssignment")
    reader = HistoryReader(store.path)
    assert reader.indexed
    assert _indexed(store.path) == 5  # being sent: not indexed, yet found
    assert reader.count(HistoryQuery(text="turktui-group-00")) == 60
    statements: list[str] = []
    store._db.set_trace_callback(statements.append)
    try:
        store.together(
            [store.update_many_step(ids, expect=State.SENDING, state=State.SUCCEEDED, note="Okay")]
        )
    finally:
        store._db.set_trace_callback(None)
    # one statement (traced once more at each row its triggers run for)
    assert len({s for s in statements if s.startswith("UPDATE requests")}) == 1
    assert _indexed(store.path, all_settled=True) == 65
    assert reader.count(HistoryQuery(text="turktui-group-00")) == 60
    assert reader.count(HistoryQuery(text="okay")) == 60
    # the compare-and-set holds for all: one changed meanwhile, nothing is written
    store.update(ids[0], state=State.UNKNOWN)
    with pytest.raises(StateChanged):
        store.together([store.update_many_step(ids, expect=State.SUCCEEDED, note="Later")])
    assert reader.count(HistoryQuery(text="later")) == 0
    reader.close()


def test_an_earlier_turktuis_search_triggers_are_replaced(tmp_path: Path) -> None:
    """A file whose index an earlier turktui kept (records being sent indexed too) gets
    this version's triggers and an index that matches them when opened."""
    path = tmp_path / "h" / "history.sqlite3"
    store = open_history(path)
    ids = store.insert(_sending(3), allow_second=False, started="ApproveAssignment")
    store.close()
    s, new, old = history_module._S, history_module._NEW, history_module._OLD
    earlier = (
        f"CREATE TRIGGER requests_fts_insert AFTER INSERT ON requests BEGIN "
        f"INSERT INTO requests_fts(rowid, {s}) VALUES (new.id, {new}); END",
        f"CREATE TRIGGER requests_fts_update AFTER UPDATE OF {s} ON requests BEGIN "
        f"INSERT INTO requests_fts(requests_fts, rowid, {s}) VALUES ('delete', old.id, {old});"
        f" INSERT INTO requests_fts(rowid, {s}) VALUES (new.id, {new}); END",
    )
    con = sqlite3.connect(path, isolation_level=None)
    for name in ("requests_fts_insert", "requests_fts_update"):
        con.execute(f"DROP TRIGGER {name}")
    for statement in earlier:
        con.execute(statement)
    con.execute("INSERT INTO requests_fts(requests_fts) VALUES ('rebuild')")
    con.close()
    store = open_history(path)
    try:
        assert _indexed(path) == 0  # the records being sent left the index
        store.together([store.update_many_step(ids, state=State.SUCCEEDED)])
        assert _indexed(path, all_settled=True) == 3
    finally:
        store.close()


def test_without_fts5_the_triggers_go_and_come_back(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    path = tmp_path / "h" / "history.sqlite3"
    open_history(path).close()
    monkeypatch.setattr(history_module, "_search_available", False)
    store = open_history(path)  # an SQLite without FTS5: writes must not need the module
    _fill(store, 5)
    store.close()
    con = sqlite3.connect(path)
    triggers = {r[0] for r in con.execute("SELECT name FROM sqlite_master WHERE type='trigger'")}
    con.close()
    assert not triggers & history_module.SEARCH_TRIGGERS
    reader = HistoryReader(path)
    assert not reader.indexed and reader.count(HistoryQuery(text="HIT00000")) == 5
    reader.close()
    monkeypatch.setattr(history_module, "_search_available", True)
    open_history(path).close()  # FTS5 again: the index is rebuilt with what was written
    reader = HistoryReader(path)
    assert reader.indexed and reader.count(HistoryQuery(text="HIT000003")) == 1
    reader.close()


@pytest.mark.timing
def test_reader_answers_while_another_connection_holds_the_write_lock(store: HistoryStore) -> None:
    _fill(store, 300)
    other = sqlite3.connect(store.path, isolation_level=None)
    other.execute("BEGIN IMMEDIATE")
    other.execute("UPDATE requests SET note = 'x' WHERE id = 1")
    try:
        reader = HistoryReader(store.path)
        t0 = time.perf_counter()
        assert reader.count(HistoryQuery(text="Survey")) == 300
        assert len(reader.page(HistoryQuery(), 200, 200)) == 100
        assert time.perf_counter() - t0 < 1.0
        reader.close()
    finally:
        other.execute("ROLLBACK")
        other.close()


def test_page_cache_keeps_the_most_recently_used() -> None:
    cache = PageCache(2)
    cache.put(0, [])
    cache.put(1, [])
    assert cache.get(0) == []  # 0 is now the most recent
    cache.put(2, [])
    assert cache.get(1) is None and cache.get(0) == [] and cache.get(2) == [] and len(cache) == 2


# -- the screen -----------------------------------------------------------------------------
async def test_history_lists_and_filters_while_the_writer_waits_for_another_process(
    make_emulator: Any, make_context: Any
) -> None:
    """The app's own writer holds the store's connection for seconds (waiting for another
    process's write lock); the history screen still lists, scrolls and filters meanwhile: all
    of it is done while the writer still waits (its busy timeout is 15 s). How fast: the
    benchmark (tests/bench/bench_history.py, "Write lock held … history key → frame")."""
    server = make_emulator(0)
    ctx = make_context(server.url, credentials=KEYS)
    store = open_history(ctx.paths.history_db)
    _fill(store, 1000)
    store.close()
    app = TurkTuiApp(ctx)
    async with app.run_test(size=(120, 30)) as pilot:
        await start(pilot)
        history = extend_flow.get_history(app)
        assert history is not None
        other = sqlite3.connect(history.path, isolation_level=None, check_same_thread=False)
        other.execute("BEGIN IMMEDIATE")
        writer = threading.Thread(target=lambda: _blocked_write(history), daemon=True)
        writer.start()
        try:
            await wait_for(pilot, lambda: _held(history._lock), what="the writer to wait")
            screen = await show_history(pilot)
            assert screen.total == 1000
            await pilot.press("end")
            listing = screen.query_one(RecordList)
            await wait_for(pilot, lambda: listing.current is not None, what="the last record")
            assert listing.current.hit_id == "HIT000000"
            await pilot.press("slash", *"HIT00099")
            await wait_for(
                pilot,
                lambda: not screen.reading and screen.filter_text == "HIT00099",
                what="the filtered list",
            )
            assert screen.total == 10
            assert writer.is_alive()  # all of the above came while the writer still waits
        finally:
            other.execute("ROLLBACK")
            other.close()
            writer.join(20)
        await pilot.pause()
        text = screen_text(app)
        assert "HIT000990 " in text and "HIT000989" not in text, text


def _held(lock: Any) -> bool:
    """Whether another thread holds `lock` right now."""
    if lock.acquire(blocking=False):
        lock.release()
        return False
    return True


def _blocked_write(history: HistoryStore) -> None:
    with contextlib.suppress(Exception):  # the lock may outlast busy_timeout: not the point
        history.update(1, note="written after the other process let go")


async def test_a_failing_worker_is_shown_and_logged(make_emulator: Any, make_context: Any) -> None:
    server = make_emulator(0)
    app = TurkTuiApp(make_context(server.url, credentials=KEYS))
    async with app.run_test(size=(100, 30)) as pilot:
        await start(pilot)

        def boom() -> None:
            raise RuntimeError("the engine fell over")

        app.run_worker(boom, thread=True, group="extend", name="extend HIT1", exit_on_error=False)
        await wait_for(
            pilot,
            lambda: any("the engine fell over" in str(n.message) for n in app._notifications),
        )
        assert app.worker_failures == ["extend HIT1: Unexpected problem"]
        assert app.is_running  # nothing ended the app


# -- the list is the generic table over a paged model -----------------------------------------
async def _open_history(pilot: Any, app: TurkTuiApp) -> HistoryScreen:
    await start(pilot)
    screen: HistoryScreen = await show_history(pilot)
    return screen


async def test_rows_not_read_yet_show_as_reading_until_their_page_comes(
    make_emulator: Any, make_context: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    server = make_emulator(0)
    ctx = make_context(server.url, credentials=KEYS)
    store = open_history(ctx.paths.history_db)
    _fill(store, 1000)
    store.close()
    release = threading.Event()
    original = HistoryScreen._read_page

    def held(self: HistoryScreen, generation: int, page: int, query: HistoryQuery) -> None:
        release.wait(10)  # the worker's read takes as long as the test wants
        original(self, generation, page, query)

    monkeypatch.setattr(HistoryScreen, "_read_page", held)
    app = TurkTuiApp(ctx)
    async with app.run_test(size=(100, 24)) as pilot:
        screen = await _open_history(pilot, app)
        listing = screen.query_one(RecordList)
        assert isinstance(listing, VirtualTable) and listing.total == 1000
        await pilot.press("end")
        await pilot.pause()
        text = screen_text(app)
        assert listing.cursor == 999 and listing.current is None
        assert "\u25b6 #1,000 \u2026 reading" in text, text
        release.set()
        await wait_for(pilot, lambda: listing.current is not None)
        await pilot.pause()
        assert listing.current.hit_id == "HIT000000"
        line = next(ln for ln in screen_text(app).splitlines() if "\u25b6" in ln)
        assert line.startswith("\u25b6 1 ") and "HIT000000" in line and "reading" not in line


async def test_the_cursor_stays_on_its_record_when_the_list_is_read_again(
    make_emulator: Any, make_context: Any
) -> None:
    """A reload (after a resolve, a new request) keeps the cursor on the same record, not on
    the same line: a record added on top would otherwise put it on a neighbour."""
    server = make_emulator(0)
    ctx = make_context(server.url, credentials=KEYS)
    store = open_history(ctx.paths.history_db)
    _fill(store, 30)
    store.close()
    app = TurkTuiApp(ctx)
    async with app.run_test(size=(100, 24)) as pilot:
        screen = await _open_history(pilot, app)
        listing = screen.query_one(RecordList)
        await pilot.press("down", "down", "down")
        await pilot.pause()
        chosen = listing.current
        assert chosen is not None and listing.cursor == 3
        history = extend_flow.get_history(app)
        assert history is not None
        history.import_many(
            [
                {
                    "hit_id": "HITNEWEST",
                    "n": 1,
                    "token": "turktui-newest",
                    "hit_title": "Newest",
                    "max_before": 3,
                    "expected_after": 4,
                    "state": "succeeded",
                }
            ]
        )
        screen.reload()
        await wait_for(pilot, lambda: not screen.reading and screen.total == 31)
        assert screen.records[0].hit_id == "HITNEWEST"
        assert listing.cursor == 4 and listing.current is not None
        assert listing.current.id == chosen.id
        await pilot.press("slash", *"nothing like this")
        await wait_for(
            pilot,
            lambda: not screen.reading and screen.filter_text == "nothing like this",
        )
        await pilot.pause()
        assert screen.total == 0 and listing.current is None
        assert "no records match \u201cnothing like this\u201d" in screen_text(app)
