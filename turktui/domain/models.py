"""Plain data the app works with, built from MTurk's wire shapes; no I/O.

`Hit.from_api` never raises: the service (or a proxy, or a broken emulator) may send
missing fields, numbers as strings or malformed timestamps, and one odd HIT must not break
the whole list. Values are validated where they enter: a field of the wrong type or out of
range becomes None / 0 *and* is named in `Hit.problem`. Such a HIT is "unreadable": it is
shown (marked) but never extended, since a plan built on a coerced value would be a guess.
Numbers sent as strings of digits ("12") are read as numbers, as MTurk's own CLI does.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field, fields
from datetime import datetime, timezone
from decimal import Decimal, InvalidOperation
from typing import Any

from turktui.domain.text import ANSWER_READ, answer_text

UTC = timezone.utc

#: Bounds for what MTurk can send. Anything outside is a broken or hostile answer.
MAX_COUNT = 1_000_000_000  # MaxAssignments, assignment counts
MAX_SECONDS = 10 * 365 * 86400  # durations
MAX_REWARD = Decimal(1_000_000)
EARLIEST = datetime(2005, 1, 1, tzinfo=UTC)  # MTurk opened in 2005
LATEST = datetime(2200, 1, 1, tzinfo=UTC)
#: Text longer than this is cut for display (the full value stays in the model for copying).
DISPLAY_LIMIT = 2_000


def display_text(text: str, limit: int = DISPLAY_LIMIT) -> str:
    """`text` cut to `limit` characters with a note saying how much was left out."""
    if len(text) <= limit:
        return text
    return f"{text[:limit]}… [{len(text) - limit:,} more characters; copy the field to see all]"


class _Checker:
    """Collects the fields that did not validate (names only: values may be hostile)."""

    def __init__(self) -> None:
        self.bad: list[str] = []

    def count(
        self, raw: dict[str, Any], key: str, *, required: bool = False, limit: int = MAX_COUNT
    ) -> int:
        value = raw.get(key)
        if value is None:
            if required:
                self.bad.append(f"{key} missing")
            return 0
        number = _strict_int(value)
        if number is None or not 0 <= number <= limit:
            self.bad.append(key)
            return 0
        return number

    def text(self, raw: dict[str, Any], key: str) -> str:
        value = raw.get(key)
        if value is None or isinstance(value, str):
            return value or ""
        if isinstance(value, (int, float)) and not isinstance(value, bool):
            return str(value)  # a number where text belongs: harmless, shown as is
        self.bad.append(key)
        return ""

    def moment(self, raw: dict[str, Any], key: str) -> datetime | None:
        value = raw.get(key)
        if value is None:
            return None
        moment = to_datetime(value)
        if moment is None or not EARLIEST <= moment <= LATEST:
            self.bad.append(key)
            return None
        return moment

    def money(self, raw: dict[str, Any], key: str) -> Decimal | None:
        value = raw.get(key)
        if value is None:
            return None
        amount = to_money(value)
        if amount is None or not 0 <= amount <= MAX_REWARD:
            self.bad.append(key)
            return None
        return amount


def _strict_int(value: Any) -> int | None:
    """An integer from an int, an integral float or a string of digits; else None."""
    if isinstance(value, bool):
        return None
    if isinstance(value, int):
        return value
    if isinstance(value, float):
        return int(value) if value.is_integer() and abs(value) < 2**53 else None
    if isinstance(value, str):
        text = value.strip()
        if text.isascii() and text.lstrip("-").isdigit() and len(text) <= 19:
            return int(text)
    return None


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
    #: Why this HIT is unreadable ("" = it is fine): it is shown but never extended.
    problem: str = ""

    @classmethod
    def from_api(cls, raw: dict[str, Any]) -> Hit:
        check = _Checker()
        quals = raw.get("QualificationRequirements")
        if quals is not None and not isinstance(quals, list):
            check.bad.append("QualificationRequirements")
        hit_id = raw.get("HITId")
        if isinstance(hit_id, int) and not isinstance(hit_id, bool):
            hit_id = str(hit_id)
        if not isinstance(hit_id, str) or not hit_id.strip() or len(hit_id) > 128:
            check.bad.append("HITId")
            hit_id = _to_str(hit_id)[:128]
        hit = cls(
            hit_id=hit_id,
            title=check.text(raw, "Title"),
            status=check.text(raw, "HITStatus"),
            max_assignments=check.count(raw, "MaxAssignments", required=True),
            available=check.count(raw, "NumberOfAssignmentsAvailable"),
            pending=check.count(raw, "NumberOfAssignmentsPending"),
            completed=check.count(raw, "NumberOfAssignmentsCompleted"),
            reward=check.money(raw, "Reward"),
            created=check.moment(raw, "CreationTime"),
            expiration=check.moment(raw, "Expiration"),
            hit_type_id=check.text(raw, "HITTypeId"),
            hit_group_id=check.text(raw, "HITGroupId"),
            description=check.text(raw, "Description"),
            keywords=check.text(raw, "Keywords"),
            annotation=check.text(raw, "RequesterAnnotation"),
            review_status=check.text(raw, "HITReviewStatus"),
            assignment_duration=check.count(raw, "AssignmentDurationInSeconds", limit=MAX_SECONDS),
            auto_approval_delay=check.count(raw, "AutoApprovalDelayInSeconds", limit=MAX_SECONDS),
            qualification_requirements=tuple(q for q in quals if isinstance(q, dict))
            if isinstance(quals, list)
            else (),
            layout_id=check.text(raw, "HITLayoutId"),
        )
        if check.bad:
            problem = "unreadable " + ", ".join(dict.fromkeys(check.bad))
            hit = _replace_problem(hit, problem)
        return hit

    @property
    def readable(self) -> bool:
        return not self.problem

    def __reduce__(self) -> tuple[type[Hit], tuple[Any, ...]]:
        # Pickled as constructor arguments: ~25% cheaper to load than the dataclass's
        # slot-by-slot __setstate__ (pages cross a pipe from the loader process).
        return (Hit, tuple(getattr(self, name) for name in _HIT_FIELDS))

    def is_expired(self, now: datetime) -> bool:
        return self.expiration is not None and self.expiration <= now


_HIT_FIELDS = tuple(f.name for f in fields(Hit))


def _replace_problem(hit: Hit, problem: str) -> Hit:
    from dataclasses import replace

    return replace(hit, problem=problem)


@dataclass(frozen=True, slots=True)
class Balance:
    available: Decimal | None
    on_hold: Decimal | None = None


#: The assignment statuses MTurk lists (ListAssignmentsForHIT lists no accepted,
#: unsubmitted work).
ASSIGNMENT_STATUSES = ("Submitted", "Approved", "Rejected")


@dataclass(frozen=True, slots=True)
class Assignment:
    """One assignment of a HIT as ListAssignmentsForHIT and GetAssignment show it."""

    assignment_id: str
    worker_id: str = ""
    hit_id: str = ""
    status: str = ""
    accept_time: datetime | None = None
    submit_time: datetime | None = None
    auto_approval_time: datetime | None = None
    approval_time: datetime | None = None
    rejection_time: datetime | None = None
    deadline: datetime | None = None
    #: Its Answer as MTurk sent it (a QuestionFormAnswers document, the first ANSWER_READ
    #: characters): read into text only when shown (`answer`), not for every assignment
    #: listed (approving a HIT's work lists it twice and shows none of it)
    answer_document: str = ""
    #: Why this assignment is unreadable ("" = it is fine): shown, never trusted.
    problem: str = ""
    _answer: str | None = field(default=None, init=False, repr=False, compare=False)

    @property
    def answer(self) -> str:
        """The text of its Answer (`turktui.domain.text.answer_text`): untrusted, shown
        literally. Read from the document the first time it is asked for."""
        text = self._answer
        if text is None:
            text = answer_text(self.answer_document)
            object.__setattr__(self, "_answer", text)  # a cache: the value is the document's
        return text

    @classmethod
    def from_api(cls, raw: dict[str, Any]) -> Assignment:
        check = _Checker()
        ident = raw.get("AssignmentId")
        if not isinstance(ident, str) or not ident.strip() or len(ident) > 128:
            check.bad.append("AssignmentId")
            ident = _to_str(ident)[:128]
        status = check.text(raw, "AssignmentStatus")
        if status and status not in ASSIGNMENT_STATUSES:
            check.bad.append("AssignmentStatus")
        assignment = cls(
            assignment_id=ident,
            worker_id=check.text(raw, "WorkerId")[:128],
            hit_id=check.text(raw, "HITId")[:128],
            status=status,
            accept_time=check.moment(raw, "AcceptTime"),
            submit_time=check.moment(raw, "SubmitTime"),
            auto_approval_time=check.moment(raw, "AutoApprovalTime"),
            approval_time=check.moment(raw, "ApprovalTime"),
            rejection_time=check.moment(raw, "RejectionTime"),
            deadline=check.moment(raw, "Deadline"),
            answer_document=check.text(raw, "Answer")[:ANSWER_READ],
        )
        if check.bad:
            from dataclasses import replace

            assignment = replace(
                assignment, problem="unreadable " + ", ".join(dict.fromkeys(check.bad))
            )
        return assignment


@dataclass(frozen=True, slots=True)
class BonusPayment:
    """One bonus as ListBonusPayments shows it. Nothing in it names the request that paid
    it: turktui recognises its own by the reference it puts in the Reason."""

    worker_id: str
    amount: Decimal | None
    assignment_id: str
    reason: str = ""
    grant_time: datetime | None = None
    #: Why this payment is unreadable ("" = it is fine): shown, never trusted.
    problem: str = ""

    @classmethod
    def from_api(cls, raw: dict[str, Any]) -> BonusPayment:
        check = _Checker()
        payment = cls(
            worker_id=check.text(raw, "WorkerId")[:128],
            amount=check.money(raw, "BonusAmount"),
            assignment_id=check.text(raw, "AssignmentId")[:128],
            reason=check.text(raw, "Reason")[:4096],
            grant_time=check.moment(raw, "GrantTime"),
        )
        if payment.amount is None:
            check.bad.append("BonusAmount")
        if check.bad:
            from dataclasses import replace

            payment = replace(payment, problem="unreadable " + ", ".join(dict.fromkeys(check.bad)))
        return payment


def count_by_status(assignments: Iterable[Assignment]) -> dict[str, int]:
    """{status: count}, MTurk's statuses first (zeros included), then any others."""
    counts = dict.fromkeys(ASSIGNMENT_STATUSES, 0)
    for a in assignments:
        key = a.status or "?"
        counts[key] = counts.get(key, 0) + 1
    return counts
