"""Shared, generic fixtures: a hermetic environment and an emulator + app context."""

from __future__ import annotations

import contextlib
import gc
import os
from collections.abc import Callable, Iterator
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

# Scrolling (End/Home, scroll_to) animates for about a second under Pilot: tests want the end
# state, at once. Read by Textual when it is first imported, so set before any test imports it.
os.environ["TEXTUAL_ANIMATIONS"] = "none"

import pytest
import textual._wait

from tests.pg import pg_db_url, pg_outage, pg_server, pg_url  # noqa: F401  (PostgreSQL)
from tests.runcli import cli_env  # noqa: F401  (the one `cli_env` fixture)
from tests.timeout_report import pytest_timeout_set_timer  # noqa: F401  (a hang, named)

# Pilot's `press` and `pause` wait until the process looks idle: they sleep in windows of 20 ms
# until one passes with under 1 ms of CPU, at least twice per key. A test that presses 50 keys
# slept 2 s doing nothing. Windows of 2 ms (and 0.1 ms of CPU: the same ratio) end as soon as the
# app is idle; what a test then reads it still waits for by condition (tests/ui/helpers.py).
textual._wait.SLEEP_GRANULARITY = 0.002
textual._wait.SLEEP_IDLE = textual._wait.SLEEP_GRANULARITY / 20

#: Every test sees the same moment: snapshots and relative times stay deterministic.
FIXED_NOW = datetime(2026, 6, 15, 12, 0, 0, tzinfo=timezone.utc)


@pytest.hookimpl(tryfirst=True)
def pytest_pyfunc_call(pyfuncitem: pytest.Function) -> object:
    """Run `async def` tests (Pilot) with asyncio.run: no pytest-asyncio needed."""
    import asyncio
    import inspect

    if inspect.iscoroutinefunction(pyfuncitem.obj):
        names = pyfuncitem._fixtureinfo.argnames
        asyncio.run(pyfuncitem.obj(**{name: pyfuncitem.funcargs[name] for name in names}))
        return True
    return None


#: Variables a turktui process must never inherit: real AWS configuration, keys, profiles.
_DROPPED = ("AWS_", "XDG_", "TURKTUI_")


def hermetic_vars(home: Path) -> dict[str, str]:
    """Every per-user path under `home` (home/config, home/data, home/state, home/cache: helpers
    such as tests/hostile/common.py rely on this layout), AWS configuration pointed at files that
    do not exist and no instance metadata: the one definition of a hermetic environment."""
    return {
        "HOME": str(home),
        "XDG_CONFIG_HOME": str(home / "config"),
        "XDG_DATA_HOME": str(home / "data"),
        "XDG_STATE_HOME": str(home / "state"),
        "XDG_CACHE_HOME": str(home / "cache"),
        "AWS_CONFIG_FILE": str(home / "no-aws-config"),
        "AWS_SHARED_CREDENTIALS_FILE": str(home / "no-aws-credentials"),
        "AWS_EC2_METADATA_DISABLED": "true",
        # Local times on screen ("updated 14:02:10") are the same on every machine.
        "TZ": "UTC",
        "TEXTUAL_ANIMATIONS": "none",
    }


def subprocess_env(home: Path, **extra: str) -> dict[str, str]:
    """The environment for a turktui subprocess: hermetic under `home`, nothing AWS/XDG/TURKTUI
    inherited (add dummy keys through `extra`)."""
    import os

    env = {k: v for k, v in os.environ.items() if not k.startswith(_DROPPED)}
    env.update(hermetic_vars(home))
    env.update(extra)
    return env


@pytest.fixture(autouse=True)
def hermetic_env(tmp_path_factory: pytest.TempPathFactory, monkeypatch: pytest.MonkeyPatch) -> Path:
    """Every test: never read real config or credentials, never reach AWS (the same variables
    as `subprocess_env`, so in-process and subprocess tests see one world)."""
    import os
    import time

    home = tmp_path_factory.mktemp("home")
    for var in list(os.environ):
        if var.startswith(_DROPPED):
            monkeypatch.delenv(var)
    for var, value in hermetic_vars(home).items():
        monkeypatch.setenv(var, value)
    time.tzset()
    return home


