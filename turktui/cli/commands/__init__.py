"""Subcommands other than the app itself, one module each; each registers its parser and
handler. `emulator` is dispatched before parsing (see cli.main)."""

from __future__ import annotations

import argparse

from turktui.cli.commands import (
    approve,
    bonus,
    bonus_file,
    bonuses,
    expire,
    extend,
    extend_bulk,
    history,
    reject,
    resolve,
)
from turktui.cli.commands import list as list_command
from turktui.pipeline.policy import EXIT_CODES, EXIT_OK, EXIT_USAGE


def register(sub: argparse._SubParsersAction) -> None:
    # `emulator` is dispatched before parsing (see cli.main); listed here for --help.
    sub.add_parser(
        "emulator",
        help="serve the MTurk-compatible service (run `turktui emulator --help`)",
        add_help=False,
    )
    paths = sub.add_parser(
        "paths",
        help="print where config, history and logs live",
        description="Print where the config file, the histories and the logs live.",
        epilog=EXIT_CODES,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    paths.add_argument(
        "--history-url",
        metavar="URL",
        default=argparse.SUPPRESS,
        help="as for the other commands: say which history that URL would be",
    )
    paths.set_defaults(handler=cmd_paths)
    extend.register(sub, bulk=extend_bulk.cmd_extend_bulk)
    expire.register(sub)
    history.register(sub)
    list_command.register(sub)
    resolve.register(sub)
    approve.register(sub)
    reject.register(sub)
    bonus.register(sub, from_file=bonus_file.cmd_bonus_file)
    bonuses.register(sub)


def cmd_paths(args: argparse.Namespace) -> int:
    """Where things live; the history is the one in use (a file, or the shared database
    that --history-url, TURKTUI_HISTORY_URL or the config's history_url names)."""
    import sys

    from turktui.adapters.config import Paths, history_label
    from turktui.cli.output import emit, safe
    from turktui.cli.session import Session, run
    from turktui.domain.errors import ConfigurationError

    def body(session: Session) -> int:
        out = session.out  # a path from the environment may hold anything: made safe
        paths = Paths.default()
        problem = ""
        try:
            _, paths = session.config()
        except ConfigurationError as exc:  # still say where the config is: it may be the cause
            problem = exc.message
        out.say(f"config:  {paths.config_file}")
        out.say(f"data:    {paths.data_dir}")
        out.say(f"history: {history_label(paths.history)}")
        out.say(f"demo:    {paths.demo_history_db}")
        out.say(f"logs:    {paths.log_dir}  (requests.log)")
        if problem:
            emit(f"turktui: error: {safe(problem)}", sys.stderr)
            return EXIT_USAGE
        return EXIT_OK

    return run(args, body)
