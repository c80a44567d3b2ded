"""turktui's command line: the app (default), plus `emulator`, `paths`, `extend`, `history`
and `resolve`. Heavy imports (textual, boto3) happen only in the command that needs them."""

from __future__ import annotations

import argparse
import os
import signal
import sys
import threading
from collections.abc import Sequence

from turktui import __version__
from turktui.cli.options import add_connection_options
from turktui.core.errors import TurkError
from turktui.core.history import HistoryError

EXIT_OK = 0
EXIT_USAGE = 2
EXIT_INTERNAL = 70  # EX_SOFTWARE
#: How long a hung-up (or quitting) app waits for requests in flight to record their outcome.
#: Past it the record stays "sending" and `turktui resolve` settles it.
HANGUP_GRACE = 20.0

DESCRIPTION = """\
Watch your Amazon Mechanical Turk HITs and add assignments to them safely.

Without a command, opens the terminal app. The default endpoint is the MTurk SANDBOX;
pass --production to work on real money, or --demo to try everything on a local,
seeded MTurk-compatible service.
"""

EPILOG = """\
commands:
  turktui                      open the app (see the options above)
  turktui emulator             serve the MTurk-compatible service for other tools
  turktui paths                print where config, history and logs live
  turktui extend HIT_ID N      add assignments from the shell (token-protected)
  turktui history              list recorded requests
  turktui resolve              settle requests whose outcome is unknown

Run `turktui COMMAND --help` for a command's options.
"""


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
        type=float,
        default=None,
        help="reload the HIT list every SECONDS (paused while a dialog is open; 0 = off)",
    )
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")
    from turktui.cli import commands

    commands.register(sub)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    argv = list(sys.argv[1:] if argv is None else argv)
    if argv[:1] == ["emulator"]:
        # The emulator wing parses its own options (it must not depend on the app).
        from turktui.emulator import cli_main

        return cli_main(argv[1:])
    parser = build_parser()
    args = parser.parse_args(argv)
    handler = getattr(args, "handler", None)
    try:
        if handler is None:
            from turktui.cli.run_app import run_app

            _install_hangup_handler()
            try:
                return run_app(args)
            finally:
                in_flight = getattr(sys.modules.get("turktui.core.engine"), "IN_FLIGHT", None)
                if in_flight is not None and in_flight.count:
                    # Quit with a request in flight: let it record its outcome first.
                    print("turktui: waiting for a request in flight to record its outcome…",
                          file=sys.stderr, flush=True)
                _wait_in_flight()
        return int(handler(args))
    except TurkError as exc:
        print(f"turktui: error: {exc.message}", file=sys.stderr)
        if exc.hint:
            print(f"turktui: hint: {exc.hint}", file=sys.stderr)
        return EXIT_USAGE
    except HistoryError as exc:
        print(f"turktui: error: {exc}", file=sys.stderr)
        return EXIT_USAGE
    except KeyboardInterrupt:
        print("turktui: interrupted", file=sys.stderr)
        return 130
    except Exception as exc:  # last resort: never a traceback in front of an operator
        where = _log_crash(exc)
        print(f"turktui: internal error: {type(exc).__name__}: {exc}", file=sys.stderr)
        if where:
            print(f"turktui: details were written to {where}", file=sys.stderr)
        return EXIT_INTERNAL


def _wait_in_flight(timeout: float = HANGUP_GRACE) -> bool:
    """Let engine requests in flight record their outcome (only if the engine was used)."""
    engine = sys.modules.get("turktui.core.engine")
    # The module may be half-imported by a worker right now: then nothing is in flight yet.
    in_flight = getattr(engine, "IN_FLIGHT", None)
    if in_flight is None:
        return True
    return bool(in_flight.wait_idle(timeout))


_DETACHED: list[int] = []


def _detach_terminal() -> None:
    """Point stdin at a pipe nobody writes (reads block) and stdout/stderr at /dev/null.

    A hung-up tty reads as endless EOF: Textual's input thread would spin at 100% CPU while
    we wait for a request in flight, and every screen update would fail with EIO."""
    try:
        read_end, write_end = os.pipe()
        _DETACHED.append(write_end)  # kept open (never written) so reads block, not EOF
        os.dup2(read_end, 0)
        null = os.open(os.devnull, os.O_WRONLY)
        os.dup2(null, 1)
        os.dup2(null, 2)
    except OSError:  # pragma: no cover - nothing better to do; we exit soon anyway
        pass


def _install_hangup_handler() -> None:
    """The terminal went away (SSH dropped): end the app instead of leaving it running
    against a dead tty, but first let a request in flight record its outcome.

    Python's default for SIGHUP kills the process at once (the record then stays "sending"
    until resolve); Textual does not handle it.
    """
    if not hasattr(signal, "SIGHUP"):  # pragma: no cover - Windows
        return

    # No Python-level handler: those run only on the main thread, between bytecodes, and
    # the main thread may sit in the event loop's epoll with nothing to wake it, while the
    # kernel hands SIGHUP to another thread. Instead SIGHUP is blocked here, before any
    # thread exists (threads inherit the mask), and one thread takes it with sigwait().
    signal.pthread_sigmask(signal.SIG_BLOCK, {signal.SIGHUP})

    def wait_for_hangup() -> None:
        signum = signal.sigwait({signal.SIGHUP})
        try:
            _detach_terminal()
            _wait_in_flight()
        finally:  # whatever happens, the terminal is gone: no screen to restore
            os._exit(128 + signum)

    threading.Thread(target=wait_for_hangup, name="hangup", daemon=True).start()


def _log_crash(exc: BaseException) -> str | None:
    """Write the traceback to the log directory; return its path (None if impossible)."""
    import traceback

    if os.environ.get("TURKTUI_DEBUG"):
        traceback.print_exception(exc)
    try:
        from turktui.core.config import Paths

        log_dir = Paths.default().log_dir
        log_dir.mkdir(parents=True, exist_ok=True, mode=0o700)
        os.chmod(log_dir, 0o700)  # mkdir's mode is filtered by the umask; be explicit
        path = log_dir / "crash.log"
        # 0600 whatever the umask: a traceback names HITs, endpoints and paths.
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o600)
        os.fchmod(fd, 0o600)
        with open(fd, "a", encoding="utf-8") as handle:
            traceback.print_exception(exc, file=handle)
        return str(path)
    except Exception:
        return None
