"""The request history: a SQLite store under the user data dir.

Every extension request is written here *before* it is sent, and every attempt and outcome
after, so that a crash, a lost connection or kill -9 never leaves a request nobody knows
about. Design points (and why):

* WAL + busy_timeout + `BEGIN IMMEDIATE`: the app and a CLI run can write at once.
* `PRAGMA user_version` + an append-only migration list: old files are upgraded in place;
  a file from a *newer* turktui is refused (never downgraded or overwritten).
* File 0600, directory 0700, set explicitly (umask-independent): it names HITs and accounts.
* An index on `created` keeps "newest first" instant with 100,000+ records.
* Records have owners ('host|pid|process start'): `claim` refuses a record whose owner is
  still running, and every state change can be a compare-and-set (`expect=`) on the state
  that was read (StateChanged, nothing written, when another process moved it).
* One intent per HIT: `create`/`create_many` with allow_second=False refuse (IntentBusy) a
  HIT with an unsettled record, checked inside the inserting transaction.
"""

from __future__ import annotations

import contextlib
import dataclasses
import functools
import os
import sqlite3
import stat
import threading
import time
from collections.abc import Callable, Iterable, Iterator, Sequence
from datetime import datetime, timedelta, timezone
from pathlib import Path
from typing import Any

from turktui.domain.records import (
    STATE_VALUES,
    UNSETTLED,
    Attempt,
    IntentBusy,
    OwnedElsewhere,
    Record,
    State,
    StateChanged,
    infer_operation,
)

UTC = timezone.utc


class HistoryError(Exception):
    """The history file cannot be used; the message says why and what to do."""


class HistoryBusy(HistoryError):
    """Another process held the history's write lock longer than `busy_timeout`: nothing
    was written (exit 7, `policy.EXIT_BUSY`)."""

    def __init__(self, path: Path | str, waited: float) -> None:
        super().__init__(
            f"the history file {path} is busy: another turktui process has held its write "
            f"lock for over {waited:g} s; nothing was written or sent: try again when it is done"
        )
        self.path = Path(path)


#: How long a write waits for another process's write lock before `HistoryBusy`.
BUSY_TIMEOUT = 15.0


class HistoryCorrupt(HistoryError):
    pass


class HistoryTooNew(HistoryError):
    pass


class OutcomeNotRecorded(HistoryError):
    """The history failed *after* a request was recorded (and maybe sent): the record stays
    unsettled, so `resolve` settles it once the history is writable again."""

    def __init__(self, message: str, record_id: int, *, maybe_sent: bool) -> None:
        super().__init__(message)
        self.record_id = record_id
        self.maybe_sent = maybe_sent


def describe_sqlite_error(exc: BaseException) -> str:
    """SQLite's terse text plus what it means for an operator."""
    text = str(exc)
    low = text.lower()
    if "full" in low:
        return f"the disk is full ({text})"
    if "readonly" in low or "read-only" in low:
        return f"the file or its directory is read-only ({text})"
    if "unable to open" in low:
        return f"the file cannot be opened ({text})"
    if "disk i/o" in low:
        return f"a disk I/O error occurred ({text})"
    return text


def _is_damage(exc: BaseException) -> bool:
    low = str(exc).lower()
    return any(word in low for word in ("malformed", "not a database", "corrupt", "encrypted"))


# -- owners: which process a record being sent belongs to ---------------------------------
def _proc_start(pid: int) -> str:
    """The process's start time in clock ticks since boot (Linux), '' when unknown."""
    try:
        with open(f"/proc/{pid}/stat", "rb") as fh:
            data = fh.read().decode("ascii", "replace")
    except OSError:
        return ""
    fields = data[data.rfind(")") + 2 :].split()
    return fields[19] if len(fields) > 19 else ""


def current_owner() -> str:
    """'host|pid|start' for this process (start distinguishes a reused pid)."""
    import socket

    pid = os.getpid()
    return f"{socket.gethostname()}|{pid}|{_proc_start(pid)}"


def default_operator() -> str:
    """Who records are made by when the config names no operator: user@host."""
    import getpass
    import socket

    try:
        user = getpass.getuser()
    except (KeyError, OSError):  # no passwd entry, no LOGNAME
        user = str(os.getuid())
    return f"{user}@{socket.gethostname()}"


#: A record owned by a process on another host cannot be checked: it counts as live until
#: it has not changed for this long (a send settles within minutes; batches record often).
OTHER_HOST_STALE = 3600.0


def other_host(owner: str) -> bool:
    """Is `owner` ('host|pid|start') a process on another machine than this one?"""
    import socket

    return bool(owner) and owner.split("|")[0] != socket.gethostname()


def live_until(
    updated: datetime | None, now: datetime, lease_until: datetime | None
) -> datetime | None:
    """When a record held by a process on another host stops counting as live: its lease's
    end on a shared history (the database's clock), else OTHER_HOST_STALE after its last
    change. Another host's clock may run ahead: a change in the future counts as now
    (`claim` writes the cap, so it stops counting an hour after it was first seen). None: no
    time to judge by (live until taken over)."""
    if lease_until is not None:
        return lease_until
    if updated is None:
        return None
    return min(updated, now) + timedelta(seconds=OTHER_HOST_STALE)


def owner_alive(
    owner: str,
    updated: datetime | None = None,
    now: datetime | None = None,
    lease_until: datetime | None = None,
) -> bool:
    """Is the process that owns a record still running? Unknown owners (records from before
    owners were recorded) are not; another host's are until OTHER_HOST_STALE passed."""
    if not owner:
        return False
    parts = owner.split("|")
    if len(parts) != 3 or not parts[1].isdigit():
        return False
    _, pid_text, start = parts
    if other_host(owner):
        moment = now or datetime.now(UTC)
        until = live_until(updated, moment, lease_until)
        return until is None or until > moment
    pid = int(pid_text)
    if pid == os.getpid():
        return start == _proc_start(pid) or not start
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        pass  # exists, someone else's
    except OSError:
        return False
    if start:
        return _proc_start(pid) in ("", start)
    return True


def _ts(moment: datetime | None) -> float | None:
    return None if moment is None else moment.timestamp()


def _check_updatable(values: dict[str, Any]) -> None:
    unknown = set(values) - _UPDATABLE
    if unknown:
        raise ValueError(f"cannot update {sorted(unknown)}")


def _columns(values: dict[str, Any]) -> dict[str, Any]:
    """Field values as SQLite stores them: states by value, datetimes as epoch seconds."""
    return {
        k: (v.value if isinstance(v, State) else _ts(v) if isinstance(v, datetime) else v)
        for k, v in values.items()
    }


@functools.lru_cache(maxsize=4096, typed=True)
def _dt(value: float | None) -> datetime | None:
    """A stored timestamp; None when absent or unreadable (text, 1e300, NaN). Remembered
    (by value and type): records written or read together share their times (a group's
    thousand records hold a handful of moments), and a conversion cost as much as the rest
    of reading a record."""
    if value is None or isinstance(value, bool) or not isinstance(value, (int, float)):
        return None
    try:
        return datetime.fromtimestamp(value, tz=UTC)
    except (OverflowError, OSError, ValueError):
        return None


class _RowReader:
    """Reads one stored row's fields tolerantly, naming the ones that are damaged."""

    def __init__(self) -> None:
        self.bad: list[str] = []

    def int(self, name: str, value: Any, default: int | None = 0) -> Any:
        if isinstance(value, int) and not isinstance(value, bool):
            return value
        if value is None and default is None:
            return None
        self.bad.append(name)
        return default

    def float(self, name: str, value: Any) -> float | None:
        if value is None:
            return None
        if isinstance(value, (int, float)) and not isinstance(value, bool) and value == value:
            return float(value)
        self.bad.append(name)
        return None

    def text(self, name: str, value: Any, *, optional: bool = False) -> Any:
        if isinstance(value, str):
            return value
        if value is None:
            return None if optional else ""
        self.bad.append(name)
        if isinstance(value, bytes):
            return value.decode("utf-8", "replace")
        return str(value)

    def moment(self, name: str, value: Any) -> datetime | None:
        if value is None:
            return None
        moment = _dt(value)
        if moment is None:
            self.bad.append(name)
        return moment


