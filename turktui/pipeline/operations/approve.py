"""Approve an assignment: ApproveAssignment (RequesterFeedback optional; OverrideRejection
only when the operator asked for it), verified by GetAssignment showing it Approved."""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime
from typing import Any

from turktui.domain.models import Assignment
from turktui.domain.records import APPROVE, Record, State
from turktui.domain.service import TurkService
from turktui.pipeline.operations.base import NotSent, when
from turktui.pipeline.operations.review import ReviewOperation, assignment_of


class Approve(ReviewOperation):
    name = APPROVE
    mturk_name = "ApproveAssignment"
    target = "Approved"
    verb = "approve"
    title = "Approve"
    consequence = (
        "Approving pays the reward and MTurk's fee from the funds held for the HIT; "
        "it cannot be undone."
    )

    def refuses(
        self, a: Assignment, data: Mapping[str, Any], server: datetime | None
    ) -> NotSent | None:
        if a.status == "Rejected" and not data.get("override_rejection"):
            return NotSent(
                State.REFUSED,
                "rules",
                f"the assignment was rejected ({when(a.rejection_time)}); approving it needs "
                "an explicit override (--override-rejection; in the app, the override box); "
                "nothing was sent",
            )
        return None

    def send(self, service: TurkService, record: Record) -> None:
        data = record.data
        service.approve_assignment(
            assignment_of(record),
            data.get("feedback") or None,
            override_rejection=bool(data.get("override_rejection")),
        )


OPERATION = Approve()