@pytest.fixture(autouse=True)
def _notifications(monkeypatch: pytest.MonkeyPatch) -> None:
    """Tests read notifications with tests.ui.helpers.notifications(app), not app privates."""
    from tests.ui.helpers import record_notifications

    record_notifications(monkeypatch)


class InProcessLoader:
    """The HIT loader's protocol (`turktui.adapters.loader.HitLoader`) without the child
    process: the same pages, balance and typed errors, listed in the app's worker thread.

    Every Pilot test's app would otherwise start a Python process to list HITs. The child
    process itself is tested where it is the subject (tests/ui/test_loader.py, the pty tests,
    tests marked `loader_process`)."""

    def __init__(self, spec: dict[str, Any], *, page_size: int = 100, balance: bool = False):
        self.spec, self.page_size, self.balance = spec, page_size, balance
        self._closed = False

    def events(self) -> Iterator[tuple[str, Any]]:
        from turktui.adapters.loader import error_from_tuple, error_to_tuple
        from turktui.adapters.mturk import MTurkService
        from turktui.domain.errors import TurkError

        try:
            service = MTurkService.from_spec(self.spec)
            pages = 0
            for hits in service.iter_hit_pages(self.page_size):
                if self._closed:
                    return
                pages += 1
                yield "page", hits
                if pages == 1 and self.balance:
                    try:
                        balance = service.get_balance()
                    except TurkError as exc:
                        yield "balance_error", error_from_tuple(error_to_tuple(exc))
                    else:
                        yield "balance", balance
            yield "done", pages
        except Exception as exc:  # the child reports every failure as a typed error
            if self._closed:
                return
            raise error_from_tuple(error_to_tuple(exc)) from None

    def close(self) -> None:
        self._closed = True

    def __enter__(self) -> InProcessLoader:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


