"""A second sender for a large group of writes: a child process, forked from this one, that
sends requests this process has already recorded, so a thousand approvals use both cores.

Why: a request's CPU is mostly botocore's (building, signing, the HTTP exchange, reading
the answer), and one process's threads share one GIL: a thousand approvals to a nearby
endpoint are bound by one core while the other waits. Why a fork: a child started afresh
imports boto3 first (about 0.4 s of CPU, measured), as much as it would save; a forked
child has everything imported and builds only its own client (its own connections).

What it never changes (the engine's promise):

* The child sends only what it is handed, and it is handed a request only after the
  request is recorded, by a caller that waits for its answer as it would for its own call
  (`OffloadedService`: the same methods, the same typed errors, the same deadline). At
  most `DEPTH` requests are with the child; when it has no room, the caller sends itself.
* An answer that does not come back — the child killed, its pipe broken, the answer not
  readable — is a `ConnectionLost`: the request may have been applied, and the engine
  settles it by what MTurk shows, as for a dropped answer. Past the request's deadline
  the caller stops waiting (`DeadlineExceeded`) and the child takes nothing more.
* A group that ends normally leaves nothing with the child: `close` closes its pipe and
  it leaves. A group interrupted with requests still with the child (Ctrl-C, a deadline)
  kills it at once, so nothing is sent after its caller stopped waiting. If this process
  is killed, the child sends what is already in its pipe (at most `DEPTH` requests, each
  recorded "sending", which `resolve` settles) and leaves. It ignores Ctrl-C (this process
  decides what is sent after one), never writes to the terminal or a file, never touches
  the history, keeps no other descriptor of this process open, and leaves by `os._exit`
  (no exit handlers of this process run twice).

Only where `os.fork` is safe enough: Linux (not macOS, whose system libraries may not
survive a fork of a threaded process; not Windows, which has none). Elsewhere, and when
the fork or the child's start fails, the caller sends every request itself.

Protocol: frames of `loader`'s shape (4-byte length + pickle) over two private pipes.
Jobs: (job id, method name, args, kwargs). Answers: (job id, value or None, error or None,
MTurk's Date header). Pickle is safe here: both ends are this very program.
"""

from __future__ import annotations

import contextlib
import gc
import os
import pickle
import select
import signal
import sys
import threading
import time
import warnings
from collections.abc import Callable
from concurrent.futures import Future
from concurrent.futures import TimeoutError as FutureTimeout
from typing import IO, Any

from turktui.adapters.loader import read_frame, write_frame
from turktui.domain.errors import ConnectionLost, DeadlineExceeded, TurkError

#: a group of at least this many writes is shared with a child (fewer: the fork, about
#: 10 ms, and the child's client, about 30 ms, would cost more than they save)
OFFLOAD_AT = 200
#: requests a child holds at once (one on the wire, the next ones in its pipe): the rest
#: stay with the caller's workers, which send them meanwhile, so the two processes share
#: the group. Measured (1,000 approvals, 2 cores): 2 left the child idle, 8 left this
#: process's workers waiting on the child; 4 was the fastest. The child sends one at a
#: time (two threads there were slower: one GIL again).
DEPTH = 4
#: how long the child may take to say it is ready (its own client built)
READY_WITHIN = 5.0
#: how long `close` waits for the child to leave before killing it
LEAVE_WITHIN = 2.0

LOST = (
    "The answer was not handed back by turktui's second sender (it stopped): the request "
    "may have been applied; MTurk's own answer settles it."
)


def available() -> bool:
    """Whether a child can be forked here (see the module's note)."""
    return hasattr(os, "fork") and sys.platform.startswith("linux")


