"""Hostile input: property-based checks of everything the operator types.

Each check is a function taking `examples` (hypothesis `max_examples`) and returning how many
examples ran; a failing property raises (hypothesis shrinks it to a minimal example). Every
request that would be sent is judged by the *emulator's* independent implementation of
MTurk's rules (`turktui.emulator.rules`): "no invalid request is ever sent".
"""

from __future__ import annotations

import argparse
import contextlib
import io
from datetime import datetime, timedelta, timezone
from decimal import Decimal
from typing import Any

from hypothesis import HealthCheck, given, seed, settings
from hypothesis import strategies as st

from turktui.adapters.history import HistoryStore
from turktui.domain.environment import Environment, EnvKind
from turktui.domain.models import Hit
from turktui.domain.rules import InputProblem, extension_range, parse_count
from turktui.domain.timefmt import parse_duration
from turktui.emulator import rules as mturk_rules
from turktui.pipeline.engine import Engine, PlanRefused, check_token

UTC = timezone.utc
NOW = datetime(2026, 6, 15, 12, 0, tzinfo=UTC)

# What an operator (or a paste, or a fat finger) can type: digits-heavy text, signs,
# separators, exponents, non-ASCII digits, controls, and anything at all.
_DIGITISH = st.text(
    alphabet=st.sampled_from(
        list("0123456789+-_,. eE\u0660\u0969\uff11\u00b2\u2007\u00a0\n\t\x00\x1b")
    ),
    max_size=25,
)
TYPED = st.one_of(
    st.integers(min_value=-2, max_value=12).map(str),
    st.integers(min_value=0, max_value=1_000_005).map(str),
    st.integers(min_value=-(10**20), max_value=10**21).map(str),
    _DIGITISH,
    st.text(max_size=40),
    st.sampled_from(
        [
            "",
            "0",
            "00",
            "007",
            "1e3",
            "１２",
            "٣",
            "9" * 19,
            "9" * 20,
            "2**63",
            "1_000",
            "1,000",
            " 5",
            "5 ",
            "+5",
            "-0",
            "0x10",
            "NaN",
            "inf",
            "½",
        ]
    ),
)
CREATED = st.one_of(
    st.datetimes(
        min_value=datetime(2015, 7, 22), max_value=datetime(2026, 6, 1), timezones=st.just(UTC)
    ),
    st.datetimes(
        min_value=datetime(2005, 1, 1), max_value=datetime(2026, 6, 1), timezones=st.just(UTC)
    ),
    st.none(),
)
MAX_ASSIGNMENTS = st.one_of(
    st.integers(1, 12), st.integers(1, 1_000_000), st.sampled_from([9, 10, 999_999, 1_000_000])
)


class RecordingService:
    """A stand-in for MTurkService that records what would be sent and judges it with the
    emulator's rules (an independent implementation of MTurk's)."""

    def __init__(self) -> None:
        self.sent: list[tuple[str, int, str]] = []
        self.invalid: list[str] = []
        self.hit: Hit | None = None

    def create_additional_assignments(self, hit_id: str, n: int, token: str) -> None:
        self.sent.append((hit_id, n, token))
        hit = self.hit
        assert hit is not None
        if not isinstance(n, int) or isinstance(n, bool) or not 1 <= n <= 1_000_000:
            self.invalid.append(f"n={n!r}")
            return
        if hit.created is None:
            self.invalid.append("sent for a HIT whose creation time is unknown")
            return
        refusal = mturk_rules.extension_refusal(hit.created.timestamp(), hit.max_assignments, n)
        if refusal:
            self.invalid.append(f"{refusal[0]} for max {hit.max_assignments} + {n}")
        if not token or len(token) > 64:
            self.invalid.append(f"token {token!r}")

    def get_hit(self, hit_id: str) -> Hit:
        assert self.hit is not None
        return self.hit

    def update_expiration(self, hit_id: str, expire_at: datetime) -> None:
        if expire_at <= NOW:
            self.invalid.append(f"expiration in the past: {expire_at}")


class _Count:
    n = 0


#: The campaign's --seed; the same seed replays the same examples.
SEED = {"value": 0}


def _run(test: Any, examples: int, counter: type[_Count] | _Count) -> int:
    """Run a @given test with `examples` examples (seeded); return how many ran."""
    counter.n = 0
    configured = settings(
        max_examples=examples, deadline=None, database=None, suppress_health_check=list(HealthCheck)
    )(test)
    seed(SEED["value"])(configured)()
    return counter.n


