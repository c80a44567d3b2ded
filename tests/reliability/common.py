"""Shared pieces of the reliability campaign: the fake credentials, a hermetic process for
the campaign, a static JSON responder and a small figures table. Commands run through
tests/runcli.py (`cli_environment(home, **FAKE_KEYS)`, `run_cli`, `run_process`).

Everything here works both inside pytest (where tests/conftest.py already made HOME/XDG
hermetic) and from `python -m tests.reliability.campaign` (which calls `hermetic()`).
"""

from __future__ import annotations

import contextlib
import json
import os
import tempfile
import threading
from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass, field, fields
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

from tests.runcli import Ran, cli_environment

#: Recognisable fake credentials: they must never show up in any file or output.
FAKE_KEY_ID = "AKIAFAKEKEYTURKTUI99"
FAKE_SECRET = "turktuiFAKEsecretDoNotLeak0000000000000000"
FAKE_KEYS = {"AWS_ACCESS_KEY_ID": FAKE_KEY_ID, "AWS_SECRET_ACCESS_KEY": FAKE_SECRET}
OP_EXTEND = "CreateAdditionalAssignmentsForHIT"
REPO_ROOT = str(Path(__file__).resolve().parents[2])


def json_out(res: Ran) -> dict[str, Any] | None:
    try:
        data = json.loads(res.stdout)
    except ValueError:
        return None
    return data if isinstance(data, dict) else None


@contextlib.contextmanager
def hermetic() -> Iterator[Path]:
    """For the campaign outside pytest: HOME/XDG → a temp dir, no AWS configuration."""
    saved = dict(os.environ)
    with tempfile.TemporaryDirectory(prefix="turktui-campaign-") as tmp:
        home = Path(tmp) / "home"
        home.mkdir()
        for key in list(os.environ):
            if key.startswith(("AWS_", "TURKTUI_", "XDG_")):
                del os.environ[key]
        os.environ.update(cli_environment(home, keys=False))
        try:
            yield Path(tmp)
        finally:
            os.environ.clear()
            os.environ.update(saved)


# -- a tiny JSON responder (for answers the emulator will not give) ------------------------
class StaticResponder:
    """Answers MTurk JSON 1.1 requests from a table {operation: (status, body)}.

    Used for hostile data the emulator refuses to store (malformed timestamps, numbers as
    strings) and for errors it never produces (invalid or expired credentials)."""

    def __init__(
        self, answers: dict[str, tuple[int, Any]], default: tuple[int, Any] | None = None
    ) -> None:
        self.answers = answers
        self.default = default or (
            400,
            {"__type": "UnknownOperationException", "message": "unknown"},
        )
        self.requests: list[str] = []
        owner = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *args: Any) -> None:
                pass

            def do_POST(self) -> None:
                length = int(self.headers.get("Content-Length") or 0)
                self.rfile.read(length)
                target = self.headers.get("X-Amz-Target", "")
                op = target.rsplit(".", 1)[-1]
                owner.requests.append(op)
                status, body = owner.answers.get(op, owner.default)
                data = body if isinstance(body, bytes) else json.dumps(body).encode()
                self.send_response(status)
                self.send_header("Content-Type", "application/x-amz-json-1.1")
                self.send_header("x-amzn-RequestId", "00000000-0000-0000-0000-000000000000")
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.server.daemon_threads = True
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.server.server_address[1]}"

    def start(self) -> StaticResponder:
        self.thread.start()
        return self

    def stop(self) -> None:
        self.server.shutdown()
        self.server.server_close()


def closed_port() -> int:
    """A loopback port nothing listens on (bound, then released)."""
    import socket

    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


# -- figures -------------------------------------------------------------------------------
@dataclass
class Figures:
    """What every kind of trial counts: trials by kind, final states, failures (a line per
    violation); subclasses add their own integer figures. Summed by `merge`."""

    trials: Counter[str] = field(default_factory=Counter)
    states: Counter[str] = field(default_factory=Counter)
    failures: list[str] = field(default_factory=list)

    @property
    def total(self) -> int:
        return sum(self.trials.values())

    def fail(self, kind: str, text: str) -> None:
        self.failures.append(f"[{kind}] {text}")

    def merge(self, other: Figures) -> None:
        """Add `other`'s figures (of the same class) to these."""
        for f in fields(self):
            mine, theirs = getattr(self, f.name), getattr(other, f.name)
            if isinstance(mine, Counter):
                mine.update(theirs)
            else:
                setattr(self, f.name, mine + theirs)


@dataclass
class Section:
    """One category's figures: ordered (name, value) rows plus failures (must be empty)."""

    title: str
    rows: list[tuple[str, Any]] = field(default_factory=list)
    failures: list[str] = field(default_factory=list)

    def add(self, name: str, value: Any) -> None:
        self.rows.append((name, value))

    def fail(self, text: str) -> None:
        self.failures.append(text)

    def add_each(self, name: str, counts: Counter[str]) -> None:
        """A row per key of `counts` ("name: key"), in key order."""
        for key, count in sorted(counts.items()):
            self.add(f"{name}: {key}", count)

    def add_states(self, counts: Counter[str]) -> None:
        """One row: the records' final states and how many ended in each."""
        self.add("final record states", ", ".join(f"{k} {v:,}" for k, v in sorted(counts.items())))

    def markdown(self) -> str:
        lines = [f"### {self.title}", "", "| figure | value |", "|---|---|"]
        for name, value in self.rows:
            shown = (
                f"{value:,}"
                if isinstance(value, int) and not isinstance(value, bool)
                else str(value)
            )
            lines.append(f"| {name} | {shown} |")
        lines.append(f"| **violations** | **{len(self.failures)}** |")
        if self.failures:
            lines += ["", "Violations:", ""] + [f"- {f}" for f in self.failures[:20]]
        return "\n".join(lines)
