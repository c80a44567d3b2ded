"""A rotating log of the requests that change things, and their outcomes. No secrets.

`turktui paths` lists the log directory; `requests.log` there (rotated at 1 MB, five old
files kept, each 0600 in a 0700 directory) answers "what did turktui do at 14:02?":

    2026-11-29T14:02:03.512Z PRODUCTION https://mturk-requester.us-east-1.amazonaws.com
        CreateAdditionalAssignmentsForHIT HIT 3X9… +5 token turktui-… -> ok (0.21 s)

Every line goes through `text.redact` (URL passwords never appear) and keys are never
passed in. Writing the log never stops the program: a full disk only loses log lines.
"""

from __future__ import annotations

import contextlib
import logging
import logging.handlers
import os
import stat
import threading
import time
from collections.abc import Iterator
from datetime import datetime, timezone
from pathlib import Path
from typing import Any, BinaryIO, cast

from turktui.domain.environment import Environment
from turktui.domain.text import one_line, redact

LOGGER_NAME = "turktui.requests"
FILE_NAME = "requests.log"
MAX_BYTES = 1_000_000
BACKUPS = 5

_lock = threading.Lock()
_installed: dict[str, logging.Handler] = {}


class _PrivateRotatingHandler(logging.handlers.RotatingFileHandler):
    """A RotatingFileHandler whose files are created 0600, whatever the umask, and that
    costs one write per line: the file is opened and checked once (not looked up by name
    for every line, as the standard handler does), each line is formatted once and written
    whole (one `write`: lines of several processes never interleave), and the size that
    decides a rotation is counted, not asked for."""

    #: the bytes of the file open now (its size when opened, plus what this handler wrote)
    _size = 0

    def _open(self) -> Any:
        # O_NOFOLLOW, as for the history and crash.log: a requests.log that is a symbolic
        # link is refused (OSError: the line is lost), never its target appended to.
        flags = os.O_WRONLY | os.O_APPEND | os.O_CREAT | os.O_NOFOLLOW | os.O_NONBLOCK
        fd = os.open(self.baseFilename, flags, 0o600)
        try:
            info = os.fstat(fd)
            if not stat.S_ISREG(info.st_mode):  # a FIFO or a device in its place
                raise OSError(f"{self.baseFilename} is not a regular file")
            os.fchmod(fd, 0o600)
            os.set_blocking(fd, True)
        except OSError:
            os.close(fd)
            raise
        self._size = info.st_size
        return os.fdopen(fd, "ab", buffering=0)

    def emit(self, record: logging.LogRecord) -> None:
        try:
            line = (self.format(record) + self.terminator).encode("utf-8", "backslashreplace")
            if self.stream is None:
                self.stream = self._open()
            if self.maxBytes > 0 and self._size and self._size + len(line) >= self.maxBytes:
                self.doRollover()
                if self.stream is None:
                    self.stream = self._open()
            cast(BinaryIO, self.stream).write(line)  # opened binary (_open)
            self._size += len(line)
        except Exception:
            self.handleError(record)

    def handleError(self, record: logging.LogRecord) -> None:
        pass  # never a traceback on the operator's terminal because a log line was lost


class _UTCFormatter(logging.Formatter):
    def formatTime(self, record: logging.LogRecord, datefmt: str | None = None) -> str:
        moment = datetime.fromtimestamp(record.created, timezone.utc)
        return moment.strftime("%Y-%m-%dT%H:%M:%S.") + f"{int(record.msecs):03d}Z"

    def format(self, record: logging.LogRecord) -> str:
        return redact(super().format(record))


_log = logging.getLogger(LOGGER_NAME)
_log.propagate = False


def logger() -> logging.Logger:
    return _log


