"""What only the PostgreSQL store has: its schema beside the SQLite file's, a newer schema
refused untouched, migrations once under concurrency, a role that may not migrate, and
what an operator reads when the database is away."""

from __future__ import annotations

import sqlite3
import subprocess
import sys
from datetime import datetime, timezone
from pathlib import Path

import pytest

from tests.engine.conftest import record_row
from tests.pg import driver
from turktui.adapters.history import SCHEMA_VERSION, HistoryError, HistoryStore, HistoryTooNew
from turktui.adapters.stores import History, open_store, reader_of

UTC = timezone.utc


def _columns_pg(url: str, table: str) -> list[str]:
    with driver().connect(url) as conn:
        rows = conn.execute(
            "SELECT column_name FROM information_schema.columns WHERE table_schema = "
            "'turktui' AND table_name = %s ORDER BY ordinal_position",
            (table,),
        ).fetchall()
    return [r[0] for r in rows]


def test_same_columns_and_version_as_the_sqlite_file(pg_db_url: str, tmp_path: Path) -> None:
    open_store(pg_db_url).close()
    HistoryStore(tmp_path / "h.sqlite3").close()
    lite = sqlite3.connect(tmp_path / "h.sqlite3")
    try:
        for table in ("requests", "attempts"):
            expected = [r[1] for r in lite.execute(f"PRAGMA table_info({table})")]
            assert _columns_pg(pg_db_url, table) == expected, table
    finally:
        lite.close()
    store = open_store(pg_db_url)
    try:
        assert store.schema_version == SCHEMA_VERSION
        assert isinstance(store, History)
    finally:
        store.close()


def test_both_stores_are_the_one_interface(store: HistoryStore) -> None:
    assert isinstance(store, History)
    # Every public method of the store is part of the interface (a new one must be added
    # there too, and so to both adapters' contract).
    public = {n for n in dir(HistoryStore) if not n.startswith("_") and not n.isupper()}
    declared = {n for n in [*dir(History), *History.__annotations__] if not n.startswith("_")}
    assert public <= declared, sorted(public - declared)


def test_a_newer_schema_is_refused_and_left_untouched(pg_db_url: str) -> None:
    open_store(pg_db_url).close()
    with driver().connect(pg_db_url, autocommit=True) as conn:
        conn.execute("UPDATE turktui.schema_version SET version = %s", (SCHEMA_VERSION + 3,))
        conn.execute("ALTER TABLE turktui.requests ADD COLUMN from_the_future text")
    with pytest.raises(HistoryTooNew, match="newer turktui") as refused:
        open_store(pg_db_url)
    assert "postgresql://" in str(refused.value) and "left untouched" in str(refused.value)
    with driver().connect(pg_db_url) as conn:
        version = conn.execute("SELECT version FROM turktui.schema_version").fetchone()
    assert version == (SCHEMA_VERSION + 3,)
    assert "from_the_future" in _columns_pg(pg_db_url, "requests")


OPENER = """
import sys
from turktui.adapters.stores import open_store
sys.stdin.readline()
store = open_store(sys.argv[1])
print(store.schema_version, flush=True)
store.close()
"""


