"""The product's retry pacing between attempts (tests elsewhere wait 10-20 ms instead:
tests/conftest.py `_quick_backoff`)."""

from __future__ import annotations

import random

import pytest

import turktui.pipeline.engine

pytestmark = pytest.mark.real_backoff


def test_an_engine_waits_a_quarter_second_doubling_to_four_within_twenty() -> None:
    backoff = turktui.pipeline.engine.Backoff()
    assert (backoff.attempts, backoff.base, backoff.cap, backoff.total) == (5, 0.25, 4.0, 20.0)
    rng = random.Random(1)
    for retry, raw in ((1, 0.25), (2, 0.5), (3, 1.0), (4, 2.0), (5, 4.0), (9, 4.0)):
        delay = backoff.delay(retry, rng)
        assert raw * 0.8 <= delay <= raw * 1.2, (retry, delay)
