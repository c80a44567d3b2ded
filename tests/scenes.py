"""The app's main states, staged deterministically against the demo emulator.

One list serves both the snapshot tests (tests/ui/test_scenes_snapshots.py) and the screenshot
script (`python -m tests.screenshots`), so the pictures in screenshots/ and the snapshots can
never drift apart. Fixed clock, fixed seed, and a fixed endpoint shown in the banner (the
emulator's real port changes per run).
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

from turktui.adapters.config import Paths, Settings
from turktui.adapters.mturk import DEMO_CREDENTIALS, MTurkService
from turktui.domain.environment import PRODUCTION_URL, Environment, EnvKind
from turktui.ui.app import TurkTuiApp
from turktui.ui.context import AppContext

FIXED_NOW = datetime(2026, 6, 15, 12, 0, 0, tzinfo=timezone.utc)
SHOWN_URL = "http://127.0.0.1:8642"
SIZES: dict[str, tuple[int, int]] = {"80x24": (80, 24), "wide": (160, 48)}

Stage = Callable[[Any], Awaitable[None]]


@dataclass(frozen=True)
class Scene:
    name: str
    description: str
    stage: Stage
    kind: EnvKind = EnvKind.DEMO
    faults: tuple[dict[str, Any], ...] = ()


def make_app(real_url: str, data_dir: Path, kind: EnvKind = EnvKind.DEMO) -> TurkTuiApp:
    """An app talking to `real_url` whose banner shows a fixed endpoint."""
    shown = PRODUCTION_URL if kind is EnvKind.PRODUCTION else SHOWN_URL
    service = MTurkService(Environment(kind, real_url), credentials=DEMO_CREDENTIALS,
                           connect_timeout=2.0, read_timeout=30.0, max_attempts=1)
    env = Environment(kind, shown, None if kind is EnvKind.DEMO else "ops")
    paths = Paths(data_dir / "config.toml", data_dir, data_dir / "history.sqlite3",
                  data_dir / "logs")
    ctx = AppContext(env=env, service=service, settings=Settings(), paths=paths,
                     clock=lambda: FIXED_NOW)
    return TurkTuiApp(ctx)


# -- staging helpers -----------------------------------------------------------------------
async def until(pilot: Any, condition: Callable[[], bool], timeout: float = 20.0) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        if time.monotonic() > deadline:
            raise AssertionError("timed out staging a scene")
        await asyncio.sleep(0.02)
        await pilot.pause()
    await pilot.pause()


async def loaded(pilot: Any) -> None:
    app = pilot.app
    main = app.main_screen
    await until(pilot, lambda: main.generation > 0 and not main.is_loading)
    state = app.ctx.state
    await until(pilot, lambda: app.ctx.balance is not None or state.balance_error is not None)
    await pilot.pause()


async def select(pilot: Any, title: str) -> None:
    """Put the cursor on the first HIT whose title starts with `title`."""
    table = pilot.app.main_screen.table
    hit = next(h for h in table.rows if h.title.startswith(title))
    assert table.move_to_hit(hit.hit_id)
    await pilot.pause()


async def open_dialog(pilot: Any, title: str, typed: str = "") -> None:
    await loaded(pilot)
    await select(pilot, title)
    await pilot.press("e")
    await until(pilot, lambda: type(pilot.app.screen).__name__ == "ExtendScreen")
    if typed:
        await pilot.press(*typed)
    await pilot.pause()


async def settle(pilot: Any) -> None:
    """Let notifications from staging expire so they don't clutter the picture."""
    pilot.app.clear_notifications()
    await pilot.pause()


# -- the scenes ----------------------------------------------------------------------------
async def _list(pilot: Any) -> None:
    await loaded(pilot)


async def _detail(pilot: Any) -> None:
    await loaded(pilot)
    await select(pilot, "Qualification requirements")
    await pilot.press("enter")
    await pilot.pause()


async def _extend_small(pilot: Any) -> None:
    await open_dialog(pilot, "Tag photos of street signs (4 assignments)", "3")


async def _extend_large(pilot: Any) -> None:
    await open_dialog(pilot, "Twenty-five assignments", "50")


async def _extend_blocked(pilot: Any) -> None:
    await open_dialog(pilot, "Too old to extend (2014)")


async def _extend_invalid(pilot: Any) -> None:
    await open_dialog(pilot, "Tag photos of street signs (4 assignments)", "12")


async def _production_confirm(pilot: Any) -> None:
    await open_dialog(pilot, "Twenty-five assignments", "5")
    await pilot.press("enter")
    await until(pilot, lambda: type(pilot.app.screen).__name__ == "ConfirmScreen")


async def _in_flight(pilot: Any) -> None:
    await open_dialog(pilot, "One hundred assignments", "20")
    await pilot.press("enter")
    app = pilot.app
    await until(pilot, lambda: type(app.screen).__name__ == "MainScreen")
    await asyncio.sleep(0.3)
    await pilot.pause()


async def _history(pilot: Any) -> None:
    app = pilot.app
    for title, typed in (("Twenty-five assignments", "5"), ("Tag photos of street signs (2 a", "4"),
                         ("Tag photos of street signs (4 assignments)", "5")):
        await open_dialog(pilot, title, typed)
        await pilot.press("enter")
        await until(pilot, lambda: type(app.screen).__name__ == "MainScreen")
        await until(pilot, lambda: not any(w.is_running for w in app.workers
                                           if w.group == "extend"))
    await settle(pilot)
    await pilot.press("h")
    await until(pilot, lambda: type(app.screen).__name__ == "HistoryScreen"
                and not app.screen.reading)
    await asyncio.sleep(0.3)
    await pilot.pause()


async def _help(pilot: Any) -> None:
    await loaded(pilot)
    await pilot.press("question_mark")
    await pilot.pause()


SCENES: tuple[Scene, ...] = (
    Scene("list", "The HIT list, loaded", _list),
    Scene("detail", "The detail view of a HIT", _detail),
    Scene("extend-under-10", "Extending a HIT created with 4 assignments", _extend_small),
    Scene("extend-10-plus", "Extending a HIT with 25 assignments", _extend_large),
    Scene("extend-too-old", "A HIT that cannot be extended", _extend_blocked),
    Scene("extend-invalid", "A number beyond the allowed range", _extend_invalid),
    Scene("production-confirm", "The production confirmation", _production_confirm,
          kind=EnvKind.PRODUCTION),
    Scene("in-flight", "A request in flight (the service is slow)", _in_flight,
          faults=({"op": "CreateAdditionalAssignmentsForHIT", "latency": 2.0},)),
    Scene("history", "The request history", _history),
    Scene("help", "The help screen", _help),
)


async def prepare(scene: Scene, pilot: Any) -> None:
    """Stage `scene`; clear staging notifications unless they are the point."""
    await scene.stage(pilot)
    if scene.name != "in-flight":
        await settle(pilot)


async def stage(scene: Scene, real_url: str, data_dir: Path, size: tuple[int, int]) -> str:
    """Run the real app headless, stage `scene`, and return the SVG screenshot."""
    app = make_app(real_url, data_dir, scene.kind)
    async with app.run_test(size=size) as pilot:
        await prepare(scene, pilot)
        svg = app.export_screenshot(title=f"turktui — {scene.description}")
    return svg
