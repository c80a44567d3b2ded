"""The prologue every command shares: connection options → a connection, the history file
(demo records live in their own), the scope a listing is limited to."""

from __future__ import annotations

import argparse
from collections.abc import Callable
from typing import Any

from turktui.adapters.history import HistoryStore
from turktui.adapters.stores import open_store
from turktui.cli import options
from turktui.cli.options import Connection
from turktui.cli.output import Out, StopCommand
from turktui.domain.environment import parse_endpoint
from turktui.pipeline.policy import EXIT_USAGE

__all__ = [
    "changing",
    "history_file",
    "history_scope",
    "open_connection",
    "open_history_of",
    "refuse_read_only",
]


READ_ONLY = "turktui: read-only session: nothing can be changed"


def open_connection(args: argparse.Namespace, *, start_demo: bool = True) -> Connection:
    """`options.open_connection`, looked up when called: the commands bind this name when
    they are imported, and whoever replaces `options.open_connection` (a test pointing a
    production environment at the emulator) replaces it for every command, and only while
    it is replaced (a re-export bound then would keep the replacement for good)."""
    return options.open_connection(args, start_demo=start_demo)


def refuse_read_only(conn: Connection, out: Out, payload: dict[str, Any]) -> int | None:
    """The one read-only refusal of the changing commands: exit 2, nothing sent."""
    if not conn.env.read_only:
        return None
    return out.result(EXIT_USAGE, payload, READ_ONLY)


def open_history_of(conn: Connection) -> HistoryStore:
    """The history of this connection's environment (HistoryError: one line, exit 2)."""
    return open_store(
        conn.paths.history,
        operator=conn.settings.operator,
        lease_seconds=conn.settings.lease_seconds,
    )


def changing(
    args: argparse.Namespace, out: Out, usage: dict[str, Any], body: Callable[[Any], int]
) -> int:
    """The prologue and epilogue of a changing command: a connection (refused when
    read-only), its history and an Engine handed to `body`, whose exit code is returned;
    a StopCommand from `body` is one line and exit 2, a history failure before anything was
    sent one line and exit 4 (7 when busy); everything is closed afterwards."""
    from turktui.adapters.history import HistoryError
    from turktui.pipeline.engine import Engine

    conn = open_connection(args)
    try:
        refused = refuse_read_only(conn, out, usage)
        if refused is not None:
            return refused
        service = conn.service()
        try:
            history = open_history_of(conn)
        except HistoryError as exc:
            return out.history_failure(exc, usage)
        try:
            return body(Engine(service, history, conn.env))
        except StopCommand as stop:
            return out.result(EXIT_USAGE, usage, stop.message)
        except HistoryError as exc:  # e.g. busy while recording: nothing was sent
            from turktui.cli.output import history_exit_code, safe
            from turktui.pipeline.policy import EXIT_SERVICE

            return out.result(
                history_exit_code(exc, EXIT_SERVICE),
                {"state": "failed"},
                f"turktui: not sent: {safe(exc)}",
            )
        finally:
            history.close()
    finally:
        conn.close()


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
