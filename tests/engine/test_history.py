"""The history store: permissions, schema versioning, corruption, concurrency, speed."""

from __future__ import annotations

import os
import sqlite3
import stat
import subprocess
import sys
from pathlib import Path

import pytest

from tests.engine.conftest import record_row
from turktui.adapters.history import (
    SCHEMA_VERSION,
    HistoryCorrupt,
    HistoryStore,
    HistoryTooNew,
)
from turktui.adapters.stores import open_store
from turktui.domain.records import State, record_to_json


def _add(store: HistoryStore, **kw) -> int:
    return store.create(**record_row(**{"endpoint": "http://x", "hit_title": "Title", **kw}))


def test_modes_are_private_whatever_the_umask(tmp_path: Path) -> None:
    old = os.umask(0)
    try:
        store = HistoryStore(tmp_path / "d" / "h.sqlite3")
        _add(store)
    finally:
        os.umask(old)
    assert stat.S_IMODE((tmp_path / "d").stat().st_mode) == 0o700
    for name in ("h.sqlite3", "h.sqlite3-wal"):
        path = tmp_path / "d" / name
        if path.exists():
            assert stat.S_IMODE(path.stat().st_mode) == 0o600, name
    assert store._db.execute("PRAGMA journal_mode").fetchone()[0] == "wal"
    store.close()


def test_roundtrip_query_filter_count(store: HistoryStore) -> None:
    a = _add(store, hit_title="Alpha survey", state=State.SUCCEEDED)
    b = _add(store, hit_title="Beta 100% _odd_", state=State.UNKNOWN)
    store.add_attempt(
        b,
        operation="X",
        outcome="error",
        at=store.get(b).created,
        error_code="ConnectionLost",
        error_message="dropped",
    )
    assert [r.id for r in store.query()] == [b, a]
    assert [r.id for r in store.query(text="alpha")] == [a]
    assert [r.id for r in store.query(text="100%")] == [b]
    assert store.count(text="%") == 1 and store.count(text="_") == 1
    assert [r.id for r in store.unsettled()] == [b]
    assert store.count(states=[State.SUCCEEDED]) == 1
    rec = store.get(b)
    assert rec.attempt_count == 1 and rec.attempts[0].error_code == "ConnectionLost"
    assert record_to_json(rec)["attempts"][0]["outcome"] == "error"
    assert store.get(999) is None


def test_migrates_old_schema_in_place(tmp_path: Path) -> None:
    from turktui.adapters.history import MIGRATIONS

    path = tmp_path / "h.db"
    db = sqlite3.connect(path)
    db.executescript(MIGRATIONS[0] + "PRAGMA user_version = 1;")
    db.execute(
        "INSERT INTO requests (created, updated, env_kind, endpoint, hit_id, n, token, "
        "max_before, expected_after, state) VALUES (1, 1, 'demo', 'e', 'H', 1, 't', 1, 2,"
        " 'succeeded')"
    )
    db.commit()
    db.close()
    store = HistoryStore(path)
    assert store.schema_version == SCHEMA_VERSION
    assert store.get(1).note == "" and store.count() == 1
    store.close()


def test_newer_schema_is_refused_untouched(tmp_path: Path) -> None:
    path = tmp_path / "h.db"
    HistoryStore(path).close()
    db = sqlite3.connect(path)
    db.execute(f"PRAGMA user_version = {SCHEMA_VERSION + 5}")
    db.commit()
    db.close()
    before = path.read_bytes()
    with pytest.raises(HistoryTooNew, match="newer turktui"):
        HistoryStore(path)
    assert path.read_bytes() == before


def test_corrupt_file_is_refused_untouched(tmp_path: Path) -> None:
    path = tmp_path / "h.db"
    path.write_bytes(b"this is not a database at all" * 100)
    before = path.read_bytes()
    with pytest.raises(HistoryCorrupt, match="damaged"):
        HistoryStore(path)
    assert path.read_bytes() == before


WRITER = """
import sys
from turktui.adapters.stores import open_store
store = open_store(sys.argv[1])
for i in range(int(sys.argv[3])):
    rid = store.create(env_kind="demo", endpoint="e", profile=None, hit_id=sys.argv[2],
                       hit_title="t", n=1, token=f"{sys.argv[2]}-{i}", max_before=1,
                       expected_after=2)
    store.add_attempt(rid, operation="X", outcome="ok", at=store.get(rid).created,
                      state="succeeded")
store.close()
"""


def test_two_processes_write_at_once_and_lose_nothing(history_at: Path | str) -> None:
    procs = [
        subprocess.Popen(
            [sys.executable, "-c", WRITER, str(history_at), who, "500"],
            stderr=subprocess.PIPE,
            text=True,
        )
        for who in ("A", "B")
    ]
    results = [(p.wait(timeout=120), p.stderr.read() if p.stderr else "") for p in procs]
    assert [code for code, _ in results] == [0, 0], results
    store = open_store(history_at)
    assert store.count() == 1000
    assert store.count(text="A-") == 500 and store.count(text="B-") == 500
    assert store.count(states=[State.SUCCEEDED]) == 1000
    store.close()


def test_stored_times_are_converted_once_each_and_by_type(tmp_path: Path) -> None:
    """Records read together share their times: each stored time is converted once (a
    group's thousand records hold a handful), and a stored 1 and True never share a
    conversion (True is no time: the record is damaged)."""
    from datetime import UTC, datetime

    from turktui.adapters.history import _dt

    assert _dt(1) == _dt(1.0) == datetime(1970, 1, 1, 0, 0, 1, tzinfo=UTC)
    assert _dt(True) is None and _dt(1) is not None
    store = HistoryStore(tmp_path / "h.sqlite3")
    now = datetime(2026, 6, 15, 12, 0, 0, 123456, tzinfo=UTC)
    ids = store.insert(
        [record_row(hit_id=f"H{i}", token=f"t-{i}", first_sent=now) for i in range(200)], now=now
    )
    before = _dt.cache_info()
    records = store.get_many(ids)
    after = _dt.cache_info()
    assert len(records) == 200 and {r.first_sent for r in records.values()} == {now}
    assert after.misses - before.misses <= 2 and after.hits - before.hits >= 590
