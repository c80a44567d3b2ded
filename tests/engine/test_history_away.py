"""The shared history away: nothing is sent while it cannot be written (the write-ahead
rule), the operator is told in one line, and what was recorded before the outage is settled
after it (tests.pg.Outage cuts the database's connections and refuses new ones)."""

from __future__ import annotations

import asyncio
from typing import Any

import pytest

from tests.pg import Outage
from tests.runcli import run_cli
from turktui.adapters.history import HistoryError, OutcomeNotRecorded
from turktui.adapters.stores import open_store, reader_of
from turktui.domain.records import State
from turktui.pipeline.engine import Backoff, Engine

OP = "CreateAdditionalAssignmentsForHIT"


def test_cli_sends_nothing_while_the_history_is_away(
    cli_env: dict[str, str], server: Any, pg_outage: Outage
) -> None:
    env = {**cli_env, "TURKTUI_HISTORY_URL": pg_outage.url + "?connect_timeout=2"}
    hit = server.state.add_hit(MaxAssignments=2, Reward="1.00")
    assert run_cli(env, "extend", hit, "1", "--endpoint-url", server.url).returncode == 0
    sent = server.state.request_count(OP)
    pg_outage.cut()
    away = run_cli(env, "extend", hit, "1", "--endpoint-url", server.url)
    assert away.returncode == 2, away.stdout + away.stderr
    assert "shared history unreachable" in away.stderr and "Traceback" not in away.stderr
    assert server.state.request_count(OP) == sent
    assert server.state.get_hit_raw(hit)["MaxAssignments"] == 3
    pg_outage.restore()
    assert run_cli(env, "extend", hit, "1", "--endpoint-url", server.url).returncode == 0
    assert server.state.get_hit_raw(hit)["MaxAssignments"] == 4


def test_an_open_store_reconnects_and_refuses_meanwhile(pg_outage: Outage) -> None:
    """The store and its kept reader (the history screen's) both: refused in one line while
    the database is away, reconnected by the next call once it is back."""
    from tests.engine.conftest import record_row
    from turktui.adapters.history_reader import HistoryQuery

    store = open_store(pg_outage.url)
    try:
        first = store.create(**record_row())
        reader = reader_of(store)
        assert reader.count(HistoryQuery()) == 1
        pg_outage.cut()
        with pytest.raises(HistoryError, match=r"unreachable|cannot write") as refused:
            store.create(**record_row(hit_id="H2", token="t2"))
        assert "\n" not in str(refused.value)
        with pytest.raises(HistoryError, match=r"cannot read|unreachable") as unread:
            reader.page(HistoryQuery(), 0, 10)
        assert "\n" not in str(unread.value)
        pg_outage.restore()
        assert store.get(first) is not None  # the next call reconnects
        store.create(**record_row(hit_id="H2", token="t2"))
        assert store.count() == 2
        assert reader_of(store) is reader and reader.count(HistoryQuery()) == 2
    finally:
        store.close()


def test_recorded_before_the_outage_settled_after_it(
    server: Any, service: Any, env: Any, pg_outage: Outage
) -> None:
    """The database goes away between the send and its outcome: the engine says the outcome
    is not recorded; once it is back, resolve settles the record (applied once)."""
    store = open_store(pg_outage.url)
    hit_id = server.state.add_hit(MaxAssignments=2, Reward="1.00")

    class CutAfterSend:
        def __getattr__(self, name: str) -> Any:
            return getattr(service, name)

        def create_additional_assignments(self, *args: Any, **kw: Any) -> Any:
            answer = service.create_additional_assignments(*args, **kw)
            pg_outage.cut()
            return answer

    fast = Backoff(attempts=2, base=0.01, cap=0.02, total=0.5)
    sent = server.state.request_count(OP)
    try:
        engine = Engine(CutAfterSend(), store, env, backoff=fast, seed=1)
        with pytest.raises(OutcomeNotRecorded):
            engine.extend(service.get_hit(hit_id), 2)
        assert server.state.get_hit_raw(hit_id)["MaxAssignments"] == 4
        pg_outage.restore()
        (record,) = store.unsettled()
        outcome = Engine(service, store, env, backoff=fast, seed=2).resolve(record)
        assert outcome.record.state is State.RESOLVED_SUCCEEDED
        # Applied once: resolve may re-send with the record's token, which MTurk refuses as
        # already processed; MaxAssignments moved once.
        assert server.state.get_hit_raw(hit_id)["MaxAssignments"] == 4
        assert server.state.request_count(OP) - sent in (1, 2)
    finally:
        store.close()


