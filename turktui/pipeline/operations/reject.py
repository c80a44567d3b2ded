"""Reject an assignment: RejectAssignment with the operator's feedback (required), verified by
GetAssignment showing it Rejected. Refused before sending once its AutoApprovalTime has
passed by MTurk's clock (the read's server time): MTurk approves it by itself then."""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime
from typing import Any

from turktui.domain.models import Assignment
from turktui.domain.records import REJECT, Record, State
from turktui.domain.service import TurkService
from turktui.pipeline.operations.base import NotSent, Read, when
from turktui.pipeline.operations.review import ReviewOperation, assignment_of


class Reject(ReviewOperation):
    name = REJECT
    mturk_name = "RejectAssignment"
    target = "Rejected"
    verb = "reject"
    title = "Reject"
    consequence = "Workers are not paid for rejected work; they read the feedback."
    feedback_required = True

    def refuses(
        self, a: Assignment, data: Mapping[str, Any], server: datetime | None
    ) -> NotSent | None:
        if a.status == "Approved":
            return NotSent(
                State.REFUSED,
                "rules",
                f"the assignment was already approved ({when(a.approval_time)}) and can no "
                "longer be rejected; nothing was sent",
            )
        passed = auto_approval_passed(a, server)
        if passed:
            return NotSent(State.REFUSED, "rules", f"{passed}: MTurk approves it; nothing was sent")
        return None

    def send(self, service: TurkService, record: Record) -> None:
        service.reject_assignment(assignment_of(record), str(record.data.get("feedback") or ""))

    def replan(self, record: Record, read: Read) -> str | None:
        return auto_approval_passed(read.subject, read.server)


def auto_approval_passed(a: Assignment, server: datetime | None) -> str | None:
    """Why a Submitted assignment can no longer be rejected: its AutoApprovalTime has passed
    by MTurk's clock (`server`: a read's server time; never the local one). None: it has
    not, or MTurk's time is unknown."""
    auto = a.auto_approval_time
    if a.status != "Submitted" or auto is None or server is None or server < auto:
        return None
    return f"its AutoApprovalTime {when(auto)} has passed by MTurk's clock ({when(server)})"


OPERATION = Reject()
