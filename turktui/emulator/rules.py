"""MTurk's business rules for extending HITs and charging for them (pure functions).

Implemented independently of the app's own rules so that the emulator can be
used to check them.
"""

from __future__ import annotations

import math
import time
from decimal import ROUND_HALF_UP, Decimal

# HITs created before this instant cannot be extended (2015-07-22T00:00:00Z).
EXTENSION_CUTOFF = 1437523200.0
# A HIT created with fewer than this many assignments cannot reach it by extension.
TEN = 10
MAX_ASSIGNMENTS = 1_000_000
TOKEN_WINDOW = 24 * 3600.0
# UpdateExpirationForHIT: an extension must move the expiration 60 s .. 365 days
# (aws-sdk-java issue #1817, aws-sdk-ruby issue #2065).
EXPIRATION_INCREMENT_MIN = 60
EXPIRATION_INCREMENT_MAX = 31_536_000
CENT = Decimal("0.01")
BASE_FEE = Decimal("0.20")
TEN_PLUS_FEE = Decimal("0.20")


def fee_for(reward: Decimal, n: int, max_after: int) -> Decimal:
    """MTurk's commission for ``n`` assignments at ``reward`` each.

    20% of the reward, plus 20% more when the HIT has 10 or more assignments
    (``max_after``), at least $0.01 per assignment, rounded half-up to the cent.
    """
    base = reward * n
    rate = BASE_FEE + (TEN_PLUS_FEE if max_after >= TEN else Decimal(0))
    fee = max(base * rate, CENT * n)
    return fee.quantize(CENT, rounding=ROUND_HALF_UP)


def bonus_fee(amount: Decimal) -> Decimal:
    """MTurk's fee on a bonus: 20%, at least $0.01, rounded half-up to the cent (the 10+
    assignment surcharge applies to rewards only)."""
    return max(amount * BASE_FEE, CENT).quantize(CENT, rounding=ROUND_HALF_UP)


def cost_for(reward: Decimal, n: int, max_after: int) -> Decimal:
    """Total charge (rewards + fee) for ``n`` assignments, rounded to the cent."""
    return (reward * n + fee_for(reward, n, max_after)).quantize(CENT, rounding=ROUND_HALF_UP)


def extension_refusal(creation_time: float, max_assignments: int, n: int) -> tuple[str, str] | None:
    """Why MTurk refuses adding ``n`` assignments, as (TurkErrorCode, message), or None.

    Checks (in MTurk's order): the count itself, the HIT's age, the 10-assignment
    boundary and the 1,000,000 ceiling. Funds are checked separately.
    """
    if n < 1:
        return (
            "AWS.ParameterOutOfRange",
            f"The value {n} is invalid for NumberOfAdditionalAssignments. "
            "Valid values range from 1 to 1000000.",
        )
    if creation_time < EXTENSION_CUTOFF:
        return (
            "AWS.MechanicalTurk.HITTooOldForExtension",
            "HITs created before July 22, 2015 cannot be extended. Create a new HIT instead.",
        )
    after = max_assignments + n
    if max_assignments < TEN <= after:
        return (
            "AWS.MechanicalTurk.InvalidMaximumAssignmentsIncrease",
            f"This HIT was created with fewer than {TEN} assignments ({max_assignments}) "
            f"and cannot be extended to {TEN} or more assignments ({after}). "
            "Create a new HIT instead.",
        )
    if after > MAX_ASSIGNMENTS:
        return (
            "AWS.ParameterOutOfRange",
            f"The resulting MaxAssignments ({after}) is invalid. "
            f"It must not exceed {MAX_ASSIGNMENTS}.",
        )
    return None


def is_valid_reward(text: str) -> bool:
    """Whether ``text`` matches MTurk's CurrencyAmount pattern ``^[0-9]+(\\.)?[0-9]{0,2}$``."""
    if not text:
        return False
    whole, _dot, frac = text.partition(".")
    return (
        whole.isascii()
        and whole.isdigit()
        and len(frac) <= 2
        and (not frac or (frac.isascii() and frac.isdigit()))
    )


def money(value: Decimal) -> str:
    """Decimal → "1234.50"."""
    return str(value.quantize(CENT, rounding=ROUND_HALF_UP))


_DAYS = ("Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun")
_MONTHS = ("Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec")


def java_date(epoch: float) -> str:
    """``java.util.Date.toString()`` of ``epoch`` in UTC, to the second.

    ``Wed Jul 14 20:26:06 UTC 2021`` — the form MTurk puts in the implicit idempotency
    token of UpdateExpirationForHIT (Dallinger issue #3109). Locale-independent.
    """
    t = time.gmtime(math.floor(epoch))
    return (
        f"{_DAYS[t.tm_wday]} {_MONTHS[t.tm_mon - 1]} {t.tm_mday:02d} "
        f"{t.tm_hour:02d}:{t.tm_min:02d}:{t.tm_sec:02d} UTC {t.tm_year}"
    )


def expiration_token(hit_id: str, expire_at: float) -> str:
    """MTurk's implicit idempotency token of UpdateExpirationForHIT: HIT id + ExpireAt."""
    return hit_id + java_date(expire_at)


def expiration_refusal(current: float, requested: float, now: float) -> str | None:
    """Why MTurk refuses moving an expiration from ``current`` to ``requested``, or None.

    ``requested`` at or before ``now`` expires the HIT (never refused here). Otherwise the
    increment, in whole seconds, is measured from the current expiration, or from ``now``
    when the HIT has already expired, and must lie within 60..31536000: a shorter
    expiration is a negative increment ("The value -380572 is invalid ...").
    """
    if requested <= now:
        return None
    base = current if current > now else now
    increment = math.floor(requested) - math.floor(base)
    if EXPIRATION_INCREMENT_MIN <= increment <= EXPIRATION_INCREMENT_MAX:
        return None
    return (
        f"The value {increment} is invalid for ExpirationIncrementInSeconds. "
        f"Valid values range from {EXPIRATION_INCREMENT_MIN} to {EXPIRATION_INCREMENT_MAX}."
    )