@pytest.fixture(autouse=True)
def _hits_listed_in_process(
    request: pytest.FixtureRequest, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Pilot tests list HITs in-process (see InProcessLoader); `@pytest.mark.loader_process`
    keeps the real child process."""
    if request.node.get_closest_marker("loader_process") is not None:
        return
    import turktui.ui.app

    monkeypatch.setattr(turktui.ui.app, "HitLoader", InProcessLoader)


@pytest.fixture(autouse=True)
def _heap_left_to_the_gc(request: pytest.FixtureRequest, monkeypatch: pytest.MonkeyPatch) -> None:
    """The app's heap policy (turktui/ui/heap.py) freezes the process's heap while rows stream
    in and runs one full collection after each load. In the app's own process that scan is the
    app; in a test worker it is pytest, every test module and every earlier test's leftovers:
    about 0.3 s of CPU per load, over a third of a Pilot test's CPU. Tests leave the heap to the
    ordinary GC; the policy itself is tested where it is the subject (`@pytest.mark.real_heap`:
    tests/ui/test_idle_memory.py, tests/unit/test_heap.py)."""
    if request.node.get_closest_marker("real_heap") is not None:
        # As in the app's own process: nothing frozen by earlier tests (pytest_runtest_teardown).
        gc.unfreeze()
        gc.collect()
        return
    import turktui.ui.heap

    monkeypatch.setattr(turktui.ui.heap, "hold", lambda: None)
    monkeypatch.setattr(turktui.ui.heap, "listing_done", lambda: None)


@pytest.fixture(autouse=True)
def _quick_backoff(request: pytest.FixtureRequest, monkeypatch: pytest.MonkeyPatch) -> None:
    """In-process engines retry as in the product (the same attempts and the same 20 s
    bound) but wait 10-20 ms between attempts, not 0.25 s doubling to 4 s: an answer lost
    on every attempt cost each CLI test ~3.75 s of sleeping. Backoff's own delays are
    tested where they are the subject (tests/unit, `@pytest.mark.real_backoff`), and a
    subprocess keeps the real ones."""
    if request.node.get_closest_marker("real_backoff") is not None:
        return
    import functools

    import turktui.pipeline.engine
    from turktui.pipeline.model import Backoff

    monkeypatch.setattr(
        turktui.pipeline.engine, "Backoff", functools.partial(Backoff, base=0.01, cap=0.02)
    )


@pytest.fixture
def alone(request: pytest.FixtureRequest) -> bool:
    """Whether this test runs alone (it is marked `timing`, e.g. one case of a parametrised
    test): only then does it assert a wall-clock bound; its other cases check the behaviour
    in the parallel part."""
    return request.node.get_closest_marker("timing") is not None


@pytest.fixture
def fixed_clock() -> Callable[[], datetime]:
    return lambda: FIXED_NOW


@pytest.fixture(params=["sqlite", "postgres"])
def history_at(request: pytest.FixtureRequest, tmp_path: Path) -> Path | str:
    """Where a history lives, once per store adapter: a new file, and a new PostgreSQL
    database (tests/pg.py). Tests of the store's contract take this (or `store`)."""
    if request.param == "sqlite":
        return tmp_path / "data" / "history.sqlite3"
    return str(request.getfixturevalue("pg_db_url"))


@pytest.fixture
def store(history_at: Path | str) -> Iterator[Any]:
    """An open history store, once per adapter (see history_at); closed after the test."""
    from turktui.adapters.stores import open_store

    opened = open_store(history_at)
    yield opened
    opened.close()


@pytest.fixture
def make_emulator() -> Iterator[Callable[..., Any]]:
    """Factory: `make_emulator(hits=200, **kw)` → a started EmulatorServer on a free port,
    seeded (seed=1) and frozen at FIXED_NOW; stopped after the test."""
    from turktui.emulator import EmulatorServer

    servers: list[Any] = []

    def make(hits: int = 200, **kwargs: Any) -> Any:
        kwargs.setdefault("seed", 1)
        kwargs.setdefault("now", FIXED_NOW.timestamp)
        server = EmulatorServer(host="127.0.0.1", port=0, hits=hits, **kwargs)
        server.start()
        servers.append(server)
        return server

    yield make
    for server in servers:
        server.stop()


@pytest.fixture
def emulator(make_emulator: Callable[..., Any]) -> Any:
    return make_emulator(200)


@pytest.fixture
def make_context(tmp_path: Path) -> Iterator[Callable[..., Any]]:
    """Factory: `make_context(url, kind=EnvKind.DEMO, read_only=False, ...)` → AppContext
    with a fixed clock and paths under tmp_path. Each context's history is closed after
    the test, as `turktui` closes it when the app ends (a shared history's lease thread
    and connections do not outlive the test)."""
    from turktui.adapters.config import Paths, Settings
    from turktui.adapters.mturk import MTurkService
    from turktui.domain.environment import Environment, EnvKind
    from turktui.ui.context import AppContext

    def make(
        url: str,
        kind: EnvKind = EnvKind.DEMO,
        *,
        read_only: bool = False,
        profile: str | None = None,
        credentials: tuple[str, str] | None = None,
        settings: Settings | None = None,
    ) -> AppContext:
        env = Environment(kind, url, profile, read_only)
        service = MTurkService(
            env, credentials=credentials, connect_timeout=1.0, read_timeout=5.0, max_attempts=1
        )
        paths = Paths(
            config_file=tmp_path / "config.toml",
            data_dir=tmp_path / "data",
            history_db=tmp_path / "data" / "history.sqlite3",
            log_dir=tmp_path / "logs",
        )
        ctx = AppContext(
            env=env,
            service=service,
            settings=settings or Settings(),
            paths=paths,
            clock=lambda: FIXED_NOW,
        )
        made.append(ctx)
        return ctx

    made: list[AppContext] = []
    yield make
    for ctx in made:
        if ctx.history is not None:
            with contextlib.suppress(Exception):
                ctx.history.close()


@pytest.fixture
def demo_context(emulator: Any, make_context: Callable[..., Any]) -> Any:
    from turktui.domain.environment import EnvKind

    return make_context(emulator.url, EnvKind.DEMO)


# -- engine-level fixtures: each test package provides its own `server` (an emulator) ----------
@pytest.fixture
def env(server: Any) -> Any:
    from turktui.domain.environment import Environment, EnvKind

    return Environment(EnvKind.DEMO, server.url)


@pytest.fixture
def service(env: Any) -> Any:
    """Short timeouts: fault tests must not wait long for a dropped or slow answer."""
    from turktui.adapters.mturk import MTurkService

    return MTurkService(env, read_timeout=0.3, connect_timeout=0.5)


@pytest.fixture
def history(store: Any) -> Any:
    """The engine's history store: once on a SQLite file, once on PostgreSQL (`store`)."""
    return store


# -- wall-clock tests: alone, after the parallel part ------------------------------------------
def pytest_addoption(parser: pytest.Parser) -> None:
    parser.addoption(
        "--timing-phase",
        action="store_true",
        default=False,
        help="run only the tests marked `timing` (the suite does this itself, after the rest)",
    )


def _parallel(config: pytest.Config) -> bool:
    return bool(getattr(config.option, "numprocesses", 0))


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    """A parallel run leaves the `timing` tests out (the controller runs them afterwards, with
    no other test competing for the two cores); `--timing-phase` keeps only them. A run with
    `-n 0` (or an explicit `-m`) runs them in place."""
    timing_phase = config.getoption("--timing-phase")
    in_worker = hasattr(config, "workerinput")
    if not (timing_phase or in_worker) or config.getoption("-m"):
        return
    keep, drop = [], []
    for item in items:
        is_timing = item.get_closest_marker("timing") is not None
        (keep if is_timing == timing_phase else drop).append(item)
    if drop:
        config.hook.pytest_deselected(items=drop)
        items[:] = keep
    if in_worker and not timing_phase:
        # Tell the controller which tests to run alone afterwards (pytest_testnodedown).
        config.workeroutput["timing"] = [item.nodeid for item in drop]  # type: ignore[attr-defined]


#: The `timing` tests the parallel workers left out, by node id (every worker collects alike).
_TIMING: set[str] = set()


@pytest.hookimpl(optionalhook=True)
def pytest_testnodedown(node: Any, error: object) -> None:
    _TIMING.update(getattr(node, "workeroutput", {}).get("timing", ()))


def pytest_sessionfinish(session: pytest.Session, exitstatus: int) -> None:
    """After a parallel run (the README's command): the `timing` tests, alone, in one process
    with the same arguments. Its failures fail the run; a crash of it is a failure too.
    Then the run's PostgreSQL template (tests/pg.py) goes, once every worker has stopped."""
    if hasattr(session.config, "workerinput"):
        return
    try:
        _timing_phase(session)
    finally:
        from tests.pg import remove_template

        remove_template()


def _timing_phase(session: pytest.Session) -> None:
    config = session.config
    if not _parallel(config):
        return
    if config.getoption("--timing-phase") or config.getoption("-m"):
        return
    if session.shouldfail or session.shouldstop:
        return
    import subprocess
    import sys

    if not _TIMING:
        return
    # The same options, the timing tests by id instead of the paths given (no second collection
    # of the whole suite).
    options = [a for a in config.invocation_params.args if a not in config.args]
    args = [*options, "-n", "0", "-p", "no:randomly", "--timing-phase", *sorted(_TIMING)]
    reporter = config.pluginmanager.get_plugin("terminalreporter")
    if reporter is not None:
        reporter.write_sep("=", "timing tests: alone, after the parallel part")
    proc = subprocess.run(
        [sys.executable, "-m", "pytest", *args], cwd=str(config.invocation_params.dir)
    )
    # 5: nothing marked `timing` among the selected tests.
    if proc.returncode not in (0, 5):
        session.exitstatus = pytest.ExitCode.TESTS_FAILED
        if reporter is not None:
            reporter.write_line(f"timing tests failed (exit {proc.returncode})", red=True)


def pytest_configure(config: pytest.Config) -> None:
    """Before xdist starts its workers: name the run (they share one PostgreSQL template) and
    rewrite the test modules' asserts once for all of them (tests/rewrite_cache.py)."""
    from tests.pg import name_run

    name_run()
    if _parallel(config) and not hasattr(config, "workerinput"):
        from tests.rewrite_cache import rewrite_once

        rewrite_once(config)


@pytest.hookimpl(trylast=True)
def pytest_runtest_teardown(item: pytest.Item) -> None:
    """After each test: collect its garbage, then freeze what is left (`gc.freeze`).

    A worker runs hundreds of tests, and what they leave alive (imports, caches, fixtures of
    wider scope) only grows. Python's full collections scanned all of it again each time the
    heap grew by a quarter: a third of the CPU of the Pilot tests. Frozen, the survivors are
    never scanned again; this collection scans only what the test made. (Garbage that a frozen
    object makes later is not collected: in a test worker that costs memory, not time.) The
    tests whose subject is the GC (`real_heap`) unfreeze and re-freeze as the app does."""
    gc.collect()
    gc.freeze()
