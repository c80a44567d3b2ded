"""The one snapshot layer: every scene of tests/scenes.py, once per size, must look exactly
like its committed picture in screenshots/ and fit the screen (tests/fit.py; the fit check's
own tests are in tests/ui/test_scene_fit.py).

After checking a change by eye, `python -m tests.screenshots` rewrites the pictures.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from tests import screenshots
from tests.scenes import FIT, PICTURES, SCENES, SIZES, Scene, file_name, render

pytestmark = pytest.mark.timeout(120)


#: Every scene at every size: each is staged once, for its picture (where it has one) and for
#: the fit check (tests/fit.py: every widget on screen, decision lines and buttons visible).
ALL = tuple((scene, size) for scene in SCENES for size in SIZES)
PICTURED = {(scene.name, size) for scene, size in PICTURES}


@pytest.mark.parametrize(("scene", "size"), ALL, ids=[f"{s.name}-{z}" for s, z in ALL])
def test_scene(scene: Scene, size: str, tmp_path: Path) -> None:
    svg = render(scene, size, tmp_path / "data")
    failures = []
    if (scene.name, size) in PICTURED:
        path = screenshots.OUT / file_name(scene, size)
        if not path.exists() or path.read_text("utf-8") != svg:
            actual = tmp_path / path.name
            actual.write_text(svg, "utf-8")
            failures.append(
                f"screenshots/{path.name} differs from the app (now: {actual}); check it by "
                f"eye, then run `python -m tests.screenshots --only {scene.name}`"
            )
    problems = FIT[(scene.name, size)]
    if problems:
        failures.append(f"{scene.name} does not fit {size}:\n  " + "\n  ".join(problems))
    if failures:
        pytest.fail("\n".join(failures), pytrace=False)


def test_no_stale_pictures() -> None:
    assert screenshots.stale_files() == [], "run `python -m tests.screenshots` to drop them"
