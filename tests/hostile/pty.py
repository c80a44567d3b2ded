"""The installed `turktui` in a real pseudo-terminal, run by a shell that reports afterwards
its exit status and the terminal's modes (`stty -a`): a broken terminal shows there."""

from __future__ import annotations

import contextlib
import os
import re
import shlex
import signal
import time
from collections.abc import Callable
from pathlib import Path

import pexpect
import pyte

from tests.runcli import default_sigint
from tests.terminal.driver import turktui_script

EXIT_RE = re.compile(rb"TURKTUI-EXIT=(\d+)")


class Session:
    def __init__(
        self, args: list[str], env: dict[str, str], *, columns: int = 110, lines: int = 32
    ) -> None:
        command = " ".join(shlex.quote(a) for a in [turktui_script(), *args])
        # A trap with a command: the shell outlives a Ctrl-C meant for turktui, and
        # turktui itself starts with the default SIGINT disposition.
        script = f"trap 'true' INT; {command}; echo TURKTUI-EXIT=$?; stty -a; echo TURKTUI-END"
        self.screen = pyte.Screen(columns, lines)
        self.stream = pyte.ByteStream(self.screen)
        self.raw = bytearray()
        self.child = pexpect.spawn(
            "/bin/sh",
            ["-c", script],
            env=env,
            dimensions=(lines, columns),
            timeout=30,
            preexec_fn=default_sigint,
        )

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
                with contextlib.suppress(Exception):  # pyte may not know a sequence
                    self.stream.feed(data)
            if time.monotonic() >= deadline and not data:
                return

    def text(self) -> str:
        return "\n".join(line.rstrip() for line in self.screen.display)

    def wait(self, cond: Callable[[], bool], timeout: float, what: str) -> float:
        start = time.monotonic()
        while not cond():
            if time.monotonic() - start > timeout:
                raise AssertionError(
                    f"timed out ({timeout} s) waiting for {what}; output "
                    f"tail: {bytes(self.raw[-600:])!r}"
                )
            self.pump(0.05)
        return time.monotonic() - start

    def wait_raw(self, needle: bytes, timeout: float) -> float:
        return self.wait(lambda: needle in self.raw, timeout, repr(needle))

    def send(self, keys: str) -> None:
        self.child.send(keys)
        self.pump(0.1)

    def turktui_pid(self) -> int:
        """The turktui process (the shell's child)."""
        shell = self.child.pid
        for _ in range(200):
            for entry in os.listdir("/proc"):
                if not entry.isdigit():
                    continue
                with contextlib.suppress(OSError):
                    stat = Path(f"/proc/{entry}/stat").read_text()
                    ppid = int(stat.rsplit(")", 1)[1].split()[1])
                    if ppid == shell:
                        return int(entry)
            time.sleep(0.02)
        raise AssertionError("turktui process not found")

    def kill(self, sig: signal.Signals) -> None:
        os.kill(self.turktui_pid(), sig)

    def exit_status(self, timeout: float) -> tuple[int, float]:
        elapsed = self.wait_raw(b"TURKTUI-END", timeout)
        match = EXIT_RE.search(bytes(self.raw))
        assert match is not None
        return int(match.group(1)), elapsed

    def terminal_problems(self) -> list[str]:
        """What the program left broken: alternate screen, mouse reporting, echo, icanon."""
        raw = bytes(self.raw)
        problems = []
        for on, off, name in (
            (b"\x1b[?1049h", b"\x1b[?1049l", "alternate screen"),
            (b"\x1b[?1000h", b"\x1b[?1000l", "mouse reporting"),
            (b"\x1b[?1003h", b"\x1b[?1003l", "mouse motion"),
        ):
            if on in raw and raw.rfind(off) < raw.rfind(on):
                problems.append(f"{name} left on")
        modes = raw[raw.find(b"TURKTUI-EXIT=") :].split()
        for mode in (b"echo", b"icanon", b"icrnl"):
            if mode not in modes:
                problems.append(f"{mode.decode()} left off")
        return problems

    def close(self) -> None:
        if self.child.isalive():
            with contextlib.suppress(Exception):
                self.kill(signal.SIGKILL)
            self.child.terminate(force=True)
        self.child.close()
