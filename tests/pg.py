"""A throw-away PostgreSQL server for the tests, started by the test run itself.

`pg_url` (session): a server of this test process (one per xdist worker: see `start`), on a
Unix socket in a private temporary directory, fsync off. `pg_db_url` (function): a fresh
database on it for one test, dropped afterwards.

Found on this machine as Debian's server (/usr/lib/postgresql/N/bin), or `initdb` on PATH, or
the directory in TEST_PG_BIN. A machine without one FAILS the tests that need it, saying what
to install: never a silent skip.

`initdb` and `postgres` refuse to run as root (CI runs as root): as root they run as the
`postgres` system user (setpriv), in a directory it owns. A watchdog process owns the server
and stops it, removing its directory, when its stdin closes: at the end of the session, or
when the test process dies in any way (even SIGKILL), so no server outlives its run.

Run alone (`python -m tests.pg`) it starts one server, prints its URL and the start-up time,
and stops it on Enter.
"""

from __future__ import annotations

import contextlib
import glob
import os
import shutil
import socket
import subprocess
import sys
import tempfile
import time
import uuid
from collections.abc import Iterator
from pathlib import Path
from urllib.parse import quote

import pytest

INSTALL_SERVER = (
    "PostgreSQL's server programs (initdb, postgres) were not found: install them "
    "(Debian/Ubuntu: `apt-get install postgresql`; elsewhere put initdb on PATH or set "
    "TEST_PG_BIN to their directory)"
)
INSTALL_DRIVER = "psycopg is not installed: pip install 'turktui[postgres]' (or '.[test]')"
SUPERUSER = "turktui_test"
#: Names this test run (set by the first process that looks: the xdist controller, in
#: pytest_configure, so every worker inherits it).
RUN_VARIABLE = "TEST_PG_RUN"
PORT = 5432  # only names the socket file: the server listens on no TCP port

#: The watchdog: starts the server, waits until its stdin closes, then stops the server
#: (immediate shutdown: nothing in it is worth keeping) and removes its directory.
WATCHDOG = r"""
import os, shutil, signal, subprocess, sys
base, command = sys.argv[1], sys.argv[2:]
server = subprocess.Popen(command, stdin=subprocess.DEVNULL,
                          stdout=open(os.path.join(base, "server.log"), "ab"),
                          stderr=subprocess.STDOUT)
print(server.pid, flush=True)
try:
    sys.stdin.buffer.read()
finally:
    if server.poll() is None:
        server.send_signal(signal.SIGQUIT)
        try:
            server.wait(10)
        except subprocess.TimeoutExpired:
            server.kill()
            server.wait()
    shutil.rmtree(base, ignore_errors=True)
"""


def server_bindir() -> Path:
    """The directory of initdb/postgres; pytest.fail (what to install) when there is none."""
    given = os.environ.get("TEST_PG_BIN")
    candidates = [given] if given else []
    found = sorted(
        glob.glob("/usr/lib/postgresql/*/bin"),
        key=lambda p: int(Path(p).parent.name) if Path(p).parent.name.isdigit() else 0,
        reverse=True,
    )
    candidates += found
    on_path = shutil.which("initdb")
    if on_path:
        candidates.append(str(Path(on_path).parent))
    for where in candidates:
        if (Path(where) / "initdb").exists() and (Path(where) / "postgres").exists():
            return Path(where)
    pytest.fail(INSTALL_SERVER, pytrace=False)


def _as_server_user() -> list[str]:
    """The command prefix that runs a program as an unprivileged user (root only)."""
    if os.geteuid() != 0:
        return []
    import pwd

    try:
        pwd.getpwnam("postgres")
    except KeyError:
        pytest.fail(
            "running as root, and there is no `postgres` user to run the test server as "
            "(initdb refuses root): create one (`useradd -r postgres`) or run as another user",
            pytrace=False,
        )
    return ["setpriv", "--reuid=postgres", "--regid=postgres", "--init-groups", "--"]


def _give_to_server_user(directory: Path, prefix: list[str]) -> None:
    if prefix:
        import pwd

        entry = pwd.getpwnam("postgres")
        os.chown(directory, entry.pw_uid, entry.pw_gid)


def server_tmp() -> Path:
    """A temporary directory the server's user can reach: TEST_PG_TMP, else the first of
    the system's temporary directory, /dev/shm and /var/tmp that every user may traverse
    (as root the server runs as `postgres`: a 0700 /tmp would lock it out)."""
    given = os.environ.get("TEST_PG_TMP")
    if given:
        return Path(given)
    candidates = [Path(tempfile.gettempdir()), Path("/dev/shm"), Path("/var/tmp")]
    if os.geteuid() != 0:
        return candidates[0]
    for where in candidates:
        chain = [where, *where.parents]
        with contextlib.suppress(OSError):
            if where.is_dir() and all(os.stat(p).st_mode & 0o001 for p in chain):
                return where
    pytest.fail(
        "no temporary directory the `postgres` user can reach (/tmp, /dev/shm and /var/tmp "
        "are closed to it): set TEST_PG_TMP to one",
        pytrace=False,
    )


