"""How a command or the app ends: signals (exit 128 + n), requests in flight recorded as
unknown when they cannot finish, the terminal detached on hang-up, crashes logged."""

from __future__ import annotations

import contextlib
import os
import signal
import stat
import sys
import threading
from collections.abc import Callable, Sequence
from typing import Any

from turktui.domain.text import redact
from turktui.pipeline.policy import EXIT_OK, EXIT_UNKNOWN

#: Terminals Textual cannot drive (no cursor addressing): the app refuses to start.
UNDRIVABLE_TERMS = frozenset({"dumb", "unknown", "emacs", "cons25"})
#: How long a hung-up (or quitting) app waits for requests in flight to record their outcome.
#: Past it the record stays "sending" and `turktui resolve` settles it.
HANGUP_GRACE = 20.0


class Interrupted(KeyboardInterrupt):
    """SIGTERM or SIGHUP in a command: unwinds like Ctrl-C (which is SIGINT)."""

    def __init__(self, signum: int) -> None:
        super().__init__(signal.Signals(signum).name)
        self.signum = signum


def _raise_interrupted(signum: int, frame: object) -> None:
    if signum == getattr(signal, "SIGHUP", None):
        _detach_terminal(only_ttys=True)  # the terminal is gone: writes would fail (EIO)
    raise Interrupted(signum)


def install_command_signals() -> None:
    """Commands (extend, history, resolve, ...) end on SIGTERM and SIGHUP as on Ctrl-C: the
    exception unwinds (a bulk batch cancels what has not started and lets what is in flight
    record its outcome), then `main` records what is still in flight as unknown."""
    for name in ("SIGTERM", "SIGHUP"):
        sig = getattr(signal, name, None)
        if sig is not None:
            signal.signal(sig, _raise_interrupted)


def safe_output() -> None:
    """Text output never fails on a terminal (or pipe) that cannot encode a character: it is
    degraded to the stream's encoding (backslash escapes) instead. JSON output is ASCII with
    escapes already (`_Out`). A failure *after* a change was applied would invite a retry."""
    for stream in (sys.stdout, sys.stderr):
        reconfigure = getattr(stream, "reconfigure", None)
        if reconfigure is not None:
            with contextlib.suppress(ValueError, OSError):  # a detached stream
                reconfigure(errors="backslashreplace")


def stdout_closed() -> None:
    """The reader of stdout went away (`turktui history | head`). As Python's documentation
    recommends (signal module, "Note on SIGPIPE"): point stdout at /dev/null, so what is still
    buffered, and the interpreter's last flush, go nowhere instead of failing again."""
    try:
        null = os.open(os.devnull, os.O_WRONLY)
    except OSError:  # pragma: no cover - nothing better to do
        return
    try:
        os.dup2(null, sys.stdout.fileno())
    except (AttributeError, ValueError, OSError):  # not a file descriptor (tests, a wrapper)
        sys.stdout = os.fdopen(null, "w")
        return
    os.close(null)


def undrivable_terminal() -> str | None:
    """Why the app cannot run on this terminal (None: it can). Textual needs a TTY on both
    ends and cursor addressing; on TERM=dumb it would spin redrawing, ignoring keys."""
    term = os.environ.get("TERM")
    if term is not None and term.strip().lower() in UNDRIVABLE_TERMS | {""}:
        return (
            f"this terminal (TERM={term or '(empty)'}) cannot run the app; use a terminal "
            "such as xterm-256color, or the commands (turktui extend, history, resolve)"
        )
    for name, stream in (("input", sys.stdin), ("output", sys.stdout)):
        try:
            tty = stream is not None and stream.isatty()
        except (ValueError, OSError):
            tty = False
        if not tty:
            return (
                f"the app needs a terminal, but its {name} is not one; from scripts use "
                "the commands (turktui extend, history, resolve)"
            )
    return None


def _in_flight() -> object | None:
    # Only if the engine was used. The module may be half-imported by a worker right now:
    # then nothing is in flight yet.
    return getattr(sys.modules.get("turktui.pipeline.engine"), "IN_FLIGHT", None)


def mark_in_flight_unknown(reason: str) -> list[int]:
    in_flight = _in_flight()
    if in_flight is None:
        return []
    try:
        return list(in_flight.mark_unknown(reason))  # type: ignore[attr-defined]
    except Exception:  # never let this hide the real exit
        return []


