"""What a request will do, in its operation's words (pure): the lines `turktui extend`,
`expire`, `approve`, `reject` and `bonus` print before asking, and the app's confirmations
show. One place each, beside the operation."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from decimal import Decimal

from turktui.domain.models import Assignment, Hit
from turktui.domain.rules import EXPIRE_NOW, extension_cost, extension_range
from turktui.pipeline.model import Plan
from turktui.pipeline.operations import APPROVE, REJECT, bonus, confirmation, expire_now

NOW = datetime(2026, 12, 1, tzinfo=UTC)
HIT = Hit(
    "H1",
    title="Label \x1b[31mthese",
    max_assignments=12,
    reward=Decimal("1.00"),
    created=NOW - timedelta(days=1),
    expiration=NOW + timedelta(hours=3),
    pending=2,
)


def plan(n: int, expire_at: datetime | None = None, hit: Hit = HIT) -> Plan:
    new_max = hit.max_assignments + n
    cost = extension_cost(hit.reward, n, new_max) if n and hit.reward else None
    rng = extension_range(hit.max_assignments, hit.created)
    return Plan(hit, n, "T", rng, cost, hit.max_assignments + n, expire_at)


def test_adding_assignments_says_the_numbers_and_the_money() -> None:
    lines = confirmation(plan(2), "PRODUCTION", NOW, Decimal("100"), real=True)
    assert lines[0] == "PRODUCTION: add 2 assignments to HIT H1"
    assert "\x1b" not in lines[1]  # a title from MTurk reaches no terminal raw
    assert lines[2:] == [
        "MaxAssignments 12 \u2192 14.",
        "Cost: $2.80 ($2.00 rewards + $0.80 fee, 40% fee: 20% + 20% at 10+ assignments).",
        "Balance available: $100.00.",
        "This spends real money and real workers will see it.",
    ]


def test_time_alone_and_with_assignments_say_the_new_expiration() -> None:
    later = NOW + timedelta(days=2)
    alone = confirmation(plan(0, later), "SANDBOX", NOW)
    assert alone[0] == "SANDBOX: add time to HIT H1 (no assignments)"
    assert alone[2] == "Expiration 2026-12-01 03:00:00 UTC \u2192 2026-12-03 00:00:00 UTC (in 2 d)."
    both = confirmation(plan(2, later), "SANDBOX", NOW)
    assert alone[2] in both and "real money" not in " ".join(both)
    expired = Hit("H2", max_assignments=12, created=HIT.created, expiration=NOW - timedelta(1))
    assert confirmation(plan(1, hit=expired), "SANDBOX", NOW)[-1] == (
        "The HIT has expired: added assignments will not reopen it."
    )


def test_expiring_now_says_what_is_kept() -> None:
    one = confirmation(plan(0, EXPIRE_NOW), "CUSTOM", NOW)
    assert one == expire_now.confirmation([HIT], "CUSTOM", NOW)
    assert one[0] == "CUSTOM: expire HIT H1" and "(2 pending) can still be submitted." in one[4]
    many = expire_now.confirmation([HIT] * 5, "CUSTOM", NOW)
    assert many[0] == "CUSTOM: expire 5 HITs now: H1, H1, H1 and 2 more"
    with_n = confirmation(plan(2, EXPIRE_NOW), "CUSTOM", NOW)
    assert "Then the HIT is expired now: workers can no longer accept it." in with_n


def test_reviews_and_bonuses_say_what_they_cost() -> None:
    submitted = Assignment("A1", worker_id="W1", hit_id="H1", status="Submitted")
    reads = [(submitted, HIT), (submitted, HIT)]
    assert APPROVE.confirmation(reads, "PRODUCTION") == (
        "PRODUCTION: Approve 2 assignments (about $2.80 with MTurk's fee, paid from the funds held)"
    )
    assert REJECT.confirmation(reads[:1], "SANDBOX") == "SANDBOX: Reject 1 assignment"
    assert bonus.confirmation("A1", "W1", Decimal("1.50"), Decimal("10"), "PRODUCTION") == (
        "PRODUCTION: Bonus $1.50 to worker W1 for assignment A1: fee $0.30, total $1.80 "
        "(available $10.00)"
    )
