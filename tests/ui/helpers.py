"""Pilot helpers: wait for loads, read what the terminal would show."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable
from typing import Any


def screen_text(app: Any) -> str:
    """The current screen as plain text, one line per terminal row."""
    return "\n".join(strip.text for strip in app.screen._compositor.render_strips())


async def wait_for(pilot: Any, condition: Callable[[], bool], timeout: float = 15.0) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        if time.monotonic() > deadline:
            raise AssertionError("timed out waiting for the app")
        await asyncio.sleep(0.02)
        await pilot.pause()
    await pilot.pause()


async def wait_loaded(pilot: Any, timeout: float = 15.0) -> None:
    """Until the current load (started at mount) has finished, successfully or not."""
    main = pilot.app.main_screen
    await wait_for(pilot, lambda: main.generation > 0 and not main.is_loading, timeout)
    await pilot.pause()