def _state_or_none(value: Any) -> State | None:
    try:
        return State(value)
    except ValueError:
        return None


def _expected(expect: State | Iterable[State] | None) -> tuple[State, ...]:
    if expect is None:
        return ()
    if isinstance(expect, State):
        return (expect,)
    return tuple(expect)


# Append-only: never edit a shipped step; add a new one. Index i upgrades version i → i+1.
MIGRATIONS: tuple[str, ...] = (
    """
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
    """,
    """
    ALTER TABLE requests ADD COLUMN expiry_state TEXT NOT NULL DEFAULT '';
    ALTER TABLE requests ADD COLUMN expiry_error TEXT NOT NULL DEFAULT '';
    ALTER TABLE requests ADD COLUMN note TEXT NOT NULL DEFAULT '';
    CREATE INDEX requests_hit ON requests(hit_id);
    """,
    """
    ALTER TABLE requests ADD COLUMN owner TEXT NOT NULL DEFAULT '';
    ALTER TABLE requests ADD COLUMN actual_after INTEGER;
    ALTER TABLE requests ADD COLUMN target INTEGER;
    ALTER TABLE requests ADD COLUMN read_at REAL;
    ALTER TABLE requests ADD COLUMN read_at_server REAL;
    ALTER TABLE requests ADD COLUMN expiry_actual REAL;
    """,
    """
    CREATE INDEX IF NOT EXISTS requests_batch ON requests(batch_id);
    """,
    # 5: every record names its operation (turktui.pipeline.operations registry), carries a
    # typed payload (JSON, the operation's own fields), its subject (the one-intent key: a
    # HIT today, an assignment for approve/bonus) and the group of a combined request.
    # Old records are given the operation they were made as.
    """
    ALTER TABLE requests ADD COLUMN operation TEXT NOT NULL DEFAULT '';
    ALTER TABLE requests ADD COLUMN payload TEXT NOT NULL DEFAULT '{}';
    ALTER TABLE requests ADD COLUMN subject TEXT NOT NULL DEFAULT '';
    ALTER TABLE requests ADD COLUMN group_id TEXT;
    UPDATE requests SET subject = hit_id, operation = CASE
        WHEN n = 0 AND expire_at IS NOT NULL AND target IS NULL AND expire_at <= 0
            THEN 'expire_now'
        WHEN n = 0 AND expire_at IS NOT NULL AND target IS NULL THEN 'update_expiration'
        ELSE 'add_assignments' END;
    CREATE INDEX requests_subject ON requests(subject);
    CREATE INDEX requests_group ON requests(group_id);
    """,
    # 6 (team mode, issue 23): who made each record (`operator`: a configurable name, default
    # user@host), and the lease of the process holding an unsettled one (epoch seconds on the
    # database's clock; PostgreSQL stores renew it, a file's stay NULL: pids decide there).
    """
    ALTER TABLE requests ADD COLUMN operator TEXT NOT NULL DEFAULT '';
    ALTER TABLE requests ADD COLUMN lease_until REAL;
    CREATE INDEX requests_operator ON requests(operator);
    """,
)
SCHEMA_VERSION = len(MIGRATIONS)

_COLUMNS = (
    "id, created, updated, env_kind, endpoint, profile, hit_id, hit_title, n, token, "
    "max_before, expected_after, expire_at, state, error_code, error_message, attempt_count, "
    "first_sent, duration, batch_id, expiry_state, expiry_error, note, owner, actual_after, "
    "target, read_at, read_at_server, expiry_actual, operation, payload, subject, group_id, "
    "operator, lease_until"
)
_SEARCHABLE = (
    "hit_id",
    "hit_title",
    "token",
    "state",
    "error_code",
    "error_message",
    "note",
    "batch_id",
)  # batch_id: typing a batch id lists its members
#: Substring search over _SEARCHABLE: an external-content FTS5 table with the trigram
#: tokenizer (matches like LIKE '%text%' for 3+ characters), kept by triggers. Optional: not
#: a schema step (an SQLite without FTS5 must still open the file); see _ensure_search.
#: A record being sent (UNINDEXED_STATE) is left out of the index: such records are few
#: (requests on the wire) and a search finds them by LIKE (where_clause). A group of a
#: thousand approvals is recorded "sending" and settled moments later: each record is
#: indexed once, as settled, in its verdict's one statement (FTS5 work is cheap in bulk and
#: dear per statement), not at its insert and again (removed, re-added) at its verdict. An
#: update that changes no searchable value re-indexes nothing.
UNINDEXED_STATE = State.SENDING.value
_S = ", ".join(_SEARCHABLE)
_NEW = ", ".join("new." + c for c in _SEARCHABLE)
_OLD = ", ".join("old." + c for c in _SEARCHABLE)
_CHANGED = " OR ".join(f"old.{c} IS NOT new.{c}" for c in _SEARCHABLE)
_SEARCH_TRIGGER_SQL: dict[str, str] = {
    "requests_fts_insert": f"""CREATE TRIGGER requests_fts_insert AFTER INSERT ON requests
        WHEN new.state != '{UNINDEXED_STATE}' BEGIN
        INSERT INTO requests_fts(rowid, {_S}) VALUES (new.id, {_NEW});
    END""",
    "requests_fts_delete": f"""CREATE TRIGGER requests_fts_delete AFTER DELETE ON requests
        WHEN old.state != '{UNINDEXED_STATE}' BEGIN
        INSERT INTO requests_fts(requests_fts, rowid, {_S}) VALUES ('delete', old.id, {_OLD});
    END""",
    "requests_fts_update": f"""CREATE TRIGGER requests_fts_update AFTER UPDATE OF {_S} ON requests
        WHEN {_CHANGED} BEGIN
        INSERT INTO requests_fts(requests_fts, rowid, {_S})
            SELECT 'delete', old.id, {_OLD} WHERE old.state != '{UNINDEXED_STATE}';
        INSERT INTO requests_fts(rowid, {_S})
            SELECT new.id, {_NEW} WHERE new.state != '{UNINDEXED_STATE}';
    END""",
}
SEARCH_INDEX: tuple[str, ...] = (
    f"""CREATE VIRTUAL TABLE IF NOT EXISTS requests_fts USING fts5({_S},
        content='requests', content_rowid='id', tokenize='trigram')""",
    *_SEARCH_TRIGGER_SQL.values(),
)
_SEARCH_TRIGGERS = frozenset(_SEARCH_TRIGGER_SQL)
_search_available: bool | None = None


def search_index_available() -> bool:
    """Whether this SQLite has FTS5 with the trigram tokenizer (3.34+), checked once."""
    global _search_available
    if _search_available is None:
        try:
            probe = sqlite3.connect(":memory:")
            try:
                probe.execute("CREATE VIRTUAL TABLE t USING fts5(a, tokenize='trigram')")
                _search_available = True
            finally:
                probe.close()
        except sqlite3.Error:
            _search_available = False
    return _search_available


_UPDATABLE = {
    "state",
    "error_code",
    "error_message",
    "first_sent",
    "duration",
    "expiry_state",
    "expiry_error",
    "note",
    "hit_title",
    "batch_id",
    "owner",
    "actual_after",
    "read_at",
    "read_at_server",
    "expiry_actual",
    "n",
    "max_before",
    "expected_after",
    "payload",
}


def _is_busy(exc: BaseException) -> bool:
    text = str(exc).lower()
    return "locked" in text or "busy" in text


