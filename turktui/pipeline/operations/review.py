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

from collections.abc import Iterable, Mapping
from datetime import datetime
from decimal import Decimal
from typing import Any

from turktui.domain.errors import InvalidAssignmentState, TurkError
from turktui.domain.models import Assignment, Hit
from turktui.domain.records import Record, State
from turktui.domain.rules import InputProblem, check_feedback, extension_cost, format_money
from turktui.domain.service import TurkService
from turktui.pipeline.operations.base import (
    Answer,
    Fetched,
    NotSent,
    Prepared,
    Read,
    TokenOperation,
    Verdict,
    when,
)


class ReviewOperation(TokenOperation):
    """An operation moving a Submitted assignment to `target` ("Approved"/"Rejected")."""

    target = ""
    verb = ""  # "approve" / "reject"
    #: how the app names it (dialogs, results)
    title = ""
    #: what it means for the worker and the money, said before asking
    consequence = ""
    noun = "the assignment"
    touches = frozenset({"status"})

    #: whether this operation needs the operator's feedback (MTurk: reject does)
    feedback_required = False

    def fetch(self, service: TurkService, record: Record) -> Any:
        assignment, hit = service.get_assignment(assignment_of(record))
        return Fetched(assignment, hit)

    def fetch_many(self, service: TurkService, hit_id: str) -> dict[str, Assignment]:
        """Many subjects in a few calls: the HIT's assignments (ListAssignmentsForHIT, all
        pages, 100 a page), by id (see grouping: it confirms a group's members)."""
        return {a.assignment_id: a for a in service.list_assignments(hit_id)}

    def key(self, record: Record) -> str:
        """The record's subject as `fetch_many` names it."""
        return assignment_of(record)

    def send(self, service: TurkService, record: Record) -> None:
        raise NotImplementedError  # each review module sends its own request

    def feedback_refusal(self, data: Mapping[str, Any]) -> NotSent | None:
        """The feedback's rules (reject: required; both: at most 1,024 characters, no control
        characters)."""
        try:
            check_feedback(data.get("feedback"), required=self.feedback_required)
        except InputProblem as exc:
            return NotSent(State.REFUSED, "rules", f"{exc}; nothing was sent")
        return None

    def status_refusal(
        self, a: Assignment, data: Mapping[str, Any], server: datetime | None
    ) -> NotSent | None:
        """On the assignment as read (at MTurk's time `server`, None when unknown): already
        in the asked-for status (done: nothing is sent), else the operation's own rules."""
        if a.status == self.target:
            return NotSent(State.SUCCEEDED, "", "", {"note": self.already(a)})
        return self.refuses(a, data, server)

    def refuses(
        self, a: Assignment, data: Mapping[str, Any], server: datetime | None
    ) -> NotSent | None:
        """The operation's own rules on an assignment not yet in the asked-for status."""
        return None

    def refusal(
        self, a: Assignment, data: Mapping[str, Any], server: datetime | None
    ) -> NotSent | None:
        """Why nothing may be sent for `a`: the feedback, then the assignment's status.
        `prepare` judges the fresh read with it; the app's dialog shows the same before
        anything is recorded."""
        return self.feedback_refusal(data) or self.status_refusal(a, data, server)

    def prepare(self, record: Record, read: Read) -> Prepared | NotSent:
        return self.refusal(read.subject, record.data, read.server) or Prepared()

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

    def ask(self, n: int, charge: Decimal) -> str:
        """What the confirmation restates: 'Approve 3 assignments (about $1.80 with MTurk's
        fee, paid from the funds held)' ('Reject 1 assignment')."""
        money = (
            f" (about {format_money(charge)} with MTurk's fee, paid from the funds held)"
            if charge
            else ""
        )
        return f"{self.verb.capitalize()} {n:,} assignment{'s' if n != 1 else ''}{money}"

    @property
    def send_word(self) -> str:
        """The word on the button that sends it ('Approve')."""
        return self.title

    def tally(self, done: int, total: int) -> str:
        """The result of several: 'Approved 2 of 3 assignments.'"""
        return f"{self.target} {done:,} of {total:,} assignment{'s' if total != 1 else ''}."

    def already(self, a: Assignment) -> str:
        moment = a.approval_time if self.target == "Approved" else a.rejection_time
        return (
            f"Already {self.target.lower()} ({when(moment)}); nothing was sent."
            if moment
            else f"Already {self.target.lower()}; nothing was sent."
        )

    def charge(
        self, pairs: Iterable[tuple[Assignment, Hit]], *, override_rejection: bool = False
    ) -> Decimal:
        """What doing this to `pairs` charges: approving pays each Submitted assignment (and,
        with the override, each Rejected one) its HIT's reward plus MTurk's fee, from the
        funds held; a rejection charges nothing."""
        if self.target != "Approved":
            return Decimal(0)
        payable = ("Submitted", "Rejected") if override_rejection else ("Submitted",)
        return sum(
            (
                extension_cost(hit.reward, 1, hit.max_assignments).total
                for a, hit in pairs
                if a.status in payable and hit.reward is not None
            ),
            Decimal(0),
        )

    def confirmation(
        self,
        reads: list[tuple[Assignment, Hit]],
        banner: str,
        *,
        override_rejection: bool = False,
    ) -> str:
        """What reviewing the assignments read will do, before anything is sent (the CLI's
        line; the app's dialog shows `ask` with the same charge)."""
        charge = self.charge(reads, override_rejection=override_rejection)
        return f"{banner}: {self.ask(len(reads), charge)}"


def assignment_of(record: Record) -> str:
    """The assignment a review/bonus record is about (its payload's; else its subject)."""
    return str(record.data.get("assignment_id") or record.subject)