def _digits_of(text: str, n: int) -> bool:
    """n is exactly the number the ASCII digits of `text` spell (leading zeros allowed)."""
    return text.isascii() and text.isdigit() and int(text) == n


def check_parse_count(examples: int) -> int:
    """Any text → InputProblem, or exactly the digits typed, within the HIT's range."""
    count = _Count()

    @given(text=TYPED, max_a=MAX_ASSIGNMENTS, created=CREATED)
    def prop(text: str, max_a: int, created: datetime | None) -> None:
        count.n += 1
        rng = extension_range(max_a, created)
        try:
            n = parse_count(text, rng)
        except InputProblem as exc:
            assert str(exc) and "\x1b" not in str(exc) and "\n" not in str(exc)
            return
        assert type(n) is int and _digits_of(text, n), (text, n)  # what was typed, no more
        assert rng.allows(n)
        assert (
            mturk_rules.extension_refusal(created.timestamp() if created else 0, max_a, n) is None
        )

    return _run(prop, examples, count)


def check_dialog_to_engine(examples: int, history: HistoryStore) -> tuple[int, int, int]:
    """The dialog's path (parse_count with the HIT's range) then engine.plan/execute:
    returns (examples, requests sent, invalid requests sent)."""
    count = _Count()
    service = RecordingService()
    env = Environment(EnvKind.DEMO, "http://hypothesis.invalid")
    engine = Engine(service, history, env, clock=lambda: NOW)

    @given(
        text=TYPED,
        max_a=MAX_ASSIGNMENTS,
        created=CREATED,
        reward=st.sampled_from([None, Decimal("0.01"), Decimal("1.00")]),
        execute=st.booleans(),
        expire=st.one_of(st.none(), st.integers(-(10**6), 10**7)),
    )
    def prop(
        text: str,
        max_a: int,
        created: datetime | None,
        reward: Decimal | None,
        execute: bool,
        expire: int | None,
    ) -> None:
        count.n += 1
        hit = Hit(hit_id="HYPOTHESISHIT", max_assignments=max_a, created=created, reward=reward)
        service.hit = hit
        rng = extension_range(max_a, created)
        try:
            n = parse_count(text, rng)
        except InputProblem:
            # The dialog keeps Submit disabled; a caller skipping it still meets the engine.
            n = None
        candidates = [n] if n is not None else []
        with contextlib.suppress(ValueError):
            candidates.append(int(text))  # a caller that bypassed the dialog's parsing
        expire_at = NOW + timedelta(seconds=expire) if expire is not None else None
        for value in candidates:
            try:
                plan = engine.plan(hit, value, expire_at)
            except PlanRefused:
                continue
            assert rng.allows(plan.n) and plan.n == value
            if execute:
                engine.execute(plan)

    ran = _run(prop, examples, count)
    return ran, len(service.sent), len(service.invalid)


def check_cli_argument(examples: int) -> int:
    """`turktui extend HIT N`: argparse hands N over verbatim (or exits 2), then the same
    parse_count decides; nothing else interprets it."""
    count = _Count()
    from turktui.cli import build_parser

    parser = build_parser()

    @given(text=TYPED)
    def prop(text: str) -> None:
        count.n += 1
        with contextlib.redirect_stderr(io.StringIO()):
            try:
                args = parser.parse_args(["extend", "HITID", text])
            except SystemExit as exc:
                assert exc.code == 2
                return
        assert isinstance(args, argparse.Namespace)
        # `extend HIT_ID N`, whether N is its own argument or the last of the HIT_ID list
        # (the bulk-aware grammar): argparse hands it over verbatim.
        given = getattr(args, "n", None)
        if given is None and isinstance(args.hit_id, list):
            given = args.hit_id[-1]
        if text.startswith("-") and given != text:
            return  # argparse read it as an option (e.g. "-y"): then N is missing → usage
        assert given == text
        try:
            n = parse_count(given)
        except InputProblem:
            return
        assert _digits_of(text, n) and n >= 1

    return _run(prop, examples, count)


def check_tokens_and_durations(examples: int) -> int:
    """--token and --expire-in: accepted values are exactly what MTurk accepts."""
    count = _Count()

    @given(token=st.text(max_size=80), duration=TYPED)
    def prop(token: str, duration: str) -> None:
        count.n += 1
        try:
            check_token(token)
        except InputProblem:
            pass
        else:
            assert 1 <= len(token) <= 64 and token.isascii() and token.isprintable()
            assert " " not in token
        try:
            seconds = parse_duration(duration)
        except ValueError as exc:
            assert str(exc)
        else:
            assert 0 < seconds <= 365 * 86400

    return _run(prop, examples, count)
