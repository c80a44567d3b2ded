"""Snapshots of the main states (fixed clock, seed and displayed endpoint: deterministic).

Regenerate with `pytest tests/ui/test_snapshots.py --snapshot-update`.
"""

from __future__ import annotations

from typing import Any

import pytest

from tests.conftest import FIXED_NOW
from tests.ui.helpers import wait_for, wait_loaded
from turktui.adapters.config import Settings
from turktui.adapters.mturk import MTurkService
from turktui.domain.environment import PRODUCTION_URL, Environment, EnvKind
from turktui.ui.app import TurkTuiApp
from turktui.ui.context import AppContext

pytestmark = pytest.mark.timeout(60)

SHOWN_URL = "http://127.0.0.1:8642"


def snapshot_app(real_url: str, kind: EnvKind = EnvKind.DEMO, shown: str = SHOWN_URL,
                 tmp_path: Any = None, read_only: bool = False) -> TurkTuiApp:
    """The service talks to `real_url`; the banner shows `shown` (ports vary per run)."""
    from turktui.adapters.config import Paths

    creds = None if kind is EnvKind.DEMO else ("AKIDSNAP", "secret")
    service = MTurkService(Environment(kind, real_url), credentials=creds,
                           connect_timeout=1.0, max_attempts=1)
    env = Environment(kind, shown, "ops" if kind is not EnvKind.DEMO else None, read_only)
    paths = Paths(tmp_path / "c.toml", tmp_path, tmp_path / "h.sqlite3", tmp_path)
    ctx = AppContext(env=env, service=service, settings=Settings(), paths=paths,
                     clock=lambda: FIXED_NOW)
    return TurkTuiApp(ctx)


async def loaded(pilot: Any) -> None:
    await wait_loaded(pilot)
    app = pilot.app
    state = app.ctx.state
    await wait_for(pilot, lambda: app.ctx.balance is not None or state.balance_error is not None)
    await pilot.pause()


def test_list_80x24(snap_compare: Any, emulator: Any, tmp_path: Any) -> None:
    assert snap_compare(snapshot_app(emulator.url, tmp_path=tmp_path), terminal_size=(80, 24),
                        run_before=loaded)


def test_list_160x48_sorted(snap_compare: Any, emulator: Any, tmp_path: Any) -> None:
    assert snap_compare(snapshot_app(emulator.url, tmp_path=tmp_path), terminal_size=(160, 48),
                        run_before=loaded, press=["s", "s", "j", "j"])


def test_detail(snap_compare: Any, emulator: Any, tmp_path: Any) -> None:
    async def run_before(pilot: Any) -> None:
        await loaded(pilot)
        pilot.app.main_screen.table.set_filter("Multi-line description")
        await pilot.press("enter")
        await pilot.pause()

    assert snap_compare(snapshot_app(emulator.url, tmp_path=tmp_path), terminal_size=(80, 24),
                        run_before=run_before)


def test_help(snap_compare: Any, emulator: Any, tmp_path: Any) -> None:
    assert snap_compare(snapshot_app(emulator.url, tmp_path=tmp_path, read_only=True),
                        terminal_size=(80, 24), run_before=loaded, press=["question_mark"])


def test_error_unreachable(snap_compare: Any, tmp_path: Any) -> None:
    app = snapshot_app("http://127.0.0.1:9", EnvKind.SANDBOX, shown="http://127.0.0.1:9",
                       tmp_path=tmp_path)
    assert snap_compare(app, terminal_size=(80, 24), run_before=loaded)


def test_production_banner(snap_compare: Any, emulator: Any, tmp_path: Any) -> None:
    app = snapshot_app(emulator.url, EnvKind.PRODUCTION, shown=PRODUCTION_URL,
                       tmp_path=tmp_path)
    assert snap_compare(app, terminal_size=(80, 24), run_before=loaded, press=["x"])
