"""The one snapshot layer: every scene of tests/scenes.py, once per size, must look exactly
like its committed picture in screenshots/.

After checking a change by eye, `python -m tests.screenshots` rewrites the pictures.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from tests import screenshots
from tests.scenes import PICTURES, Scene, file_name, render

pytestmark = pytest.mark.timeout(120)


@pytest.mark.parametrize(
    ("scene", "size"), PICTURES, ids=[file_name(s, z).removesuffix(".svg") for s, z in PICTURES]
)
def test_picture(scene: Scene, size: str, tmp_path: Path) -> None:
    svg = render(scene, size, tmp_path / "data")
    path = screenshots.OUT / file_name(scene, size)
    if not path.exists() or path.read_text("utf-8") != svg:
        actual = tmp_path / path.name
        actual.write_text(svg, "utf-8")
        pytest.fail(
            f"screenshots/{path.name} differs from the app (now: {actual}); check it by "
            f"eye, then run `python -m tests.screenshots --only {scene.name}`",
            pytrace=False,
        )


def test_no_stale_pictures() -> None:
    assert screenshots.stale_files() == [], "run `python -m tests.screenshots` to drop them"
