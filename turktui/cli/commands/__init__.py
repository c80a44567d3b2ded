"""Subcommands other than the app itself, one module each; each registers its parser and
handler. `emulator` is dispatched before parsing (see cli.main)."""

from __future__ import annotations

import argparse

from turktui.cli.commands import expire, extend, extend_bulk, history, resolve
from turktui.cli.commands import list as list_command


def register(sub: argparse._SubParsersAction) -> None:
    # `emulator` is dispatched before parsing (see cli.main); listed here for --help.
    sub.add_parser(
        "emulator",
        help="serve the MTurk-compatible service (run `turktui emulator --help`)",
        add_help=False,
    )
    paths = sub.add_parser("paths", help="print where config, history and logs live")
    paths.set_defaults(handler=cmd_paths)
    extend.register(sub, bulk=extend_bulk.cmd_extend_bulk)
    expire.register(sub)
    history.register(sub)
    list_command.register(sub)
    resolve.register(sub)


def cmd_paths(args: argparse.Namespace) -> int:
    from turktui.adapters.config import Paths

    paths = Paths.default()
    print(f"config:  {paths.config_file}")
    print(f"data:    {paths.data_dir}")
    print(f"history: {paths.history_db}")
    print(f"demo:    {paths.demo_history_db}")
    print(f"logs:    {paths.log_dir}  (requests.log)")
    return 0
