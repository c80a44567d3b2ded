"""List HITs in a child process and stream the pages to the app over a pipe.

Why a process: listing 10,000 HITs is ~100 HTTP round trips plus CPU-heavy parsing. In a
thread, that work competes with the UI for the GIL (keys lag) and boto3's import serialises
with Textual's. A child (`python -m turktui.adapters.loader_child`) started before Textual is even
imported overlaps all of it with the app's startup, on another core.

Protocol (both directions): frames of a 4-byte big-endian length + a pickle. The parent
sends one frame (the service spec) and keeps the child's stdin open: the child exits as soon
as stdin closes, so it can never outlive the app (even one killed with SIGKILL). The child
answers with events: ("page", [Hit, ...]), ("balance", Balance), ("balance_error", err),
("error", err) and ("done", pages), where `err` is (class name, message, code, hint) and is
rebuilt here as the same typed `turktui.domain.errors` class.

Pickle is safe here: both ends are this package, talking over a private pipe.
This module is the parent side and the protocol; it never imports textual (core) nor boto3:
only the child (`loader_child`, which imports the service) does.
"""

from __future__ import annotations

import contextlib
import os
import pickle
import struct
import subprocess
import sys
import threading
from collections.abc import Iterator
from pathlib import Path
from typing import IO, Any

from turktui.domain import errors
from turktui.domain.errors import TurkError

_HEADER = struct.Struct(">I")
_PACKAGE_ROOT = str(Path(__file__).resolve().parents[2])

ErrorTuple = tuple[str, str, str, str]


def write_frame(stream: IO[bytes], obj: object) -> None:
    data = pickle.dumps(obj, protocol=pickle.HIGHEST_PROTOCOL)
    stream.write(_HEADER.pack(len(data)) + data)
    stream.flush()


def read_frame(stream: IO[bytes]) -> Any:
    """The next frame, or raises EOFError when the other end is gone."""
    head = stream.read(_HEADER.size)
    if len(head) < _HEADER.size:
        raise EOFError
    size = _HEADER.unpack(head)[0]
    data = stream.read(size)
    if len(data) < size:
        raise EOFError
    return pickle.loads(data)


def error_to_tuple(exc: BaseException) -> ErrorTuple:
    if isinstance(exc, TurkError):
        return (type(exc).__name__, exc.message, str(getattr(exc, "code", "")), exc.hint)
    return ("UnexpectedResponse", f"Unexpected error: {type(exc).__name__}: {exc}", "", "")


def error_from_tuple(data: ErrorTuple) -> TurkError:
    name, message, code, hint = data
    found = getattr(errors, name, None)
    exc: TurkError
    if isinstance(found, type) and issubclass(found, errors.RequestRefused):
        exc = found(message, code)
    elif isinstance(found, type) and issubclass(found, TurkError):
        exc = found(message)
    else:
        exc = TurkError(message)
    if hint and hint != exc.hint:
        exc.hint = hint
    return exc


class HitLoader:
    """Parent side: one child process listing every HIT once."""

    def __init__(self, spec: dict[str, Any], *, page_size: int = 100, balance: bool = False):
        env = {**os.environ}
        # The child must import this very package, installed or not.
        env["PYTHONPATH"] = os.pathsep.join(
            p for p in (_PACKAGE_ROOT, env.get("PYTHONPATH", "")) if p
        )
        self._closed = False
        self._lock = threading.Lock()
        self.proc = subprocess.Popen(
            [sys.executable, "-m", "turktui.adapters.loader_child"],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            # The app owns the terminal: a stray traceback must not paint over it. Every
            # failure is reported over the pipe instead.
            stderr=subprocess.DEVNULL,
            env=env,
            close_fds=True,
        )
        assert self.proc.stdin is not None and self.proc.stdout is not None
        # If the child died at once, events() reports it.
        with contextlib.suppress(OSError):
            write_frame(self.proc.stdin, {"spec": spec, "page_size": page_size, "balance": balance})

    def events(self) -> Iterator[tuple[str, Any]]:
        """("page", hits) … ("done", pages); ("balance", b) / ("balance_error", err) may
        come in between. A failed listing raises its typed TurkError."""
        stdout = self.proc.stdout
        assert stdout is not None
        while True:
            try:
                kind, payload = read_frame(stdout)
            except (EOFError, OSError, pickle.UnpicklingError, ValueError):
                if self._closed:
                    return
                raise TurkError("The HIT loader stopped unexpectedly; press r to retry.") from None
            if kind == "error":
                raise error_from_tuple(payload)
            if kind == "balance_error":
                payload = error_from_tuple(payload)
            yield kind, payload
            if kind == "done":
                return

    def close(self) -> None:
        """Stop the child now (idempotent, callable from any thread)."""
        with self._lock:
            if self._closed:
                return
            self._closed = True
        proc = self.proc
        if proc.poll() is None:
            proc.kill()
        with contextlib.suppress(subprocess.TimeoutExpired):  # SIGKILL cannot be ignored
            proc.wait(timeout=5)
        for stream in (proc.stdin, proc.stdout):
            if stream is not None:
                with contextlib.suppress(OSError):
                    stream.close()

    def __enter__(self) -> HitLoader:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()
