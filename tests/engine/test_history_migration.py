"""Issue 21: history files made before schema 5 migrate on open, and every old record still
reads correctly (operation, subject, texts). (A newer or damaged file is refused untouched:
tests/engine/test_history.py.)

The old schema is copied here as turktui shipped it (schema 4), not imported: the test must
keep describing the files that exist in the wild."""

from __future__ import annotations

import sqlite3
from pathlib import Path

from turktui.adapters.history import SCHEMA_VERSION, HistoryStore
from turktui.domain.records import State
from turktui.pipeline.operations import outcome_message

SCHEMA_4 = """
    CREATE TABLE requests (
        id INTEGER PRIMARY KEY AUTOINCREMENT,
        created REAL NOT NULL,
        updated REAL NOT NULL,
        env_kind TEXT NOT NULL,
        endpoint TEXT NOT NULL,
        profile TEXT,
        hit_id TEXT NOT NULL,
        hit_title TEXT NOT NULL DEFAULT '',
        n INTEGER NOT NULL,
        token TEXT NOT NULL,
        max_before INTEGER NOT NULL,
        expected_after INTEGER NOT NULL,
        expire_at REAL,
        state TEXT NOT NULL,
        error_code TEXT NOT NULL DEFAULT '',
        error_message TEXT NOT NULL DEFAULT '',
        attempt_count INTEGER NOT NULL DEFAULT 0,
        first_sent REAL,
        duration REAL,
        batch_id TEXT
    );
    CREATE INDEX requests_created ON requests(created DESC, id DESC);
    CREATE INDEX requests_state ON requests(state);
    CREATE INDEX requests_token ON requests(token);
    CREATE TABLE attempts (
        id INTEGER PRIMARY KEY AUTOINCREMENT,
        request_id INTEGER NOT NULL REFERENCES requests(id),
        number INTEGER NOT NULL,
        at REAL NOT NULL,
        operation TEXT NOT NULL,
        outcome TEXT NOT NULL,
        error_code TEXT NOT NULL DEFAULT '',
        error_message TEXT NOT NULL DEFAULT '',
        duration REAL
    );
    CREATE INDEX attempts_request ON attempts(request_id);


    ALTER TABLE requests ADD COLUMN expiry_state TEXT NOT NULL DEFAULT '';
    ALTER TABLE requests ADD COLUMN expiry_error TEXT NOT NULL DEFAULT '';
    ALTER TABLE requests ADD COLUMN note TEXT NOT NULL DEFAULT '';
    CREATE INDEX requests_hit ON requests(hit_id);


    ALTER TABLE requests ADD COLUMN owner TEXT NOT NULL DEFAULT '';
    ALTER TABLE requests ADD COLUMN actual_after INTEGER;
    ALTER TABLE requests ADD COLUMN target INTEGER;
    ALTER TABLE requests ADD COLUMN read_at REAL;
    ALTER TABLE requests ADD COLUMN read_at_server REAL;
    ALTER TABLE requests ADD COLUMN expiry_actual REAL;


    CREATE INDEX IF NOT EXISTS requests_batch ON requests(batch_id);
    """

FUTURE = 4102444800.0  # 2100-01-01


def _old_file(path: Path) -> None:
    db = sqlite3.connect(path)
    db.executescript(SCHEMA_4)
    db.execute("PRAGMA user_version = 4")
    rows = [
        # id 1: +2 succeeded; 2: +3 with a time tail (the old combined request); 3: time only;
        # 4: expire now; 5: +1 unknown, owned by a process
        ("H1", 2, "t1", 5, 7, None, "succeeded", "", ""),
        ("H2", 3, "t2", 1, 4, FUTURE, "succeeded", "succeeded", ""),
        ("H3", 0, "t3", 1, 1, FUTURE, "succeeded", "succeeded", ""),
        ("H4", 0, "t4", 1, 1, 0.0, "succeeded", "succeeded", ""),
        ("H5", 1, "t5", 2, 3, None, "unknown", "", "oldhost|1|2"),
    ]
    for hit, n, token, before, after, expire_at, state, expiry, owner in rows:
        db.execute(
            "INSERT INTO requests (created, updated, env_kind, endpoint, hit_id, n, token, "
            "max_before, expected_after, expire_at, state, expiry_state, owner) "
            "VALUES (1e9, 1e9, 'sandbox', 'https://x', ?, ?, ?, ?, ?, ?, ?, ?, ?)",
            (hit, n, token, before, after, expire_at, state, expiry, owner),
        )
    db.commit()
    db.close()


def test_a_schema_4_file_migrates_and_every_record_reads(tmp_path: Path) -> None:
    path = tmp_path / "history.sqlite3"
    _old_file(path)
    store = HistoryStore(path)
    try:
        assert store.schema_version == SCHEMA_VERSION
        records = {r.hit_id: r for r in store.query()}
        ops = {hit: r.operation for hit, r in records.items()}
        assert ops == {
            "H1": "add_assignments",
            "H2": "add_assignments",
            "H3": "update_expiration",
            "H4": "expire_now",
            "H5": "add_assignments",
        }
        assert all(r.subject == r.hit_id and r.group_id is None for r in records.values())
        assert all(r.data == {} and not r.damaged for r in records.values())
        assert records["H2"].change_label == "+3 +time"
        assert records["H4"].change_label == "expire"
        assert outcome_message(records["H1"]).startswith("Added 2 assignments to HIT H1")
        assert outcome_message(records["H4"]).startswith("Expired HIT H4")
        assert [r.hit_id for r in store.unsettled()] == ["H5"]
        assert records["H5"].state is State.UNKNOWN and records["H5"].owner == "oldhost|1|2"
    finally:
        store.close()
    again = HistoryStore(path)  # opening a migrated file changes nothing more
    try:
        assert again.schema_version == SCHEMA_VERSION and len(again.query()) == 5
    finally:
        again.close()