def template_dir() -> Path:
    """One initdb per test run, shared by its xdist workers (they run in parallel: an initdb
    each cost 4 x the CPU of one, and the machine has 2 cores); each worker's server runs
    on a copy. Removed by `remove_template` at the end of the run."""
    return server_tmp() / f"turktui-pg-template-{os.geteuid()}-{name_run()}"


def name_run() -> str:
    """This test run's name (set once, inherited by the xdist workers)."""
    return os.environ.setdefault(RUN_VARIABLE, uuid.uuid4().hex[:12])


def template(bindir: Path, prefix: list[str], timeout: float) -> Path:
    """The run's initialised cluster (created by the first worker to ask, under a lock)."""
    import fcntl

    where = template_dir()
    where.mkdir(mode=0o700, exist_ok=True)
    _give_to_server_user(where, prefix)
    data = where / "data"
    with open(str(where) + ".lock", "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        if (data / "PG_VERSION").exists():
            return data
        shutil.rmtree(data, ignore_errors=True)  # a half-made one from a killed run
        init = subprocess.run(
            [
                *prefix,
                str(bindir / "initdb"),
                "-D",
                str(data),
                "-U",
                SUPERUSER,
                "--auth=trust",
                "--encoding=UTF8",
                "--locale=C",
                "--no-sync",
                "--no-instructions",
            ],
            capture_output=True,
            text=True,
            timeout=timeout,
        )
        if init.returncode != 0:
            shutil.rmtree(data, ignore_errors=True)
            pytest.fail(f"initdb failed: {init.stderr.strip() or init.stdout.strip()}")
    return data


def remove_template() -> None:
    """At the end of the run (the xdist controller, or a run without workers)."""
    if RUN_VARIABLE not in os.environ:
        return
    try:
        where = template_dir()
    except BaseException:  # pytest.fail's: no place was usable, so nothing was made
        return
    shutil.rmtree(where, ignore_errors=True)
    with contextlib.suppress(OSError):
        os.unlink(str(where) + ".lock")


class PgServer:
    """One throw-away server; `url` is its admin database's URL (Unix socket, trust)."""

    def __init__(self) -> None:
        self.bindir = server_bindir()
        self.base = Path(tempfile.mkdtemp(prefix="turktui-pg-", dir=server_tmp()))
        self._watchdog: subprocess.Popen[bytes] | None = None
        self.startup_seconds = 0.0

    @property
    def url(self) -> str:
        return self.url_for("postgres")

    def url_for(self, database: str) -> str:
        return f"postgresql://{SUPERUSER}@/{database}?host={quote(str(self.base), safe='')}"

    def start(self, timeout: float = 60.0) -> PgServer:
        t0 = time.perf_counter()
        prefix = _as_server_user()
        _give_to_server_user(self.base, prefix)
        data = self.base / "data"
        try:
            cluster = template(self.bindir, prefix, timeout)
        except BaseException:
            self.stop()
            raise
        copy = subprocess.run(
            ["cp", "-a", str(cluster), str(data)],
            capture_output=True,
            text=True,
        )
        if copy.returncode != 0:
            self.stop()
            pytest.fail(f"cannot copy the test database cluster: {copy.stderr.strip()}")
        server = [
            *prefix,
            str(self.bindir / "postgres"),
            "-D",
            str(data),
            "-p",
            str(PORT),
            "-c",
            "listen_addresses=",
            "-c",
            f"unix_socket_directories={self.base}",
            "-c",
            "fsync=off",
            "-c",
            "synchronous_commit=off",
            "-c",
            "full_page_writes=off",
            "-c",
            "max_connections=300",
            "-c",
            "shared_buffers=32MB",
        ]
        self._watchdog = subprocess.Popen(
            [sys.executable, "-c", WATCHDOG, str(self.base), *server],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            start_new_session=True,  # a ^C to the test run reaches it through its stdin only
        )
        self._wait_ready(timeout)
        self.startup_seconds = time.perf_counter() - t0
        return self

    def _wait_ready(self, timeout: float) -> None:
        psycopg = driver()
        deadline = time.monotonic() + timeout
        while True:
            try:
                psycopg.connect(self.url, connect_timeout=2).close()
                return
            except psycopg.OperationalError as exc:
                watchdog = self._watchdog
                if time.monotonic() > deadline or (watchdog and watchdog.poll() is not None):
                    log = self.log()
                    self.stop()
                    pytest.fail(f"the test PostgreSQL did not start ({exc}): {log}")
                time.sleep(0.02)

    def log(self) -> str:
        with contextlib.suppress(OSError):
            return (self.base / "server.log").read_text(errors="replace")[-2000:]
        return ""

    def stop(self) -> None:
        watchdog, self._watchdog = self._watchdog, None
        if watchdog is not None:
            if watchdog.stdin:
                with contextlib.suppress(OSError):
                    watchdog.stdin.close()
            try:
                watchdog.wait(30)
            except subprocess.TimeoutExpired:
                watchdog.kill()
            if watchdog.stdout:
                watchdog.stdout.close()
        shutil.rmtree(self.base, ignore_errors=True)

    def create_database(self) -> str:
        """A new, empty database; its URL."""
        name = f"t_{uuid.uuid4().hex[:12]}"
        with driver().connect(self.url, autocommit=True) as admin:
            admin.execute(f'CREATE DATABASE "{name}"')
        return name

    def drop_database(self, name: str) -> None:
        with driver().connect(self.url, autocommit=True) as admin:
            admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


class Outage:
    """The database away, on demand: a loopback TCP port forwarding to the test server's
    socket. `cut()` drops every connection and refuses new ones (as a server that went down
    or a network that broke); `restore()` brings it back on the same port."""

    def __init__(self, server: PgServer, database: str) -> None:
        import threading

        self._socket_path = str(server.base / f".s.PGSQL.{PORT}")
        self._lock = threading.Lock()
        self._open: list[socket.socket] = []
        self._listener: socket.socket | None = None
        self.port = 0
        self._listen()
        self.url = f"postgresql://{SUPERUSER}@127.0.0.1:{self.port}/{database}"

    def _listen(self) -> None:
        import socket
        import threading

        listener = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        listener.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        listener.bind(("127.0.0.1", self.port))
        listener.listen(64)
        self.port = listener.getsockname()[1]
        self._listener = listener
        threading.Thread(target=self._accept, args=(listener,), daemon=True).start()

    def _accept(self, listener: socket.socket) -> None:
        import socket
        import threading

        while True:
            try:
                client, _ = listener.accept()
            except OSError:
                return  # cut
            upstream = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
            try:
                upstream.connect(self._socket_path)
            except OSError:
                client.close()
                continue
            with self._lock:
                self._open += [client, upstream]
            for a, b in ((client, upstream), (upstream, client)):
                threading.Thread(target=self._pump, args=(a, b), daemon=True).start()

    @staticmethod
    def _pump(source: socket.socket, sink: socket.socket) -> None:
        try:
            while data := source.recv(65536):
                sink.sendall(data)
        except OSError:
            pass
        finally:
            for end in (source, sink):
                with contextlib.suppress(OSError):
                    end.shutdown(2)

    def cut(self) -> None:
        with self._lock:
            listener, self._listener = self._listener, None
            if listener is not None:
                with contextlib.suppress(OSError):
                    listener.shutdown(socket.SHUT_RDWR)  # wakes the accept() (close alone won't)
                listener.close()
            for end in self._open:
                with contextlib.suppress(OSError):
                    end.shutdown(2)
                end.close()
            self._open.clear()

    def restore(self) -> None:
        if self._listener is None:
            self._listen()


def driver():  # type: ignore[no-untyped-def]
    try:
        import psycopg
    except ImportError:
        pytest.fail(INSTALL_DRIVER, pytrace=False)
    return psycopg


@pytest.fixture(scope="session")
def pg_server() -> Iterator[PgServer]:
    """This test process's PostgreSQL (one per xdist worker), stopped at the end whatever
    happens (see the module's docstring)."""
    driver()
    server = PgServer().start()
    try:
        yield server
    finally:
        server.stop()


@pytest.fixture(scope="session")
def pg_url(pg_server: PgServer) -> str:
    """The URL of the session's server's admin database (superuser, Unix socket)."""
    return pg_server.url


@pytest.fixture
def pg_db_url(pg_server: PgServer) -> Iterator[str]:
    """A fresh database for one test; dropped afterwards."""
    name = pg_server.create_database()
    try:
        yield pg_server.url_for(name)
    finally:
        with contextlib.suppress(Exception):
            pg_server.drop_database(name)


@pytest.fixture
def pg_outage(pg_server: PgServer) -> Iterator[Outage]:
    """A fresh database reached through an `Outage` (its `url`): cut() / restore()."""
    name = pg_server.create_database()
    outage = Outage(pg_server, name)
    try:
        yield outage
    finally:
        outage.cut()
        with contextlib.suppress(Exception):
            pg_server.drop_database(name)


if __name__ == "__main__":  # pragma: no cover - a manual check of start-up time
    server = PgServer().start()
    print(f"{server.url}  (ready in {server.startup_seconds:.2f} s; Enter stops it)")
    try:
        input()
    finally:
        server.stop()
        remove_template()
