"""The palette's Screenshot saves under the data directory and says where (an ops box over
SSH has no ~/Downloads); a path that cannot be written is a clear message, not a traceback."""

from __future__ import annotations

import os
import stat
from pathlib import Path
from typing import Any

import pytest

from tests.ui.helpers import notifications, wait_for, wait_loaded
from turktui.adapters.screenshots import file_name, screenshot_dir
from turktui.ui.app import TurkTuiApp

pytestmark = pytest.mark.timeout(60)


async def test_screenshot_goes_to_the_data_dir(demo_context: Any) -> None:
    app = TurkTuiApp(demo_context)
    folder = screenshot_dir(demo_context.paths.data_dir)
    async with app.run_test(size=(80, 24)) as pilot:
        await wait_loaded(pilot)
        app.deliver_screenshot()
        await wait_for(pilot, lambda: any(n.title == "Screenshot" for n in notifications(app)))
        app.deliver_screenshot()  # the same second: a second file, never overwritten
        await wait_for(pilot, lambda: sum(n.title == "Screenshot" for n in notifications(app)) == 2)
    stem = file_name(demo_context.clock().astimezone())[: -len(".svg")]
    files = [folder / f"{stem}.svg", folder / f"{stem}-2.svg"]
    assert sorted(folder.iterdir()) == sorted(files)
    for file in files:
        assert stat.S_IMODE(file.stat().st_mode) == 0o600
        assert file.read_text(encoding="utf-8").startswith("<svg")
    saved = [n.message for n in notifications(app) if n.title == "Screenshot"]
    assert saved == [f"Saved to {files[0]}", f"Saved to {files[1]}"]
    assert not (Path.home() / "Downloads").exists()


async def test_unwritable_place_is_a_message(demo_context: Any) -> None:
    data = demo_context.paths.data_dir
    data.mkdir(parents=True, exist_ok=True)
    (data / "screenshots").write_text("not a directory")
    app = TurkTuiApp(demo_context)
    async with app.run_test(size=(80, 24)) as pilot:
        await wait_loaded(pilot)
        app.deliver_screenshot()
        await wait_for(
            pilot, lambda: any(n.title == "Screenshot not saved" for n in notifications(app))
        )
    (note,) = [n for n in notifications(app) if n.title == "Screenshot not saved"]
    assert note.severity == "error"
    assert str(data / "screenshots") in note.message
    assert app.worker_failures == []
    assert os.path.isfile(data / "screenshots")
