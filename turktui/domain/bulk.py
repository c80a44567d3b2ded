"""Planning a bulk extension: what each of many HITs would get, as pure code (no I/O).

Three modes:

* `AddEach(n)`: add n to every HIT (capped where a HIT's own rules allow fewer).
* `TopUpTo(target)`: raise MaxAssignments to `target`; a HIT created with fewer than 10
  can never reach 10, so it is capped at 9. HITs already at/above the target are skipped.
* `TopUpToNine(add_large)`: HITs under 10 go to 9 (the most they can ever have); HITs at 10+
  get `add_large` more (0: left alone).

`plan_bulk` turns a list of HITs and a mode into a `BulkPreview`: one `BulkLine` per HIT
(the planned n, the new maximum, capped or refused with the reason in words, the cost) and
the totals against the balance. Nothing is sent for refused or skipped lines.

Time: `add_seconds` adds a duration to each sending HIT's expiration (from now for an
expired HIT), under the single dialog's rules (`rules.new_expiration`); a HIT whose time MTurk
would refuse is refused whole (one intent per HIT). `TimeOnly` sends time and no assignments
to every HIT (the mode when no number is given).
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal
from enum import Enum

from turktui.domain.models import Hit
from turktui.domain.rules import (
    MAX_TOTAL_ASSIGNMENTS,
    SMALL_HIT_LIMIT,
    Cost,
    InputProblem,
    extension_cost,
    extension_range,
    format_money,
    new_expiration,
)
from turktui.domain.timefmt import format_duration, iso

#: Most a HIT created with fewer than 10 assignments can ever have.
SMALL_HIT_MAX = SMALL_HIT_LIMIT - 1


@dataclass(frozen=True, slots=True)
class AddEach:
    """Add `n` assignments to each HIT."""

    n: int

    def describe(self) -> str:
        return f"add {self.n:,} to each"


@dataclass(frozen=True, slots=True)
class TopUpTo:
    """Raise each HIT's MaxAssignments to `target` (HITs under 10: at most 9)."""

    target: int

    def describe(self) -> str:
        return f"top up to {self.target:,}"


@dataclass(frozen=True, slots=True)
class TopUpToNine:
    """HITs under 10 → 9; HITs at 10+ get `add_large` more (0: left alone)."""

    add_large: int = 0

    def describe(self) -> str:
        if self.add_large:
            return f"top up to 9 (under 10), add {self.add_large:,} to 10+"
        return "top up to 9 (HITs under 10)"


@dataclass(frozen=True, slots=True)
class TimeOnly:
    """No assignments: only the time given with the plan (`add_seconds`) for each HIT."""

    def describe(self) -> str:
        return "add time only"


Mode = AddEach | TopUpTo | TopUpToNine | TimeOnly


class LineStatus(str, Enum):
    SEND = "send"  # will be sent as asked
    CAPPED = "capped"  # will be sent, but fewer than asked (the HIT's rules)
    NOTHING = "nothing"  # nothing to do (already at the target, 10+ in top-up-to-9, ...)
    REFUSED = "refused"  # the rules refuse this HIT: nothing will be sent

    @property
    def sends(self) -> bool:
        return self in (LineStatus.SEND, LineStatus.CAPPED)


@dataclass(frozen=True, slots=True)
class BulkLine:
    """One HIT's planned change. `n` is None when nothing will be sent."""

    hit: Hit
    status: LineStatus
    n: int | None
    new_max: int
    reason: str = ""
    cost: Cost | None = None
    #: The new expiration sent with this HIT's request (None: unchanged).
    expire_at: datetime | None = None

    @property
    def capped(self) -> bool:
        return self.status is LineStatus.CAPPED

    @property
    def sends(self) -> bool:
        return self.status.sends

    @property
    def change_text(self) -> str:
        """'+5 (4 → 9)', 'capped +2 (7 → 9)', 'time only', 'refused', 'nothing to do'."""
        if self.n is None:
            return "refused" if self.status is LineStatus.REFUSED else "nothing to do"
        if self.n == 0:
            return "time only"
        prefix = "capped " if self.capped else ""
        return f"{prefix}+{self.n:,} ({self.hit.max_assignments:,} \u2192 {self.new_max:,})"

    @property
    def expiration_text(self) -> str:
        """The new expiration ('2026-06-17 12:00:00 UTC'), or 'unchanged'."""
        if self.expire_at is None:
            return "unchanged" if self.sends else "\u2014"
        return iso(self.expire_at)

    @property
    def cost_text(self) -> str:
        if self.n is None:
            return "\u2014"
        return format_money(self.cost.total) if self.cost is not None else "?"


