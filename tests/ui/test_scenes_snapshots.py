"""Snapshots of every scene that screenshots/ shows (tests/scenes.py), at 80×24.

Regenerate with `pytest tests/ui/test_scenes_snapshots.py --snapshot-update` after checking
the new pictures by eye.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from tests.scenes import FIXED_NOW, SCENES, Scene, make_app, prepare

pytestmark = pytest.mark.timeout(90)


@pytest.mark.parametrize("scene", SCENES, ids=[s.name for s in SCENES])
def test_scene(scene: Scene, snap_compare: Any, make_emulator: Any, tmp_path: Path) -> None:
    server = make_emulator(200, now=FIXED_NOW.timestamp)
    for fault in scene.faults:
        server.faults.add(**fault)
    app = make_app(server.url, tmp_path, scene.kind)

    async def run_before(pilot: Any) -> None:
        await prepare(scene, pilot)

    assert snap_compare(app, terminal_size=(80, 24), run_before=run_before)
