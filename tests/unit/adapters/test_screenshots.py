"""Screenshots are written 0600, new, and never through a symbolic link."""

from __future__ import annotations

import stat
from datetime import datetime, timezone
from pathlib import Path

import pytest

from turktui.adapters.screenshots import ScreenshotError, file_name, save_svg, screenshot_dir

MOMENT = datetime(2026, 6, 15, 12, 0, 0, tzinfo=timezone.utc)


def test_a_link_in_place_of_the_file_is_not_followed(tmp_path: Path) -> None:
    folder = screenshot_dir(tmp_path)
    folder.mkdir()
    victim = tmp_path / "victim.txt"
    victim.write_text("keep me")
    (folder / file_name(MOMENT)).symlink_to(victim)
    saved = save_svg(tmp_path, MOMENT, "<svg/>")
    assert saved.name.endswith("-2.svg") and not saved.is_symlink()
    assert victim.read_text() == "keep me"
    assert stat.S_IMODE(saved.stat().st_mode) == 0o600


def test_a_linked_directory_is_refused(tmp_path: Path) -> None:
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    screenshot_dir(tmp_path).symlink_to(elsewhere)
    with pytest.raises(ScreenshotError, match="is a symbolic link or not a directory"):
        save_svg(tmp_path, MOMENT, "<svg/>")
    assert list(elsewhere.iterdir()) == []
