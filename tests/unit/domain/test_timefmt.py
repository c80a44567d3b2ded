from __future__ import annotations

from datetime import datetime, timedelta, timezone

import pytest

from turktui.domain.timefmt import ago_label, expires_label, iso, parse_duration

NOW = datetime(2026, 11, 29, 12, 0, tzinfo=timezone.utc)


@pytest.mark.parametrize(
    ("delta", "label"),
    [
        (timedelta(hours=3, minutes=5), "in 3 h"),
        (timedelta(minutes=5), "in 5 min"),
        (timedelta(seconds=30), "in 30 s"),
        (timedelta(days=-2, hours=-1), "expired 2 d ago"),
        (timedelta(days=-800), "expired 2.2 y ago"),
    ],
)
def test_expires_label(delta: timedelta, label: str) -> None:
    assert expires_label(NOW + delta, NOW) == label


def test_ago_and_iso() -> None:
    assert ago_label(NOW - timedelta(days=3), NOW) == "3 d ago"
    assert ago_label(None, NOW) == "?"
    assert expires_label(None, NOW) == "?"
    assert iso(NOW) == "2026-11-29 12:00:00 UTC"


@pytest.mark.parametrize(
    ("text", "seconds"),
    [("30m", 1800), ("6h", 21600), ("1d12h", 129600), ("1w", 604800), (" 45s ", 45)],
)
def test_parse_duration(text: str, seconds: int) -> None:
    assert parse_duration(text) == seconds


@pytest.mark.parametrize("text", ["", "5", "-1h", "1.5h", "1y", "h", "0m", "400d", "１h"])
def test_parse_duration_rejects(text: str) -> None:
    with pytest.raises(ValueError):
        parse_duration(text)