@dataclass(frozen=True, slots=True)
class BulkPreview:
    """Every line plus the totals, against the balance (None: unknown)."""

    mode: Mode
    lines: tuple[BulkLine, ...]
    balance: Decimal | None = None
    #: Time added to each sending HIT's expiration (None: expirations unchanged).
    add_seconds: float | None = None

    def describe(self) -> str:
        """'add 5 to each', 'add 5 to each, and 1 d added to each expiration', ..."""
        if self.add_seconds is None:
            return self.mode.describe()
        time = f"{format_duration(self.add_seconds)} added to each expiration (from now if expired)"
        if isinstance(self.mode, TimeOnly):
            return time
        return f"{self.mode.describe()}, and {time}"

    def expirations(self) -> Callable[[Hit], datetime | None]:
        """Each sending HIT's planned new expiration, as BatchRunner.record's `expire_at`
        (one dict look-up per HIT; None: unchanged)."""
        table = {line.hit.hit_id: line.expire_at for line in self.lines if line.sends}
        return lambda hit: table.get(hit.hit_id)

    @property
    def time_count(self) -> int:
        return sum(1 for line in self.lines if line.sends and line.expire_at is not None)

    @property
    def to_send(self) -> tuple[BulkLine, ...]:
        return tuple(line for line in self.lines if line.sends)

    @property
    def send_count(self) -> int:
        return sum(1 for line in self.lines if line.sends)

    @property
    def capped_count(self) -> int:
        return sum(1 for line in self.lines if line.capped)

    @property
    def refused_count(self) -> int:
        return sum(1 for line in self.lines if line.status is LineStatus.REFUSED)

    @property
    def nothing_count(self) -> int:
        return sum(1 for line in self.lines if line.status is LineStatus.NOTHING)

    @property
    def total_assignments(self) -> int:
        return sum(line.n or 0 for line in self.lines if line.sends)

    @property
    def total_cost(self) -> Decimal:
        """The sum of the known costs (see `cost_known`)."""
        return sum(
            (line.cost.total for line in self.lines if line.sends and line.cost), Decimal("0.00")
        )

    @property
    def cost_known(self) -> bool:
        """False when some HIT to be sent has no known reward."""
        return all(line.cost is not None for line in self.lines if line.sends)

    @property
    def sufficient(self) -> bool | None:
        """True/False when the balance covers the total; None when it cannot be told."""
        if self.balance is None or not self.cost_known:
            return None
        return self.total_cost <= self.balance

    def totals_text(self) -> str:
        """One line an operator can check: counts, assignments, cost vs balance."""
        parts = [
            f"{self.send_count:,} of {len(self.lines):,} HIT"
            f"{'' if len(self.lines) == 1 else 's'} to send"
        ]
        if self.capped_count:
            parts.append(f"{self.capped_count:,} capped")
        if self.refused_count:
            parts.append(f"{self.refused_count:,} refused")
        if self.nothing_count:
            parts.append(f"{self.nothing_count:,} with nothing to do")
        if not isinstance(self.mode, TimeOnly):
            parts.append(f"+{self.total_assignments:,} assignments")
        if self.add_seconds is not None:
            parts.append(f"+{format_duration(self.add_seconds)} on {self.time_count:,}")
        cost = format_money(self.total_cost) + ("" if self.cost_known else " + unknown")
        parts.append(f"cost {cost}")
        if self.balance is not None:
            verdict = {True: "covered", False: "NOT ENOUGH", None: "?"}[self.sufficient]
            parts.append(f"balance {format_money(self.balance)} ({verdict})")
        return " \u00b7 ".join(parts)


