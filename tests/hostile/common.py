"""Shared helpers: a turktui subprocess against a hostile server, and its history."""

from __future__ import annotations

import signal
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from tests.conftest import subprocess_env

FAKE_KEY = "AKIDHOSTILETEST00000"


def cli_env(home: Path, **extra: str) -> dict[str, str]:
    return subprocess_env(
        home, AWS_ACCESS_KEY_ID=FAKE_KEY, AWS_SECRET_ACCESS_KEY="not-a-secret", **extra
    )


def write_config(home: Path, text: str) -> None:
    path = home / "config" / "turktui" / "config.toml"
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text, encoding="utf-8")


def history_path(home: Path) -> Path:
    return home / "data" / "turktui" / "history.sqlite3"


def demo_history_path(home: Path) -> Path:
    """`--demo` sessions keep their own history file."""
    return history_path(home).with_name("history-demo.sqlite3")


def records(home: Path) -> list[Any]:
    from turktui.adapters.history import open_history

    store = open_history(history_path(home))
    try:
        return store.query(limit=100)
    finally:
        store.close()


def default_sigint() -> None:
    """In the child before exec: the default SIGINT disposition. A test runner started in the
    background (as CI may be) passes SIGINT ignored to its children, and turktui keeps an
    ignored SIGINT on purpose (`nohup`, background jobs)."""
    signal.signal(signal.SIGINT, signal.SIG_DFL)


def spawn(env: dict[str, str], *args: str) -> subprocess.Popen[str]:
    return subprocess.Popen(
        [sys.executable, "-m", "turktui", *args],
        env=env,
        text=True,
        stdin=subprocess.DEVNULL,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        preexec_fn=default_sigint,
    )


def wait_for(cond: Callable[[], bool], timeout: float, what: str) -> None:
    deadline = time.monotonic() + timeout
    while not cond():
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out waiting for {what}")
        time.sleep(0.02)
