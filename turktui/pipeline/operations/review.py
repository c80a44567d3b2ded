"""What approve and reject share: an assignment as the subject (its fresh read is
GetAssignment), a verified transition from Submitted to the asked-for status, and the words.

* A repeat on an assignment already in the asked-for status is "already approved/rejected":
  succeeded, nothing sent.
* MTurk's "This operation can be called with a status of: Submitted" is a question, not an
  answer: the fresh read decides (the asked-for status: succeeded; anything else: refused).
* "… status of: null" (the submission is not visible to review operations yet) leaves the
  record unsettled (`AssignmentNotVisible`); resolve re-sends it later, never "failed".
"""

from __future__ import annotations

from typing import Any

from turktui.domain.errors import InvalidAssignmentState, TurkError
from turktui.domain.models import Assignment
from turktui.domain.records import Record, State
from turktui.domain.rules import InputProblem, check_feedback
from turktui.domain.service import TurkService
from turktui.pipeline.operations.base import (
    Answer,
    Fetched,
    NotSent,
    TokenOperation,
    Verdict,
    when,
)


class ReviewOperation(TokenOperation):
    """An operation moving a Submitted assignment to `target` ("Approved"/"Rejected")."""

    target = ""
    verb = ""  # "approve" / "reject"
    noun = "the assignment"
    touches = frozenset({"status"})

    #: whether this operation needs the operator's feedback (MTurk: reject does)
    feedback_required = False

    def fetch(self, service: TurkService, record: Record) -> Any:
        assignment, hit = service.get_assignment(assignment_of(record))
        return Fetched(assignment, hit)

    def precheck(self, record: Record, a: Assignment) -> NotSent | None:
        """What every review checks first on the fresh read: the feedback's rules, then an
        assignment already in the asked-for status (done: nothing is sent)."""
        try:
            check_feedback(record.data.get("feedback"), required=self.feedback_required)
        except InputProblem as exc:
            return NotSent(State.REFUSED, "rules", f"{exc}; nothing was sent")
        if a.status == self.target:
            return NotSent(State.SUCCEEDED, "", "", {"note": self.already(a)})
        return None

    def answer(self, error: TurkError) -> Answer:
        if isinstance(error, InvalidAssignmentState):
            return "applied"  # a question: the fresh read decides (confirm)
        return super().answer(error)

    def confirm(self, record: Record, read: Any, processed: bool) -> Verdict:
        a: Assignment = read.subject
        if a.status == self.target:
            return Verdict(State.SUCCEEDED, f"Confirmed: the assignment is {a.status}.")
        if a.status == "Submitted":
            return Verdict(
                State.CONFLICT,
                "MTurk accepted the request, but the assignment is still Submitted. It is "
                "not recorded as a success; check the assignment.",
            )
        return Verdict(
            State.REFUSED,
            f"The assignment is {a.status or 'in an unknown status'}, not {self.target}: "
            f"it was not {self.target.lower()} by this request.",
        )

    def replan(self, record: Record, read: Any) -> str | None:
        return None  # a re-send is answered by MTurk's own status check

    def compare(self, record: Record, read: Any) -> Verdict:
        a: Assignment = read.subject
        if a.status == self.target:
            return Verdict(
                State.RESOLVED_SUCCEEDED,
                f"Settled by comparison: the assignment is {a.status}, so it went through.",
            )
        if a.status == "Submitted":
            return Verdict(
                State.RESOLVED_NOT_APPLIED,
                "Settled by comparison: the assignment is still Submitted, so it was not "
                f"applied; {self.verb} it again to retry.",
            )
        return Verdict(
            State.RESOLVED_NOT_APPLIED,
            f"Settled by comparison: the assignment is {a.status or 'unknown'}, not "
            f"{self.target}, so it was not applied.",
        )

    def label(self, record: Record) -> str:
        return self.verb

    def what(self, record: Record) -> str:
        return f"{self.verb} assignment {assignment_of(record)}"

    def done(self, record: Record) -> str:
        worker = record.data.get("worker_id") or "?"
        return (
            f"{self.target} assignment {assignment_of(record)} (worker {worker}, HIT "
            f"{record.hit_id})."
        )

    def disagree(self, record: Record) -> str:
        return f"expected {self.target}"

    def numbers(self, record: Record, read: Any) -> str:
        return f"the assignment is {read.subject.status}; this request asked for {self.target}"

    def already(self, a: Assignment) -> str:
        moment = a.approval_time if self.target == "Approved" else a.rejection_time
        return (
            f"Already {self.target.lower()} ({when(moment)}); nothing was sent."
            if moment
            else f"Already {self.target.lower()}; nothing was sent."
        )


def assignment_of(record: Record) -> str:
    """The assignment a review/bonus record is about (its payload's; else its subject)."""
    return str(record.data.get("assignment_id") or record.subject)
