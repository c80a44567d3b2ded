"""Make the pictures in screenshots/ from the real app in demo mode.

    python -m tests.screenshots            # rewrite screenshots/*.svg
    python -m tests.screenshots --check    # exit 1 if anything would change

Every scene (tests/scenes.py) is staged against a freshly seeded emulator at 80×24 and at a
wide size. tests/test_screenshots.py runs the same code and compares with what is committed.
"""

from __future__ import annotations

import argparse
import asyncio
import sys
import tempfile
from pathlib import Path

from tests.scenes import FIXED_NOW, SCENES, SIZES, Scene, stage
from turktui.emulator import EmulatorServer

ROOT = Path(__file__).resolve().parents[1]
OUT = ROOT / "screenshots"


def render(scene: Scene, size_name: str) -> str:
    with EmulatorServer(hits=200, seed=1, now=FIXED_NOW.timestamp) as server, \
            tempfile.TemporaryDirectory() as tmp:
        for fault in scene.faults:
            server.faults.add(**fault)
        svg = asyncio.run(stage(scene, server.url, Path(tmp), SIZES[size_name]))
        server.faults.clear()
    return svg


def file_name(scene: Scene, size_name: str) -> str:
    return f"{scene.name}-{size_name}.svg"


def render_all() -> dict[str, str]:
    return {file_name(scene, size): render(scene, size) for scene in SCENES for size in SIZES}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--check", action="store_true", help="compare instead of writing")
    parser.add_argument("--only", help="render only scenes whose name contains this")
    args = parser.parse_args(argv)
    pictures = {name: svg for name, svg in render_all().items()
                if not args.only or args.only in name}
    if args.check:
        stale = [name for name, svg in pictures.items()
                 if not (OUT / name).exists() or (OUT / name).read_text("utf-8") != svg]
        for name in stale:
            print(f"out of date: screenshots/{name}")
        return 1 if stale else 0
    OUT.mkdir(exist_ok=True)
    for name, svg in pictures.items():
        (OUT / name).write_text(svg, "utf-8")
        print(f"wrote screenshots/{name}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