@pytest.mark.parametrize("size", [(80, 24), (160, 48)])
async def test_the_app_says_when_the_shared_history_is_away_and_back(
    make_emulator: Any,
    make_context: Any,
    pg_outage: Outage,
    monkeypatch: pytest.MonkeyPatch,
    size: tuple[int, int],
) -> None:
    from dataclasses import replace

    from tests.ui.helpers import notifications, screen_text, wait_for, wait_loaded
    from turktui.ui.app import TurkTuiApp
    from turktui.ui.shared_history import UNREACHABLE, SharedHistoryWatch

    monkeypatch.setattr(SharedHistoryWatch, "HEALTHY", 0.1)
    monkeypatch.setattr(SharedHistoryWatch, "FIRST", 0.1)
    ctx = make_context(make_emulator(3).url)
    ctx.paths = replace(ctx.paths, history_url=pg_outage.url + "?connect_timeout=2")
    app = TurkTuiApp(ctx)
    async with app.run_test(size=size) as pilot:
        await wait_loaded(pilot)
        watch = app.shared_history
        assert watch is not None
        await wait_for(pilot, lambda: watch.checks >= 1, what="a first check")
        assert "unreachable" not in screen_text(app)
        pg_outage.cut()
        await wait_for(pilot, lambda: app.history_unreachable, what="the outage seen")
        flat = " ".join(screen_text(app).split())
        assert f"\u26a0 {UNREACHABLE}" in flat
        assert "HIT" in flat  # HITs are still listed
        pg_outage.restore()
        await wait_for(pilot, lambda: app.history_unreachable is None, what="it back")
        assert UNREACHABLE not in " ".join(screen_text(app).split())
        titles = [n.title for n in notifications(app)]
        assert "Shared history unreachable" in titles and "Shared history" in titles


@pytest.mark.parametrize("size", [(80, 24), (160, 48)])
async def test_the_app_sees_another_operators_request_as_it_settles(
    make_emulator: Any, make_context: Any, pg_db_url: str, size: tuple[int, int]
) -> None:
    """LISTEN/NOTIFY: within a second of bob's request settling, a one-line notice says who
    did what to which HIT, and the HIT's row is read again."""
    import time
    from dataclasses import replace

    from tests.engine.conftest import record_row
    from tests.ui.helpers import notifications, screen_text, wait_for, wait_loaded
    from turktui.ui.app import TurkTuiApp

    server = make_emulator(3)
    ctx = make_context(server.url)
    ctx.paths = replace(ctx.paths, history_url=pg_db_url)
    app = TurkTuiApp(ctx)
    bob = open_store(pg_db_url, operator="bob@ops-3")
    try:
        async with app.run_test(size=size) as pilot:
            await wait_loaded(pilot)
            watch = app.shared_history
            assert watch is not None
            await wait_for(pilot, watch.listening.is_set, what="the live history listening")
            hit_id = app.main_screen.table.rows[0].hit_id
            before = server.state.get_hit_raw(hit_id)["MaxAssignments"]
            rid = bob.create(**record_row(hit_id=hit_id, endpoint=server.url, owner="ops-3|77|1"))
            server.state.update_hit(hit_id, MaxAssignments=before + 7)  # bob's change
            await pilot.pause()
            assert not [n for n in notifications(app) if n.title == "Another operator"]
            settled = time.monotonic()
            bob.update(rid, state=State.SUCCEEDED)
            await wait_for(
                pilot,
                lambda: any(n.title == "Another operator" for n in notifications(app)),
                what="the live notice",
            )
            assert time.monotonic() - settled < 5  # "within a second", with room for load
            # The announcement of the creation may be sent after the update committed: it
            # then carries "succeeded" too. Said once.
            await asyncio.to_thread(watch._changed_elsewhere, rid, "succeeded", "ops-3|77|1")
            await pilot.pause()
            (notice,) = [n for n in notifications(app) if n.title == "Another operator"]
            assert str(notice.message) == f"bob@ops-3: +2 on HIT {hit_id} \u2014 succeeded"
            await wait_for(
                pilot,
                lambda: (
                    next(
                        r for r in app.main_screen.table.rows if r.hit_id == hit_id
                    ).max_assignments
                    == before + 7
                ),
                what="the HIT's row read again",
            )
            banner_and_rows = " ".join(screen_text(app).split())
            assert f"Assignable {before + 7} " in banner_and_rows  # the row, as shown
    finally:
        bob.close()
