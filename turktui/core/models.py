"""Plain data the app works with, built from MTurk's wire shapes; no I/O.

`Hit.from_api` is deliberately tolerant: the service (or a proxy, or a broken emulator)
may send missing fields, numbers as strings or malformed timestamps. Bad values become
None / 0 and never raise, so one odd HIT cannot break the whole list.
"""

from __future__ import annotations

from dataclasses import dataclass, field, fields
from datetime import datetime, timezone
from decimal import Decimal, InvalidOperation
from typing import Any

UTC = timezone.utc


def _to_int(value: Any) -> int:
    if isinstance(value, bool):
        return int(value)
    if isinstance(value, int):
        return value
    if isinstance(value, float) and value == value:  # not NaN
        return int(value)
    if isinstance(value, str):
        try:
            return int(value.strip())
        except ValueError:
            return 0
    return 0


def _to_str(value: Any) -> str:
    if value is None:
        return ""
    return value if isinstance(value, str) else str(value)


def to_datetime(value: Any) -> datetime | None:
    """Accept datetime (boto3), epoch numbers (raw wire) or ISO strings; else None."""
    if isinstance(value, datetime):
        return value if value.tzinfo else value.replace(tzinfo=UTC)
    if isinstance(value, (int, float)) and not isinstance(value, bool):
        try:
            return datetime.fromtimestamp(float(value), tz=UTC)
        except (OverflowError, OSError, ValueError):
            return None
    if isinstance(value, str):
        try:
            moment = datetime.fromisoformat(value.strip().replace("Z", "+00:00"))
        except ValueError:
            try:
                return datetime.fromtimestamp(float(value), tz=UTC)
            except (OverflowError, OSError, ValueError):
                return None
        return moment if moment.tzinfo else moment.replace(tzinfo=UTC)
    return None


def to_money(value: Any) -> Decimal | None:
    """MTurk sends money as strings ("0.50"); never go through float."""
    if isinstance(value, Decimal):
        return value if value.is_finite() else None
    if isinstance(value, int) and not isinstance(value, bool):
        return Decimal(value)
    if isinstance(value, str):
        try:
            amount = Decimal(value.strip())
        except InvalidOperation:
            return None
        return amount if amount.is_finite() else None
    return None


@dataclass(frozen=True, slots=True)
class Hit:
    """One HIT as the app sees it (a snapshot; the service is the truth)."""

    hit_id: str
    title: str = ""
    status: str = ""
    max_assignments: int = 0
    available: int = 0
    pending: int = 0
    completed: int = 0
    reward: Decimal | None = None
    created: datetime | None = None
    expiration: datetime | None = None
    hit_type_id: str = ""
    hit_group_id: str = ""
    description: str = ""
    keywords: str = ""
    annotation: str = ""
    review_status: str = ""
    assignment_duration: int = 0
    auto_approval_delay: int = 0
    qualification_requirements: tuple[dict[str, Any], ...] = field(default=())
    layout_id: str = ""

    @classmethod
    def from_api(cls, raw: dict[str, Any]) -> Hit:
        quals = raw.get("QualificationRequirements")
        return cls(
            hit_id=_to_str(raw.get("HITId")),
            title=_to_str(raw.get("Title")),
            status=_to_str(raw.get("HITStatus")),
            max_assignments=_to_int(raw.get("MaxAssignments")),
            available=_to_int(raw.get("NumberOfAssignmentsAvailable")),
            pending=_to_int(raw.get("NumberOfAssignmentsPending")),
            completed=_to_int(raw.get("NumberOfAssignmentsCompleted")),
            reward=to_money(raw.get("Reward")),
            created=to_datetime(raw.get("CreationTime")),
            expiration=to_datetime(raw.get("Expiration")),
            hit_type_id=_to_str(raw.get("HITTypeId")),
            hit_group_id=_to_str(raw.get("HITGroupId")),
            description=_to_str(raw.get("Description")),
            keywords=_to_str(raw.get("Keywords")),
            annotation=_to_str(raw.get("RequesterAnnotation")),
            review_status=_to_str(raw.get("HITReviewStatus")),
            assignment_duration=_to_int(raw.get("AssignmentDurationInSeconds")),
            auto_approval_delay=_to_int(raw.get("AutoApprovalDelayInSeconds")),
            qualification_requirements=tuple(q for q in quals if isinstance(q, dict))
            if isinstance(quals, list)
            else (),
            layout_id=_to_str(raw.get("HITLayoutId")),
        )

    def __reduce__(self) -> tuple[type[Hit], tuple[Any, ...]]:
        # Pickled as constructor arguments: ~25% cheaper to load than the dataclass's
        # slot-by-slot __setstate__ (pages cross a pipe from the loader process).
        return (Hit, tuple(getattr(self, name) for name in _HIT_FIELDS))

    def is_expired(self, now: datetime) -> bool:
        return self.expiration is not None and self.expiration <= now


_HIT_FIELDS = tuple(f.name for f in fields(Hit))


@dataclass(frozen=True, slots=True)
class Balance:
    available: Decimal | None
    on_hold: Decimal | None = None
