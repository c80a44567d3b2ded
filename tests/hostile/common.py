"""Shared helpers: the history under a test's home (see also tests/runcli.py)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from tests.runcli import history_path


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
