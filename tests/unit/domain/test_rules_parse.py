"""parse_count never accepts anything but plain ASCII digits within the range, and each
kind of wrong input gets a message that says what is wrong; plus range/cost unit checks."""

from __future__ import annotations

from datetime import datetime, timezone
from decimal import Decimal

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from turktui.domain.rules import (
    Blocker,
    InputProblem,
    check_count,
    extension_cost,
    extension_range,
    format_money,
    parse_count,
    range_text,
)

UTC = timezone.utc
NEW = datetime(2024, 1, 1, tzinfo=UTC)
OLD = datetime(2015, 7, 1, tzinfo=UTC)
SMALL = extension_range(4, NEW)  # 1..5
LARGE = extension_range(10, NEW)


def _valid(text: str, high: int) -> bool:
    return (
        text != ""
        and all("0" <= c <= "9" for c in text)
        and len(text) <= 19
        and 1 <= int(text) <= high
    )


@settings(max_examples=400, deadline=None)
@given(st.text(max_size=25))
def test_no_invalid_text_is_ever_accepted(text: str) -> None:
    for rng in (SMALL, LARGE, None):
        high = rng.high if rng else 2**63 - 1
        try:
            n = parse_count(text, rng)
        except InputProblem as exc:
            assert str(exc)  # always says something
            assert not _valid(text, high)
        else:
            assert _valid(text, high) and n == int(text) and str(n) == text.lstrip("0")


@settings(max_examples=200, deadline=None)
@given(st.integers(min_value=-(10**30), max_value=10**30))
def test_integers_as_typed(value: int) -> None:
    text = str(value)
    if 1 <= value <= LARGE.high:
        assert parse_count(text, LARGE) == value
    else:
        with pytest.raises(InputProblem):
            parse_count(text, LARGE)


@pytest.mark.parametrize(
    "text, says",
    [
        ("", "Enter"),
        ("0", "at least 1"),
        ("000", "at least 1"),
        ("-3", "positive"),
        ("+5", "without a sign"),
        ("abc", "Not a whole number"),
        ("1e3", "Not a whole number"),
        ("1.5", "Not a whole number"),
        ("1,000", "Not a whole number"),
        ("0x10", "Not a whole number"),
        (" 5", "spaces"),
        ("5 ", "spaces"),
        ("1 0", "spaces"),
        ("5\n", "spaces"),
        ("\t5", "spaces"),
        ("\u00a05", "spaces"),
        ("\uff15", "digits 0-9"),  # fullwidth 5
        ("\u0663", "digits 0-9"),  # Arabic-Indic 3
        ("\u0967\u0968", "digits 0-9"),  # Devanagari 12
        ("\u00b2", "digits 0-9"),  # superscript two
        ("5\u200b", "Not a whole number"),  # zero-width space (pasted)
        ("Add 5 please", "spaces"),
        ("5\x1b[31m", "Not a whole number"),
        ("9223372036854775808", "too large"),
        ("99999999999999999999999999", "too large"),
        ("6", "At most 5"),
        ("1000000", "At most 5"),
    ],
)
def test_explicit_invalid_inputs(text: str, says: str) -> None:
    with pytest.raises(InputProblem) as info:
        parse_count(text, SMALL)
    assert says in str(info.value)
    assert "\x1b" not in str(info.value)


def test_valid_inputs() -> None:
    assert parse_count("5", SMALL) == 5
    assert parse_count("1", SMALL) == 1
    assert parse_count("999990", LARGE) == 999_990
    assert parse_count("007", LARGE) == 7


def test_ranges_and_reasons() -> None:
    assert (
        range_text(SMALL) == "1\u20135: this HIT has 4 assignments (under 10: it can never "
        "reach 10)"
    )
    nine = extension_range(9, NEW)
    assert nine.blocker is Blocker.NO_HEADROOM and not nine.allows(1)
    assert "can never reach 10" in nine.reason
    eight = extension_range(8, NEW)
    assert (eight.low, eight.high) == (1, 1) and range_text(eight).startswith("1: ")
    old = extension_range(20, OLD)
    assert old.blocker is Blocker.TOO_OLD and "2015-07-22" in range_text(old)
    cap = extension_range(1_000_000, NEW)
    assert cap.blocker is Blocker.AT_CAP
    assert extension_range(999_999, NEW).high == 1
    assert extension_range(5, None).blocker is Blocker.UNKNOWN_CREATION
    naive = extension_range(5, datetime(2015, 7, 22))
    assert naive.extendable
    with pytest.raises(InputProblem):
        check_count(True, LARGE)  # bool is not a count


def test_cost_tiers_and_minimum() -> None:
    small = extension_cost(Decimal("1.00"), 2, 5)
    assert (small.rewards, small.fee, small.total) == (
        Decimal("2.00"),
        Decimal("0.40"),
        Decimal("2.40"),
    )
    assert "20%" in small.tier and not small.large_hit
    large = extension_cost(Decimal("1.00"), 2, 12)
    assert large.total == Decimal("2.80") and "40%" in large.tier
    tiny = extension_cost(Decimal("0.01"), 3, 4)
    assert tiny.fee == Decimal("0.03")  # at least $0.01 per assignment
    assert extension_cost(Decimal("0.00"), 5, 15).total == Decimal("0.05")
    assert format_money(Decimal("1234.5")) == "$1,234.50" and format_money(None) == "?"
