"""screenshots/ must be exactly what `python -m tests.screenshots` produces now."""

from __future__ import annotations

import pytest

from tests import screenshots

pytestmark = pytest.mark.timeout(300)


def test_committed_screenshots_are_current() -> None:
    stale = []
    for name, svg in screenshots.render_all().items():
        path = screenshots.OUT / name
        if not path.exists() or path.read_text("utf-8") != svg:
            stale.append(name)
    assert not stale, (
        f"screenshots out of date: {', '.join(stale)}; run `python -m tests.screenshots`"
    )
