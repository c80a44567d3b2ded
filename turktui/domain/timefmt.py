"""Human-friendly relative times ("in 3 h", "expired 2 d ago"); pure functions."""

from __future__ import annotations

from datetime import datetime, timezone

UTC = timezone.utc


def _span(seconds: float) -> str:
    seconds = abs(seconds)
    if seconds < 60:
        return f"{int(seconds)} s"
    if seconds < 3600:
        return f"{int(seconds // 60)} min"
    if seconds < 86400:
        return f"{int(seconds // 3600)} h"
    if seconds < 86400 * 365:
        return f"{int(seconds // 86400)} d"
    return f"{seconds / (86400 * 365.25):.1f} y"


def expires_label(expiration: datetime | None, now: datetime) -> str:
    """'in 3 h' for a future expiration, 'expired 2 d ago' for a past one."""
    if expiration is None:
        return "?"
    delta = (expiration - now).total_seconds()
    if delta > 0:
        return f"in {_span(delta)}"
    return f"expired {_span(delta)} ago"


def until_label(moment: datetime | None, now: datetime) -> str:
    """'in 2d 3h', 'in 5h 12m', 'in 40m', 'in 20s' before `moment`; 'passed' from then on;
    '\u2014' when there is none."""
    if moment is None:
        return "\u2014"
    left = int((moment - now).total_seconds())
    if left <= 0:
        return "passed"
    units = (("d", 86400), ("h", 3600), ("m", 60), ("s", 1))
    i = next(i for i, (_u, size) in enumerate(units) if left >= size)
    (unit, size), rest = units[i], left % units[i][1]
    text = f"in {left // size}{unit}"
    if i + 1 < len(units) and rest >= units[i + 1][1]:
        text += f" {rest // units[i + 1][1]}{units[i + 1][0]}"
    return text


def ago_label(moment: datetime | None, now: datetime) -> str:
    """'3 d ago' (or 'in 5 min' for a clock-skewed future moment)."""
    if moment is None:
        return "?"
    delta = (now - moment).total_seconds()
    if delta >= 0:
        return f"{_span(delta)} ago"
    return f"in {_span(delta)}"


def iso(moment: datetime | None) -> str:
    """ISO-8601 in UTC to the second, or '?' when unknown."""
    if moment is None:
        return "?"
    return moment.astimezone(UTC).strftime("%Y-%m-%d %H:%M:%S UTC")


def parse_duration(text: str) -> float:
    """Parse '90m', '3h', '2d', '1w', '45s' or combinations like '1d12h' into seconds.

    Raises ValueError with a message fit for an operator.
    """
    units = {"s": 1, "m": 60, "h": 3600, "d": 86400, "w": 604800}
    raw = text.strip().lower()
    if not raw:
        raise ValueError("duration is empty: use e.g. 30m, 6h, 2d or 1w")
    total = 0.0
    number = ""
    seen_unit = False
    for ch in raw:
        if ch.isascii() and ch.isdigit():
            number += ch
        elif ch in units and number:
            total += int(number) * units[ch]
            number = ""
            seen_unit = True
        else:
            raise ValueError(f"not a duration: {text!r} (use e.g. 30m, 6h, 2d or 1w)")
    if number:
        raise ValueError(f"duration {text!r} needs a unit: s, m, h, d or w")
    if not seen_unit or total <= 0:
        raise ValueError(f"duration must be positive: {text!r}")
    if total > 365 * 86400:
        raise ValueError("duration must be at most a year")
    return total


def format_duration(seconds: float) -> str:
    """A duration as `parse_duration` reads it: 86400 → '1d', 129600 → '1d12h', 90 → '1m30s'."""
    rest = int(seconds)
    parts = []
    for unit, size in (("d", 86400), ("h", 3600), ("m", 60), ("s", 1)):
        if rest >= size:
            parts.append(f"{rest // size}{unit}")
            rest %= size
    return "".join(parts) or "0s"