class ModeProblem(ValueError):
    """The mode's number is not allowed (the message says why)."""


def check_mode(mode: Mode) -> None:
    """Validate the mode's own number (not any HIT): ModeProblem says why."""
    if isinstance(mode, AddEach):
        if isinstance(mode.n, bool) or not isinstance(mode.n, int) or mode.n < 1:
            raise ModeProblem("Add at least 1 assignment to each HIT.")
        if mode.n > MAX_TOTAL_ASSIGNMENTS:
            raise ModeProblem(f"At most {MAX_TOTAL_ASSIGNMENTS:,} can be added.")
    elif isinstance(mode, TopUpTo):
        if isinstance(mode.target, bool) or not isinstance(mode.target, int) or mode.target < 1:
            raise ModeProblem("The target maximum must be at least 1.")
        if mode.target > MAX_TOTAL_ASSIGNMENTS:
            raise ModeProblem(f"A HIT may have at most {MAX_TOTAL_ASSIGNMENTS:,} assignments.")
    elif isinstance(mode, TimeOnly):
        return
    elif isinstance(mode, TopUpToNine):
        n = mode.add_large
        if isinstance(n, bool) or not isinstance(n, int) or n < 0:
            raise ModeProblem("The amount for HITs at 10+ must be 0 or more.")
        if n > MAX_TOTAL_ASSIGNMENTS:
            raise ModeProblem(f"At most {MAX_TOTAL_ASSIGNMENTS:,} can be added.")
    else:  # pragma: no cover - typing guards this
        raise ModeProblem(f"unknown mode {mode!r}")


def _wanted(hit: Hit, mode: Mode) -> tuple[int, str]:
    """(n the mode asks for this HIT, why nothing when 0)."""
    current = hit.max_assignments
    if isinstance(mode, AddEach):
        return mode.n, ""
    if isinstance(mode, TopUpTo):
        target = mode.target
        if current < SMALL_HIT_LIMIT:
            target = min(target, SMALL_HIT_MAX)
        if current >= target:
            if target < mode.target:
                return 0, (
                    f"already at {current:,}: a HIT created with fewer than "
                    f"{SMALL_HIT_LIMIT} can never have more than {SMALL_HIT_MAX}"
                )
            return 0, f"already at {current:,} (target {mode.target:,})"
        # Asked for the full target: a HIT under 10 is then capped at 9 (plan_line says so).
        return mode.target - current, ""
    if isinstance(mode, TimeOnly):  # (its lines never ask: _assignments_line)
        return 0, ""
    if current < SMALL_HIT_LIMIT:
        if current >= SMALL_HIT_MAX:
            return 0, f"already at {current:,}, the most a HIT under {SMALL_HIT_LIMIT} can have"
        return SMALL_HIT_MAX - current, ""
    if not mode.add_large:
        return 0, f"has {current:,} assignments: top up to 9 is for HITs under {SMALL_HIT_LIMIT}"
    return mode.add_large, ""


def plan_line(
    hit: Hit, mode: Mode, add_seconds: float | None = None, now: datetime | None = None
) -> BulkLine:
    """One HIT's line: what the mode asks, limited by the HIT's own rules; with
    `add_seconds` (and `now`), the new expiration too, or refused when MTurk would refuse it."""
    line = _assignments_line(hit, mode)
    if add_seconds is None or not line.sends:
        return line
    if now is None:
        raise ValueError("adding time needs the current time")
    try:
        expire_at = new_expiration(hit.expiration, add_seconds, now)
    except InputProblem as exc:
        return BulkLine(hit, LineStatus.REFUSED, None, hit.max_assignments, f"time: {exc}")
    return BulkLine(
        hit, line.status, line.n, line.new_max, line.reason, line.cost, expire_at=expire_at
    )


