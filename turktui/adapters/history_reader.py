"""A read-only view of the history file on its own connection (for the UI's workers).

The writers share HistoryStore's connection and its lock; a reader here never takes either.
In WAL mode a reader sees the last committed state and never waits for a writer, in this
process or another, so a list page or a search answers while a batch (or another turktui)
holds the write lock. Searches use the FTS5 trigram index when the file has it (see
history.SEARCH_INDEX) and LIKE otherwise (short texts, or an SQLite without FTS5).

Blocking: every call does I/O; call it from a worker thread, never the UI thread.
"""

from __future__ import annotations

import contextlib
import sqlite3
import threading
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import quote

from turktui.adapters.history import (
    COLUMNS,
    SEARCH_TRIGGERS,
    HistoryError,
    attempt_from_row,
    describe_sqlite_error,
    record_from_row,
    search_index_available,
    where_clause,
)
from turktui.domain.records import Record, State

#: Shortest text the trigram index can find (shorter: LIKE).
TRIGRAM = 3


@dataclass(frozen=True)
class HistoryQuery:
    """What the history list shows: newest first, filtered."""

    text: str = ""
    states: tuple[State, ...] | None = None
    env_kind: str | None = None
    operator: str | None = None


class HistoryReader:
    """Reads one history file on a private read-only connection (thread-safe, blocking)."""

    #: see HistoryStore.LIKE (history_pg's reader overrides it)
    LIKE = "LIKE"

    def __init__(self, path: Path | str, *, busy_timeout: float = 2.0) -> None:
        self.path = Path(path)
        self._lock = threading.Lock()
        try:
            self._db = sqlite3.connect(
                f"file:{quote(str(self.path))}?mode=ro",
                uri=True,
                timeout=busy_timeout,
                isolation_level=None,
                check_same_thread=False,
            )
            triggers = {
                str(r[0])
                for r in self._db.execute("SELECT name FROM sqlite_master WHERE type = 'trigger'")
            }
        except sqlite3.Error as exc:
            with contextlib.suppress(Exception):
                self._db.close()
            raise HistoryError(
                f"cannot read the history file {self.path}: {describe_sqlite_error(exc)}"
            ) from exc
        #: whether searches use the FTS5 index (kept current by the writers' triggers)
        self.indexed = SEARCH_TRIGGERS.issubset(triggers) and search_index_available()

    def close(self) -> None:
        with self._lock:
            self._db.close()

    def interrupt(self) -> None:
        """Abort the statement running now (a search the operator has typed past). Any
        thread; the interrupted call raises HistoryError."""
        with contextlib.suppress(sqlite3.Error):
            self._db.interrupt()

    @contextlib.contextmanager
    def _reading(self) -> Iterator[sqlite3.Connection]:
        with self._lock:
            try:
                yield self._db
            except sqlite3.Error as exc:
                raise HistoryError(
                    f"cannot read the history file {self.path}: {describe_sqlite_error(exc)}"
                ) from exc

    def _where(self, query: HistoryQuery) -> tuple[str, list[Any]]:
        return where_clause(
            like=self.LIKE,
            text=query.text,
            states=query.states,
            env_kind=query.env_kind,
            operator=query.operator,
            indexed=self.indexed and len(query.text) >= TRIGRAM,
        )

    def page(self, query: HistoryQuery, offset: int, limit: int) -> list[Record]:
        where, params = self._where(query)
        with self._reading() as db:
            rows = db.execute(
                f"SELECT {COLUMNS} FROM requests{where} ORDER BY created DESC, id DESC "
                "LIMIT ? OFFSET ?",
                (*params, limit, offset),
            ).fetchall()
        return [record_from_row(r) for r in rows]

    def count(self, query: HistoryQuery) -> int:
        where, params = self._where(query)
        with self._reading() as db:
            return int(db.execute(f"SELECT count(*) FROM requests{where}", params).fetchone()[0])

    def get(self, record_id: int) -> Record | None:
        with self._reading() as db:
            row = db.execute(
                f"SELECT {COLUMNS} FROM requests WHERE id = ?", (record_id,)
            ).fetchone()
            if row is None:
                return None
            attempts = tuple(
                attempt_from_row(a)
                for a in db.execute(
                    "SELECT number, at, operation, outcome, error_code, error_message, duration "
                    "FROM attempts WHERE request_id = ? ORDER BY number",
                    (record_id,),
                )
            )
        return record_from_row(row, attempts)

    def batch_records(self, batch_id: str) -> list[Record]:
        with self._reading() as db:
            rows = db.execute(
                f"SELECT {COLUMNS} FROM requests WHERE batch_id = ? ORDER BY id", (batch_id,)
            ).fetchall()
        return [record_from_row(r) for r in rows]