def _prepare_dir(directory: Path) -> None:
    """Create the data directory 0700 (chmod explicitly: umask must not loosen it).

    A directory that is a symbolic link (e.g. to another disk) is used but never chmod-ed:
    its target's permissions are its owner's choice, not turktui's to change. Nor is a shared
    directory with the sticky bit (`/tmp`): a history file placed there is 0600 on its own,
    and tightening `/tmp` would lock every other user (and service) out of it."""
    directory.mkdir(parents=True, exist_ok=True)
    try:
        info = os.lstat(directory)
        if (
            stat.S_ISDIR(info.st_mode)
            and not info.st_mode & stat.S_ISVTX
            and info.st_uid == os.getuid()
            and stat.S_IMODE(info.st_mode) != 0o700
        ):
            os.chmod(directory, 0o700, follow_symlinks=False)
    except (OSError, NotImplementedError):  # pragma: no cover - owned by someone else
        pass


def _create_file(path: Path) -> None:
    """Create the database file 0600 before SQLite does (SQLite would honour the umask).
    O_NOFOLLOW|O_EXCL: a symbolic link in its place is never followed."""
    try:
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_NOFOLLOW, 0o600)
    except FileExistsError:
        return
    os.fchmod(fd, 0o600)
    os.close(fd)


def _check_regular(path: Path) -> None:
    """Refuse a history path that is a symbolic link or not a regular file: SQLite would
    follow it and write turktui's tables (and WAL mode) into whatever it points at."""
    try:
        info = os.lstat(path)
    except FileNotFoundError:
        return
    if stat.S_ISLNK(info.st_mode):
        raise HistoryError(
            f"the history file {path} is a symbolic link; turktui does not follow it (it "
            "could point at another program's data). It was left untouched: replace it "
            "with a regular file, or set XDG_DATA_HOME to another directory."
        )
    if not stat.S_ISREG(info.st_mode):
        raise HistoryError(f"the history file {path} is not a regular file. It was left untouched.")


_OWN_TABLES = frozenset({"requests", "attempts", "sqlite_sequence", "sqlite_stat1"}) | frozenset(
    {"requests_fts"} | {f"requests_fts_{part}" for part in ("data", "idx", "docsize", "config")}
)


def _record_columns(rec: Record) -> dict[str, Any]:
    """A Record as its stored columns (all but `id`), the inverse of HistoryStore._row."""
    return _columns(
        {
            "created": rec.created,
            "updated": rec.updated,
            "env_kind": rec.env_kind,
            "endpoint": rec.endpoint,
            "profile": rec.profile,
            "hit_id": rec.hit_id,
            "hit_title": rec.hit_title,
            "n": rec.n,
            "token": rec.token,
            "max_before": rec.max_before,
            "expected_after": rec.expected_after,
            "expire_at": rec.expire_at,
            "state": rec.state,
            "error_code": rec.error_code,
            "error_message": rec.error_message,
            "attempt_count": rec.attempt_count,
            "first_sent": rec.first_sent,
            "duration": rec.duration,
            "batch_id": rec.batch_id,
            "expiry_state": rec.expiry_state,
            "expiry_error": rec.expiry_error,
            "note": rec.note,
            "owner": rec.owner,
            "actual_after": rec.actual_after,
            "target": rec.target,
            "read_at": rec.read_at,
            "read_at_server": rec.read_at_server,
            "expiry_actual": rec.expiry_actual,
            "operation": rec.operation,
            "payload": rec.payload,
            "subject": rec.subject or rec.hit_id,
            "group_id": rec.group_id,
            "operator": rec.operator,
            "lease_until": rec.lease_until,
        }
    )


def where_clause(
    *,
    like: str = "LIKE",
    text: str | None = None,
    states: Iterable[State | str] | None = None,
    env_kind: str | None = None,
    endpoint: str | None = None,
    indexed: bool = False,
    operator: str | None = None,
) -> tuple[str, list[Any]]:
    """THE filter of a listing (store and reader): ' WHERE …' and its parameters. `text`
    matches any searchable column (`like` is the dialect's case-insensitive LIKE); indexed:
    through SQLite's FTS5 trigram index instead (3+ characters, see SEARCH_INDEX)."""
    clauses: list[str] = []
    params: list[Any] = []
    if env_kind is not None:
        clauses.append("env_kind = ?")
        params.append(env_kind)
    if endpoint is not None:
        clauses.append("endpoint = ?")
        params.append(endpoint)
    if operator is not None:
        clauses.append("operator = ?")
        params.append(operator)
    if states is not None:
        values = [State(s).value for s in states]
        clauses.append(f"state IN ({', '.join('?' for _ in values)})")
        params.extend(values)
    if text:
        pattern = "%" + text.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
        pattern += "%"
        matches = "(" + " OR ".join(f"{c} {like} ? ESCAPE '\\'" for c in _SEARCHABLE) + ")"
        if indexed:  # the index, and the few records it leaves out (being sent) by LIKE
            clauses.append(
                "(id IN (SELECT rowid FROM requests_fts WHERE requests_fts MATCH ?) OR "
                f"(state = ? AND {matches}))"
            )
            params.extend(['"' + text.replace('"', '""') + '"', UNINDEXED_STATE])
        else:
            clauses.append(matches)
        params.extend([pattern] * len(_SEARCHABLE))
    return (" WHERE " + " AND ".join(clauses)) if clauses else "", params


