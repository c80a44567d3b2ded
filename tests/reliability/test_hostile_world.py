"""Category 8 at a small scale: a hostile world in bounded time (see hostile_world)."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.reliability import hostile_world

pytestmark = pytest.mark.timeout(280)


def test_hostile_world_small_scale(tmp_path: Path) -> None:
    report = hostile_world.run(tmp_path, scale=1, seed=7)
    assert report.failures == []
    assert report.hangs == report.tracebacks == report.broken_terminals == []
    assert report.wrong_records == []
    assert sum(report.cases.values()) >= 60
