"""The MTurk service as the pipeline sees it: a `Protocol`, implemented by
turktui.adapters.mturk.MTurkService (boto3), its request-logging wrapper and test fakes.
Pure: types only."""

from __future__ import annotations

from datetime import datetime
from typing import Protocol

from turktui.domain.models import Assignment, Balance, BonusPayment, Hit


class TurkService(Protocol):
    """What the request pipeline asks of MTurk."""

    def get_hit(self, hit_id: str) -> Hit: ...

    def get_balance(self) -> Balance: ...

    def create_additional_assignments(self, hit_id: str, n: int, token: str) -> None: ...

    def update_expiration(self, hit_id: str, expire_at: datetime) -> None: ...

    def get_assignment(self, assignment_id: str) -> tuple[Assignment, Hit]: ...

    def list_assignments(self, hit_id: str) -> list[Assignment]: ...

    def approve_assignment(
        self, assignment_id: str, feedback: str | None = None, *, override_rejection: bool = False
    ) -> None: ...

    def reject_assignment(self, assignment_id: str, feedback: str) -> None: ...

    def send_bonus(
        self, worker_id: str, assignment_id: str, amount: str, reason: str, token: str
    ) -> None: ...

    def list_bonus_payments(
        self, *, hit_id: str | None = None, assignment_id: str | None = None
    ) -> list[BonusPayment]: ...

    def server_date(self) -> datetime | None:
        """MTurk's time (its `Date` header) on this thread's last answered call."""
        ...
