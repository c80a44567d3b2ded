"""turktui's command line: the app (default), plus `emulator`, `paths`, `extend`, `history`
and `resolve`. Heavy imports (textual, boto3) happen only in the command that needs them."""

from __future__ import annotations

import argparse
import signal
import sys
from collections.abc import Sequence

from turktui import __version__
from turktui.cli.lifecycle import (
    install_command_signals,
    install_hangup_handler,
    log_crash,
    mark_in_flight_unknown,
    safe_output,
    settle_in_flight,
    stdout_closed,
)
from turktui.cli.options import add_connection_options
from turktui.cli.output import failure, safe
from turktui.pipeline.policy import (
    APP,
    EXIT_CODES,
    EXIT_INTERNAL,
    EXIT_OK,
    EXIT_SIGNAL_BASE,
)

DESCRIPTION = """\
Watch your Amazon Mechanical Turk HITs and add assignments to them safely.

Without a command, opens the terminal app. The default endpoint is the MTurk SANDBOX;
pass --production to work on real money, or --demo to try everything on a local,
seeded MTurk-compatible service.
"""


EPILOG = (
    """\
commands:
  turktui                      open the app (see the options above)
  turktui emulator             serve the MTurk-compatible service for other tools
  turktui paths                print where config, history and logs live
  turktui extend HIT_ID N      add assignments from the shell (token-protected)
  turktui list                 list HITs for scripts (--json, --json-array, --csv)
  turktui expire HIT_ID...     expire HITs now (recorded; asks unless --demo or --yes)
  turktui approve ASSIGNMENT_ID...  approve submitted work (recorded; verified)
  turktui reject ASSIGNMENT_ID... --feedback TEXT  reject submitted work, with feedback
  turktui bonus ASSIGNMENT_ID AMOUNT --reason TEXT  pay a bonus, exactly once
  turktui bonuses --hit HIT_ID  list the bonuses paid (--assignment ID; --json, --csv)
  turktui history              list recorded requests
  turktui resolve              settle requests whose outcome is unknown

Run `turktui COMMAND --help` for a command's options.

Every command and the app end on SIGTERM, SIGINT (Ctrl-C) and SIGHUP with exit code
128 + the signal (143, 130, 129); a request in flight is recorded as unknown for resolve.

"""
    + EXIT_CODES
)


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="turktui",
        description=DESCRIPTION,
        epilog=EPILOG,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument("--version", action="version", version=f"turktui {__version__}")
    add_connection_options(parser)
    parser.add_argument(
        "--auto-refresh",
        metavar="SECONDS",
        type=_refresh_seconds,
        default=None,
        help="reload the HIT list every SECONDS (paused while a dialog is open; 0 = off)",
    )
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")
    from turktui.cli import commands

    commands.register(sub)
    return parser


def _refresh_seconds(text: str) -> float:
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"not a number: {text!r}") from None
    if not 0 <= value <= 86_400:  # also refuses nan and inf
        raise argparse.ArgumentTypeError("must be 0 (off) to 86400 seconds")
    return value


def main(argv: Sequence[str] | None = None) -> int:
    argv = list(sys.argv[1:] if argv is None else argv)
    if argv[:1] == ["emulator"]:
        # The emulator wing parses its own options (it must not depend on the app).
        from turktui.emulator import cli_main

        return cli_main(argv[1:])
    safe_output()
    code: int | None = None
    try:
        try:
            args = build_parser().parse_args(argv)
        except SystemExit:  # --help, --version, a usage error: printed, then flushed here
            sys.stdout.flush()
            raise
        code = _dispatch(args)
        sys.stdout.flush()  # a reader gone by now must not fail the interpreter's last flush
    except BrokenPipeError:
        # `turktui history | head`: the reader has what it wanted. Not an error: no message,
        # no crash log; a command that finished keeps its own exit code.
        stdout_closed()
        return EXIT_OK if code is None else code
    return code


def _dispatch(args: argparse.Namespace) -> int:
    """Run the command (or the app) named by `args`; every ending becomes an exit code."""
    handler = getattr(args, "handler", None)
    try:
        if handler is None:
            from turktui.cli.run_app import run_app

            disarm_hangup = install_hangup_handler()
            try:
                return run_app(args)
            finally:
                # Normally settled by the app itself before the event loop closes (see
                # TurkTuiApp.run_async); this covers an app that ended another way.
                settle_in_flight()
                disarm_hangup()
        install_command_signals()
        return int(handler(args))
    except KeyboardInterrupt as exc:
        signum = getattr(exc, "signum", signal.SIGINT)
        name = signal.Signals(signum).name
        marked = mark_in_flight_unknown(
            f"Interrupted by {name} before the outcome was recorded; resolve settles it."
        )
        print(f"turktui: interrupted ({name})", file=sys.stderr)
        if marked:
            ids = ", ".join(f"#{i}" for i in marked)
            print(
                f"turktui: request {ids} may or may not have been applied: recorded as "
                "unknown; run `turktui resolve`",
                file=sys.stderr,
            )
        return EXIT_SIGNAL_BASE + signum
    except BrokenPipeError:
        raise  # the reader of stdout went away: `main` ends quietly
    except Exception as exc:  # last resort: never a traceback in front of an operator
        judged = failure(exc, getattr(args, "command", None) or APP)
        if judged is not None:  # e.g. the app's configuration: the commands' one judgement
            print(judged.line, file=sys.stderr)
            return judged.code
        where = log_crash(exc)
        print(f"turktui: internal error: {type(exc).__name__}: {safe(exc)}", file=sys.stderr)
        if where:
            print(f"turktui: details were written to {where}", file=sys.stderr)
        return EXIT_INTERNAL