def settle_in_flight(grace: float = HANGUP_GRACE, *, stream: object = None) -> list[int]:
    """The app is closing: let requests in flight record their outcome, saying at once which
    HITs it waits for; Ctrl-C (or the grace running out) records them as unknown instead.
    Returns the ids recorded as unknown."""
    in_flight = _in_flight()
    if in_flight is None or not in_flight.count:  # type: ignore[attr-defined]
        return []
    out = stream or sys.stderr
    hits = ", ".join(in_flight.hit_ids()) or "a HIT"  # type: ignore[attr-defined]
    print(
        f"turktui: waiting for the request to HIT {hits} to finish (Ctrl-C to leave it unknown)…",
        file=out,
        flush=True,
    )  # type: ignore[arg-type]
    restore: dict[int, Any] = {}
    if threading.current_thread() is threading.main_thread():
        for sig in (signal.SIGINT, signal.SIGTERM):
            restore[sig] = signal.signal(sig, _raise_interrupted)
    try:
        idle = bool(in_flight.wait_idle(grace))  # type: ignore[attr-defined]
    except KeyboardInterrupt:
        idle = False
    finally:
        for sig, previous in restore.items():
            signal.signal(sig, previous)
    if idle:
        return []
    marked = mark_in_flight_unknown("turktui was closed before MTurk answered; resolve settles it.")
    _say_unknown(marked, "without an answer: recorded as unknown", out)
    return marked


def _say_unknown(ids: Sequence[int], how: str, out: Any) -> None:
    """One line: which requests are left unknown, and what settles them."""
    if ids:
        which = ", ".join(f"#{i}" for i in ids)
        plural = "s" if len(ids) > 1 else ""
        print(f"turktui: left request{plural} {which} {how}; run `turktui resolve`", file=out)
        out.flush()


DRAIN_GRACE = 2.0


def settle_and_leave(
    code: int, history: Any = None, left_unknown: Sequence[int] = (), *, stream: Any = None
) -> int:
    """Called by the app once its terminal is restored, before the event loop closes (which
    would wait for every worker thread, however stuck). Settles what is in flight (see
    `settle_in_flight`) and says which of the session's requests were left unknown
    (`left_unknown`: the outcome arrived, unknown, and was not resolved since). Returns the
    exit code: `code`, or after a plain quit 5 when an outcome is unknown (as for `turktui
    extend`). If a request or another worker thread still runs, leaves now with it."""
    out = stream or sys.stderr
    marked = settle_in_flight(stream=out)
    in_flight = _in_flight()
    stuck = bool(in_flight is not None and in_flight.count)  # type: ignore[attr-defined]
    told = set(marked)
    left = [i for i in left_unknown if i not in told]
    _say_unknown(left, "with an unknown outcome (it may have been applied)", out)
    final = code or (EXIT_UNKNOWN if marked or left or stuck else EXIT_OK)
    if not stuck and _drain_executor(DRAIN_GRACE):
        return final
    if history is not None:
        close_quietly(history)
    with contextlib.suppress(Exception):
        sys.stdout.flush()
        sys.stderr.flush()
    os._exit(final)


def _drain_executor(timeout: float) -> bool:
    """Let the running loop's worker threads finish (at most `timeout`); True if they did."""
    import asyncio
    import time

    try:
        executor = getattr(asyncio.get_running_loop(), "_default_executor", None)
    except RuntimeError:
        return True
    if executor is None:
        return True
    executor.shutdown(wait=False)  # idle threads leave at once
    threads = list(getattr(executor, "_threads", ()))
    deadline = time.monotonic() + timeout
    for thread in threads:
        thread.join(max(0.0, deadline - time.monotonic()))
    return not any(thread.is_alive() for thread in threads)


def close_quietly(history: Any) -> None:
    """Close (and checkpoint) the history unless a worker is inside it right now."""
    lock = getattr(history, "_lock", None)
    if lock is None or not lock.acquire(blocking=False):
        return
    try:
        with contextlib.suppress(Exception):
            history.close()
    finally:
        lock.release()


def _wait_in_flight(timeout: float = HANGUP_GRACE) -> bool:
    """Let engine requests in flight record their outcome (only if the engine was used)."""
    engine = sys.modules.get("turktui.pipeline.engine")
    # The module may be half-imported by a worker right now: then nothing is in flight yet.
    in_flight = getattr(engine, "IN_FLIGHT", None)
    if in_flight is None:
        return True
    return bool(in_flight.wait_idle(timeout))


_DETACHED: list[int] = []