#: What sending time only costs (nothing: no assignments).
_NO_COST = extension_cost(Decimal("0"), 0, 0)


def _assignments_line(hit: Hit, mode: Mode) -> BulkLine:
    rng = extension_range(hit.max_assignments, hit.created)
    current = hit.max_assignments
    if hit.problem:  # MTurk sent values that did not validate: never extended
        return BulkLine(
            hit,
            LineStatus.REFUSED,
            None,
            current,
            f"MTurk sent data turktui cannot trust ({hit.problem})",
        )
    if isinstance(mode, TimeOnly):  # any HIT MTurk still lets move its expiration
        return BulkLine(hit, LineStatus.SEND, 0, current, "", _NO_COST)
    wanted, why_not = _wanted(hit, mode)
    if not rng.extendable:
        # Refused outright (too old, at 9 of 9, at the cap, unknown age) - unless the mode
        # would not have touched it anyway, which reads better as "nothing to do".
        if wanted == 0:
            return BulkLine(hit, LineStatus.NOTHING, None, current, why_not)
        return BulkLine(hit, LineStatus.REFUSED, None, current, rng.reason)
    if wanted == 0:
        return BulkLine(hit, LineStatus.NOTHING, None, current, why_not)
    n = min(wanted, rng.high)
    status = LineStatus.CAPPED if n < wanted else LineStatus.SEND
    reason = f"capped at +{n:,} (asked +{wanted:,}): {rng.reason}" if n < wanted else ""
    new_max = current + n
    cost = extension_cost(hit.reward, n, new_max) if hit.reward is not None else None
    return BulkLine(hit, status, n, new_max, reason, cost)


def plan_bulk(
    hits: Iterable[Hit],
    mode: Mode,
    balance: Decimal | None = None,
    *,
    add_seconds: float | None = None,
    now: datetime | None = None,
) -> BulkPreview:
    """Every HIT's planned change and the totals (ModeProblem for a bad mode number).

    A HIT listed twice is planned once; the repeat is refused (one intent per HIT).
    `add_seconds` (with `now`): time added to each sending HIT's expiration."""
    check_mode(mode)
    if isinstance(mode, TimeOnly) and add_seconds is None:
        raise ModeProblem("Give a time to add (or a number of assignments).")
    lines: list[BulkLine] = []
    seen: set[str] = set()
    for hit in hits:
        if hit.hit_id in seen:
            lines.append(
                BulkLine(
                    hit,
                    LineStatus.REFUSED,
                    None,
                    hit.max_assignments,
                    "listed more than once: planned once only",
                )
            )
            continue
        seen.add(hit.hit_id)
        lines.append(plan_line(hit, mode, add_seconds, now))
    return BulkPreview(mode, tuple(lines), balance, add_seconds)


def parse_mode(kind: str, number: str) -> Mode:
    """A mode from the dialog/CLI: kind is 'add', 'top-up' or 'nine'; number as typed
    (digits only; empty allowed for 'nine', meaning 0)."""
    text = number.strip() if kind == "nine" else number
    if kind == "nine" and text == "":
        return TopUpToNine(0)
    if not text or not text.isascii() or not text.isdigit():
        raise ModeProblem("Type a whole number (digits 0-9 only).")
    if len(text) > 9:
        raise ModeProblem("That number is far too large.")
    value = int(text)
    mode: Mode
    if kind == "add":
        mode = AddEach(value)
    elif kind == "top-up":
        mode = TopUpTo(value)
    elif kind == "nine":
        mode = TopUpToNine(value)
    else:
        raise ModeProblem(f"unknown mode {kind!r}")
    check_mode(mode)
    return mode


def hits_by_id(hits: Sequence[Hit]) -> dict[str, Hit]:
    return {hit.hit_id: hit for hit in hits}
