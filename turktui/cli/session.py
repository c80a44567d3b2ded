"""The one session every command runs in (`run`): what it works with — the configuration,
the connection (environment, profile, the demo service), the MTurk service, the history
store (its lock and lease) and the engine — opened when the command first asks for it and
closed when it ends, and every error it meets turned into an exit code and one line by the
one judgement (`output.failure`, from `policy`'s table). A new command is a `body(session)`
handed to `run`."""

from __future__ import annotations

import argparse
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any

from turktui.adapters.config import Paths, Settings
from turktui.adapters.history import HistoryError, HistoryStore
from turktui.adapters.stores import open_store
from turktui.cli import options
from turktui.cli.options import Connection
from turktui.cli.output import Out, StopCommand, failure, safe
from turktui.domain.environment import Environment, parse_endpoint
from turktui.pipeline.engine import Engine
from turktui.pipeline.policy import EXIT_BUSY, EXIT_USAGE

__all__ = [
    "READ_ONLY",
    "Session",
    "explicit_endpoint",
    "history_file",
    "history_scope",
    "open_connection",
    "run",
]


READ_ONLY = "turktui: read-only session: nothing can be changed"


def open_connection(args: argparse.Namespace, *, start_demo: bool = True) -> Connection:
    """`options.open_connection`, looked up when called: whoever replaces it (a test
    pointing a production environment at the emulator) replaces it for every command, and
    only while it is replaced (a re-export bound at import would keep the replacement)."""
    return options.open_connection(args, start_demo=start_demo)


class Session:
    """What one command works with; each part is opened on first use, once, and `close`
    closes what was opened (the history first: its lease ends before the demo service)."""

    def __init__(
        self,
        args: argparse.Namespace,
        out: Out,
        payload: Mapping[str, Any] | None = None,
        *,
        changing: bool = False,
    ) -> None:
        self.args = args
        self.out = out
        #: the command changes things (refused when read-only; a failure says "not sent")
        self.changing = changing
        #: the command's name (`policy`'s table: the codes it can end with)
        self.command: str | None = getattr(args, "command", None)
        #: the fields every JSON ending of the command carries (e.g. the HIT id); a body
        #: adds what it learns (`fail` and `run` use them)
        self.payload: dict[str, Any] = dict(payload or {})
        self._config: tuple[Settings, Paths] | None = None
        self._conn: Connection | None = None
        self._service: Any = None
        self._stores: dict[str, HistoryStore] = {}
        self._engine: Engine | None = None

    # -- configuration and connection --------------------------------------------------------
    def config(self) -> tuple[Settings, Paths]:
        """The settings and paths (config file, flags, environment); no connection."""
        if self._conn is not None:
            return self._conn.settings, self._conn.paths
        if self._config is None:
            self._config = options.load_config(self.args)
        return self._config

    @property
    def conn(self) -> Connection:
        """The connection: the environment (and profile) resolved, the demo service
        started for --demo."""
        if self._conn is None:
            self._conn = open_connection(self.args)
        return self._conn

    @property
    def env(self) -> Environment:
        return self.conn.env

    def service(self) -> Any:
        """The MTurk service of the connection (the adapter, its calls logged)."""
        if self._service is None:
            self._service = self.conn.service()
        return self._service

    # -- the history -------------------------------------------------------------------------
    def history(self, where: Path | str | None = None) -> HistoryStore:
        """The history at `where` (default: the connection's, demo records in their own),
        with this operator and lease; one that cannot be opened ends the command (exit 2,
        7 when another process holds its lock)."""
        if where is None:
            where = self.conn.paths.history
        settings, _ = self.config()
        key = str(where)
        if key not in self._stores:
            try:
                self._stores[key] = open_store(
                    where, operator=settings.operator, lease_seconds=settings.lease_seconds
                )
            except HistoryError as exc:  # unusable (2), or busy (7) as judged
                busy = (judged := failure(exc)) is not None and judged.code == EXIT_BUSY
                raise StopCommand(
                    f"turktui: {safe(exc)}", EXIT_BUSY if busy else EXIT_USAGE
                ) from exc
        return self._stores[key]

    def engine(self) -> Engine:
        """The engine over this session's service, history and environment."""
        if self._engine is None:
            self._engine = Engine(self.service(), self.history(), self.env)
        return self._engine

    def refuse_read_only(self) -> None:
        """A changing command in a read-only session ends here: exit 2, nothing sent."""
        if self.env.read_only:
            raise StopCommand(READ_ONLY)

    def fail(self, exc: BaseException, what: str = "") -> int:
        """End the command on `exc` as `failure` judges it (`what`: what could not be done,
        "read the HIT"): its exit code, and its line (JSON: the payload, the state, the
        error's fields). An error no command expects is re-raised (a bug: exit 70)."""
        judged = failure(exc, self.command, what, self.changing or None)
        if judged is None:
            raise exc
        return self.out.result(
            judged.code, {**self.payload, "state": judged.state, **judged.fields}, judged.line
        )

    def close(self) -> None:
        """Close what was opened: the histories (their leases end), then the connection
        (the demo service stops) whatever closing them met."""
        try:
            while self._stores:
                self._stores.popitem()[1].close()
        finally:
            if self._conn is not None:
                self._conn.close()