def test_hosts_opening_a_new_database_at_once_create_it_once(pg_db_url: str) -> None:
    procs = [
        subprocess.Popen(
            [sys.executable, "-c", OPENER, pg_db_url],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        for _ in range(4)
    ]
    results = [p.communicate("go\n", timeout=60) for p in procs]
    assert [p.returncode for p in procs] == [0] * 4, results
    assert {out.strip() for out, _ in results} == {str(SCHEMA_VERSION)}


def test_a_host_that_waited_while_another_created_the_schema_sees_it(pg_db_url: str) -> None:
    """The race two hosts hit: one waits on the migration lock while the other creates the
    schema; when it gets the lock it must see the new tables (it used to fail creating them
    again: "relation schema_version already exists")."""
    import threading

    from turktui.adapters import history_pg

    opened: list[object] = []
    with driver().connect(pg_db_url, autocommit=True) as other:
        other.execute("SELECT pg_advisory_lock(%s)", (history_pg._MIGRATION_LOCK,))
        opener = threading.Thread(target=lambda: opened.append(_open_or_error(pg_db_url)))
        opener.start()
        waiting = "SELECT count(*) FROM pg_locks WHERE locktype = 'advisory' AND NOT granted"
        deadline = datetime.now(timezone.utc).timestamp() + 30
        while other.execute(waiting).fetchone()[0] == 0:  # the opener waits on the lock
            assert datetime.now(timezone.utc).timestamp() < deadline, "the opener never waited"
        with other.transaction():
            for _start, end, sql in history_pg.MIGRATIONS:
                other.execute(sql)
                other.execute(f"UPDATE {history_pg.SCHEMA}.schema_version SET version = {end}")
        other.execute("SELECT pg_advisory_unlock(%s)", (history_pg._MIGRATION_LOCK,))
        opener.join(60)
    assert opened == [SCHEMA_VERSION], opened


def _open_or_error(url: str) -> object:
    try:
        store = open_store(url)
    except HistoryError as exc:
        return str(exc)
    try:
        return store.schema_version
    finally:
        store.close()


def test_a_role_that_may_not_create_the_schema_is_told(pg_db_url: str) -> None:
    """turktui never half-creates: the message says what to do; nothing was changed."""
    with driver().connect(pg_db_url, autocommit=True) as conn:
        conn.execute("CREATE ROLE turktui_reader LOGIN")
        conn.execute("REVOKE CREATE ON SCHEMA public FROM PUBLIC")
    limited = pg_db_url.replace("turktui_test@", "turktui_reader@")
    try:
        with pytest.raises(HistoryError, match="may not") as refused:
            open_store(limited)
        assert "nothing was changed" in str(refused.value)
        with driver().connect(pg_db_url) as conn:
            found = conn.execute("SELECT to_regnamespace('turktui')").fetchone()
        assert found == (None,)
    finally:
        with driver().connect(pg_db_url, autocommit=True) as conn:
            conn.execute("DROP ROLE IF EXISTS turktui_reader")


def test_unreachable_database_is_one_line_without_the_password(pg_db_url: str) -> None:
    url = "postgresql://ops:s3cretpw@127.0.0.1:1/turk?connect_timeout=2"
    with pytest.raises(HistoryError) as refused:
        open_store(url)
    text = str(refused.value)
    assert text.startswith("shared history unreachable (postgresql://127.0.0.1:1/turk")
    assert "s3cretpw" not in text and "\n" not in text


#: the team mode page, whose least-privilege SQL the test below runs as written there
TEAM_DOC = Path(__file__).resolve().parents[2] / "docs" / "team.md"


def _least_privilege_sql(database: str) -> list[str]:
    """The statements of docs/team.md's least-privilege block, for `database` (psql's
    `\\connect` line dropped: the test is connected to it already)."""
    text = TEAM_DOC.read_text("utf-8")
    block = text.split("<!-- least-privilege-sql:", 1)[1].split("```sql\n", 1)[1]
    sql = block.split("```", 1)[0].replace(" turk ", f' "{database}" ').replace(" turk\n", "\n")
    lines = [line for line in sql.splitlines() if not line.startswith("\\")]
    return [s.strip() for s in "\n".join(lines).split(";") if s.strip()]


def test_the_documented_least_privilege_roles_work(pg_db_url: str, cli_env: dict[str, str]) -> None:
    """docs/team.md's SQL, run as written: an operator's role on the database before the
    owner ran turktui is refused in one line that says what to do (turktui itself, exit 2,
    nothing created); the owner creates the tables; then the operator lists, records and
    reads through the app's reader, and may neither delete nor create."""
    from tests.runcli import run_cli
    from turktui.adapters.history_reader import HistoryQuery
    from turktui.domain.records import IntentBusy, State

    database = pg_db_url.split("/")[3].split("?")[0]
    as_owner = pg_db_url.replace("turktui_test@", "turktui_owner@")
    as_alice = pg_db_url.replace("turktui_test@", "alice@")
    with driver().connect(pg_db_url, autocommit=True) as conn:
        for statement in _least_privilege_sql(database):
            conn.execute(statement)
    try:
        refused = run_cli(cli_env, "history", "--history-url", as_alice)
        assert refused.returncode == 2, refused
        (line,) = refused.stderr.strip().splitlines()
        assert "this role may not" in line and "docs/team.md" in line, line
        assert "nothing was changed" in line
        owner = run_cli(cli_env, "history", "--history-url", as_owner)  # creates the tables
        assert owner.returncode == 0, owner
        listed = run_cli(cli_env, "history", "--history-url", as_alice)
        assert listed.returncode == 0 and "0 of 0 records" in listed.stdout, listed
        store = open_store(as_alice)
        try:
            row = record_row()
            rid = store.create(**row, allow_second=False)
            with pytest.raises(IntentBusy):
                store.create(**{**row, "token": "t2"}, allow_second=False)
            store.add_attempt(
                rid,
                operation="X",
                outcome="ok",
                at=store.get(rid).created,
                state=State.SUCCEEDED,
                expect=State.PLANNED,
            )
            assert store.get(rid).state is State.SUCCEEDED
            assert [r.id for r in reader_of(store).page(HistoryQuery(), 0, 10)] == [rid]
        finally:
            store.close()
        with driver().connect(as_alice, autocommit=True) as conn:
            with pytest.raises(driver().errors.InsufficientPrivilege):
                conn.execute("DELETE FROM turktui.requests")
            with pytest.raises(driver().errors.InsufficientPrivilege):
                conn.execute("CREATE TABLE turktui.mine (x int)")
    finally:
        for role in ("alice", "turktui_ops", "turktui_owner"):
            with driver().connect(pg_db_url, autocommit=True) as conn:
                conn.execute(f"DROP OWNED BY {role} CASCADE")
                conn.execute(f"DROP ROLE {role}")


def _db_now(url: str) -> float:
    with driver().connect(url) as conn:
        return float(conn.execute("SELECT extract(epoch from clock_timestamp())").fetchone()[0])


def test_leases_on_the_database_clock_decide_another_hosts_claim(pg_db_url: str) -> None:
    """A record held by a process on another host is live while its lease runs (the
    database's clock: a client clock far ahead changes nothing); once it lapsed, anyone may
    take it; a claim starts the claimer's own lease."""
    from datetime import timedelta

    from turktui.adapters.history import current_owner
    from turktui.domain.records import OwnedElsewhere, State

    store = open_store(pg_db_url, lease_seconds=30)
    try:
        rid = store.create(**record_row(), owner="ops-9|4242|1")
        lease = store.get(rid).lease_until  # type: ignore[union-attr]
        assert lease is not None and abs(lease.timestamp() - (_db_now(pg_db_url) + 30)) < 5
        ahead = datetime.now(UTC) + timedelta(days=2)  # this client's clock, wrong
        with pytest.raises(OwnedElsewhere):
            store.claim(rid, expect=State.PLANNED, owner=current_owner(), now=ahead)
        with driver().connect(pg_db_url, autocommit=True) as conn:  # the holder went silent
            conn.execute("UPDATE turktui.requests SET lease_until = extract(epoch from now()) - 1")
        claimed = store.claim(rid, expect=State.PLANNED, owner=current_owner())
        assert claimed.owner == current_owner()
        assert claimed.lease_until is not None and claimed.lease_until.timestamp() > _db_now(
            pg_db_url
        )
    finally:
        store.close()


def test_a_running_process_renews_its_leases(pg_db_url: str) -> None:
    from tests.ui.helpers import wait_until
    from turktui.adapters.history_pg import PgHistoryStore

    store = PgHistoryStore(pg_db_url, lease_seconds=30, renew_every=0.1)
    try:
        from turktui.adapters.history import current_owner

        rid = store.create(**record_row(), owner=current_owner())
        first = store.get(rid).lease_until  # type: ignore[union-attr]
        wait_until(
            lambda: store.get(rid).lease_until > first,  # type: ignore[union-attr,operator]
            what="a renewed lease",
        )
        assert store.renew_leases() == 1
    finally:
        store.close()


def test_a_machine_without_a_server_fails_saying_what_to_install(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """Never a silent skip: the tests that need PostgreSQL fail with the install command."""
    import tests.pg as pg

    monkeypatch.delenv("TEST_PG_BIN", raising=False)
    monkeypatch.setattr(pg.glob, "glob", lambda pattern: [])
    monkeypatch.setattr(pg.shutil, "which", lambda name: None)
    with pytest.raises(pytest.fail.Exception, match="apt-get install postgresql"):
        pg.server_bindir()
    monkeypatch.setitem(sys.modules, "psycopg", None)
    with pytest.raises(pytest.fail.Exception, match=r"pip install 'turktui\[postgres\]'"):
        pg.driver()


def test_writes_never_notify_their_changes_are_announced_after_commit(pg_db_url: str) -> None:
    """NOTIFY takes a server-wide lock at commit: a write that notified would wait for every
    other operator's. Each record added or moved is announced by another session of the
    store (not the writer's), after the commit; closing the store (a CLI command's end)
    sends what is still queued; a write that changes no state announces nothing."""
    from turktui.adapters.history_pg import CHANNEL
    from turktui.domain.records import State

    psycopg = driver()
    with psycopg.connect(pg_db_url, autocommit=True) as listener:
        listener.execute(f"LISTEN {CHANNEL}")
        store = open_store(pg_db_url)
        try:
            writer_pid = store._db.conn.info.backend_pid  # type: ignore[attr-defined]
            rid = store.create(**record_row(), owner="ops-1|7|1")
            (added,) = listener.notifies(timeout=5, stop_after=1)
            store.update(rid, note="no state change")
            store.update(rid, state=State.SUCCEEDED)
        finally:
            store.close()
        (moved,) = listener.notifies(timeout=5, stop_after=1)
        assert (added.payload, moved.payload) == (
            f"{rid}|planned|ops-1|7|1",
            f"{rid}|succeeded|ops-1|7|1",
        )
        assert writer_pid not in (added.pid, moved.pid)  # not in the write's transaction
        assert list(listener.notifies(timeout=0)) == []  # the note's update: nothing