class HistoryStore:
    """Thread-safe access to one history file (one connection, guarded by a lock).

    The rules (one intent per HIT, compare-and-set, claims, the record mapping) live here
    once; the PostgreSQL store (turktui.adapters.history_pg) inherits them and overrides
    only how it connects, runs a transaction and the few hooks below where SQL differs."""

    # -- where the two databases differ (history_pg overrides these) -------------------------
    #: a case-insensitive substring match (SQLite's LIKE is one, for ASCII)
    LIKE = "LIKE"
    #: after the read a compare-and-set decides on: SQLite's BEGIN IMMEDIATE already holds
    #: the database's one write lock, so nothing can change the row meanwhile
    FOR_UPDATE = ""
    #: after an INSERT, when the new id comes back as a row (else cursor.lastrowid)
    RETURNING = ""

    def _lock_hits(self, db: Any, keys: Iterable[tuple[str, str]]) -> None:
        """Inside a write transaction, before the one-intent check: serialise every writer
        of these (endpoint, HIT) pairs until it commits. SQLite: its one write lock does."""

    #: who this process's records name as their maker (see default_operator)
    operator: str = ""

    def _changed(self, db: Any, ids: Sequence[int]) -> None:
        """Inside a write transaction: these records were added or changed state (the ones
        other operators' apps hear about; PostgreSQL announces them after the commit, see
        history_pg). SQLite: nothing (a file announces nothing)."""

    def _stamp_leases(self, db: Any, ids: Sequence[int]) -> None:
        """Inside the transaction that took records (insert, claim): start their lease.
        SQLite: none (the owner's pid is checked on this machine)."""

    def _held(
        self,
        db: Any,
        holder: str,
        updated: datetime | None,
        lease_until: datetime | None,
        stamp: float,
    ) -> bool:
        """Inside a claim: does another, live process hold the record? (SQLite: its pid on
        this host; another host's until OTHER_HOST_STALE after its last change.)"""
        return owner_alive(holder, updated, _dt(stamp), lease_until)

    def _compare(self, db: Any, record_ids: Sequence[int], expected: tuple[State, ...]) -> None:
        """Inside a write transaction: StateChanged unless every record is in `expected`
        (the first that is not is named; the rows stay locked until commit where the
        database locks rows)."""
        if not expected and not self.FOR_UPDATE:
            return
        marks = ", ".join("?" for _ in record_ids)
        found = dict(
            db.execute(
                f"SELECT id, state FROM requests WHERE id IN ({marks}){self.FOR_UPDATE}",
                tuple(record_ids),
            ).fetchall()
        )
        for record_id in record_ids:
            actual = _state_or_none(found[record_id]) if record_id in found else None
            if expected and actual not in expected:
                raise StateChanged(record_id, expected, actual)

    def watch_changes(
        self,
        on_change: Callable[[int, str, str], None],
        stop: threading.Event,
        ready: threading.Event | None = None,
    ) -> None:
        """Other processes' changes as they commit (a shared history: see history_pg). A
        file announces nothing: returns at once."""

    #: the read-only view kept with the store (see keep_reader), None until first asked for
    _reader: Any = None

    def keep_reader(self, make: Callable[[], Any]) -> Any:
        """The read-only view of this history kept with the store: made by `make` on first
        use, then the same one, closed with the store (adapters.stores.reader_of makes it:
        every history screen of a session lists through it)."""
        with self._reader_lock:
            if self._reader is None:
                self._reader = make()
            return self._reader

    def _close_reader(self) -> None:
        with self._reader_lock:
            reader, self._reader = self._reader, None
        if reader is not None:
            reader.interrupt()
            with contextlib.suppress(Exception):
                reader.close()

    def ping(self) -> None:
        """HistoryError unless the history answers now (team mode checks the database)."""
        with self._reading() as db:
            db.execute("SELECT 1").fetchone()

    @property
    def where(self) -> str:
        """Where this history lives, fit to show (a file name; a URL without its password)."""
        return str(self.path)

    def __init__(
        self,
        path: Path | str,
        *,
        busy_timeout: float | None = None,
        operator: str | None = None,
    ) -> None:
        self.path = Path(path)
        busy_timeout = BUSY_TIMEOUT if busy_timeout is None else busy_timeout
        self._busy_timeout = busy_timeout
        self.operator = operator or default_operator()
        self._lock = threading.RLock()
        self._reader_lock = threading.Lock()
        _prepare_dir(self.path.parent)
        _check_regular(self.path)
        existed = self.path.exists()
        if existed and self.path.stat().st_size == 0:
            existed = False  # created by us a moment ago (or by a racing process)
        if not existed:
            _create_file(self.path)
        _check_regular(self.path)  # again: it may have been swapped meanwhile
        try:
            self._db = sqlite3.connect(
                str(self.path),
                timeout=busy_timeout,
                isolation_level=None,
                check_same_thread=False,
            )
        except sqlite3.Error as exc:
            raise HistoryError(f"cannot open the history file {self.path}: {exc}") from exc
        deadline = time.monotonic() + busy_timeout
        while True:
            try:
                self._init(busy_timeout)
                break
            except HistoryError:
                self._db.close()
                raise
            except sqlite3.OperationalError as exc:
                # Another process may be creating or migrating the same file right now; a
                # few SQLite paths (WAL set-up/recovery) answer BUSY without waiting.
                if _is_busy(exc) and time.monotonic() < deadline:
                    time.sleep(0.02)
                    continue
                self._db.close()
                if _is_busy(exc):
                    raise HistoryBusy(self.path, busy_timeout) from exc
                if not _is_damage(exc):
                    # Read-only, full disk, I/O: the file is fine, the place is not.
                    raise HistoryError(
                        f"cannot use the history file {self.path}: {describe_sqlite_error(exc)}"
                        ". It was left untouched."
                    ) from exc
                raise HistoryCorrupt(self._corrupt_message(exc)) from exc
            except sqlite3.DatabaseError as exc:
                self._db.close()
                raise HistoryCorrupt(self._corrupt_message(exc)) from exc
        for suffix in ("", "-wal", "-shm"):  # existing files too: brought to 0600
            side = Path(str(self.path) + suffix)
            try:
                info = os.lstat(side)
                if (
                    stat.S_ISREG(info.st_mode)
                    and info.st_uid == os.getuid()
                    and stat.S_IMODE(info.st_mode) & 0o077
                ):
                    os.chmod(side, 0o600)
            except OSError:  # absent, or not ours
                pass

    def _check_size(self) -> None:
        """A truncated file still opens (page 1 is intact) and fails later, mid-operation.
        Its header promises more pages than the file holds: refuse it now, untouched."""
        pages = int(self._db.execute("PRAGMA page_count").fetchone()[0])
        size = int(self._db.execute("PRAGMA page_size").fetchone()[0])
        wal = Path(str(self.path) + "-wal")
        with contextlib.suppress(OSError):
            if wal.exists() and wal.stat().st_size > 0:
                return  # pages may live in the WAL until a checkpoint: the size proves nothing
        actual = self.path.stat().st_size
        if pages and actual < pages * size:
            raise sqlite3.DatabaseError(
                f"database disk image is malformed: {actual:,} bytes, the header promises "
                f"{pages * size:,} (the file was truncated)"
            )

    def _corrupt_message(self, exc: BaseException) -> str:
        return (
            f"the history file {self.path} is damaged or not a turktui history ({exc}). "
            "It was left untouched: move it aside to start a new history."
        )

    def _init(self, busy_timeout: float) -> None:
        """Pragmas, version check and migrations (retried as a whole when BUSY)."""
        self._db.execute(f"PRAGMA busy_timeout = {int(busy_timeout * 1000)}")
        version = self._db.execute("PRAGMA user_version").fetchone()[0]
        if version > SCHEMA_VERSION:
            raise HistoryTooNew(
                f"the history file {self.path} was written by a newer turktui (schema "
                f"{version}; this version knows up to {SCHEMA_VERSION}). Upgrade turktui; "
                "the file was left untouched."
            )
        # Reading the schema detects "file is not a database" before anything is written.
        tables = {
            str(row[0])
            for row in self._db.execute("SELECT name FROM sqlite_master WHERE type = 'table'")
        }
        if (tables - _OWN_TABLES) or (version > 0 and "requests" not in tables):
            # Another program's SQLite database: never adopt it (no tables, no WAL mode).
            raise HistoryError(
                f"the file {self.path} is another program's SQLite database, not a turktui "
                "history. It was left untouched: move it, or point XDG_DATA_HOME elsewhere."
            )
        self._check_size()
        mode = self._db.execute("PRAGMA journal_mode").fetchone()[0]
        if str(mode).lower() != "wal":
            mode = self._db.execute("PRAGMA journal_mode = WAL").fetchone()[0]
        if str(mode).lower() != "wal":  # pragma: no cover - e.g. a network filesystem
            raise HistoryError(f"the history file {self.path} cannot use WAL mode ({mode})")
        self._db.execute("PRAGMA synchronous = FULL")
        self._db.execute("PRAGMA foreign_keys = ON")
        self._migrate(version)
        self._ensure_search(busy_timeout)

    # -- plumbing --------------------------------------------------------------------------
    def _migrate(self, version: int) -> None:
        if version == SCHEMA_VERSION:
            return
        self._db.execute("BEGIN IMMEDIATE")
        try:
            # Re-read under the write lock: another process may have migrated meanwhile.
            current = self._db.execute("PRAGMA user_version").fetchone()[0]
            if current > SCHEMA_VERSION:
                raise HistoryTooNew(f"the history file {self.path} was upgraded by a newer turktui")
            for step in range(current, SCHEMA_VERSION):
                for statement in MIGRATIONS[step].split(";"):
                    if statement.strip():
                        self._db.execute(statement)
                self._db.execute(f"PRAGMA user_version = {step + 1}")
            self._db.execute("COMMIT")
        except BaseException:
            self._db.execute("ROLLBACK")
            raise

    def _ensure_search(self, busy_timeout: float) -> None:
        """The FTS5 search index (see SEARCH_INDEX), kept by triggers; optional.

        Without FTS5 (or its trigram tokenizer) the triggers are dropped so writes never fail
        on a missing module; searches then use LIKE, and the index is rebuilt the next time
        an SQLite with FTS5 opens the file. Triggers of another definition (an earlier
        turktui's, which indexed records being sent too) are replaced and the index rebuilt
        to match. Another process writing right now: try next time."""
        have = search_index_available()
        triggers = {
            str(r[0]): str(r[1])
            for r in self._db.execute("SELECT name, sql FROM sqlite_master WHERE type = 'trigger'")
        }
        if have:
            if all(triggers.get(name) == sql for name, sql in _SEARCH_TRIGGER_SQL.items()):
                return
        elif not _SEARCH_TRIGGERS & triggers.keys():
            return
        self._db.execute("PRAGMA busy_timeout = 100")
        try:
            self._db.execute("BEGIN IMMEDIATE")
        except sqlite3.OperationalError:  # busy: another writer; the next open does it
            self._db.execute(f"PRAGMA busy_timeout = {int(busy_timeout * 1000)}")
            return
        try:
            for name in _SEARCH_TRIGGERS:
                self._db.execute(f"DROP TRIGGER IF EXISTS {name}")
            if have:
                for statement in SEARCH_INDEX:
                    self._db.execute(statement)
                self._db.execute("INSERT INTO requests_fts(requests_fts) VALUES ('rebuild')")
                self._db.execute(
                    f"INSERT INTO requests_fts(requests_fts, rowid, {_S}) "
                    f"SELECT 'delete', id, {_S} FROM requests WHERE state = ?",
                    (UNINDEXED_STATE,),
                )
            self._db.execute("COMMIT")
        except sqlite3.Error:  # read-only file, full disk, a damaged row: searches use LIKE
            with contextlib.suppress(sqlite3.Error):
                self._db.execute("ROLLBACK")
        except BaseException:
            with contextlib.suppress(sqlite3.Error):
                self._db.execute("ROLLBACK")
            raise
        finally:
            self._db.execute(f"PRAGMA busy_timeout = {int(busy_timeout * 1000)}")

    def _write(self, fn: Any) -> Any:
        """Run fn(cursor) in one IMMEDIATE transaction (waits politely for other writers)."""
        with self._lock:
            try:
                self._db.execute("BEGIN IMMEDIATE")
            except sqlite3.Error as exc:
                if _is_busy(exc):
                    raise HistoryBusy(self.path, self._busy_timeout) from exc
                raise HistoryError(
                    f"cannot write the history file {self.path}: {describe_sqlite_error(exc)}"
                ) from exc
            try:
                result = fn(self._db)
                self._db.execute("COMMIT")
                return result
            except sqlite3.Error as exc:
                # Full disk, read-only file, I/O error, damage found mid-write: a HistoryError
                # callers can show, never a raw sqlite3 traceback. Nothing was committed.
                with contextlib.suppress(sqlite3.Error):
                    self._db.execute("ROLLBACK")
                raise HistoryError(
                    f"cannot write the history file {self.path}: {describe_sqlite_error(exc)}"
                ) from exc
            except BaseException:
                with contextlib.suppress(sqlite3.Error):
                    self._db.execute("ROLLBACK")
                raise

    def close(self) -> None:
        """Checkpoint the WAL into the file (so it does not grow across sessions), close."""
        self._close_reader()
        with self._lock:
            with contextlib.suppress(sqlite3.Error):
                # Briefly: another process reading or writing keeps its part of the WAL.
                self._db.execute("PRAGMA busy_timeout = 200")
                self._db.execute("PRAGMA wal_checkpoint(TRUNCATE)")
            self._db.close()

    def __enter__(self) -> HistoryStore:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    @contextlib.contextmanager
    def _reading(self) -> Iterator[sqlite3.Connection]:
        """The lock, and sqlite3 errors (a file damaged after opening) as HistoryError."""
        with self._lock:
            try:
                yield self._db
            except sqlite3.Error as exc:
                raise HistoryError(
                    f"cannot read the history file {self.path}: {describe_sqlite_error(exc)}"
                ) from exc

    @property
    def schema_version(self) -> int:
        with self._reading() as db:
            return int(db.execute("PRAGMA user_version").fetchone()[0])

    # -- writes ----------------------------------------------------------------------------
    def create(
        self,
        *,
        env_kind: str,
        endpoint: str,
        profile: str | None,
        hit_id: str,
        hit_title: str,
        n: int,
        token: str,
        max_before: int,
        expected_after: int,
        expire_at: datetime | None = None,
        state: State = State.PLANNED,
        batch_id: str | None = None,
        now: datetime | None = None,
        owner: str | None = None,
        target: int | None = None,
        allow_second: bool = True,
    ) -> int:
        """Insert a new record (committed durably when this returns); returns its id.

        With allow_second=False the insert is refused (IntentBusy, nothing written) when the
        HIT already has an unsettled request on this endpoint: the check and the insert are
        one IMMEDIATE transaction, so two processes cannot both pass it."""
        row = {
            "env_kind": env_kind,
            "endpoint": endpoint,
            "profile": profile,
            "hit_id": hit_id,
            "hit_title": hit_title,
            "n": n,
            "token": token,
            "max_before": max_before,
            "expected_after": expected_after,
            "expire_at": expire_at,
            "state": state,
            "batch_id": batch_id,
            "owner": owner,
            "target": target,
        }
        return self.insert([row], now=now, allow_second=allow_second)[0]

    def _busy(self, db: sqlite3.Connection, endpoint: str, hit_ids: Sequence[str]) -> list[Record]:
        """Unsettled records on these subjects (HITs; same endpoint), oldest first."""
        out: list[Record] = []
        states = [s.value for s in UNSETTLED]
        ids = list(dict.fromkeys(hit_ids))
        for i in range(0, len(ids), 500):
            chunk = ids[i : i + 500]
            rows = db.execute(
                f"SELECT {_COLUMNS} FROM requests WHERE endpoint = ? AND subject IN "
                f"({', '.join('?' for _ in chunk)}) AND state IN "
                f"({', '.join('?' for _ in states)}) ORDER BY id",
                (endpoint, *chunk, *states),
            ).fetchall()
            out.extend(self._row(r) for r in rows)
        return out

    def unsettled_for(self, endpoint: str, hit_ids: Sequence[str]) -> list[Record]:
        """Unsettled records on these HITs at this endpoint (the one-intent check, read-only:
        a dialog shows them before asking)."""
        with self._reading() as db:
            return self._busy(db, endpoint, hit_ids)

    def intents_on(
        self, endpoint: str, subject: str, *, exclude: int | None = None
    ) -> list[tuple[Record, int]]:
        """Every record on a subject (a HIT) at this endpoint, in history order, each with
        the sequence number of its last attempt (0: never sent). Comparison needs to know
        what else may have changed the HIT, judged by the history's order, never by clocks."""
        with self._reading() as db:
            rows = db.execute(
                f"SELECT {_COLUMNS}, (SELECT coalesce(max(a.id), 0) FROM attempts a "
                "WHERE a.request_id = requests.id) FROM requests WHERE endpoint = ? AND "
                "subject = ? AND id != ? ORDER BY id",
                (endpoint, subject, exclude if exclude is not None else -1),
            ).fetchall()
        return [(self._row(r[:-1]), int(r[-1] or 0)) for r in rows]

    def sequence(self) -> int:
        """The history's send sequence: the number of the newest attempt (0: none yet)."""
        with self._reading() as db:
            return int(db.execute("SELECT coalesce(max(id), 0) FROM attempts").fetchone()[0])

    def update(self, record_id: int, **fields: Any) -> None:
        """Change some fields of a record (state, error_*, note, ...); `now=`, and
        `expect=`: a compare-and-set: write only if the record is still in (one of) these
        states, else StateChanged and nothing is written (see `update_step`)."""
        self._write(self.update_step(record_id, **fields))

    def update_step(
        self,
        record_id: int,
        *,
        now: datetime | None = None,
        expect: State | Iterable[State] | None = None,
        **values: Any,
    ) -> Callable[[Any], None]:
        """`update` as one step of `together` (nothing is written until then)."""
        return self.update_many_step([record_id], now=now, expect=expect, **values)

    #: records one statement of `update_many_step` changes at most (bound parameters stay
    #: under SQLite's oldest limit, 999)
    UPDATE_MANY = 500

    def update_many_step(
        self,
        record_ids: Sequence[int],
        *,
        now: datetime | None = None,
        expect: State | Iterable[State] | None = None,
        **values: Any,
    ) -> Callable[[Any], None]:
        """`update_step` for several records given the same values (a group's verdicts):
        one statement for up to UPDATE_MANY of them, not one each. The search index's
        upkeep costs SQLite's FTS5 about as much for one row as for hundreds in one
        statement. `expect` is checked for all first: StateChanged (nothing written) names
        the first record that is not in it."""
        _check_updatable(values)
        stamp = (now or datetime.now(UTC)).timestamp()
        converted = _columns(values)
        expected = _expected(expect)
        ids = list(dict.fromkeys(record_ids))
        sets = ", ".join(["updated = ?", *(f"{k} = ?" for k in converted)])

        def run(db: Any) -> None:
            for start in range(0, len(ids), self.UPDATE_MANY):
                part = ids[start : start + self.UPDATE_MANY]
                self._compare(db, part, expected)
                marks = ", ".join("?" for _ in part)
                cur = db.execute(
                    f"UPDATE requests SET {sets} WHERE id IN ({marks})",
                    (stamp, *converted.values(), *part),
                )
                if cur.rowcount != len(part):
                    missing = set(part) - {
                        int(r[0])
                        for r in db.execute(
                            f"SELECT id FROM requests WHERE id IN ({marks})", tuple(part)
                        )
                    }
                    raise HistoryError(f"no history record #{min(missing, default=part[0])}")
            if "state" in converted:
                self._changed(db, ids)

        return run

    def together(self, steps: Sequence[Callable[[Any], Any]]) -> list[Any]:
        """Several writes (`update_step`, `add_attempt_step`, `finish_attempt_step`) in ONE
        transaction, one commit: all are written, or none (a StateChanged in any of them
        leaves every one unwritten). Their results, in order."""
        if not steps:
            return []
        return list(self._write(lambda db: [step(db) for step in steps]))

    def claim(
        self,
        record_id: int,
        *,
        expect: State | Iterable[State],
        owner: str,
        now: datetime | None = None,
        take_over: bool = False,
    ) -> Record:
        """Take a record over for sending/settling: a compare-and-set on its state that also
        refuses (OwnedElsewhere) while another live process owns it, unless `take_over` (the
        operator confirmed that process is gone). A record another host stamped in the
        future is capped to `now` (kept, also when refused). Returns it as claimed."""
        expected = _expected(expect)
        stamp = (now or datetime.now(UTC)).timestamp()

        def run(db: sqlite3.Connection) -> str:
            row = db.execute(
                "SELECT state, owner, updated, lease_until FROM requests WHERE id = ?"
                f"{self.FOR_UPDATE}",
                (record_id,),
            ).fetchone()
            actual = _state_or_none(row[0]) if row else None
            if row is None or (expected and actual not in expected):
                raise StateChanged(record_id, expected, actual)
            holder = row[1] or ""
            if (
                not take_over
                and holder
                and holder != owner
                and self._held(db, holder, _dt(row[2]), _dt(row[3]), stamp)
            ):
                if isinstance(row[2], (int, float)) and row[2] > stamp:
                    db.execute("UPDATE requests SET updated = ? WHERE id = ?", (stamp, record_id))
                return holder
            db.execute(
                "UPDATE requests SET owner = ?, updated = ? WHERE id = ?", (owner, stamp, record_id)
            )
            self._stamp_leases(db, [record_id])
            return ""

        holder = self._write(run)
        if holder:
            raise OwnedElsewhere(record_id, holder)
        record = self.get(record_id, with_attempts=False)
        assert record is not None
        return record

    def add_attempt(self, record_id: int, **fields: Any) -> int:
        """Record one attempt and (in the same transaction) the record's new state/fields
        (`expect`: compare-and-set on the state, as in `update`); its number. The fields:
        `add_attempt_step`'s."""
        return int(self._write(self.add_attempt_step(record_id, **fields)))

    def add_attempt_step(
        self,
        record_id: int,
        *,
        operation: str,
        outcome: str,
        at: datetime,
        error_code: str = "",
        error_message: str = "",
        duration: float | None = None,
        state: State | None = None,
        count: bool = True,
        expect: State | Iterable[State] | None = None,
        **values: Any,
    ) -> Callable[[Any], int]:
        """`add_attempt` as one step of `together`."""
        _check_updatable(values)
        if state is not None:
            values["state"] = state
        converted = _columns(values)
        expected = _expected(expect)

        def run(db: Any) -> int:
            self._compare(db, [record_id], expected)
            row = db.execute(
                "SELECT coalesce(max(number), 0) FROM attempts WHERE request_id = ?", (record_id,)
            ).fetchone()
            number = int(row[0]) + 1
            db.execute(
                "INSERT INTO attempts (request_id, number, at, operation, outcome, error_code, "
                "error_message, duration) VALUES (?,?,?,?,?,?,?,?)",
                (
                    record_id,
                    number,
                    at.timestamp(),
                    operation,
                    outcome,
                    error_code,
                    error_message,
                    duration,
                ),
            )
            sets = ["updated = ?"]
            params: list[Any] = [at.timestamp()]
            if count:
                sets.append("attempt_count = attempt_count + 1")
            for key, value in converted.items():
                sets.append(f"{key} = ?")
                params.append(value)
            db.execute(f"UPDATE requests SET {', '.join(sets)} WHERE id = ?", (*params, record_id))
            if "state" in converted:
                self._changed(db, [record_id])
            return number

        return run

    def finish_attempt(self, record_id: int, number: int, **fields: Any) -> None:
        """Fill in a started attempt's result and the record's new fields in one commit
        (the fields: `finish_attempt_step`'s)."""
        self._write(self.finish_attempt_step(record_id, number, **fields))

    def finish_attempt_step(
        self,
        record_id: int,
        number: int,
        *,
        outcome: str,
        error_code: str = "",
        error_message: str = "",
        duration: float | None = None,
        now: datetime | None = None,
        **values: Any,
    ) -> Callable[[Any], None]:
        """`finish_attempt` as one step of `together`."""
        _check_updatable(values)
        stamp = (now or datetime.now(UTC)).timestamp()
        converted = _columns(values)

        def run(db: Any) -> None:
            db.execute(
                "UPDATE attempts SET outcome = ?, error_code = ?, error_message = ?, "
                "duration = ? WHERE request_id = ? AND number = ?",
                (outcome, error_code, error_message, duration, record_id, number),
            )
            sets = ["updated = ?", *(f"{k} = ?" for k in converted)]
            db.execute(
                f"UPDATE requests SET {', '.join(sets)} WHERE id = ?",
                (stamp, *converted.values(), record_id),
            )
            if "state" in converted:
                self._changed(db, [record_id])

        return run

    def import_many(self, rows: Iterable[dict[str, Any]]) -> int:
        """Bulk insert of finished records (tests, benchmarks, future imports) in one
        transaction: `insert` with a row's own `created` and an imported record's defaults
        (state succeeded, one attempt)."""
        filled = [
            {
                "env_kind": "demo",
                "endpoint": "",
                "profile": None,
                "max_before": 0,
                "expected_after": 0,
                "state": State.SUCCEEDED,
                "attempt_count": 1,
                **row,
            }
            for row in rows
        ]
        return len(self.insert(filled))

    def create_many(
        self,
        rows: Sequence[dict[str, Any]],
        *,
        now: datetime | None = None,
        allow_second: bool = True,
    ) -> list[int]:
        """`insert` (kept under the name a batch reads best with)."""
        return self.insert(rows, now=now, allow_second=allow_second)

    def insert(
        self,
        rows: Sequence[dict[str, Any]],
        *,
        now: datetime | None = None,
        allow_second: bool = True,
        started: str = "",
    ) -> list[int]:
        """THE insert path: every new record (one request, a bulk batch, an import) goes
        through here, in ONE transaction: all are recorded, or none (so a batch is never
        half-recorded). Each row takes `create`'s keywords, plus optionally `created`
        (an import's own time), `error_code`, `error_message`, `attempt_count`, `note`,
        `first_sent`, `read_at` and `read_at_server`.
        allow_second=False: IntentBusy (nothing written) if any HIT has an unsettled record
        on the row's endpoint (or appears twice among the rows).
        `started` (an MTurk operation): every row is about to be sent — its first attempt
        is recorded with it, "started" (give the rows state sending and first_sent)."""
        stamp = (now or datetime.now(UTC)).timestamp()

        def run(db: sqlite3.Connection) -> list[int]:
            if not allow_second and rows:
                by_endpoint: dict[str, list[str]] = {}
                for row in rows:
                    subject = row.get("subject") or row["hit_id"]
                    by_endpoint.setdefault(row["endpoint"], []).append(subject)
                self._lock_hits(
                    db, ((r["endpoint"], r.get("subject") or r["hit_id"]) for r in rows)
                )
                busy = [r for ep, ids in by_endpoint.items() for r in self._busy(db, ep, ids)]
                if busy:
                    raise IntentBusy(busy)
            ids: list[int] = []
            for row in rows:
                created = _ts(row.get("created")) or stamp
                values = {
                    "created": created,
                    "updated": created,
                    "env_kind": row["env_kind"],
                    "endpoint": row["endpoint"],
                    "profile": row.get("profile"),
                    "hit_id": row["hit_id"],
                    "hit_title": row.get("hit_title", ""),
                    "n": row["n"],
                    "token": row["token"],
                    "max_before": row["max_before"],
                    "expected_after": row["expected_after"],
                    "expire_at": _ts(row.get("expire_at")),
                    "state": State(row.get("state", State.PLANNED)).value,
                    "batch_id": row.get("batch_id"),
                    "owner": row.get("owner") or "",
                    "target": row.get("target"),
                    "error_code": row.get("error_code", ""),
                    "error_message": row.get("error_message", ""),
                    "attempt_count": row.get("attempt_count", 0),
                    "operation": row.get("operation")
                    or infer_operation(row["n"], row.get("expire_at"), row.get("target")),
                    "payload": row.get("payload") or "{}",
                    "subject": row.get("subject") or row["hit_id"],
                    "group_id": row.get("group_id"),
                    "operator": row.get("operator") or self.operator,
                    "note": row.get("note", ""),
                    "read_at": _ts(row.get("read_at")),
                    "read_at_server": _ts(row.get("read_at_server")),
                    "first_sent": _ts(row.get("first_sent")),
                }
                if started:
                    values["attempt_count"] = 1
                ids.append(self._insert_row(db, values))
                if started:
                    db.execute(
                        "INSERT INTO attempts (request_id, number, at, operation, outcome, "
                        "error_code, error_message) VALUES (?, 1, ?, ?, 'started', '', '')",
                        (ids[-1], created, started),
                    )
            self._stamp_leases(db, ids)
            self._changed(db, ids)
            return ids

        return list(self._write(run))

    def _insert_row(self, db: Any, values: dict[str, Any]) -> int:
        """THE statement that adds a record (stored column → value); its new id."""
        cur = db.execute(
            f"INSERT INTO requests ({', '.join(values)}) "
            f"VALUES ({', '.join('?' for _ in values)}){self.RETURNING}",
            tuple(values.values()),
        )
        return int(cur.fetchone()[0] if self.RETURNING else cur.lastrowid or 0)

    def import_records(self, records: Iterable[Record]) -> tuple[int, int]:
        """Copy records (from another history: `turktui history import`) with their tokens,
        states, times, owners and attempts, in ONE transaction; a record already here (same
        endpoint, HIT and token, created within a millisecond) is skipped, so importing
        twice adds nothing. Returns (added, skipped). New ids are this store's."""

        def run(db: Any) -> tuple[int, int]:
            added = skipped = 0
            for rec in records:
                created = rec.created.timestamp()
                if db.execute(
                    "SELECT 1 FROM requests WHERE endpoint = ? AND hit_id = ? AND token = ? "
                    "AND created BETWEEN ? AND ?",
                    (rec.endpoint, rec.hit_id, rec.token, created - 0.001, created + 0.001),
                ).fetchone():
                    skipped += 1
                    continue
                new_id = self._insert_row(db, _record_columns(rec))
                for a in rec.attempts:
                    db.execute(
                        "INSERT INTO attempts (request_id, number, at, operation, outcome, "
                        "error_code, error_message, duration) VALUES (?,?,?,?,?,?,?,?)",
                        (
                            new_id,
                            a.number,
                            a.at.timestamp(),
                            a.operation,
                            a.outcome,
                            a.error_code,
                            a.error_message,
                            a.duration,
                        ),
                    )
                added += 1
            return added, skipped

        return self._write(run)  # type: ignore[no-any-return]

    def group_records(self, group_id: str) -> list[Record]:
        """The records of one combined request, in the order they are sent."""
        with self._reading():
            rows = self._db.execute(
                f"SELECT {_COLUMNS} FROM requests WHERE group_id = ? ORDER BY id", (group_id,)
            ).fetchall()
        return [self._row(r) for r in rows]

    def first_attempt(self, record_id: int) -> int:
        """The sequence number of a record's first attempt (0: never sent)."""
        with self._reading() as db:
            row = db.execute(
                "SELECT coalesce(min(id), 0) FROM attempts WHERE request_id = ?", (record_id,)
            ).fetchone()
        return int(row[0])

    def batch_records(self, batch_id: str) -> list[Record]:
        """Every member of a batch, in the order they were recorded."""
        with self._reading():
            rows = self._db.execute(
                f"SELECT {_COLUMNS} FROM requests WHERE batch_id = ? ORDER BY id", (batch_id,)
            ).fetchall()
        return [self._row(r) for r in rows]

    def batch_states(self, batch_id: str) -> dict[State, int]:
        """How many members of a batch are in each state."""
        with self._reading():
            rows = self._db.execute(
                "SELECT state, count(*) FROM requests WHERE batch_id = ? GROUP BY state",
                (batch_id,),
            ).fetchall()
        out: dict[State, int] = {}
        for state, count in rows:
            try:
                key = State(state)
            except ValueError:
                key = State.UNKNOWN
            out[key] = out.get(key, 0) + int(count)
        return out

    # -- reads -----------------------------------------------------------------------------
    @staticmethod
    def _row(row: Sequence[Any], attempts: tuple[Attempt, ...] = ()) -> Record:
        """A stored row as a Record. Never raises: a row damaged by hand, by another program
        or by a disk error is read with neutral values and named in `Record.damaged` (its
        error code says "damaged"), so listings and `resolve` keep working."""
        (
            rid,
            created,
            updated,
            env_kind,
            endpoint,
            profile,
            hit_id,
            title,
            n,
            token,
            before,
            after,
            expire_at,
            state,
            code,
            message,
            count,
            first_sent,
            duration,
            batch,
            e_state,
            e_error,
            note,
        ) = row[:23]
        (
            owner,
            actual,
            target,
            read_at,
            read_srv,
            e_actual,
            op,
            payload,
            subject,
            group,
            operator,
            lease,
        ) = (tuple(row[23:35]) + (None,) * 12)[:12]
        read = _RowReader()
        epoch = datetime.fromtimestamp(0, UTC)
        if isinstance(state, str) and state in STATE_VALUES:
            parsed_state = State(state)
        else:  # a state from a newer version, or garbage: not settled, offered to resolve
            parsed_state = State.UNKNOWN
            if not isinstance(state, str):
                read.bad.append("state")
        record = Record(
            id=read.int("id", rid),
            created=read.moment("created", created) or epoch,
            updated=read.moment("updated", updated) or epoch,
            env_kind=read.text("env_kind", env_kind),
            endpoint=read.text("endpoint", endpoint),
            profile=read.text("profile", profile, optional=True),
            hit_id=read.text("hit_id", hit_id),
            hit_title=read.text("hit_title", title),
            n=read.int("n", n),
            token=read.text("token", token),
            max_before=read.int("max_before", before),
            expected_after=read.int("expected_after", after),
            state=parsed_state,
            expire_at=read.moment("expire_at", expire_at),
            error_code=read.text("error_code", code),
            error_message=read.text("error_message", message),
            attempt_count=read.int("attempt_count", count, 0) or 0,
            first_sent=read.moment("first_sent", first_sent),
            duration=read.float("duration", duration),
            batch_id=read.text("batch_id", batch, optional=True),
            expiry_state=read.text("expiry_state", e_state),
            expiry_error=read.text("expiry_error", e_error),
            note=read.text("note", note),
            attempts=attempts,
            owner=read.text("owner", owner),
            actual_after=read.int("actual_after", actual, None),
            target=read.int("target", target, None),
            read_at=read.moment("read_at", read_at),
            read_at_server=read.moment("read_at_server", read_srv),
            expiry_actual=read.moment("expiry_actual", e_actual),
            operation=read.text("operation", op)
            or infer_operation(n if isinstance(n, int) else 0, _dt(expire_at), target),
            payload=read.text("payload", payload) or "{}",
            subject=read.text("subject", subject) or read.text("hit_id", hit_id),
            group_id=read.text("group_id", group, optional=True),
            operator=read.text("operator", operator),
            lease_until=read.moment("lease_until", lease),
        )
        if not read.bad:
            return record
        damaged = ", ".join(dict.fromkeys(read.bad))
        from dataclasses import replace

        return replace(
            record,
            damaged=damaged,
            error_code=record.error_code or "damaged",
            note=f"Damaged record (unreadable: {damaged}). {record.note}".strip(),
        )

    @staticmethod
    def _attempt(row: Sequence[Any]) -> Attempt:
        num, at, op, outcome, code, msg, dur = row
        read = _RowReader()
        return Attempt(
            read.int("number", num),
            read.moment("at", at) or datetime.fromtimestamp(0, UTC),
            read.text("operation", op),
            read.text("outcome", outcome),
            read.text("error_code", code),
            read.text("error_message", msg),
            read.float("duration", dur),
        )

    def get(self, record_id: int, *, with_attempts: bool = True) -> Record | None:
        with self._reading():
            row = self._db.execute(
                f"SELECT {_COLUMNS} FROM requests WHERE id = ?", (record_id,)
            ).fetchone()
            if row is None:
                return None
            attempts: tuple[Attempt, ...] = ()
            if with_attempts:
                attempts = tuple(
                    self._attempt(attempt)
                    for attempt in self._db.execute(
                        "SELECT number, at, operation, outcome, error_code, error_message, "
                        "duration FROM attempts WHERE request_id = ? ORDER BY number",
                        (record_id,),
                    )
                )
            return self._row(row, attempts)

    def get_many(self, record_ids: Sequence[int]) -> dict[int, Record]:
        """Several records (without their attempts) by id, read at once; absent ids are
        left out."""
        out: dict[int, Record] = {}
        ids = list(dict.fromkeys(record_ids))
        with self._reading() as db:
            for i in range(0, len(ids), 500):
                chunk = ids[i : i + 500]
                rows = db.execute(
                    f"SELECT {_COLUMNS} FROM requests WHERE id IN "
                    f"({', '.join('?' for _ in chunk)})",
                    tuple(chunk),
                ).fetchall()
                for row in rows:
                    record = self._row(row)
                    out[record.id] = record
        return out

    def find_by_token(self, token: str) -> list[Record]:
        with self._reading():
            rows = self._db.execute(
                f"SELECT {_COLUMNS} FROM requests WHERE token = ? ORDER BY id", (token,)
            ).fetchall()
        return [self._row(r) for r in rows]

    def _where(
        self,
        text: str | None,
        states: Iterable[State | str] | None,
        env_kind: str | None = None,
        endpoint: str | None = None,
        operator: str | None = None,
    ) -> tuple[str, list[Any]]:
        return where_clause(
            like=self.LIKE,
            text=text,
            states=states,
            env_kind=env_kind,
            endpoint=endpoint,
            operator=operator,
        )

    def query(
        self,
        *,
        text: str | None = None,
        states: Iterable[State | str] | None = None,
        limit: int = 500,
        offset: int = 0,
        env_kind: str | None = None,
        endpoint: str | None = None,
        operator: str | None = None,
        with_attempts: bool = False,
    ) -> list[Record]:
        """Newest first, optionally filtered by text (any column), states, environment kind,
        endpoint (exact, normalised URL) and operator (exact). `with_attempts`: each with its
        attempts, read in one more statement for the whole page (not one per record)."""
        where, params = self._where(text, states, env_kind, endpoint, operator)
        page = f"FROM requests{where} ORDER BY created DESC, id DESC LIMIT ? OFFSET ?"
        attempts: dict[int, list[Attempt]] = {}
        with self._reading():
            rows = self._db.execute(
                f"SELECT {_COLUMNS} {page}", (*params, limit, offset)
            ).fetchall()
            if with_attempts and rows:
                for row in self._db.execute(
                    "SELECT request_id, number, at, operation, outcome, error_code, "
                    f"error_message, duration FROM attempts WHERE request_id IN (SELECT id "
                    f"{page}) ORDER BY request_id, number",
                    (*params, limit, offset),
                ):
                    attempts.setdefault(int(row[0]), []).append(self._attempt(row[1:]))
        records = [self._row(r) for r in rows]
        if not with_attempts:
            return records
        return [dataclasses.replace(r, attempts=tuple(attempts.get(r.id, ()))) for r in records]

    def count(
        self,
        *,
        text: str | None = None,
        states: Iterable[State | str] | None = None,
        env_kind: str | None = None,
        endpoint: str | None = None,
        operator: str | None = None,
    ) -> int:
        where, params = self._where(text, states, env_kind, endpoint, operator)
        with self._reading():
            return int(
                self._db.execute(f"SELECT count(*) FROM requests{where}", params).fetchone()[0]
            )

    def unsettled_pages(self, page: int = 1000) -> Iterator[list[Record]]:
        """Every unsettled record (as `unsettled` decides), oldest first, `page` at a time:
        however many there are, each is reached and memory stays bounded. Keyset paging by
        id (the order records were made): a page settled meanwhile does not shift the next."""
        settled = [s.value for s in State if s.settled]
        marks = ", ".join("?" for _ in settled)
        after = 0
        while True:
            with self._reading() as db:
                rows = db.execute(
                    f"SELECT {_COLUMNS} FROM requests WHERE state NOT IN ({marks}) AND id > ? "
                    "ORDER BY id LIMIT ?",
                    (*settled, after, page),
                ).fetchall()
            if not rows:
                return
            records = [self._row(r) for r in rows]
            after = records[-1].id
            yield records

    def unsettled(self) -> list[Record]:
        """Records that may need `resolve`: planned, sending or unknown, and any state this
        version does not know (a newer version's, or damage), oldest first."""
        settled = [s.value for s in State if s.settled]
        marks = ", ".join("?" for _ in settled)
        with self._reading():
            rows = self._db.execute(
                f"SELECT {_COLUMNS} FROM requests WHERE state NOT IN ({marks}) "
                "ORDER BY created DESC, id DESC LIMIT 10000",
                settled,
            ).fetchall()
        return list(reversed([self._row(r) for r in rows]))


def open_history(where: Path | str) -> HistoryStore:
    """Open (creating if needed) the history file; HistoryError says what is wrong. (Either
    store, by location: turktui.adapters.stores.open_store.)"""
    try:
        return HistoryStore(where)
    except OSError as exc:
        raise HistoryError(f"cannot open the history file {where}: {exc}") from exc


#: A stored row (columns as in COLUMNS) as a Record / an attempt row as an Attempt; for
#: readers with their own connection (turktui.adapters.history_reader).
COLUMNS = _COLUMNS
SEARCHABLE = _SEARCHABLE
SEARCH_TRIGGERS = _SEARCH_TRIGGERS
record_from_row = HistoryStore._row
attempt_from_row = HistoryStore._attempt