class Offload:
    """The parent's side: one forked child, the jobs it holds and their answers."""

    def __init__(self, pid: int, jobs: IO[bytes], answers: IO[bytes]) -> None:
        self.pid = pid
        self._jobs = jobs
        self._answers = answers
        self._lock = threading.Lock()
        self._pending: dict[int, Future[Any]] = {}
        #: requests handed to the child (each job's number)
        self.handed = 0
        #: False once the child stopped, broke a promise of time, or was closed
        self.alive = True
        #: requests the child answered (for the notes and the tests)
        self.answered = 0
        #: whether `close` had to kill it (it held requests, or did not leave in time)
        self.killed = False
        self._reader = threading.Thread(target=self._read, name="offload-answers", daemon=True)

    # -- the parent's side ----------------------------------------------------------------
    @classmethod
    def start(cls, build: Callable[[], Any]) -> Offload | None:
        """Fork the child (it sends with the service `build()` makes there: its own client,
        its own connections) and wait until it is ready; None when that cannot be done here
        or in time."""
        if not available():
            return None
        try:
            jobs_r, jobs_w = os.pipe()
            answers_r, answers_w = os.pipe()
        except OSError:
            return None
        try:
            with warnings.catch_warnings():
                # Python 3.12+ warns of forking a threaded process: the child uses no lock,
                # connection or thread of this one (its own client; the module's note).
                warnings.filterwarnings(
                    "ignore", message=r".*use of fork\(\) may lead", category=DeprecationWarning
                )
                pid = os.fork()
        except OSError:
            for fd in (jobs_r, jobs_w, answers_r, answers_w):
                os.close(fd)
            return None
        if pid == 0:  # the child: never returns
            code = 0
            try:
                os.close(jobs_w)
                os.close(answers_r)
                _child(jobs_r, answers_w, build)
            except BaseException:
                code = 1
            finally:
                os._exit(code)
        os.close(jobs_r)
        os.close(answers_w)
        offload = cls(pid, os.fdopen(jobs_w, "wb"), os.fdopen(answers_r, "rb"))
        if not offload._ready():
            offload.close()
            return None
        offload._reader.start()
        return offload

    def _ready(self) -> bool:
        """The child's first frame says it is ready; a bounded wait for it."""
        try:
            readable, _, _ = select.select([self._answers], [], [], READY_WITHIN)
            return bool(readable) and read_frame(self._answers) == "ready"
        except (EOFError, OSError, pickle.UnpicklingError, ValueError):
            return False

    @property
    def room(self) -> bool:
        with self._lock:
            return self.alive and len(self._pending) < DEPTH

    def submit(self, method: str, args: tuple[Any, ...], kwargs: dict[str, Any]) -> Future[Any]:
        """Hand one recorded request to the child; its future gives (value, date) or
        raises the request's TurkError (`ConnectionLost` when the answer cannot come)."""
        future: Future[Any] = Future()
        with self._lock:
            if not self.alive:
                raise ConnectionLost(LOST)
            self.handed += 1
            job = self.handed
            self._pending[job] = future
            try:
                # Not sent on a broken pipe: the caller knows nothing left this process.
                write_frame(self._jobs, (job, method, args, kwargs))
            except (OSError, ValueError, pickle.PicklingError):
                del self._pending[job]
                self.alive = False
                raise ConnectionLost(LOST) from None
        return future

    def wait(self, future: Future[Any], deadline: float) -> Any:
        """The answer of `future`; past `deadline` seconds (0: none) a DeadlineExceeded,
        and the child takes nothing more (it may be stuck on that request)."""
        try:
            value, date = future.result(timeout=deadline if deadline > 0 else None)
        except FutureTimeout:
            with self._lock:
                self.alive = False
            raise DeadlineExceeded(
                f"MTurk did not answer completely within {deadline:g} s (request_deadline)"
            ) from None
        return value, date

    def _read(self) -> None:
        """The answers, each to its caller; at the end, every caller still waiting is told
        its answer was lost."""
        try:
            while True:
                job, value, error, date = read_frame(self._answers)
                with self._lock:
                    future = self._pending.pop(job, None)
                    self.answered += 1
                if future is None:
                    continue
                if error is not None:
                    future.set_exception(error)
                else:
                    future.set_result((value, date))
        except (EOFError, OSError, pickle.UnpicklingError, ValueError, TypeError):
            pass
        with self._lock:
            self.alive = False
            lost, self._pending = list(self._pending.values()), {}
        for future in lost:
            future.set_exception(ConnectionLost(LOST))

    def close(self) -> None:
        """Close the child's pipe of jobs; wait (bounded) for it to leave, else kill it (at
        once when it still holds requests). Every caller still waiting is told its answer
        was lost."""
        with self._lock:
            self.alive = False
            stopped = bool(self._pending)
        if stopped:
            # Requests still with it (an interrupted group, a request past its deadline):
            # killed now, so nothing handed to it is sent after its caller stopped waiting
            # (what was on the wire is unknown, settled by what MTurk shows).
            self._kill()
        with contextlib.suppress(OSError, ValueError):
            self._jobs.close()
        ends = time.monotonic() + LEAVE_WITHIN
        while True:
            try:
                done, _status = os.waitpid(self.pid, os.WNOHANG)
            except ChildProcessError:
                break
            if done:
                break
            if time.monotonic() >= ends:
                self._kill()
                with contextlib.suppress(ChildProcessError):
                    os.waitpid(self.pid, 0)  # SIGKILL cannot be ignored
                break
            time.sleep(0.005)
        if self._reader.is_alive():
            self._reader.join(LEAVE_WITHIN)  # the pipe is at its end: it returns at once
        with contextlib.suppress(OSError, ValueError):
            self._answers.close()
        with self._lock:
            lost, self._pending = list(self._pending.values()), {}
        for future in lost:
            future.set_exception(ConnectionLost(LOST))

    def _kill(self) -> None:
        self.killed = True
        with contextlib.suppress(OSError):
            os.kill(self.pid, signal.SIGKILL)


