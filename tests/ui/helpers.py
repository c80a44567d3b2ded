"""Pilot helpers: one wait helper, and what the terminal would show (public Textual API only)."""

from __future__ import annotations

import asyncio
import html
import inspect
import re
import threading
import time
import weakref
from collections.abc import Callable
from dataclasses import dataclass
from typing import IO, Any

from rich.cells import cell_len

#: One text run of an SVG exported by `App.export_screenshot` (Rich's SVG format).
_SVG_TEXT = re.compile(
    r'<text class="[^"]*" x="([\d.]+)" y="([\d.]+)" textLength="([\d.]+)"'
    r"[^>]*>(.*?)</text>"
)


def svg_text(svg: str) -> str:
    """The characters of an exported screenshot, one line per terminal row."""
    rows: dict[float, list[tuple[float, str]]] = {}
    width = 0.0
    for m in _SVG_TEXT.finditer(svg):
        text = html.unescape(m.group(4)).replace("\xa0", " ")
        if text and not width:
            width = float(m.group(3)) / max(cell_len(text), 1)
        rows.setdefault(float(m.group(2)), []).append((float(m.group(1)), text))
    lines = []
    for y in sorted(rows):
        line = ""
        for x, text in sorted(rows[y]):
            column = round(x / width) if width else len(line)
            line = line.ljust(column) + text
        lines.append(line.rstrip())
    return "\n".join(lines)


def screen_text(app: Any) -> str:
    """The current screen as plain text, one line per terminal row."""
    return svg_text(app.export_screenshot())


def describe(condition: Callable[[], object]) -> str:
    """What a wait waits for, when the caller did not say: the condition's own source
    (`lambda: screen.total == 10`), so a timeout names it."""
    try:
        source = inspect.getsource(condition)
    except (OSError, TypeError):
        return getattr(condition, "__qualname__", repr(condition))
    start = source.find("lambda")
    text = " ".join(source[start if start >= 0 else 0 :].split())
    return text if len(text) <= 160 else text[:157] + "..."


def _timed_out(condition: Callable[[], object], timeout: float, what: str | None) -> str:
    return f"timed out after {timeout:g}s waiting for {what or describe(condition)}"


async def wait_for(
    pilot: Any, condition: Callable[[], object], timeout: float = 15.0, what: str | None = None
) -> None:
    """Await `condition()` (polled between frames) for at most `timeout` seconds; a timeout
    names `what` (or the condition's source).

    The one wait helper of the tests: use it wherever a condition exists instead of sleeps
    or chains of `pilot.pause()`."""
    deadline = time.monotonic() + timeout
    while not condition():
        if time.monotonic() > deadline:
            raise AssertionError(_timed_out(condition, timeout, what))
        await asyncio.sleep(0.02)
        await pilot.pause()
    await pilot.pause()


def wait_until(
    condition: Callable[[], object], timeout: float = 15.0, what: str | None = None
) -> None:
    """The same bound for code outside the app's event loop (threads, subprocesses)."""
    deadline = time.monotonic() + timeout
    while not condition():
        if time.monotonic() > deadline:
            raise AssertionError(_timed_out(condition, timeout, what))
        time.sleep(0.02)


def read_line(stream: IO[str], timeout: float = 15.0, what: str = "a line of output") -> str:
    """One line from a child process's pipe within `timeout` seconds ("" at its end): a
    child that hangs silent fails the test by name instead of blocking it."""
    lines: list[str] = []
    reader = threading.Thread(target=lambda: lines.append(stream.readline()), daemon=True)
    reader.start()
    reader.join(timeout)
    if not lines:
        raise AssertionError(f"timed out after {timeout:g}s waiting for {what}")
    return lines[0]


async def wait_loaded(pilot: Any, timeout: float = 15.0) -> None:
    """Until the current load (started at mount) has finished, successfully or not, and the
    start-up check of unsettled requests (which opens the history) has read the history: a
    key that needs the history before then is told "still being opened" (on a slow machine,
    the check can outlast the listing)."""
    app = pilot.app
    main = app.main_screen
    await wait_for(
        pilot, lambda: main.generation > 0 and not main.is_loading, timeout, "the HIT list to load"
    )
    await wait_for(
        pilot,
        lambda: (
            not app.ctx.history_opening
            and not any(w.name == "check unsettled" and w.is_running for w in app.workers)
        ),
        timeout,
        "the start-up check of unsettled requests",
    )


async def wait_ready(pilot: Any, timeout: float = 15.0) -> None:
    """Loaded, and the balance asked for (answered or failed): the status line is final."""
    await wait_loaded(pilot, timeout)
    app = pilot.app
    await wait_for(
        pilot,
        lambda: app.balance is not None or app.balance_error is not None,
        timeout,
        "the balance",
    )


async def wait_screen(pilot: Any, name: str, timeout: float = 15.0) -> None:
    """Until the screen on top is of the class called `name`."""
    await wait_for(
        pilot, lambda: type(pilot.app.screen).__name__ == name, timeout, f"screen {name}"
    )


async def show_history(pilot: Any, timeout: float = 15.0) -> Any:
    """`h`, then until the history screen is on top with its first listing shown; it."""
    await pilot.press("h")
    await wait_for(
        pilot,
        lambda: type(pilot.app.screen).__name__ == "HistoryScreen" and not pilot.app.screen.reading,
        timeout,
        "the history screen listed",
    )
    return pilot.app.screen


def steady_cursor(app: Any) -> None:
    """Neutralise cursor blink: every Input on the screen shows a steady cursor, so a picture
    never depends on when in the blink cycle it was taken."""
    from textual.widgets import Input

    for widget in app.screen.query(Input):
        widget.cursor_blink = False


@dataclass(frozen=True)
class Note:
    """A notification as the app asked for it (`App.notify`)."""

    message: str
    title: str
    severity: str


_NOTES: weakref.WeakKeyDictionary[Any, list[Note]] = weakref.WeakKeyDictionary()


def record_notifications(monkeypatch: Any) -> None:
    """Wrap the public `App.notify` so tests can read every notification an app showed
    (the root conftest does this for every test)."""
    from textual.app import App

    original = App.notify

    def notify(self: Any, message: str, *args: Any, **kwargs: Any) -> None:
        _NOTES.setdefault(self, []).append(
            Note(
                str(message),
                str(kwargs.get("title", "")),
                str(kwargs.get("severity", "information")),
            )
        )
        original(self, message, *args, **kwargs)

    monkeypatch.setattr(App, "notify", notify)


def notifications(app: Any) -> list[Note]:
    """Every notification `app` has shown so far, oldest first (a copy)."""
    return list(_NOTES.get(app, ()))