def _detach_terminal(*, only_ttys: bool = False) -> None:
    """Point stdin at a pipe nobody writes (reads block) and stdout/stderr at /dev/null
    (with `only_ttys`, only those that are the terminal: a pipe or file still works).

    A hung-up tty reads as endless EOF: Textual's input thread would spin at 100% CPU while
    we wait for a request in flight, and every screen update would fail with EIO."""

    def gone(fd: int) -> bool:
        try:
            return not only_ttys or os.isatty(fd)
        except OSError:  # pragma: no cover
            return True

    try:
        if gone(0):
            read_end, write_end = os.pipe()
            _DETACHED.append(write_end)  # kept open (never written) so reads block, not EOF
            os.dup2(read_end, 0)
        null = os.open(os.devnull, os.O_WRONLY)
        for fd in (1, 2):
            if gone(fd):
                os.dup2(null, fd)
    except OSError:  # pragma: no cover - nothing better to do; we exit soon anyway
        pass


def install_hangup_handler() -> Callable[[], None]:
    """The terminal went away (SSH dropped): end the app instead of leaving it running
    against a dead tty, but first let a request in flight record its outcome.

    Python's default for SIGHUP kills the process at once (the record then stays "sending"
    until resolve); Textual does not handle it.

    Returns `disarm`, for when the app has ended (or never started): the watcher thread
    leaves and SIGHUP is unblocked again, so nothing outlives the call that installed it.
    """
    if not hasattr(signal, "SIGHUP"):  # pragma: no cover - Windows
        return lambda: None

    # No Python-level handler: those run only on the main thread, between bytecodes, and
    # the main thread may sit in the event loop's epoll with nothing to wake it, while the
    # kernel hands SIGHUP to another thread. Instead SIGHUP is blocked here, before any
    # thread exists (threads inherit the mask), and one thread takes it with sigwait().
    previous = signal.pthread_sigmask(signal.SIG_BLOCK, {signal.SIGHUP})
    disarmed = threading.Event()

    def wait_for_hangup() -> None:
        signum = signal.sigwait({signal.SIGHUP})
        if disarmed.is_set():  # woken by `disarm`, not by the terminal
            return
        try:
            _detach_terminal()
            if not _wait_in_flight():
                mark_in_flight_unknown(
                    "The terminal hung up before MTurk answered; resolve settles it."
                )
        finally:  # whatever happens, the terminal is gone: no screen to restore
            os._exit(128 + signum)

    watcher = threading.Thread(target=wait_for_hangup, name="hangup", daemon=True)
    watcher.start()

    def disarm() -> None:
        disarmed.set()
        if watcher.ident is not None and watcher.is_alive():
            signal.pthread_kill(watcher.ident, signal.SIGHUP)  # blocked there: sigwait takes it
        watcher.join(timeout=1.0)
        if signal.SIGHUP not in previous:
            signal.pthread_sigmask(signal.SIG_UNBLOCK, {signal.SIGHUP})

    return disarm


def log_crash(exc: BaseException) -> str | None:
    """Write the traceback to the log directory; return its path (None if impossible)."""
    import traceback

    if os.environ.get("TURKTUI_DEBUG"):
        traceback.print_exception(exc)
    try:
        from turktui.adapters.config import Paths

        log_dir = Paths.default().log_dir
        log_dir.mkdir(parents=True, exist_ok=True, mode=0o700)
        if log_dir.is_symlink() or not log_dir.is_dir():
            return None  # never write through a link someone else placed
        info = log_dir.stat()
        if info.st_uid == os.getuid() and stat.S_IMODE(info.st_mode) != 0o700:
            os.chmod(log_dir, 0o700)  # mkdir's mode is filtered by the umask
        path = log_dir / "crash.log"
        # 0600 whatever the umask: a traceback names HITs, endpoints and paths. O_NOFOLLOW:
        # a crash.log that is a symlink is refused, never its target appended to.
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_APPEND | os.O_NOFOLLOW, 0o600)
        try:
            if not stat.S_ISREG(os.fstat(fd).st_mode):
                os.close(fd)
                return None
            os.fchmod(fd, 0o600)
        except OSError:
            os.close(fd)
            return None
        with open(fd, "a", encoding="utf-8", errors="backslashreplace") as handle:
            # Redacted: a message may quote a database URL or an endpoint with its password.
            handle.write(redact("".join(traceback.format_exception(exc))))
        return str(path)
    except Exception:
        return None
