"""Synthetic, deterministic assignments consistent with a HIT's counts and clock.

A HIT with ``completed`` approved-or-rejected assignments and ``submitted`` assignments
awaiting review gets exactly that many, with times that MTurk could have produced:

* accepted between the HIT's creation and its expiration (never in the future);
* submitted within the assignment duration after accepting (``Deadline``);
* ``AutoApprovalTime`` = submit + the HIT's AutoApprovalDelayInSeconds;
* a Submitted assignment is still within its auto-approval window at ``t0`` (the service
  time the HIT was stored); an Approved one was approved by the requester or automatically
  at its AutoApprovalTime; a Rejected one before its AutoApprovalTime;
* one worker never holds two assignments of the same HIT; worker ids look like MTurk's
  (``A`` + 13 characters of [A-Z0-9]) and recur across HITs, as real workers do.

Everything is derived from (HIT id, index, t0), so the same HIT always lists the same work.
"""

from __future__ import annotations

import random
from typing import Any

from .ids import hashed_id

WORKER_POOL = 1_000_003  # prime: (a + i * step) % pool visits distinct workers
DEFAULT_DELAY = 259200
DEFAULT_DURATION = 3600
ANSWER = (
    '<?xml version="1.0" encoding="ASCII"?><QuestionFormAnswers xmlns="http://'
    "mechanicalturk.amazonaws.com/AWSMechanicalTurkDataSchemas/2005-10-01/"
    'QuestionFormAnswers.xsd"><Answer><QuestionIdentifier>answer</QuestionIdentifier>'
    "<FreeText>answer {i}</FreeText></Answer></QuestionFormAnswers>"
)
FEEDBACK = "The answer did not follow the instructions."


def worker_id(hit_id: str, i: int) -> str:
    """The worker of assignment ``i`` of ``hit_id``: distinct within the HIT."""
    h = int(hashed_id(f"pool|{hit_id}", 12), 36)
    start, step = h % WORKER_POOL, 1 + (h // WORKER_POOL) % (WORKER_POOL - 1)
    return hashed_id(f"worker|{(start + i * step) % WORKER_POOL}", 14, prefix="A")


def _times(hit: dict[str, Any]) -> tuple[float, float, float, int, int]:
    created = float(hit["CreationTime"])
    expiration = float(hit["Expiration"])
    duration = int(hit.get("AssignmentDurationInSeconds") or DEFAULT_DURATION)
    delay = int(hit.get("AutoApprovalDelayInSeconds") or 0)
    return created, expiration, max(created, expiration), duration, delay


def submitted_window(hit: dict[str, Any], t0: float) -> tuple[float, float] | None:
    """When a still-Submitted assignment can have been submitted (open-closed), or None."""
    created, _exp, last_accept, duration, delay = _times(hit)
    lo = max(created, t0 - delay)
    hi = min(t0, last_accept + duration)
    return (lo, hi) if hi > lo else None


def submitted_times(hit: dict[str, Any], t0: float, count: int) -> list[float]:
    """Submit times of the ``count`` Submitted assignments (deterministic)."""
    if count <= 0:
        return []
    # a HIT given Submitted work that MTurk would already have auto-approved (a test's
    # hand-made HIT): the work was submitted in the last minute instead
    lo, hi = submitted_window(hit, t0) or (t0 - 60.0, t0)
    rng = random.Random(f"submitted|{hit['HITId']}|{t0:.3f}")
    return sorted(hi - (hi - lo) * rng.random() * 0.999 for _ in range(count))


def build(hit: dict[str, Any], completed: int, submitted: int, t0: float) -> list[dict[str, Any]]:
    """All ``completed`` + ``submitted`` assignments of ``hit``, by submit time."""
    hit_id = hit["HITId"]
    created, _exp, last_accept, duration, delay = _times(hit)
    rng = random.Random(f"assignments|{hit_id}|{t0:.3f}")
    out: list[dict[str, Any]] = []
    latest_accept = max(created, min(last_accept, t0))
    for i in range(completed):
        accept = created + (latest_accept - created) * rng.random()
        submit = min(accept + duration * (0.05 + 0.9 * rng.random()), t0)
        submit = max(submit, accept)
        auto = submit + delay
        status = "Rejected" if i % 7 == 6 else "Approved"
        a = _base(hit_id, i, accept, submit, auto, duration, status)
        reviewed_by = min(auto, t0)
        if status == "Approved" and auto <= t0 and rng.random() < 0.5:
            a["ApprovalTime"] = auto  # approved automatically
        else:
            when = submit + (reviewed_by - submit) * rng.random()
            if status == "Rejected":
                when = min(when, auto - 1) if auto - 1 > submit else submit
                a["RejectionTime"] = when
                a["RequesterFeedback"] = FEEDBACK
            else:
                a["ApprovalTime"] = when
        out.append(a)
    for j, submit in enumerate(submitted_times(hit, t0, submitted)):
        i = completed + j
        accept = max(created, min(last_accept, submit - duration * (0.05 + 0.9 * rng.random())))
        out.append(_base(hit_id, i, accept, submit, submit + delay, duration, "Submitted"))
    out.sort(key=lambda a: (a["SubmitTime"], a["AssignmentId"]))
    return out


def submitted(
    hit_id: str, i: int, accept: float, submit: float, delay: int, duration: int
) -> dict[str, Any]:
    """Assignment ``i`` of ``hit_id``, submitted at ``submit`` by a worker of the world."""
    return _base(hit_id, i, accept, submit, submit + delay, duration, "Submitted")


def ids(hit_id: str, count: int) -> list[str]:
    """The ids of the first ``count`` assignments of ``hit_id`` (as :func:`build` makes them)."""
    return [assignment_id(hit_id, i) for i in range(count)]


def assignment_id(hit_id: str, i: int) -> str:
    """The id of assignment ``i`` of ``hit_id``."""
    return hashed_id(f"asg|{hit_id}|{i}")


def _base(
    hit_id: str, i: int, accept: float, submit: float, auto: float, duration: int, status: str
) -> dict[str, Any]:
    return {
        "AssignmentId": assignment_id(hit_id, i),
        "WorkerId": worker_id(hit_id, i),
        "HITId": hit_id,
        "AssignmentStatus": status,
        "AutoApprovalTime": round(auto, 3),
        "AcceptTime": round(accept, 3),
        "SubmitTime": round(submit, 3),
        "Deadline": round(accept + duration, 3),
        "Answer": ANSWER.format(i=i),
    }


def auto_approve(assignments: list[dict[str, Any]], now: float) -> int:
    """Approve every Submitted assignment whose AutoApprovalTime has come; how many."""
    n = 0
    for a in assignments:
        if a["AssignmentStatus"] == "Submitted" and a["AutoApprovalTime"] <= now:
            a["AssignmentStatus"] = "Approved"
            a["ApprovalTime"] = a["AutoApprovalTime"]
            n += 1
    return n