def run(
    args: argparse.Namespace,
    body: Callable[[Session], int],
    *,
    payload: Mapping[str, Any] | None = None,
    changing: bool = False,
    as_json: bool | None = None,
) -> int:
    """Run a command's `body` in a session and return its exit code. A `changing` command
    is refused in a read-only session (exit 2). Whatever the body (or the session, opening)
    raises that a command expects — a set-up problem, a refusal, MTurk failing, the history
    busy or failing, a StopCommand — ends it with `failure`'s code and line (JSON: `payload`
    with the state and the error's fields; `as_json`: whether the ending is one JSON object,
    by default `--json`); everything opened is closed."""
    if as_json is None:
        as_json = bool(getattr(args, "json", False))
    session = Session(args, Out(as_json), payload, changing=changing)
    try:
        if changing:
            session.refuse_read_only()
        return body(session)
    except Exception as exc:  # a bug is re-raised by `fail`: exit 70 with a crash log
        return session.fail(exc)
    finally:
        session.close()


def history_scope(args: argparse.Namespace) -> tuple[str | None, str | None]:
    """(environment kind, normalised endpoint) `turktui history` is limited to.

    `--env KIND`, or the connection flags read as filters: `--demo` → demo, `--production`
    → production, `--sandbox` → sandbox, `--endpoint-url`/`--endpoint URL` → that endpoint.
    ValueError (one line) when they contradict each other or a URL is unusable.
    """
    kinds = {
        k
        for k, on in (
            ("demo", getattr(args, "demo", False)),
            ("production", getattr(args, "production", False)),
            ("sandbox", getattr(args, "sandbox", False)),
        )
        if on
    }
    if getattr(args, "env", None):
        kinds.add(args.env)
    if len(kinds) > 1:
        raise ValueError(f"contradictory environment filters: {', '.join(sorted(kinds))}")
    endpoint = None
    for option, url in (
        ("--endpoint", getattr(args, "endpoint", None)),
        ("--endpoint-url", getattr(args, "endpoint_url", None)),
    ):
        if url is None:
            continue
        if not url.strip():
            raise ValueError(f"{option} is empty: give a URL or leave it out")
        normal = parse_endpoint(url).url
        if endpoint is not None and normal != endpoint:
            raise ValueError("--endpoint and --endpoint-url name different endpoints")
        endpoint = normal
    return (kinds.pop() if kinds else None), endpoint


def history_file(args: argparse.Namespace, paths: Any) -> Any:
    """Demo records live in their own file (`history-demo.sqlite3`)."""
    kind, _ = history_scope(args)
    return paths.history_for(kind or "")


def explicit_endpoint(args: argparse.Namespace) -> bool:
    """--endpoint-url, --production or --sandbox was given (a filter for resolve)."""
    return bool(
        getattr(args, "endpoint_url", None)
        or getattr(args, "production", False)
        or getattr(args, "sandbox", False)
    )
