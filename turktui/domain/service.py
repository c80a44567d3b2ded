"""The MTurk service as the pipeline sees it: a `Protocol`, implemented by
turktui.adapters.mturk.MTurkService (boto3), its request-logging wrapper and test fakes.
Pure: types only."""

from __future__ import annotations

from datetime import datetime
from typing import Protocol

from turktui.domain.models import Balance, Hit


class TurkService(Protocol):
    """What the request pipeline asks of MTurk."""

    def get_hit(self, hit_id: str) -> Hit: ...

    def get_balance(self) -> Balance: ...

    def create_additional_assignments(self, hit_id: str, n: int, token: str) -> None: ...

    def update_expiration(self, hit_id: str, expire_at: datetime) -> None: ...

    def server_date(self) -> datetime | None:
        """MTurk's time (its `Date` header) on this thread's last answered call."""
        ...
