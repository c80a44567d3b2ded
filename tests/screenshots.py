"""Make the pictures in screenshots/ from the real app in demo mode.

    python -m tests.screenshots            # rewrite screenshots/*.svg (and drop stale ones)
    python -m tests.screenshots --check    # exit 1 if anything would change
    python -m tests.screenshots --only history

Every scene (tests/scenes.py) is staged against a freshly seeded emulator at each of its
sizes. tests/test_screenshots.py renders the same pictures once per run and compares them
with what is committed: screenshots/ is the snapshot store.
"""

from __future__ import annotations

import argparse
import os
import sys
import tempfile
import time
from pathlib import Path

from tests.scenes import PICTURES, SCENES, file_name, render_scene

ROOT = Path(__file__).resolve().parents[1]
OUT = ROOT / "screenshots"


def expected_files() -> set[str]:
    return {file_name(scene, size) for scene, size in PICTURES}


def stale_files() -> list[str]:
    """Files in screenshots/ that no scene produces any more."""
    return sorted(p.name for p in OUT.glob("*.svg") if p.name not in expected_files())


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--check", action="store_true", help="compare instead of writing")
    parser.add_argument("--only", help="render only pictures whose file name contains this")
    args = parser.parse_args(argv)
    # The pictures show local times ("updated 12:00:00"): the same as the tests see (UTC).
    os.environ["TZ"] = "UTC"
    time.tzset()
    changed = []
    for scene in SCENES:
        names = {size: file_name(scene, size) for size in scene.sizes}
        if args.only and not any(args.only in name for name in names.values()):
            continue
        with tempfile.TemporaryDirectory() as tmp:
            pictures = render_scene(scene, Path(tmp))  # as the test renders them
        for size, name in names.items():
            if args.only and args.only not in name:
                continue
            svg = pictures[size]
            path = OUT / name
            if path.exists() and path.read_text("utf-8") == svg:
                continue
            changed.append(name)
            if args.check:
                print(f"out of date: screenshots/{name}")
            else:
                OUT.mkdir(exist_ok=True)
                path.write_text(svg, "utf-8")
                print(f"wrote screenshots/{name}")
    stale = [] if args.only else stale_files()
    for name in stale:
        if args.check:
            print(f"no scene makes screenshots/{name}")
        else:
            (OUT / name).unlink()
            print(f"removed screenshots/{name}")
    return 1 if args.check and (changed or stale) else 0


if __name__ == "__main__":
    sys.exit(main())
