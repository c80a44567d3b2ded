"""The one snapshot layer: every scene of tests/scenes.py, at every size, must look exactly
like its committed picture in screenshots/ and fit the screen (tests/fit.py; the fit check's
own tests are in tests/ui/test_scene_fit.py).

After checking a change by eye, `python -m tests.screenshots` rewrites the pictures.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from tests import screenshots
from tests.scenes import FIT, PICTURES, SCENES, SIZES, Scene, file_name, render_scene

pytestmark = pytest.mark.timeout(120)


#: Every scene at every size: each is staged once (and the terminal resized: see
#: render_scene), for its pictures and for the fit check (tests/fit.py: every widget on
#: screen, decision lines and buttons visible).
PICTURED = {(scene.name, size) for scene, size in PICTURES}


@pytest.mark.parametrize("scene", SCENES, ids=[s.name for s in SCENES])
def test_scene(scene: Scene, tmp_path: Path) -> None:
    pictures = render_scene(scene, tmp_path / "data")
    failures = []
    for size, svg in pictures.items():
        if (scene.name, size) in PICTURED:
            path = screenshots.OUT / file_name(scene, size)
            if not path.exists() or path.read_text("utf-8") != svg:
                actual = tmp_path / path.name
                actual.write_text(svg, "utf-8")
                failures.append(
                    f"screenshots/{path.name} differs from the app (now: {actual}); check it "
                    f"by eye, then run `python -m tests.screenshots --only {scene.name}`"
                )
        problems = FIT[(scene.name, size)]
        if problems:
            failures.append(f"{scene.name} does not fit {size}:\n  " + "\n  ".join(problems))
    assert set(pictures) == set(SIZES)
    if failures:
        pytest.fail("\n".join(failures), pytrace=False)


def test_no_stale_pictures() -> None:
    assert screenshots.stale_files() == [], "run `python -m tests.screenshots` to drop them"