class OffloadedService:
    """A service whose writes (its `WRITES`: the methods that change something) go to the
    child while it has room (the caller waits for the answer as for its own call) and are
    sent here otherwise; everything else is the service's own."""

    def __init__(self, service: Any, offload: Offload) -> None:
        self._service = service
        self._offload = offload

    @property
    def offload(self) -> Offload:
        return self._offload

    def __getattr__(self, name: str) -> Any:
        found = getattr(self._service, name)
        if name not in self._service.WRITES:
            return found

        def write(*args: Any, **kwargs: Any) -> Any:
            offload = self._offload
            if not offload.room:
                return found(*args, **kwargs)
            self._service.note_date(None)  # never an earlier call's Date for this one
            future = offload.submit(name, args, kwargs)
            value, date = offload.wait(future, self._service.request_deadline)
            self._service.note_date(date)
            return value

        return write


# -- the child's side ---------------------------------------------------------------------
def _child(jobs_fd: int, answers_fd: int, build: Callable[[], Any]) -> None:
    """Build a service of its own and send what the pipe brings until it closes."""
    # Ctrl-C reaches the whole process group: the parent decides what happens after it.
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    for name in ("SIGTERM", "SIGHUP", "SIGQUIT", "SIGTSTP", "SIGUSR1", "SIGUSR2"):
        with contextlib.suppress(AttributeError, OSError, ValueError):
            signal.signal(getattr(signal, name), signal.SIG_DFL)
    with contextlib.suppress(AttributeError, OSError, ValueError):
        signal.pthread_sigmask(signal.SIG_SETMASK, set())
    # Nothing of it ever reaches the terminal (the parent's app or output owns it).
    devnull = os.open(os.devnull, os.O_RDWR)
    for fd in (0, 1, 2):
        os.dup2(devnull, fd)
    gc.freeze()  # the parent's objects: never scanned (nor copied) here
    # Only its two pipes stay open: another child's pipe (or anything else of the parent)
    # held open here would hide that end's closing.
    # (Those open, as Linux lists them: a range up to the limit may be a billion closes.)
    for name in os.listdir("/proc/self/fd"):
        fd = int(name)
        if fd > 2 and fd not in (jobs_fd, answers_fd):
            with contextlib.suppress(OSError):  # the listing's own, closed already
                os.close(fd)
    jobs, answers = os.fdopen(jobs_fd, "rb"), os.fdopen(answers_fd, "wb")
    service = build()
    write_frame(answers, "ready")
    while True:
        try:
            job = read_frame(jobs)
        except EOFError:
            return
        try:
            _send(service, job, answers)
        except OSError:  # the parent is gone (its end of the pipe closed)
            return


def _send(service: Any, job: Any, answers: IO[bytes]) -> None:
    """One job: sent, and its answer (what MTurk said, or that it is unknown) written back."""
    number, method, args, kwargs = job
    value: Any = None
    error: BaseException | None = None
    service.note_date(None)
    try:
        if method not in service.WRITES:
            raise TurkError(f"turktui's second sender does not send {method!r}")
        value = getattr(service, method)(*args, **kwargs)
    except TurkError as exc:
        error = exc
    except Exception as exc:  # not what MTurk answered: whether it was applied is unknown
        error = ConnectionLost(f"{LOST} ({type(exc).__name__})")
    try:
        write_frame(answers, (number, value, error, service.last_date()))
    except (pickle.PicklingError, TypeError, AttributeError):
        write_frame(answers, (number, None, ConnectionLost(LOST), None))
