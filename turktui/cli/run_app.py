"""`turktui` without a subcommand: open the connection, run the app, always clean up.

The HIT loader process is started *before* Textual is imported: listing HITs (boto3's
import, ~100 round trips, parsing) then overlaps the app's own startup on another core.
"""

from __future__ import annotations

import argparse
import gc
import sys
from typing import TYPE_CHECKING, Any

from turktui.adapters.loader import HitLoader
from turktui.cli.options import Connection, open_connection
from turktui.domain.errors import ConfigurationError

if TYPE_CHECKING:
    from turktui.ui.app import TurkTuiApp

PAGE_SIZE = 100


def start_prefetch(service: Any) -> HitLoader | None:
    """Start listing HITs (and the balance) in a child process right away."""
    spec = getattr(service, "spec", None)
    if spec is None:
        return None
    try:
        return HitLoader(spec(), page_size=PAGE_SIZE, balance=True)
    except OSError:  # cannot spawn: the app lists HITs itself
        return None


def build_app(conn: Connection, service: Any, loader: HitLoader | None) -> TurkTuiApp:
    from turktui.ui.app import TurkTuiApp
    from turktui.ui.context import AppContext

    # What is imported now lives as long as the process: take it out of the cyclic GC's
    # full scans (one landed right after startup, 15-50 ms, delaying the first keys).
    gc.freeze()
    ctx = AppContext(
        env=conn.env,
        service=service,
        settings=conn.settings,
        paths=conn.paths,
        hit_loader=loader,
    )
    from turktui.cli.lifecycle import settle_and_leave

    ctx.state.settle_in_flight = settle_and_leave
    return TurkTuiApp(ctx)


def run_app(args: argparse.Namespace) -> int:
    """Run the TUI. Config problems raise ConfigurationError (one line, exit 2); service
    problems (credentials, network) are shown inside the app."""
    try:
        conn = open_connection(args)
    except OSError as exc:  # e.g. the demo service could not bind a port
        raise ConfigurationError(f"cannot start: {exc}") from exc
    from turktui.cli.lifecycle import undrivable_terminal

    problem = undrivable_terminal()  # after the config: its errors come first
    if problem:
        conn.close()
        raise ConfigurationError(problem)
    service = conn.service()
    loader = start_prefetch(service)
    app = None
    try:
        app = build_app(conn, service, loader)
        app.run()
        # The code the app settled on as it ended (5: a request left unknown), else its own.
        settled = app.ctx.state.exit_code
        return int(settled if settled is not None else app.return_code or 0)
    finally:
        history = app.ctx.history if app is not None else None
        if history is not None:
            from turktui.cli.lifecycle import close_quietly

            close_quietly(history)  # checkpoints the WAL
        if loader is not None:
            loader.close()  # idempotent; the app normally has closed it already
        conn.close()
        sys.stdout.flush()
