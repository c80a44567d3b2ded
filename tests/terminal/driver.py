"""Drive the installed `turktui` console script in a real pseudo-terminal.

pexpect gives the program a pty of a chosen size; pyte plays the bytes it writes into an
in-memory VT100 screen, so tests can assert on what a person would actually see.
"""

from __future__ import annotations

import contextlib
import shutil
import sys
import time
from collections.abc import Callable
from pathlib import Path

import pexpect
import pyte


def turktui_script() -> str:
    """The console script installed beside this interpreter (what a user runs)."""
    candidate = Path(sys.executable).with_name("turktui")
    if candidate.exists():
        return str(candidate)
    found = shutil.which("turktui")
    if not found:
        raise RuntimeError("the turktui console script is not installed")
    return found


class Terminal:
    def __init__(
        self,
        args: list[str],
        *,
        env: dict[str, str],
        columns: int = 80,
        lines: int = 24,
        program: str | None = None,
    ) -> None:
        """`program` (default: the turktui console script) run with `args` in a pty of
        `columns` × `lines`."""
        self.screen = pyte.Screen(columns, lines)
        self.stream = pyte.ByteStream(self.screen)
        self.raw = bytearray()
        self.child = pexpect.spawn(
            program or turktui_script(),
            args,
            env=env,
            dimensions=(lines, columns),
            timeout=30,
        )

    # -- reading -----------------------------------------------------------------------------
    def pump(self, duration: float = 0.05) -> None:
        deadline = time.monotonic() + duration
        while True:
            try:
                data = self.child.read_nonblocking(65536, timeout=0.02)
            except pexpect.TIMEOUT:
                data = b""
            except pexpect.EOF:
                return
            if data:
                self.raw.extend(data)
                self.stream.feed(data)
            if time.monotonic() >= deadline and not data:
                return

    def text(self) -> str:
        return "\n".join(line.rstrip() for line in self.screen.display)

    def wait_for(self, predicate: str | Callable[[str], bool], timeout: float = 20.0) -> str:
        check = (lambda s: predicate in s) if isinstance(predicate, str) else predicate
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            self.pump(0.05)
            screen = self.text()
            if check(screen):
                return screen
            if not self.child.isalive():
                break
        raise AssertionError(f"timed out waiting for {predicate!r}; screen was:\n{self.text()}")

    # -- writing -----------------------------------------------------------------------------
    def send(self, keys: str) -> None:
        self.child.send(keys)
        self.pump(0.1)

    def close(self) -> int | None:
        if self.child.isalive():
            self.child.sendcontrol("q")
            with contextlib.suppress(pexpect.TIMEOUT, pexpect.EOF):
                self.child.expect(pexpect.EOF, timeout=5)
        if self.child.isalive():
            self.child.terminate(force=True)
        self.child.close()
        return self.child.exitstatus


def terminal_env(home: Path, **extra: str) -> dict[str, str]:
    """A hermetic environment (tests/conftest.py) plus what a real terminal session has."""
    from tests.conftest import subprocess_env

    env = subprocess_env(home, **{"TERM": "xterm-256color", "ESCDELAY": "25", **extra})
    # The pty's size is the terminal's: an inherited $COLUMNS/$LINES (pytest-xdist workers
    # have COLUMNS=80, LINES=24) would override it (shutil.get_terminal_size, which Textual
    # asks), and the app would lay out 80x24 in a 200x48 terminal.
    for var in ("COLUMNS", "LINES"):
        if var not in extra:
            env.pop(var, None)
    return env
