"""Approve an assignment: ApproveAssignment (RequesterFeedback optional; OverrideRejection
only when the operator asked for it), verified by GetAssignment showing it Approved."""

from __future__ import annotations

from turktui.domain.models import Assignment
from turktui.domain.records import APPROVE, Record, State
from turktui.domain.service import TurkService
from turktui.pipeline.operations.base import NotSent, Prepared, Read, when
from turktui.pipeline.operations.review import ReviewOperation, assignment_of


class Approve(ReviewOperation):
    name = APPROVE
    mturk_name = "ApproveAssignment"
    target = "Approved"
    verb = "approve"

    def prepare(self, record: Record, read: Read) -> Prepared | NotSent:
        a: Assignment = read.subject
        done = self.precheck(record, a)
        if done is not None:
            return done
        if a.status == "Rejected" and not record.data.get("override_rejection"):
            return NotSent(
                State.REFUSED,
                "rules",
                f"the assignment was rejected ({when(a.rejection_time)}); approving it needs "
                "an explicit override (--override-rejection); nothing was sent",
            )
        return Prepared()

    def send(self, service: TurkService, record: Record) -> None:
        data = record.data
        service.approve_assignment(
            assignment_of(record),
            data.get("feedback") or None,
            override_rejection=bool(data.get("override_rejection")),
        )


OPERATION = Approve()