def setup(log_dir: Path, *, max_bytes: int = MAX_BYTES, backups: int = BACKUPS) -> Path | None:
    """Write the request log under `log_dir` (idempotent). None if it cannot be written."""
    path = Path(log_dir) / FILE_NAME
    with _lock:
        if str(path) in _installed:
            return path
        try:
            path.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
            if path.parent.is_symlink() or path.is_symlink():
                return None  # never write through a link someone else placed (as crash.log)
            if not path.parent.stat().st_mode & stat.S_ISVTX:  # never tighten /tmp
                os.chmod(path.parent, 0o700)
            handler = _PrivateRotatingHandler(
                path, maxBytes=max_bytes, backupCount=backups, encoding="utf-8", delay=True
            )
        except OSError:
            return None
        handler.setFormatter(_UTCFormatter("%(asctime)s %(message)s"))
        log = logger()
        log.addHandler(handler)
        log.setLevel(logging.INFO)
        _installed[str(path)] = handler
        return path


def teardown() -> None:
    """Remove every handler (tests)."""
    with _lock:
        log = logger()
        for handler in _installed.values():
            log.removeHandler(handler)
            handler.close()
        _installed.clear()


def where(env: Environment) -> str:
    who = f" profile {env.profile}" if env.profile else ""
    return f"{env.kind.banner} {env.endpoint_url}{who}"


def note(env: Environment, text: str) -> None:
    """One free-form line (a command started, a resolve decision, ...)."""
    logger().info("%s %s", where(env), one_line(text))


class LoggedService:
    """Wraps the service: every changing call is logged with its outcome; reads pass through."""

    def __init__(self, service: Any, env: Environment) -> None:
        self._service = service
        self._where = where(env)  # the head of each of its lines, made once

    @property
    def wrapped(self) -> Any:
        return self._service

    def __getattr__(self, name: str) -> Any:
        return getattr(self._service, name)

    @contextlib.contextmanager
    def offloaded(self, requests: int) -> Iterator[Any]:
        """The wrapped service's `offloaded` (a second sender for a large group of writes),
        each write still logged here with its outcome."""
        offloaded = getattr(self._service, "offloaded", None)
        if offloaded is None:
            yield self
            return
        with offloaded(requests) as service:
            if service is self._service:
                yield self
                return
            logged = object.__new__(LoggedService)
            logged.__dict__.update(self.__dict__, _service=service)
            yield logged

    def _logged(self, what: str, call: Any) -> Any:
        log = logger()
        started = time.monotonic()
        try:
            result = call()
        except Exception as exc:
            code = getattr(exc, "code", None) or type(exc).__name__
            message = getattr(exc, "message", None) or str(exc)
            log.info(
                "%s %s -> %s: %s (%.2f s)",
                self._where,
                what,
                one_line(code),
                one_line(message, max_length=300),
                time.monotonic() - started,
            )
            raise
        log.info("%s %s -> ok (%.2f s)", self._where, what, time.monotonic() - started)
        return result

    def create_additional_assignments(self, hit_id: str, n: int, token: str) -> Any:
        return self._logged(
            f"CreateAdditionalAssignmentsForHIT HIT {one_line(hit_id)} +{n} token {token}",
            lambda: self._service.create_additional_assignments(hit_id, n, token),
        )

    def update_expiration(self, hit_id: str, expire_at: datetime) -> Any:
        return self._logged(
            f"UpdateExpirationForHIT HIT {one_line(hit_id)} expire at {expire_at.isoformat()}",
            lambda: self._service.update_expiration(hit_id, expire_at),
        )

    def approve_assignment(
        self, assignment_id: str, feedback: str | None = None, *, override_rejection: bool = False
    ) -> Any:
        override = " override rejection" if override_rejection else ""
        return self._logged(
            f"ApproveAssignment assignment {one_line(assignment_id)}{override}",
            lambda: self._service.approve_assignment(
                assignment_id, feedback, override_rejection=override_rejection
            ),
        )

    def reject_assignment(self, assignment_id: str, feedback: str) -> Any:
        return self._logged(
            f"RejectAssignment assignment {one_line(assignment_id)}",
            lambda: self._service.reject_assignment(assignment_id, feedback),
        )

    def send_bonus(
        self, worker_id: str, assignment_id: str, amount: str, reason: str, token: str
    ) -> Any:
        return self._logged(
            f"SendBonus assignment {one_line(assignment_id)} worker {one_line(worker_id)} "
            f"${one_line(amount)} token {token}",
            lambda: self._service.send_bonus(worker_id, assignment_id, amount, reason, token),
        )
