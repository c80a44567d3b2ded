"""A test past its timeout in a parallel worker is named, with every thread's stack.

pytest-timeout's thread method (pyproject: `timeout_method = "thread"`) writes its report to
the terminal and ends the process. In an xdist worker the terminal (fd 1) is /dev/null: the
run said only "worker 'gw1' crashed while running …", not that it was a timeout, nor where
the test hung. In a worker this writes the same report to stderr, which xdist passes on.

Loaded by tests/conftest.py; `-p tests.timeout_report` loads it alone (tests/test_suite_itself.py).
"""

from __future__ import annotations

import os
import sys
import threading
import traceback
from datetime import timedelta
from typing import Any

import pytest


def report(nodeid: str, timeout: float, captured: tuple[str, str] = ("", "")) -> str:
    """What the run shows: the bound, the test, what it printed, where each other thread is."""
    bound = timedelta(seconds=timeout)
    lines = [
        f"\n{'+' * 24} Timeout ({bound}) {'+' * 24}",
        f"{nodeid} ran past its timeout ({bound}); the stacks of its threads:",
    ]
    for name, text in zip(("stdout", "stderr"), captured, strict=True):
        if text:
            lines += [f"{'~' * 16} Captured {name}", text.rstrip()]
    names = {t.ident: t.name for t in threading.enumerate()}
    me = threading.get_ident()
    for ident, frame in sys._current_frames().items():
        if ident != me:
            lines.append(f"{'~' * 16} Stack of {names.get(ident, '<unknown>')} ({ident})")
            lines.append("".join(traceback.format_stack(frame)).rstrip())
    lines.append(f"{'+' * 24} Timeout ({bound}) {'+' * 24}\n")
    return "\n".join(lines)


def _timed_out(item: pytest.Item, timeout: float) -> None:
    try:
        captured = ("", "")
        capture = item.config.pluginmanager.getplugin("capturemanager")
        if capture is not None:  # fd 2 is the test's capture until this gives it back
            capture.suspend_global_capture(in_=True)
            captured = capture.read_global_capture()
        os.write(2, report(item.nodeid, timeout, captured).encode("utf-8", errors="replace"))
    finally:
        os._exit(1)  # as pytest-timeout's thread method: the worker ends, xdist says so


@pytest.hookimpl(tryfirst=True)
def pytest_timeout_set_timer(item: pytest.Item, settings: Any) -> bool | None:
    """In an xdist worker with the thread method: our timer (pytest-timeout's otherwise)."""
    if not hasattr(item.config, "workerinput") or settings.method != "thread":
        return None
    timer = threading.Timer(settings.timeout, _timed_out, (item, settings.timeout))
    timer.name = f"timeout {item.nodeid}"
    timer.daemon = True

    def cancel() -> None:
        timer.cancel()
        timer.join()

    item.cancel_timeout = cancel  # type: ignore[attr-defined]  (pytest-timeout's protocol)
    timer.start()
    return True
