"""The emulated MTurk account: HITs, balance, idempotency tokens and the service clock.

All operations run under one lock, so every check-and-apply is atomic. Each HIT
keeps a cached, already-serialized JSON form that is rebuilt only after it
changes, so a 100-HIT ``ListHITs`` page is a join of cached byte strings.

Simplifications (documented choices):

* HIT status moves with time: an Assignable HIT whose expiration has passed reads
  as Reviewable (MTurk: "a HIT moves to the Reviewable state when all of the
  assignments have been submitted or the HIT has expired"), or Unassignable while
  accepted work is still pending (a choice; see FIDELITY.md). The change is applied
  lazily, whenever the HIT is read or touched, and stored.
* Submitted (not yet approved or rejected) assignments count in none of
  NumberOfAssignmentsPending/Available/Completed; the emulator keeps their number
  beside the wire form (``NumberOfAssignmentsSubmitted`` in :meth:`MTurkState.add_hit`).
* ``CreateAdditionalAssignmentsForHIT`` never touches ``Expiration``. On a HIT
  that has not expired, a Reviewable/Unassignable status becomes Assignable
  again (there is new work to take); an expired HIT keeps its status.
* ``DeleteHIT`` is allowed when no work is pending or awaiting review and the HIT
  is expired or Reviewable (MTurk: only Reviewable HITs "with all of their submitted
  assignments already either approved or rejected" can be disposed).
* Assignments (ListAssignmentsForHIT) are generated from the HIT's counts
  (:mod:`.assignments`); Submitted work is approved automatically at its
  AutoApprovalTime as the service clock passes it.
  Deleted HITs disappear from every operation ("does not exist").
"""

from __future__ import annotations

import base64
import binascii
import bisect
import datetime as _dt
import hashlib
import heapq
import hmac
import json
import random
import threading
import time
from collections import Counter
from collections.abc import Callable
from decimal import ROUND_HALF_UP, Decimal, InvalidOperation
from typing import Any

from . import assignments, rules, world
from .errors import (
    INSUFFICIENT_FUNDS,
    INSUFFICIENT_FUNDS_TEXT,
    INVALID_HIT_STATE,
    INVALID_PAGINATION_TOKEN,
    MISSING_PARAMETERS,
    PARAMETER_OUT_OF_RANGE,
    assignment_does_not_exist,
    hit_does_not_exist,
    invalid_assignment_state,
    parameter_validation,
    request_error,
)
from .ids import hashed_id, random_id
from .wire import clean, parse_timestamp

# Member order of botocore's HIT shape.
HIT_MEMBERS = (
    "HITId",
    "HITTypeId",
    "HITGroupId",
    "HITLayoutId",
    "CreationTime",
    "Title",
    "Description",
    "Question",
    "Keywords",
    "HITStatus",
    "MaxAssignments",
    "Reward",
    "AutoApprovalDelayInSeconds",
    "Expiration",
    "AssignmentDurationInSeconds",
    "RequesterAnnotation",
    "QualificationRequirements",
    "HITReviewStatus",
    "NumberOfAssignmentsPending",
    "NumberOfAssignmentsAvailable",
    "NumberOfAssignmentsCompleted",
)
_MEMBER_SET = frozenset(HIT_MEMBERS)
DEFAULT_QUESTION = (
    '<ExternalQuestion xmlns="http://mechanicalturk.amazonaws.com/AWSMechanicalTurkDataSchemas/'
    '2006-07-14/ExternalQuestion.xsd"><ExternalURL>https://example.com/task</ExternalURL>'
    "<FrameHeight>600</FrameHeight></ExternalQuestion>"
)
_JSON = json.JSONEncoder(separators=(",", ":"))
DAY = 86400.0
INF = float("inf")
ZERO = Decimal("0.00")


class _Hit:
    """One stored HIT: its wire dict, listing sequence number, cached JSON, the work on it and
    the funds held for it."""

    __slots__ = (
        "arrival",
        "arrivals",
        "asg",
        "auto_at",
        "blob",
        "born",
        "data",
        "expired",
        "hold",
        "owed",
        "pending",
        "seq",
        "submitted",
        "t0",
        "wake",
    )

    def __init__(self, seq: int, data: dict[str, Any], submitted: int = 0, t0: float = 0.0) -> None:
        self.seq = seq
        self.data = data
        self.submitted = submitted
        # assignments are generated relative to t0 (service time of insertion), lazily
        self.t0 = t0
        self.asg: list[dict[str, Any]] | None = None
        self.auto_at = INF
        if submitted:
            times = assignments.submitted_times(data, t0, submitted)
            self.auto_at = times[0] + int(data.get("AutoApprovalDelayInSeconds") or 0)
        # service time of CreateHIT (None: seeded or added by a test, never lagging)
        self.born: float | None = None
        self.blob: bytes | None = None
        # funds held for liability: ``hold`` covers the ``owed`` assignments still to be paid
        self.hold = ZERO
        self.owed = 0
        self.expired = data["Expiration"] <= t0  # the expiry's release is done
        # the world (activity > 0): accepted work (a heap of world.Pending, None until the
        # seeded pending work is given its outcomes), the next arrival and their count
        self.pending: list[world.Pending] | None = None
        self.arrival = INF
        self.arrivals = 0
        # when something next happens to this HIT on its own (its entry in the due heap)
        self.wake = INF

    def json(self) -> bytes:
        if self.blob is None:
            self.blob = _JSON.encode(self.data).encode("ascii")
        return self.blob

    def changed(self) -> None:
        self.blob = None


def _reward(data: dict[str, Any]) -> Decimal:
    """The HIT's reward (0 for a test-made HIT whose Reward is not an amount)."""
    try:
        value = Decimal(data.get("Reward") or "0")
    except InvalidOperation:
        return ZERO
    return value if value.is_finite() and value >= 0 else ZERO


_TYPE_MEMBERS = (
    "Title",
    "Description",
    "Reward",
    "Keywords",
    "AssignmentDurationInSeconds",
    "AutoApprovalDelayInSeconds",
)


