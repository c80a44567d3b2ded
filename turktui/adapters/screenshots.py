"""Where the app's screenshots go: `<data dir>/screenshots`, never the current directory or
~/Downloads (an ops box over SSH often has neither a Downloads folder nor a writable cwd).

A screenshot can show HIT titles and the endpoint: the directory is 0700 and the file 0600,
created new (O_EXCL) and never through a symbolic link (O_NOFOLLOW).
"""

from __future__ import annotations

import os
from datetime import datetime
from pathlib import Path

SUBDIR = "screenshots"


class ScreenshotError(Exception):
    """The screenshot could not be written; the message says where and why."""


def screenshot_dir(data_dir: Path) -> Path:
    return data_dir / SUBDIR


def file_name(moment: datetime) -> str:
    """`turktui-2026-06-15T12-00-00.svg`: sortable, no characters a shell or Windows dislikes."""
    return f"turktui-{moment.strftime('%Y-%m-%dT%H-%M-%S')}.svg"


def save_svg(data_dir: Path, moment: datetime, svg: str) -> Path:
    """Write `svg` to a new file under `<data_dir>/screenshots`; a second shot in the same
    second gets `-2`, `-3`… Returns the path written."""
    directory = screenshot_dir(data_dir)
    try:
        directory.mkdir(mode=0o700, parents=True, exist_ok=True)
        if directory.is_symlink() or not directory.is_dir():
            raise ScreenshotError(f"{directory} is a symbolic link or not a directory")
        stem = file_name(moment)[: -len(".svg")]
        for n in range(1, 100):
            path = directory / (f"{stem}.svg" if n == 1 else f"{stem}-{n}.svg")
            try:
                fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_NOFOLLOW, 0o600)
            except FileExistsError:
                continue
            with os.fdopen(fd, "w", encoding="utf-8") as handle:
                handle.write(svg)
            return path
        raise ScreenshotError(f"too many screenshots named {stem} in {directory}")
    except OSError as error:
        raise ScreenshotError(
            f"cannot write a screenshot in {directory}: {error.strerror}"
        ) from None
