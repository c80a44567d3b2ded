"""Subcommands other than the app itself. Each registers a parser and a handler."""

from __future__ import annotations

import argparse

from turktui.cli.options import add_connection_options


def register(sub: argparse._SubParsersAction) -> None:
    # `emulator` is dispatched before parsing (see cli.main); listed here for --help.
    sub.add_parser(
        "emulator",
        help="serve the MTurk-compatible service (run `turktui emulator --help`)",
        add_help=False,
    )
    paths = sub.add_parser("paths", help="print where config, history and logs live")
    paths.set_defaults(handler=cmd_paths)
    _register_engine_commands(sub)


def _register_engine_commands(sub: argparse._SubParsersAction) -> None:
    try:
        from turktui.cli import engine_commands
    except ImportError:  # not built yet
        return
    engine_commands.register(sub, add_connection_options)


def cmd_paths(args: argparse.Namespace) -> int:
    from turktui.adapters.config import Paths

    paths = Paths.default()
    print(f"config:  {paths.config_file}")
    print(f"data:    {paths.data_dir}")
    print(f"history: {paths.history_db}")
    print(f"demo:    {paths.demo_history_db}")
    print(f"logs:    {paths.log_dir}  (requests.log)")
    return 0
