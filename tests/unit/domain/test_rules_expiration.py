"""MTurk's UpdateExpirationForHIT rules as pure code (turktui.domain.rules): no shortening,
"expire now" as the fixed past time 0, and a move of 60 s to 365 days. Sources: the API
reference ("You cannot shorten the expiration time… To expire a HIT immediately, provide the
value 0 or set ExpireAt to a time in the past"), aws-sdk-java #1817 ("Valid values range from
60 to 31536000"), aws-sdk-ruby #2065 (a client's own "now" as ExpireAt → "The value -380572
is invalid for ExpirationIncrementInSeconds")."""

from __future__ import annotations

from datetime import datetime, timedelta, timezone

import pytest

from turktui.domain.rules import (
    EXPIRE_NOW,
    InputProblem,
    check_expiration,
    expiration_matches,
    is_expire_now,
)

UTC = timezone.utc
NOW = datetime(2026, 6, 15, 12, 0, 0, tzinfo=UTC)
IN_2_DAYS = NOW + timedelta(days=2)


def test_shortening_is_refused_and_names_the_current_expiration() -> None:
    with pytest.raises(InputProblem) as info:
        check_expiration(NOW + timedelta(hours=1), IN_2_DAYS, NOW)
    assert "cannot shorten" in str(info.value)
    assert "2026-06-17 12:00:00 UTC" in str(info.value)


def test_the_same_expiration_is_not_a_change() -> None:
    with pytest.raises(InputProblem):
        check_expiration(IN_2_DAYS, IN_2_DAYS, NOW)


@pytest.mark.parametrize(
    "seconds, ok",
    [
        (59, False),
        (60, True),
        (3600, True),
        (365 * 86400, True),
        (365 * 86400 + 1, False),
    ],
)
def test_increment_bounds(seconds: int, ok: bool) -> None:
    wanted = IN_2_DAYS + timedelta(seconds=seconds)
    if ok:
        assert check_expiration(wanted, IN_2_DAYS, NOW) == wanted
    else:
        with pytest.raises(InputProblem):
            check_expiration(wanted, IN_2_DAYS, NOW)


def test_expired_hit_needs_a_minute_from_now_and_at_most_a_year_from_its_expiration() -> None:
    expired = NOW - timedelta(days=10)
    with pytest.raises(InputProblem) as info:
        check_expiration(NOW + timedelta(seconds=30), expired, NOW)
    assert "from now" in str(info.value)
    assert check_expiration(NOW + timedelta(days=1), expired, NOW) == NOW + timedelta(days=1)
    with pytest.raises(InputProblem) as info:
        check_expiration(NOW + timedelta(days=360), expired, NOW)
    assert "365 days" in str(info.value)


def test_expire_now_is_epoch_zero_whatever_the_local_clock() -> None:
    assert EXPIRE_NOW.timestamp() == 0
    for current in (IN_2_DAYS, NOW - timedelta(days=1), None):
        assert check_expiration(EXPIRE_NOW, current, NOW) is EXPIRE_NOW
    assert is_expire_now(EXPIRE_NOW) and not is_expire_now(NOW)


def test_sent_to_the_second() -> None:
    wanted = IN_2_DAYS + timedelta(hours=1, microseconds=654321)
    assert check_expiration(wanted, IN_2_DAYS, NOW).microsecond == 0


def test_unknown_current_expiration_is_refused() -> None:
    with pytest.raises(InputProblem):
        check_expiration(IN_2_DAYS, None, NOW)


def test_matches() -> None:
    assert expiration_matches(IN_2_DAYS, IN_2_DAYS + timedelta(microseconds=900), NOW)
    assert not expiration_matches(IN_2_DAYS, IN_2_DAYS + timedelta(seconds=1), NOW)
    assert expiration_matches(EXPIRE_NOW, NOW - timedelta(seconds=1), NOW)
    assert not expiration_matches(EXPIRE_NOW, NOW + timedelta(hours=1), NOW)
    assert not expiration_matches(IN_2_DAYS, None, NOW)
