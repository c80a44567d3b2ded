"""Pure MTurk rules: fee arithmetic and extension refusals."""

from __future__ import annotations

from decimal import Decimal

from hypothesis import given
from hypothesis import strategies as st

from turktui.emulator.rules import (
    EXTENSION_CUTOFF,
    cost_for,
    extension_refusal,
    fee_for,
    is_valid_reward,
)


def test_fee_examples() -> None:
    assert fee_for(Decimal("1.00"), 1, 1) == Decimal("0.20")
    assert fee_for(Decimal("1.00"), 1, 10) == Decimal("0.40")
    assert fee_for(Decimal("0.01"), 5, 5) == Decimal("0.05")
    assert fee_for(Decimal("0.025"), 1, 1) == Decimal("0.01")
    assert cost_for(Decimal("0.33"), 3, 12) == Decimal("1.39")


@given(
    reward=st.integers(0, 50_000).map(lambda c: Decimal(c) / 100),
    n=st.integers(1, 5000),
    after=st.integers(1, 1_000_000),
)
def test_fee_properties(reward: Decimal, n: int, after: int) -> None:
    fee = fee_for(reward, n, after)
    assert fee >= Decimal("0.01") * n
    assert fee == fee.quantize(Decimal("0.01"))
    rate = Decimal("0.40") if after >= 10 else Decimal("0.20")
    assert abs(fee - max(reward * n * rate, Decimal("0.01") * n)) <= Decimal("0.005")
    assert cost_for(reward, n, after) == reward * n + fee


def test_refusals() -> None:
    recent = EXTENSION_CUTOFF + 1
    assert extension_refusal(recent, 5, 4) is None
    assert extension_refusal(recent, 10, 999_990) is None
    assert extension_refusal(EXTENSION_CUTOFF - 1, 5, 1)[0].endswith("HITTooOldForExtension")
    assert extension_refusal(recent, 9, 1)[0].endswith("InvalidMaximumAssignmentsIncrease")
    assert extension_refusal(recent, 10, 999_991)[0] == "AWS.ParameterOutOfRange"
    assert extension_refusal(recent, 3, 0)[0] == "AWS.ParameterOutOfRange"


def test_reward_pattern() -> None:
    for good in ("0.50", "1", "1.", "12.3", "0.01"):
        assert is_valid_reward(good)
    for bad in ("", ".5", "0.123", "-1", "1e3", "١.٠٠", "a"):
        assert not is_valid_reward(bad)
