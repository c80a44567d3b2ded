"""MTurk's rules for CreateAdditionalAssignmentsForHIT, as pure code (no I/O).

The service is the final judge; this module lets the app refuse what MTurk would refuse
before anything is sent, and explain why in words. The emulator implements the same rules
independently (turktui/emulator) and tests cross-check the two.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import datetime, timedelta, timezone
from decimal import ROUND_HALF_UP, Decimal
from enum import Enum

from turktui.domain.text import one_line

UTC = timezone.utc

#: HITs created before this moment can never be extended (HITTooOldForExtension).
EXTENSION_CUTOFF = datetime(2015, 7, 22, tzinfo=UTC)
#: A HIT created with fewer than this many assignments can never reach it.
SMALL_HIT_LIMIT = 10
#: MaxAssignments is never above this.
MAX_TOTAL_ASSIGNMENTS = 1_000_000
#: MTurk commission and the extra commission for HITs with 10 or more assignments.
BASE_FEE_RATE = Decimal("0.20")
LARGE_HIT_EXTRA_FEE_RATE = Decimal("0.20")
MIN_FEE_PER_ASSIGNMENT = Decimal("0.01")
CENT = Decimal("0.01")


class Blocker(Enum):
    """Why a HIT cannot be extended at all."""

    TOO_OLD = "too_old"
    NO_HEADROOM = "no_headroom"  # fewer than 10 and already at 9
    AT_CAP = "at_cap"  # already at 1,000,000
    UNKNOWN_CREATION = "unknown_creation"


@dataclass(frozen=True, slots=True)
class ExtensionRange:
    """What may be added to one HIT: `low..high` inclusive, or nothing (`blocker`)."""

    max_assignments: int
    low: int
    high: int
    reason: str
    blocker: Blocker | None = None

    @property
    def extendable(self) -> bool:
        return self.blocker is None

    def allows(self, n: int) -> bool:
        return self.extendable and self.low <= n <= self.high

    def refusal_code(self, n: int) -> str | None:
        """The TurkErrorCode MTurk answers when asked to add `n` (None: it would accept).

        Mirrors MTurk's order of checks: the count itself, the age, the 10-boundary, the cap.
        """
        if n < 1:
            return "AWS.ParameterOutOfRange"
        if self.blocker is Blocker.TOO_OLD:
            return "AWS.MechanicalTurk.HITTooOldForExtension"
        if self.blocker is Blocker.UNKNOWN_CREATION:
            return "unknown"
        if self.max_assignments < SMALL_HIT_LIMIT <= self.max_assignments + n:
            return "AWS.MechanicalTurk.InvalidMaximumAssignmentsIncrease"
        if self.max_assignments + n > MAX_TOTAL_ASSIGNMENTS:
            return "AWS.ParameterOutOfRange"
        return None

    @property
    def label(self) -> str:
        """Short headroom text for a table cell: '+5', '+999,990', 'none (9 of 9)', 'too old'."""
        if self.blocker is Blocker.TOO_OLD:
            return "too old"
        if self.blocker is Blocker.NO_HEADROOM:
            return f"none ({self.max_assignments} of {SMALL_HIT_LIMIT - 1})"
        if self.blocker is Blocker.AT_CAP:
            return "none (at cap)"
        if self.blocker is Blocker.UNKNOWN_CREATION:
            return "unknown"
        return f"+{self.high:,}"


def extension_range(max_assignments: int, created: datetime | None) -> ExtensionRange:
    """The allowed number of additional assignments for a HIT, with the reason in words."""
    if created is not None and created.tzinfo is None:
        created = created.replace(tzinfo=UTC)  # naive times are UTC (the wire is epoch UTC)
    if created is None:
        return ExtensionRange(
            max_assignments,
            0,
            0,
            "the HIT's creation time is unknown, so MTurk's date rule cannot be checked",
            Blocker.UNKNOWN_CREATION,
        )
    if created < EXTENSION_CUTOFF:
        return ExtensionRange(
            max_assignments,
            0,
            0,
            f"this HIT was created on {created:%Y-%m-%d}, before 2015-07-22; "
            "MTurk never extends HITs that old",
            Blocker.TOO_OLD,
        )
    if max_assignments < SMALL_HIT_LIMIT:
        high = SMALL_HIT_LIMIT - 1 - max_assignments
        if high < 1:
            return ExtensionRange(
                max_assignments,
                0,
                0,
                f"this HIT has {max_assignments} assignments (under {SMALL_HIT_LIMIT}: it can "
                f"never reach {SMALL_HIT_LIMIT}), so none can be added",
                Blocker.NO_HEADROOM,
            )
        return ExtensionRange(
            max_assignments,
            1,
            high,
            f"this HIT has {max_assignments} assignment{'s' if max_assignments != 1 else ''} "
            f"(under {SMALL_HIT_LIMIT}: it can never reach {SMALL_HIT_LIMIT})",
        )
    high = MAX_TOTAL_ASSIGNMENTS - max_assignments
    if high < 1:
        return ExtensionRange(
            max_assignments,
            0,
            0,
            f"this HIT already has the most assignments MTurk allows ({MAX_TOTAL_ASSIGNMENTS:,})",
            Blocker.AT_CAP,
        )
    return ExtensionRange(
        max_assignments,
        1,
        high,
        f"a HIT may have at most {MAX_TOTAL_ASSIGNMENTS:,} assignments",
    )


def range_text(rng: ExtensionRange) -> str:
    """'1–5: this HIT has 4 assignments (under 10: it can never reach 10)'."""
    if not rng.extendable:
        return f"Cannot be extended: {rng.reason}."
    span = f"{rng.low:,}" if rng.low == rng.high else f"{rng.low:,}\u2013{rng.high:,}"
    return f"{span}: {rng.reason}"


class InputProblem(ValueError):
    """What the operator typed is not an allowed number; the message says why."""


#: RequesterFeedback of ApproveAssignment/RejectAssignment: at most this many characters.
MAX_FEEDBACK = 1024
_CONTROL = re.compile(r"[\x00-\x1f\x7f-\x9f]")


def check_feedback(
    text: str | None,
    *,
    required: bool,
    what: str = "feedback",
    why: str = "say why the work is rejected",
) -> str | None:
    """RequesterFeedback (or a bonus's Reason: `what`) as MTurk takes it: required for a
    rejection (MTurk answers "Value null at 'requesterFeedback'", boto3 #1222) and a bonus
    (boto3 #1223), at most 1,024 characters, and no control characters (workers read it).
    Returns the text (None when absent and allowed)."""
    if text is None or not text.strip():
        if required:
            raise InputProblem(f"{what} is required: {why}")
        return None
    if len(text) > MAX_FEEDBACK:
        raise InputProblem(
            f"{what} is {len(text):,} characters; MTurk takes at most {MAX_FEEDBACK:,}"
        )
    bad = _CONTROL.search(text)
    if bad:
        raise InputProblem(
            f"{what} has a control character (U+{ord(bad.group()):04X}) at position "
            f"{bad.start() + 1}; workers read it as text"
        )
    return text


#: A bonus's BonusAmount pattern, as MTurk's ValidationException quotes it (Dallinger #1052).
BONUS_AMOUNT = re.compile(r"^[0-9]+(\.)?[0-9]{0,2}$")


def check_bonus_amount(text: str) -> Decimal:
    """A bonus amount exactly as MTurk takes it (`^[0-9]+(\\.)?[0-9]{0,2}$`, above zero): no
    sign, exponent, separator or third decimal; InputProblem naming it otherwise."""
    if not BONUS_AMOUNT.fullmatch(text) or not text.isascii():
        raise InputProblem(
            f"not a bonus amount: {_shown(text, 30)} (dollars with at most 2 decimals, e.g. 1.50)"
        )
    amount = Decimal(text)
    if amount <= 0:
        raise InputProblem(f"a bonus must be more than $0.00 (got {text})")
    return amount


#: MTurk's fee on a bonus: 20% of the amount, at least $0.01 (Mephisto's MTURK_BONUS_FEE).
BONUS_FEE_RATE = Decimal("0.20")
MIN_BONUS_FEE = Decimal("0.01")


def bonus_fee(amount: Decimal) -> Decimal:
    """MTurk's fee on a bonus of `amount`: 20%, at least $0.01, to the cent."""
    return max(amount * BONUS_FEE_RATE, MIN_BONUS_FEE).quantize(CENT, rounding=ROUND_HALF_UP)


_INT64_MAX = 2**63 - 1

#: What a HIT id may look like (MTurk's are 30 of [A-Z0-9]; lenient on case, - and _).
_HIT_ID = re.compile(r"[A-Za-z0-9_-]{1,128}")


def check_hit_id(text: str, what: str = "HIT id") -> str:
    """`text` if it can be a HIT id (or, `what`, an assignment id: the same form);
    InputProblem (naming it, made safe) otherwise, before anything is sent: MTurk would
    answer a validation error, read as a service failure."""
    if not _HIT_ID.fullmatch(text):
        raise InputProblem(f"not {'an' if what[0] in 'aeiou' else 'a'} {what}: {_shown(text, 60)}")
    return text


def parse_count(text: str, rng: ExtensionRange | None = None) -> int:
    """Parse the number of additional assignments exactly as typed.

    Only plain ASCII digits are accepted: no sign, spaces, separators, exponents or
    non-ASCII digits, so what is sent is exactly what the operator saw.
    """
    if text == "":
        raise InputProblem("Enter the number of assignments to add.")
    if any(ch.isspace() for ch in text):
        raise InputProblem("Remove the spaces and line breaks: type digits only.")
    if not all("0" <= ch <= "9" for ch in text):
        if text[0] in "+-" and text[1:].isascii() and text[1:].isdigit():
            if text[0] == "-":
                raise InputProblem("The number must be positive.")
            raise InputProblem("Type the number without a sign.")
        if any(ch.isdigit() for ch in text) and all(ch.isdigit() for ch in text):
            raise InputProblem("Use the digits 0-9 only.")
        raise InputProblem(f"Not a whole number: {_shown(text)}.")
    if len(text) > 19 or int(text) > _INT64_MAX:
        raise InputProblem("That number is far too large.")
    n = int(text)
    if n < 1:
        raise InputProblem("Add at least 1 assignment.")
    if rng is not None:
        check_count(n, rng)
    return n


def check_count(n: int, rng: ExtensionRange) -> None:
    """Validate an already-parsed count against a HIT's range (the engine's guard)."""
    if isinstance(n, bool) or not isinstance(n, int):
        raise InputProblem("The number of assignments must be a whole number.")
    if n < 1:
        raise InputProblem("Add at least 1 assignment.")
    if n > _INT64_MAX:
        raise InputProblem("That number is far too large.")
    if not rng.extendable:
        raise InputProblem(range_text(rng))
    if n > rng.high:
        raise InputProblem(f"At most {rng.high:,} can be added: {rng.reason}.")


def _shown(text: str, limit: int = 20) -> str:
    return repr(one_line(text, max_length=limit))


@dataclass(frozen=True, slots=True)
class Cost:
    """What adding n assignments costs, in dollars."""

    rewards: Decimal
    fee: Decimal
    total: Decimal
    fee_rate: Decimal
    large_hit: bool

    @property
    def tier(self) -> str:
        pct = int(self.fee_rate * 100)
        if self.large_hit:
            return f"{pct}% fee: 20% + 20% at {SMALL_HIT_LIMIT}+ assignments"
        return f"{pct}% fee: under {SMALL_HIT_LIMIT} assignments"


def extension_cost(reward: Decimal, n: int, new_max: int) -> Cost:
    """reward × n plus MTurk's fee (20%, +20% at 10+ assignments, at least $0.01 each)."""
    large = new_max >= SMALL_HIT_LIMIT
    rate = BASE_FEE_RATE + (LARGE_HIT_EXTRA_FEE_RATE if large else Decimal(0))
    rewards = (reward * n).quantize(CENT, rounding=ROUND_HALF_UP)
    fee = max(reward * rate, MIN_FEE_PER_ASSIGNMENT) * n
    fee = fee.quantize(CENT, rounding=ROUND_HALF_UP)
    return Cost(rewards=rewards, fee=fee, total=rewards + fee, fee_rate=rate, large_hit=large)


def format_money(amount: Decimal | None) -> str:
    if amount is None:
        return "?"
    return f"${amount.quantize(CENT, rounding=ROUND_HALF_UP):,}"


# -- UpdateExpirationForHIT -------------------------------------------------------------------
#: "To expire a HIT immediately, provide the value 0 or set ExpireAt to a time in the past"
#: (API reference). turktui sends this fixed past moment, never the client's own "now": a
#: client clock behind MTurk's turns "now" into a shortening MTurk refuses
#: ("The value -380572 is invalid for ExpirationIncrementInSeconds", aws-sdk-ruby #2065).
EXPIRE_NOW = datetime(1970, 1, 1, tzinfo=UTC)
#: "Valid values range from 60 to 31536000" (aws-sdk-java #1817): MTurk measures a new
#: expiration from the current one, to the second.
MIN_EXPIRATION_INCREMENT = 60
MAX_EXPIRATION_INCREMENT = 365 * 86400


def is_expire_now(expire_at: datetime | None) -> bool:
    return expire_at is not None and expire_at.timestamp() <= EXPIRE_NOW.timestamp()


def whole_second(moment: datetime) -> datetime:
    """MTurk reads ExpireAt to the second (and derives its idempotency token from it): what
    the history records must be exactly what is sent."""
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=UTC)
    return moment.replace(microsecond=0)


def _when(moment: datetime) -> str:
    return moment.astimezone(UTC).strftime("%Y-%m-%d %H:%M:%S UTC")


def check_expiration(
    requested: datetime, current: datetime | None, now: datetime | None = None
) -> datetime:
    """The ExpireAt to send for `requested` given the HIT's `current` expiration, or
    InputProblem saying why MTurk would refuse it (and what the expiration is now).

    * EXPIRE_NOW (or any moment at/before the epoch) expires the HIT now: sent as epoch 0;
    * otherwise the new expiration must lie 60 s to 365 days after the current one: no
      shortening, no move of less than a minute, no more than a year in one step. Whether
      MTurk measures from the current expiration or from its "now" once a HIT has expired is
      not documented: both readings must allow it (the minimum from the later of the two,
      the maximum from the current expiration).
    """
    if is_expire_now(requested):
        return EXPIRE_NOW
    if current is None:
        raise InputProblem(
            "The HIT's current expiration is unknown, so the change cannot be "
            "checked against MTurk's rules; nothing was sent."
        )
    if current.tzinfo is None:
        current = current.replace(tzinfo=UTC)
    wanted = whole_second(requested)
    increment = int(wanted.timestamp()) - int(current.timestamp())
    base = max(current, now) if now is not None else current
    if now is not None and base is now and increment > 0:
        from_now = int(wanted.timestamp()) - int(now.timestamp())
        if from_now < MIN_EXPIRATION_INCREMENT:
            raise InputProblem(
                f"The new expiration must be at least {MIN_EXPIRATION_INCREMENT} seconds from "
                f"now (the HIT expired at {_when(current)}); {_when(wanted)} is too soon."
            )
    if increment <= 0:
        raise InputProblem(
            f"MTurk cannot shorten an expiration: it is currently {_when(current)} and "
            f"{_when(wanted)} is not later. To expire the HIT now, expire it now instead."
        )
    if increment < MIN_EXPIRATION_INCREMENT:
        raise InputProblem(
            f"The new expiration must be at least {MIN_EXPIRATION_INCREMENT} seconds after the "
            f"current one ({_when(current)}); {_when(wanted)} is only {increment} s later."
        )
    if increment > MAX_EXPIRATION_INCREMENT:
        raise InputProblem(
            f"MTurk moves an expiration by at most 365 days at a time: it is currently "
            f"{_when(current)}, and {_when(wanted)} is {increment / 86400:,.1f} days later."
        )
    return wanted


def add_time(current: datetime | None, seconds: float, now: datetime) -> datetime:
    """The new expiration for "add time": `seconds` added to the current expiration, or
    from `now` when the HIT has already expired (or its expiration is unknown), to the
    second. The increment rules (60 s to 365 days, never shorter) are check_expiration's."""
    if current is not None and current.tzinfo is None:
        current = current.replace(tzinfo=UTC)
    base = current if current is not None and current > now else now
    return whole_second(base + timedelta(seconds=seconds))


def new_expiration(current: datetime | None, seconds: float, now: datetime) -> datetime:
    """Add time, checked: `add_time` under `check_expiration`'s rules (InputProblem says
    why MTurk would refuse it). The one implementation of the extend and bulk dialogs."""
    return check_expiration(add_time(current, seconds, now), current, now)


def expiration_matches(expected: datetime, actual: datetime | None, now: datetime) -> bool:
    """Does the HIT's Expiration show the change asked for? To the second; for "expire now"
    any expiration not after `now` (MTurk's own time, when known) does."""
    if actual is None:
        return False
    if is_expire_now(expected):
        return actual.timestamp() <= now.timestamp()
    return int(actual.timestamp()) == int(expected.timestamp())
