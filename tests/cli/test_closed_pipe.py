"""Every command survives a reader that closes stdout early (`turktui history | head`):
exit 0 (or the command's own code), no message, no crash log. A real process is the subject:
its stdout is a pipe whose read end is closed before the command writes a byte."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest


def run_into_closed_pipe(env: dict[str, str], *args: str) -> tuple[int, str]:
    """`python -m turktui ARGS` writing into a pipe nobody reads: (exit code, stderr)."""
    read_end, write_end = os.pipe()
    os.close(read_end)  # the reader is gone before the first write
    try:
        proc = subprocess.run(
            [sys.executable, "-m", "turktui", *args],
            env=env,
            stdout=write_end,
            stderr=subprocess.PIPE,
            stdin=subprocess.DEVNULL,
            text=True,
            timeout=90,
        )
    finally:
        os.close(write_end)
    return proc.returncode, proc.stderr


@pytest.mark.parametrize(
    "command",
    [
        ("history",),
        ("history", "--json"),
        ("list",),
        ("list", "--csv"),
        ("extend", "{hit}", "1", "--json", "--yes"),
        ("expire", "{hit}", "--yes"),
        ("resolve", "--yes"),
        ("paths",),
        ("--help",),
    ],
    ids=" ".join,
)
def test_a_closed_stdout_ends_quietly(
    command: tuple[str, ...], cli_env: dict[str, str], emulator: Any, tmp_path: Path
) -> None:
    hit = emulator.state.add_hit(MaxAssignments=3)
    args = [part.format(hit=hit) for part in command]
    if args[0] not in ("--help", "paths"):
        args += ["--endpoint-url", emulator.url]
    code, stderr = run_into_closed_pipe(cli_env, *args)
    assert code == 0, stderr
    for word in ("BrokenPipe", "internal error", "Exception ignored", "Traceback"):
        assert word not in stderr
    assert not list(tmp_path.rglob("crash.log"))
