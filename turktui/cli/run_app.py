"""`turktui` without a subcommand: open the connection, run the app, always clean up."""

from __future__ import annotations

import argparse
import sys

from turktui.cli.options import open_connection
from turktui.core.errors import TurkError


def run_app(args: argparse.Namespace) -> int:
    """Run the TUI. Config problems raise TurkError (the CLI prints one line); service
    problems (credentials, network) are shown inside the app."""
    try:
        conn = open_connection(args)
    except OSError as exc:  # e.g. the demo service could not bind a port
        raise TurkError(f"cannot start: {exc}") from exc
    try:
        from turktui.ui.app import TurkTuiApp
        from turktui.ui.context import AppContext

        ctx = AppContext(
            env=conn.env,
            service=conn.service(),
            settings=conn.settings,
            paths=conn.paths,
        )
        app = TurkTuiApp(ctx)
        app.run()
        if app.return_code and app.return_code != 0:
            return int(app.return_code)
        return 0
    finally:
        conn.close()
        sys.stdout.flush()