def _type_id(fields: dict[str, Any]) -> str:
    """The HITTypeId of a HIT's type properties: the same properties, the same id."""
    key = "|".join(str(fields.get(k)) for k in _TYPE_MEMBERS)
    if fields.get("QualificationRequirements"):
        key += "|" + json.dumps(fields["QualificationRequirements"], sort_keys=True)
    return hashed_id(key)


def _in_range(name: str, p: dict[str, Any], lo: int, hi: int, now: float) -> int:
    """``p[name]``, or MTurk's ParameterOutOfRange refusal when it is outside lo..hi."""
    value = int(p[name])
    if not lo <= value <= hi:
        raise request_error(
            f"The value {value} is invalid for {name}. Valid values range from {lo} to {hi}.",
            now,
            PARAMETER_OUT_OF_RANGE,
        )
    return value


def _normalize(data: dict[str, Any]) -> dict[str, Any]:
    """Order members like the model and drop Nones."""
    return {k: data[k] for k in HIT_MEMBERS if data.get(k) is not None}


class MTurkState:
    """Thread-safe in-memory MTurk requester account."""

    def __init__(
        self,
        *,
        seed: int = 1,
        balance: str = "10000.00",
        now: Callable[[], float] | None = None,
        modification_lag: float = 0.0,
        listing_lag: float = 0.0,
        assignment_lag: float = 0.0,
        activity: float = 0.0,
        empty_last_page: bool = True,
    ) -> None:
        """``now``: the service clock (default ``time.time``; tests inject their own).

        ``modification_lag``: for this many seconds after CreateHIT, the new HIT's
        CreateAdditionalAssignmentsForHIT and UpdateExpirationForHIT answer a RequestError.
        ``listing_lag``: a new HIT appears in ListHITs only this many seconds after
        CreateHIT (GetHIT finds it at once). ``assignment_lag``: for this many seconds after
        an assignment's submission, ApproveAssignment/RejectAssignment answer "... status of:
        null" and SendBonus "Assignment ... does not exist". ``activity``: workers arrive at
        each HIT with work available this many times an hour (:mod:`.world`). All off (0) by
        default; all may be changed at any time through the attributes of the same names.
        ``empty_last_page``: list operations give a NextToken on every non-empty page and end
        with an empty page (MTurk's shape); False: the last non-empty page has no NextToken.
        """
        for name, value in (
            ("modification_lag", modification_lag),
            ("listing_lag", listing_lag),
            ("assignment_lag", assignment_lag),
            ("activity", activity),
        ):
            if not (value >= 0 and value != INF):
                raise ValueError(f"{name} must be a non-negative number, got {value}")
        self.modification_lag = float(modification_lag)
        self.listing_lag = float(listing_lag)
        self.assignment_lag = float(assignment_lag)
        self.activity = float(activity)
        self.empty_last_page = empty_last_page
        self.lock = threading.RLock()
        self._clock = now or time.time
        self._offset = 0.0
        self._rng = random.Random(seed)
        self._secret = hashlib.sha256(f"turktui-emulator:{seed}".encode()).digest()
        self._hits: dict[str, _Hit] = {}
        self._by_seq: dict[int, _Hit] = {}
        self._live: list[int] = []
        self._next_seq = 0
        # the account: funds, of which ``_held`` are held for liability (GetAccountBalance's
        # AvailableBalance is the difference, OnHoldBalance the held part)
        self._funds = Decimal(balance)
        self._held = ZERO
        self._tokens: dict[tuple[str, str], float] = {}
        self._requests: Counter[str] = Counter()
        # (time, seq): when a HIT next changes on its own (expiry, auto-approval, workers)
        self._due: list[tuple[float, int]] = []
        # assignment id → HIT; HITs whose generated work is not indexed yet
        self._asg_index: dict[str, _Hit] = {}
        self._unindexed: set[int] = set()
        self._bonuses: list[dict[str, Any]] = []
        self._hit_types: dict[str, dict[str, Any]] = {}

    # ----------------------------------------------------------------- clock
    def now(self) -> float:
        """The service clock (epoch seconds)."""
        return self._clock() + self._offset

    def advance(self, seconds: float) -> None:
        """Shift the service clock forward by ``seconds``."""
        with self.lock:
            self._offset += float(seconds)

    # ------------------------------------------------------------ test helpers
    @property
    def balance(self) -> Decimal:
        """AvailableBalance: the funds not held for liability."""
        with self.lock:
            self._catch_up(self.now())
            return self._funds - self._held

    @property
    def on_hold(self) -> Decimal:
        """OnHoldBalance: the funds held for liability."""
        with self.lock:
            self._catch_up(self.now())
            return self._held

    def set_balance(self, value: str) -> None:
        """Set AvailableBalance (the held funds stay held)."""
        with self.lock:
            self._catch_up(self.now())
            self._funds = Decimal(value) + self._held

    def bonus_payments(self) -> list[dict[str, Any]]:
        """Every bonus paid, oldest first (copies)."""
        with self.lock:
            return [dict(b) for b in self._bonuses]

    def hit_ids(self) -> list[str]:
        """Live HIT ids in listing (creation) order."""
        with self.lock:
            return [self._by_seq[s].data["HITId"] for s in self._live]

    def get_hit_raw(self, hit_id: str) -> dict[str, Any]:
        """A copy of the HIT's wire dict (deleted HITs included; KeyError if unknown)."""
        with self.lock:
            rec = self._hits[hit_id]
            self._settle(rec, self.now())
            return json.loads(rec.json())

    def submitted_count(self, hit_id: str) -> int:
        """Submitted assignments awaiting review (counted in none of the wire numbers)."""
        with self.lock:
            rec = self._hits[hit_id]
            self._settle(rec, self.now())
            return rec.submitted

    def is_deleted(self, hit_id: str) -> bool:
        with self.lock:
            return not self._is_live(self._hits[hit_id])

    def count_request(self, op: str) -> None:
        with self.lock:
            self._requests[op] += 1

    def request_count(self, op: str | None = None) -> int:
        """Requests received (for ``op``, or all)."""
        with self.lock:
            return self._requests[op] if op else sum(self._requests.values())

    def add_hit(self, **fields: Any) -> str:
        """Insert a HIT with any wire fields (missing ones get defaults); returns its id."""
        with self.lock:
            return self._insert(fields)

    def add_hits(self, hits: list[dict[str, Any]]) -> None:
        """Insert many HITs (e.g. from :func:`seed.build_hits`), in order."""
        with self.lock:
            for fields in hits:
                self._insert(fields)

    def update_hit(self, hit_id: str, **fields: Any) -> None:
        """Overwrite wire fields of a HIT (test helper)."""
        with self.lock:
            rec = self._hits[hit_id]
            rec.data.update(fields)
            rec.data = _normalize(rec.data)
            rec.asg = None
            self._unindexed.add(rec.seq)
            if rec.data["Expiration"] > self.now():
                rec.expired = False
            rec.wake = -INF  # settle it at the next look
            rec.changed()

    def _insert(self, fields: dict[str, Any], *, bought: bool = False) -> str:
        """Store a HIT. Its held funds come on top of the account's (a seeded or test-made
        HIT), or from the available funds (``bought``: CreateHIT checked they cover it)."""
        fields = dict(fields)
        submitted = int(fields.pop("NumberOfAssignmentsSubmitted", 0) or 0)
        unknown = set(fields) - _MEMBER_SET
        if unknown:
            raise TypeError(f"unknown HIT fields: {sorted(unknown)}")
        now = self.now()
        data = dict(fields)
        hit_id = data.get("HITId") or random_id(self._rng)
        if hit_id in self._hits:
            raise ValueError(f"duplicate HITId {hit_id}")
        data["HITId"] = hit_id
        data.setdefault("Title", "Untitled HIT")
        data.setdefault("Description", "")
        data.setdefault("Reward", "0.50")
        data.setdefault("AssignmentDurationInSeconds", 3600)
        data.setdefault("AutoApprovalDelayInSeconds", 259200)
        data.setdefault("Keywords", "")
        if not data.get("HITTypeId"):  # as before qualification requirements counted
            data["HITTypeId"] = _type_id({k: data.get(k) for k in _TYPE_MEMBERS})
        data.setdefault("HITGroupId", hashed_id("group|" + data["HITTypeId"]))
        for name in ("CreationTime", "Expiration"):
            if isinstance(data.get(name), _dt.datetime):
                data[name] = data[name].timestamp()
        data["CreationTime"] = float(data.get("CreationTime", now))
        data["Expiration"] = float(data.get("Expiration", data["CreationTime"] + 7 * 86400))
        data.setdefault("Question", DEFAULT_QUESTION)
        data.setdefault("HITStatus", "Assignable")
        data.setdefault("HITReviewStatus", "NotReviewed")
        data["MaxAssignments"] = int(data.get("MaxAssignments", 1))
        data["NumberOfAssignmentsPending"] = int(data.get("NumberOfAssignmentsPending", 0))
        data["NumberOfAssignmentsCompleted"] = int(data.get("NumberOfAssignmentsCompleted", 0))
        if data.get("NumberOfAssignmentsAvailable") is None:
            data["NumberOfAssignmentsAvailable"] = max(
                0,
                data["MaxAssignments"]
                - data["NumberOfAssignmentsPending"]
                - data["NumberOfAssignmentsCompleted"]
                - submitted,
            )
        data.setdefault("QualificationRequirements", [])
        rec = _Hit(self._next_seq, _normalize(data), submitted, now)
        if rec.expired and rec.data["HITStatus"] == "Assignable":
            rec.data["HITStatus"] = (
                "Unassignable" if rec.data["NumberOfAssignmentsPending"] else "Reviewable"
            )
        self._next_seq += 1
        self._hits[hit_id] = rec
        self._by_seq[rec.seq] = rec
        self._live.append(rec.seq)
        d = rec.data
        owed = d["NumberOfAssignmentsPending"] + submitted
        if not rec.expired:
            owed += d["NumberOfAssignmentsAvailable"]
        if owed:
            self._hold(rec, owed, rules.cost_for(_reward(d), owed, d["MaxAssignments"]))
            if not bought:
                self._funds += rec.hold
        if d["NumberOfAssignmentsCompleted"] + submitted:
            self._unindexed.add(rec.seq)
        self._schedule(rec)
        return hit_id

    # ------------------------------------------------------------------ money
    def _hold(self, rec: _Hit, n: int, amount: Decimal) -> None:
        """Hold ``amount`` for ``n`` more assignments of the HIT (taken from available)."""
        rec.hold += amount
        rec.owed += n
        self._held += amount

    def _release(self, rec: _Hit, n: int, *, spend: bool) -> Decimal:
        """Release the funds held for ``n`` of the HIT's owed assignments: paid out
        (``spend``: approval, with MTurk's fee) or back to available (rejection, expiry)."""
        n = min(n, rec.owed)
        if n <= 0:
            return ZERO
        if n == rec.owed:
            amount = rec.hold
        else:
            amount = (rec.hold * n / rec.owed).quantize(rules.CENT, rounding=ROUND_HALF_UP)
        rec.hold -= amount
        rec.owed -= n
        self._held -= amount
        if spend:
            self._funds -= amount
        return amount

    def _pay(self, rec: _Hit, n: int) -> None:
        """Pay reward + fee for ``n`` approved assignments: from the funds held for them, and
        from the account for any whose hold was released (work taken after an expiry)."""
        held = min(n, rec.owed)
        self._release(rec, held, spend=True)
        if n > held:
            self._funds -= rules.cost_for(_reward(rec.data), n - held, rec.data["MaxAssignments"])

    def _available(self) -> Decimal:
        return self._funds - self._held

    # ------------------------------------------------------------------- time
    def _schedule(self, rec: _Hit) -> None:
        """Put the HIT's next own change (expiry, auto-approval, a worker) on the due heap."""
        d = rec.data
        t = min(
            INF if rec.expired else d["Expiration"],
            rec.auto_at,
            rec.arrival,
            rec.pending[0].at if rec.pending else INF,
        )
        if self.activity and rec.pending is None and not (rec.expired and not rec.owed):
            t = min(t, rec.t0)  # start the workers: outcomes of work in flight, arrivals
        if t != rec.wake:
            rec.wake = t
            if t != INF:
                heapq.heappush(self._due, (t, rec.seq))

    def _catch_up(self, now: float) -> None:
        """Apply everything due by ``now`` on every HIT (the account's balance depends on it)."""
        due = self._due
        by_seq = self._by_seq
        while due and due[0][0] <= now:
            t, seq = heapq.heappop(due)
            rec = by_seq[seq]
            if rec.wake == t and self._is_live(rec):
                self._settle(rec, now)

    def _is_live(self, rec: _Hit) -> bool:
        i = bisect.bisect_left(self._live, rec.seq)
        return i < len(self._live) and self._live[i] == rec.seq

    def _live_hit(self, hit_id: str, now: float) -> _Hit:
        rec = self._hits.get(hit_id)
        if rec is None or not self._is_live(rec):
            raise hit_does_not_exist(hit_id, now)
        self._settle(rec, now)
        return rec

    def _settle(self, rec: _Hit, now: float) -> None:
        """Apply, in time order, what happened to the HIT by ``now`` on its own: its expiry (an
        expired HIT is not Assignable; the funds held for work nobody took are released),
        auto-approval of Submitted work at its AutoApprovalTime (paid from the held funds),
        and the workers (:mod:`.world`, when ``activity`` is on)."""
        if now < rec.wake:
            return
        d = rec.data
        if self.activity and rec.pending is None:
            self._start_work(rec)
        while True:
            t_exp = INF if rec.expired else d["Expiration"]
            t_work = min(rec.arrival, rec.pending[0].at if rec.pending else INF)
            t = min(t_exp, rec.auto_at, t_work)
            if t > now:
                break
            if t == t_exp:
                self._expire(rec)
            elif t == rec.auto_at:
                self._auto_approve(rec, t)
            elif t == rec.arrival:
                self._arrive(rec, t)
            else:
                self._finish(rec, heapq.heappop(rec.pending))
        self._schedule(rec)

    def _expire(self, rec: _Hit) -> None:
        d = rec.data
        rec.expired = True
        rec.arrival = INF
        if d.get("HITStatus") == "Assignable":
            d["HITStatus"] = "Unassignable" if d.get("NumberOfAssignmentsPending") else "Reviewable"
        self._release(rec, d.get("NumberOfAssignmentsAvailable", 0), spend=False)
        rec.changed()

    def _auto_approve(self, rec: _Hit, t: float) -> None:
        d = rec.data
        work = self._assignments(rec)
        approved = assignments.auto_approve(work, t)
        rec.submitted -= approved
        d["NumberOfAssignmentsCompleted"] = d.get("NumberOfAssignmentsCompleted", 0) + approved
        self._pay(rec, approved)
        rec.auto_at = min(
            (a["AutoApprovalTime"] for a in work if a["AssignmentStatus"] == "Submitted"),
            default=INF,
        )
        rec.changed()

    # ------------------------------------------------------------------ world
    def _start_work(self, rec: _Hit) -> None:
        """Give seeded work in flight its outcomes; let workers find available work."""
        d = rec.data
        duration = int(d.get("AssignmentDurationInSeconds") or assignments.DEFAULT_DURATION)
        hit_id = d["HITId"]
        rec.pending = [
            world.in_flight(hit_id, j, rec.t0, duration)
            for j in range(d.get("NumberOfAssignmentsPending", 0))
        ]
        heapq.heapify(rec.pending)
        self._open(rec, rec.t0)

    def _open(self, rec: _Hit, t: float) -> None:
        """Work is available from ``t``: the next worker arrives a gap later."""
        d = rec.data
        if (
            self.activity
            and rec.pending is not None
            and rec.arrival == INF
            and not rec.expired
            and d.get("NumberOfAssignmentsAvailable", 0) > 0
            and d.get("HITStatus") in ("Assignable", "Unassignable", "Reviewable")
        ):
            rec.arrival = t + world.gap(d["HITId"], rec.arrivals, self.activity)

    def _arrive(self, rec: _Hit, t: float) -> None:
        """A worker accepts an assignment at ``t``."""
        d = rec.data
        rec.arrival = INF
        if d.get("NumberOfAssignmentsAvailable", 0) <= 0 or rec.expired:
            return
        k = rec.arrivals
        rec.arrivals += 1
        duration = int(d.get("AssignmentDurationInSeconds") or assignments.DEFAULT_DURATION)
        assert rec.pending is not None
        heapq.heappush(rec.pending, world.outcome(d["HITId"], k, t, duration))
        d["NumberOfAssignmentsAvailable"] -= 1
        d["NumberOfAssignmentsPending"] = d.get("NumberOfAssignmentsPending", 0) + 1
        self._restatus(rec)
        self._open(rec, t)

    def _finish(self, rec: _Hit, event: world.Pending) -> None:
        """Accepted work is submitted, returned or abandoned at ``event.at``."""
        d = rec.data
        d["NumberOfAssignmentsPending"] = max(0, d.get("NumberOfAssignmentsPending", 0) - 1)
        if event.kind == world.SUBMIT:
            work = self._assignments(rec)
            delay = int(d.get("AutoApprovalDelayInSeconds") or 0)
            duration = int(d.get("AssignmentDurationInSeconds") or assignments.DEFAULT_DURATION)
            a = assignments.submitted(
                d["HITId"], len(work), event.accepted, event.at, delay, duration
            )
            work.append(a)
            self._asg_index[a["AssignmentId"]] = rec
            rec.submitted += 1
            rec.auto_at = min(rec.auto_at, a["AutoApprovalTime"])
        else:
            d["NumberOfAssignmentsAvailable"] = d.get("NumberOfAssignmentsAvailable", 0) + 1
            if rec.expired:
                self._release(rec, 1, spend=False)
            else:
                self._open(rec, event.at)
        self._restatus(rec)

    @staticmethod
    def _restatus(rec: _Hit) -> None:
        """The HIT's status after workers changed its counts."""
        d = rec.data
        if d.get("HITStatus") not in ("Assignable", "Unassignable", "Reviewable"):
            return
        if d.get("NumberOfAssignmentsAvailable", 0) > 0 and not rec.expired:
            status = "Assignable"
        elif d.get("NumberOfAssignmentsPending", 0) > 0:
            status = "Unassignable"
        else:
            status = "Reviewable"
        if status != d["HITStatus"]:
            d["HITStatus"] = status
        rec.changed()

    def _assignments(self, rec: _Hit) -> list[dict[str, Any]]:
        """The HIT's Submitted/Approved/Rejected assignments (generated on first use)."""
        if rec.asg is None:
            d = rec.data
            completed = d.get("NumberOfAssignmentsCompleted", 0)
            rec.asg = assignments.build(d, completed, rec.submitted, rec.t0)
            for a in rec.asg:
                self._asg_index[a["AssignmentId"]] = rec
            self._unindexed.discard(rec.seq)
        return rec.asg

    def _find_assignment(self, assignment_id: str, now: float) -> tuple[_Hit, dict[str, Any]]:
        """The live HIT and the assignment, settled; MTurk's "does not exist" otherwise."""
        rec = self._asg_index.get(assignment_id)
        if rec is None and self._unindexed:
            # index the ids of the work not generated yet (not the work itself: cheaper)
            index = self._asg_index
            for seq in self._unindexed:
                other = self._by_seq[seq]
                d = other.data
                for asg_id in assignments.ids(
                    d["HITId"], d.get("NumberOfAssignmentsCompleted", 0) + other.submitted
                ):
                    index.setdefault(asg_id, other)
            self._unindexed.clear()
            rec = index.get(assignment_id)
        if rec is None or not self._is_live(rec):
            raise assignment_does_not_exist(assignment_id, now)
        self._settle(rec, now)
        for a in self._assignments(rec):
            if a["AssignmentId"] == assignment_id:
                return rec, a
        raise assignment_does_not_exist(assignment_id, now)  # pragma: no cover

    # ------------------------------------------------------------ idempotency
    def _check_token(self, op: str, token: str | None, now: float) -> None:
        if not token:
            return
        seen = self._tokens.get((op, token))
        if seen is not None and now - seen < rules.TOKEN_WINDOW:
            raise request_error(f'The idempotency token "{token}" has already been processed.', now)

    def _remember_token(self, op: str, token: str | None, now: float) -> None:
        if not token:
            return
        if len(self._tokens) > 10_000:
            self._tokens = {k: t for k, t in self._tokens.items() if now - t < rules.TOKEN_WINDOW}
        self._tokens[(op, token)] = now

    # ------------------------------------------------------------- pagination
    def _make_token(self, kind: str, position: int) -> str:
        mac = hmac.new(self._secret, f"{kind}:{position}".encode(), "sha256").hexdigest()[:16]
        return base64.urlsafe_b64encode(f"{position}:{mac}".encode()).decode()

    def _read_token(self, kind: str, token: str, now: float) -> int:
        try:
            text = base64.urlsafe_b64decode(token.encode("ascii")).decode("ascii")
            pos_text, mac = text.split(":", 1)
            position = int(pos_text)
        except (ValueError, UnicodeError, binascii.Error):
            position, mac = -1, ""
        good = hmac.new(self._secret, f"{kind}:{position}".encode(), "sha256").hexdigest()[:16]
        if position < 0 or not hmac.compare_digest(mac, good):
            raise request_error(
                f'The pagination token "{token}" is invalid.', now, INVALID_PAGINATION_TOKEN
            )
        return position

    # ------------------------------------------------------------- operations
    def _token_after(self, kind: str, position: int, n: int, more: bool) -> str | None:
        """The NextToken of a page of ``n`` items ending at ``position``: on every non-empty
        page (MTurk's shape: the listing ends with an empty page), or only when ``more``
        follows (``empty_last_page=False``: the shape some clients were written against)."""
        if n and (more or self.empty_last_page):
            return self._make_token(kind, position)
        return None

    def op_get_hit(self, p: dict[str, Any]) -> bytes:
        with self.lock:
            now = self.now()
            rec = self._hits.get(p["HITId"])
            if rec is not None and not self._is_live(rec):
                return b'{"HIT":' + rec.json() + b"}"  # Disposed
            rec = self._live_hit(p["HITId"], now)
            return b'{"HIT":' + rec.json() + b"}"

    def op_list_hits(self, p: dict[str, Any]) -> bytes:
        size = p.get("MaxResults") or 10
        with self.lock:
            start = 0
            if p.get("NextToken"):
                last = self._read_token("hits", p["NextToken"], self.now())
                start = bisect.bisect_right(self._live, last)
            by_seq = self._by_seq
            now = self.now()
            if self.listing_lag > 0:
                seqs, more = self._visible_page(start, size, now)
            else:
                seqs = self._live[start : start + size]
                more = start + size < len(self._live)
            settle = self._settle
            for s in seqs:
                settle(by_seq[s], now)
            body = b",".join([by_seq[s].json() for s in seqs])
            token = self._token_after("hits", seqs[-1], len(seqs), more) if seqs else None
        head = b'{"NumResults":%d,"HITs":[' % len(seqs)
        tail = b'],"NextToken":"%s"}' % token.encode() if token else b"]}"
        return head + body + tail

    def _visible_page(self, start: int, size: int, now: float) -> tuple[list[int], bool]:
        """Up to ``size`` listed seqs from index ``start``, skipping HITs still being indexed,
        and whether a further listed HIT exists."""
        lag = self.listing_lag
        out: list[int] = []
        for s in self._live[start:]:
            born = self._by_seq[s].born
            if born is not None and now - born < lag:
                continue
            if len(out) == size:
                return out, True
            out.append(s)
        return out, False

    def _check_modification_lag(self, rec: _Hit, now: float) -> None:
        born = rec.born
        if born is not None and now - born < self.modification_lag:
            raise request_error(
                f"HIT {rec.data['HITId']} was created moments ago and cannot be modified yet. "
                "Please try again in a few seconds.",
                now,
            )

    def op_get_account_balance(self, p: dict[str, Any]) -> dict[str, Any]:
        with self.lock:
            self._catch_up(self.now())
            return {
                "AvailableBalance": rules.money(self._available()),
                "OnHoldBalance": rules.money(self._held),
            }

    # ------------------------------------------------------------- HIT types
    def _hit_type(self, p: dict[str, Any], now: float) -> tuple[str, dict[str, Any]]:
        """Register the HIT type of ``p`` (CreateHIT/CreateHITType members): its id and
        fields. The same properties give the same HITTypeId."""
        duration = _in_range("AssignmentDurationInSeconds", p, 30, 31_536_000, now)
        if not p["Title"].strip():
            raise request_error("The Title must not be empty.", now, PARAMETER_OUT_OF_RANGE)
        fields: dict[str, Any] = {
            "Title": p["Title"],
            "Description": p["Description"],
            "Reward": rules.money(Decimal(p["Reward"])),
            "Keywords": p.get("Keywords", ""),
            "AssignmentDurationInSeconds": duration,
            "AutoApprovalDelayInSeconds": p.get("AutoApprovalDelayInSeconds", 2592000),
            "QualificationRequirements": clean(
                "QualificationRequirementList", p.get("QualificationRequirements") or []
            ),
        }
        type_id = _type_id(fields)
        self._hit_types.setdefault(type_id, fields)
        return type_id, fields

    def op_create_hit_type(self, p: dict[str, Any]) -> dict[str, Any]:
        with self.lock:
            type_id, _fields = self._hit_type(p, self.now())
            return {"HITTypeId": type_id}

    def op_create_hit(self, p: dict[str, Any]) -> bytes:
        with self.lock:
            now = self.now()
            self._check_token("CreateHIT", p.get("UniqueRequestToken"), now)
            type_id, fields = self._hit_type(p, now)
            return self._create("CreateHIT", p, type_id, fields, now)

    def op_create_hit_with_hit_type(self, p: dict[str, Any]) -> bytes:
        with self.lock:
            now = self.now()
            self._check_token("CreateHITWithHITType", p.get("UniqueRequestToken"), now)
            fields = self._hit_types.get(p["HITTypeId"])
            if fields is None:
                raise request_error(
                    f"HITType {p['HITTypeId']} does not exist.", now, PARAMETER_OUT_OF_RANGE
                )
            return self._create("CreateHITWithHITType", p, p["HITTypeId"], fields, now)

    def _create(
        self, op: str, p: dict[str, Any], type_id: str, type_fields: dict[str, Any], now: float
    ) -> bytes:
        """CreateHIT / CreateHITWithHITType once the type is known: check, hold, insert."""
        max_a = _in_range(
            "MaxAssignments", {"MaxAssignments": 1, **p}, 1, rules.MAX_ASSIGNMENTS, now
        )
        lifetime = _in_range("LifetimeInSeconds", p, 30, 31_536_000, now)
        if p.get("Question") is None and p.get("HITLayoutId") is None:
            raise request_error(
                "Your request is missing required parameters. Required "
                "parameters include Question or HITLayoutId.",
                now,
                MISSING_PARAMETERS,
            )
        if p.get("Question") is not None and p.get("HITLayoutId") is not None:
            raise request_error(
                "Your request must include either a Question or a HITLayoutId, not both.",
                now,
                PARAMETER_OUT_OF_RANGE,
            )
        self._catch_up(now)
        cost = rules.cost_for(Decimal(type_fields["Reward"]), max_a, max_a)
        if cost > self._available():
            raise request_error(INSUFFICIENT_FUNDS_TEXT, now, INSUFFICIENT_FUNDS)
        fields: dict[str, Any] = {
            **type_fields,
            "HITTypeId": type_id,
            "MaxAssignments": max_a,
            "CreationTime": now,
            "Expiration": now + lifetime,
        }
        for name in ("Question", "RequesterAnnotation", "HITLayoutId"):
            if p.get(name) is not None:
                fields[name] = p[name]
        hit_id = self._insert(fields, bought=True)
        rec = self._hits[hit_id]
        rec.born = now
        self._remember_token(op, p.get("UniqueRequestToken"), now)
        return b'{"HIT":' + rec.json() + b"}"

    # ------------------------------------------------------------ HIT changes
    def op_create_additional_assignments_for_hit(self, p: dict[str, Any]) -> dict[str, Any]:
        op = "CreateAdditionalAssignmentsForHIT"
        n = p["NumberOfAdditionalAssignments"]
        with self.lock:
            now = self.now()
            if n < 1:
                raise request_error(
                    f"The value {n} is invalid for NumberOfAdditionalAssignments. "
                    "Valid values range from 1 to 1000000.",
                    now,
                    PARAMETER_OUT_OF_RANGE,
                )
            token = p.get("UniqueRequestToken")
            self._check_token(op, token, now)
            rec = self._live_hit(p["HITId"], now)
            self._check_modification_lag(rec, now)
            d = rec.data
            refusal = rules.extension_refusal(d["CreationTime"], d["MaxAssignments"], n)
            if refusal:
                raise request_error(refusal[1], now, refusal[0])
            after = d["MaxAssignments"] + n
            cost = rules.cost_for(_reward(d), n, after)
            self._catch_up(now)
            if cost > self._available():
                raise request_error(INSUFFICIENT_FUNDS_TEXT, now, INSUFFICIENT_FUNDS)
            d["MaxAssignments"] = after
            d["NumberOfAssignmentsAvailable"] = d.get("NumberOfAssignmentsAvailable", 0) + n
            if d["Expiration"] > now and d.get("HITStatus") in ("Reviewable", "Unassignable"):
                d["HITStatus"] = "Assignable"
            rec.changed()
            self._hold(rec, n, cost)
            self._open(rec, now)
            self._schedule(rec)
            self._remember_token(op, token, now)
            return {}

    def op_update_expiration_for_hit(self, p: dict[str, Any]) -> dict[str, Any]:
        """MTurk's UpdateExpirationForHIT (see FIDELITY.md).

        Order of checks: the HIT exists; the implicit token (HIT id + ExpireAt to the
        second) was not processed in the last 24 hours; a future ExpireAt moves the
        expiration 60 s .. 365 days forward. A past (or current) ExpireAt expires the HIT
        now. Only an applied request consumes its token.
        """
        op = "UpdateExpirationForHIT"
        with self.lock:
            now = self.now()
            rec = self._live_hit(p["HITId"], now)
            at = parse_timestamp(p["ExpireAt"])
            assert at is not None  # validated by wire.validate_input
            self._check_modification_lag(rec, now)
            token = rules.expiration_token(p["HITId"], at)
            self._check_token(op, token, now)
            d = rec.data
            refusal = rules.expiration_refusal(d["Expiration"], at, now)
            if refusal:
                raise parameter_validation(refusal, now)
            if at <= now:
                d["Expiration"] = now
                if not rec.expired:
                    self._expire(rec)
            else:
                d["Expiration"] = at
                available = d.get("NumberOfAssignmentsAvailable", 0)
                # the work nobody took is offered again; its funds, released at the expiry,
                # are not held again: approving it later pays from the available funds
                rec.expired = False
                if d.get("HITStatus") in ("Reviewable", "Unassignable") and available > 0:
                    d["HITStatus"] = "Assignable"
                self._open(rec, now)
            rec.changed()
            self._schedule(rec)
            self._remember_token(op, token, now)
            return {}

    def op_delete_hit(self, p: dict[str, Any]) -> dict[str, Any]:
        with self.lock:
            now = self.now()
            rec = self._live_hit(p["HITId"], now)
            d = rec.data
            if (
                d.get("HITStatus") != "Reviewable"
                or d.get("NumberOfAssignmentsPending", 0) > 0
                or rec.submitted > 0
            ):
                raise request_error(
                    f"This HIT is currently in the state '{d.get('HITStatus')}'. This operation "
                    "can be called with a status of: Reviewable",
                    now,
                    INVALID_HIT_STATE,
                )
            i = bisect.bisect_left(self._live, rec.seq)
            del self._live[i]
            self._release(rec, rec.owed, spend=False)
            d["HITStatus"] = "Disposed"
            rec.changed()
            return {}

    def op_update_hit_review_status(self, p: dict[str, Any]) -> dict[str, Any]:
        """Revert false: Reviewable → Reviewing; true: Reviewing → Reviewable (the model's
        member documentation)."""
        with self.lock:
            now = self.now()
            rec = self._live_hit(p["HITId"], now)
            d = rec.data
            before, after = (
                ("Reviewing", "Reviewable") if p.get("Revert") else ("Reviewable", "Reviewing")
            )
            if d.get("HITStatus") != before:
                raise request_error(
                    f"This HIT is currently in the state '{d.get('HITStatus')}'. This operation "
                    f"can be called with a status of: {before}",
                    now,
                    INVALID_HIT_STATE,
                )
            d["HITStatus"] = after
            rec.changed()
            return {}

    def op_list_reviewable_hits(self, p: dict[str, Any]) -> dict[str, Any]:
        """Reviewable (or Reviewing) HITs, optionally of one HIT type, as HIT ids only: the
        sandbox answers a list of ``{"HITId": …}`` (aws-sdk-js issue #2522)."""
        size = p.get("MaxResults") or 10
        status = p.get("Status") or "Reviewable"
        type_id = p.get("HITTypeId")
        kind = f"reviewable:{status}:{type_id or ''}"
        with self.lock:
            now = self.now()
            start = 0
            if p.get("NextToken"):
                start = bisect.bisect_right(self._live, self._read_token(kind, p["NextToken"], now))
            page: list[int] = []
            more = False
            for s in self._live[start:]:
                rec = self._by_seq[s]
                self._settle(rec, now)
                d = rec.data
                if d.get("HITStatus") != status or (type_id and d.get("HITTypeId") != type_id):
                    continue
                if len(page) == size:
                    more = True
                    break
                page.append(s)
            hits = [{"HITId": self._by_seq[s].data["HITId"]} for s in page]
            token = self._token_after(kind, page[-1], len(page), more) if page else None
        out: dict[str, Any] = {"NumResults": len(hits), "HITs": hits}
        if token:
            out["NextToken"] = token
        return out

    # ------------------------------------------------------------ assignments
    def op_list_assignments_for_hit(self, p: dict[str, Any]) -> dict[str, Any]:
        size = p.get("MaxResults") or 10
        statuses = p.get("AssignmentStatuses") or ["Submitted", "Approved", "Rejected"]
        with self.lock:
            now = self.now()
            rec = self._live_hit(p["HITId"], now)
            kind = f"asg:{rec.data['HITId']}:{','.join(sorted(statuses))}"
            start = self._read_token(kind, p["NextToken"], now) if p.get("NextToken") else 0
            wanted = [a for a in self._assignments(rec) if a["AssignmentStatus"] in statuses]
            page = [dict(a) for a in wanted[start : start + size]]
            more = start + size < len(wanted)
            token = self._token_after(kind, start + len(page), len(page), more)
        out: dict[str, Any] = {"NumResults": len(page), "Assignments": page}
        if token:
            out["NextToken"] = token
        return out

    def op_get_assignment(self, p: dict[str, Any]) -> bytes:
        with self.lock:
            now = self.now()
            rec, a = self._find_assignment(p["AssignmentId"], now)
            return b'{"Assignment":' + _JSON.encode(a).encode() + b',"HIT":' + rec.json() + b"}"

    def _reviewable(self, p: dict[str, Any], now: float) -> tuple[_Hit, dict[str, Any]]:
        """The assignment to approve or reject, once visible to these operations."""
        rec, a = self._find_assignment(p["AssignmentId"], now)
        if now - a["SubmitTime"] < self.assignment_lag:
            raise invalid_assignment_state("null", now)
        return rec, a

    def op_approve_assignment(self, p: dict[str, Any]) -> dict[str, Any]:
        """Submitted → Approved, paid from the funds held for it (reward + fee); a Rejected
        assignment only with OverrideRejection, within 30 days of its submission, paid from
        the available funds (its hold was released when it was rejected)."""
        with self.lock:
            now = self.now()
            rec, a = self._reviewable(p, now)
            status = a["AssignmentStatus"]
            override = status == "Rejected" and p.get("OverrideRejection")
            if status != "Submitted" and not (override and now - a["SubmitTime"] <= 30 * DAY):
                raise invalid_assignment_state("Submitted", now)
            d = rec.data
            if override or rec.owed < 1:  # nothing held for it: paid from available funds
                self._catch_up(now)
                if rules.cost_for(_reward(d), 1, d["MaxAssignments"]) > self._available():
                    raise request_error(INSUFFICIENT_FUNDS_TEXT, now, INSUFFICIENT_FUNDS)
            if override:
                self._funds -= rules.cost_for(_reward(d), 1, d["MaxAssignments"])
                a.pop("RejectionTime", None)
            else:
                self._pay(rec, 1)
                rec.submitted -= 1
                d["NumberOfAssignmentsCompleted"] = d.get("NumberOfAssignmentsCompleted", 0) + 1
            a["AssignmentStatus"] = "Approved"
            a["ApprovalTime"] = now
            a.pop("RequesterFeedback", None)
            if p.get("RequesterFeedback") is not None:
                a["RequesterFeedback"] = p["RequesterFeedback"]
            rec.changed()
            self._schedule(rec)
            return {}

    def op_reject_assignment(self, p: dict[str, Any]) -> dict[str, Any]:
        """Submitted → Rejected; the funds held for it go back to available (no fee)."""
        with self.lock:
            now = self.now()
            rec, a = self._reviewable(p, now)
            if a["AssignmentStatus"] != "Submitted":
                raise invalid_assignment_state("Submitted", now)
            d = rec.data
            self._release(rec, 1, spend=False)
            rec.submitted -= 1
            d["NumberOfAssignmentsCompleted"] = d.get("NumberOfAssignmentsCompleted", 0) + 1
            a["AssignmentStatus"] = "Rejected"
            a["RejectionTime"] = now
            a["RequesterFeedback"] = p["RequesterFeedback"]
            rec.changed()
            self._schedule(rec)
            return {}

    # ---------------------------------------------------------------- bonuses
    def op_send_bonus(self, p: dict[str, Any]) -> dict[str, Any]:
        """Pay a bonus (amount + MTurk's fee) from the available funds.

        Order of checks (a choice, see FIDELITY.md): the token; the assignment is visible;
        the worker did it; the amount is positive; the funds cover amount + fee.
        """
        op = "SendBonus"
        with self.lock:
            now = self.now()
            token = p.get("UniqueRequestToken")
            self._check_token(op, token, now)
            rec, a = self._find_assignment(p["AssignmentId"], now)
            if now - a["SubmitTime"] < self.assignment_lag:
                raise assignment_does_not_exist(p["AssignmentId"], now)
            if a["WorkerId"] != p["WorkerId"]:
                raise parameter_validation(
                    f"Worker {p['WorkerId']} did not work on assignment {p['AssignmentId']}.",
                    now,
                )
            amount = Decimal(p["BonusAmount"])
            if amount <= 0:
                raise parameter_validation(
                    f"The value {p['BonusAmount']} is invalid for BonusAmount. "
                    "It must be greater than zero.",
                    now,
                )
            self._catch_up(now)
            total = amount + rules.bonus_fee(amount)
            if total > self._available():
                raise request_error(INSUFFICIENT_FUNDS_TEXT, now, INSUFFICIENT_FUNDS)
            self._funds -= total
            self._bonuses.append(
                {
                    "WorkerId": p["WorkerId"],
                    "BonusAmount": rules.money(amount),
                    "AssignmentId": p["AssignmentId"],
                    "Reason": p["Reason"],
                    "GrantTime": now,
                    "_hit": rec.data["HITId"],
                }
            )
            self._remember_token(op, token, now)
            return {}

    def op_list_bonus_payments(self, p: dict[str, Any]) -> dict[str, Any]:
        """Bonuses of a HIT or of an assignment (exactly one of the two), oldest first."""
        size = p.get("MaxResults") or 10
        hit_id, assignment_id = p.get("HITId"), p.get("AssignmentId")
        with self.lock:
            now = self.now()
            if (hit_id is None) == (assignment_id is None):
                raise request_error(
                    "Your request must include either a HITId or an AssignmentId, not both.",
                    now,
                    MISSING_PARAMETERS if hit_id is None else PARAMETER_OUT_OF_RANGE,
                )
            if hit_id is not None:
                self._live_hit(hit_id, now)
                kind = f"bonus:h:{hit_id}"
                wanted = [b for b in self._bonuses if b["_hit"] == hit_id]
            else:
                kind = f"bonus:a:{assignment_id}"
                wanted = [b for b in self._bonuses if b["AssignmentId"] == assignment_id]
            start = self._read_token(kind, p["NextToken"], now) if p.get("NextToken") else 0
            page = [
                {k: v for k, v in b.items() if not k.startswith("_")}
                for b in wanted[start : start + size]
            ]
            more = start + size < len(wanted)
            token = self._token_after(kind, start + len(page), len(page), more)
        out: dict[str, Any] = {"NumResults": len(page), "BonusPayments": page}
        if token:
            out["NextToken"] = token
        return out
