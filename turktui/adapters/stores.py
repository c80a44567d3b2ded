"""Which request history: the embedded SQLite file (the default) or a team's shared
PostgreSQL database, chosen by location (a path, or a postgresql:// URL: see
adapters.config.choose_history_url). Both are `History`: one interface, two adapters
(history.HistoryStore and history_pg.PgHistoryStore, which inherits its rules); each keeps
its read-only view for the UI (`reader_of`).
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterable, Iterator, Sequence
from datetime import datetime
from pathlib import Path
from typing import Any, Protocol, runtime_checkable

from turktui.adapters.config import is_database_url
from turktui.adapters.history import HistoryError, HistoryStore, open_history
from turktui.adapters.history_reader import HistoryReader
from turktui.domain.records import Record, State

#: What a PostgreSQL history needs that turktui does not install by default.
NEEDS_PSYCOPG = (
    "a PostgreSQL history needs psycopg, which is not installed: pip install 'turktui[postgres]'"
)


@runtime_checkable
class History(Protocol):
    """The request history store, whichever database keeps it. Every write is one
    transaction; every rule (one intent per HIT, compare-and-set, claims) is decided inside
    it: IntentBusy, StateChanged, OwnedElsewhere (nothing written); HistoryError when the
    store cannot be used (one line, fit to show)."""

    path: Any  # the location it was opened with (reopen with the same class)
    operator: str  # who this process's records are made by

    @property
    def where(self) -> str: ...
    @property
    def schema_version(self) -> int: ...
    def close(self) -> None: ...
    def ping(self) -> None: ...
    def keep_reader(self, make: Callable[[], Any]) -> Any: ...
    def watch_changes(
        self,
        on_change: Callable[[int, str, str], None],
        stop: threading.Event,
        ready: threading.Event | None = None,
    ) -> None: ...
    def create(self, **fields: Any) -> int: ...
    def insert(
        self,
        rows: Sequence[dict[str, Any]],
        *,
        now: datetime | None = None,
        allow_second: bool = True,
        started: str = "",
    ) -> list[int]: ...
    def create_many(
        self,
        rows: Sequence[dict[str, Any]],
        *,
        now: datetime | None = None,
        allow_second: bool = True,
    ) -> list[int]: ...
    def import_many(self, rows: Iterable[dict[str, Any]]) -> int: ...
    def update(
        self,
        record_id: int,
        *,
        now: datetime | None = None,
        expect: State | Iterable[State] | None = None,
        **values: Any,
    ) -> None: ...
    def claim(
        self,
        record_id: int,
        *,
        expect: State | Iterable[State],
        owner: str,
        now: datetime | None = None,
        take_over: bool = False,
    ) -> Record: ...
    def add_attempt(self, record_id: int, **fields: Any) -> int: ...
    def finish_attempt(self, record_id: int, number: int, **fields: Any) -> None: ...
    # the same writes as steps of one transaction (`together`: all or none, one commit)
    def update_step(self, record_id: int, **fields: Any) -> Callable[[Any], None]: ...
    def update_many_step(
        self, record_ids: Sequence[int], **fields: Any
    ) -> Callable[[Any], None]: ...
    def add_attempt_step(self, record_id: int, **fields: Any) -> Callable[[Any], int]: ...
    def finish_attempt_step(
        self, record_id: int, number: int, **fields: Any
    ) -> Callable[[Any], None]: ...
    def together(self, steps: Sequence[Callable[[Any], Any]]) -> list[Any]: ...
    def get(self, record_id: int, *, with_attempts: bool = True) -> Record | None: ...
    def get_many(self, record_ids: Sequence[int]) -> dict[int, Record]: ...
    def find_by_token(self, token: str) -> list[Record]: ...
    def query(self, **filters: Any) -> list[Record]: ...
    def count(self, **filters: Any) -> int: ...
    def unsettled(self) -> list[Record]: ...
    def unsettled_pages(self, page: int = 1000) -> Iterator[list[Record]]: ...
    def unsettled_for(self, endpoint: str, hit_ids: Sequence[str]) -> list[Record]: ...
    def intents_on(
        self, endpoint: str, subject: str, *, exclude: int | None = None
    ) -> list[tuple[Record, int]]: ...
    def sequence(self) -> int: ...
    def first_attempt(self, record_id: int) -> int: ...
    def group_records(self, group_id: str) -> list[Record]: ...
    def import_records(self, records: Iterable[Record]) -> tuple[int, int]: ...
    def batch_records(self, batch_id: str) -> list[Record]: ...
    def batch_states(self, batch_id: str) -> dict[State, int]: ...


def open_store(
    where: Path | str, *, operator: str | None = None, lease_seconds: float = 60.0
) -> HistoryStore:
    """Open the history at `where`: the PostgreSQL database a postgresql:// URL names, or
    the file (created if needed). HistoryError (one line, no password) when it cannot be.
    `operator` names who this process's records are made by (default user@host);
    `lease_seconds`: how long a record this process holds stays live after its last lease
    renewal (PostgreSQL: every 10 s while the process runs)."""
    if not is_database_url(where):
        try:
            return HistoryStore(where, operator=operator)
        except OSError:
            return open_history(where)  # says it in one line
    try:
        from turktui.adapters.history_pg import PgHistoryStore
    except ImportError as exc:
        if (exc.name or "").split(".")[0] != "psycopg":
            raise
        raise HistoryError(NEEDS_PSYCOPG) from None
    return PgHistoryStore(str(where), operator=operator, lease_seconds=lease_seconds)


def reader_of(store: HistoryStore) -> HistoryReader:
    """`store`'s read-only view for the UI's workers, on a connection of its own: made on
    first use, then kept (and closed) with the store, so reopening the history screen costs
    no connection (a PostgreSQL one costs more than the first page). Blocking: workers
    only. HistoryError when it cannot be made."""

    def make() -> HistoryReader:
        if is_database_url(store.path):
            from turktui.adapters.history_pg import PgHistoryReader

            return PgHistoryReader(str(store.path))
        return HistoryReader(store.path)

    reader: HistoryReader = store.keep_reader(make)
    return reader
