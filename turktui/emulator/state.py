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
import hmac
import json
import random
import threading
import time
from collections import Counter
from collections.abc import Callable
from decimal import Decimal, InvalidOperation
from typing import Any

from . import assignments, rules
from .errors import (
    INSUFFICIENT_FUNDS,
    INSUFFICIENT_FUNDS_TEXT,
    INVALID_HIT_STATE,
    INVALID_PAGINATION_TOKEN,
    MISSING_PARAMETERS,
    PARAMETER_OUT_OF_RANGE,
    hit_does_not_exist,
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


class _Hit:
    """One stored HIT: its wire dict, listing sequence number and cached JSON."""

    __slots__ = ("asg", "auto_at", "blob", "born", "data", "seq", "submitted", "t0")

    def __init__(self, seq: int, data: dict[str, Any], submitted: int = 0, t0: float = 0.0) -> None:
        self.seq = seq
        self.data = data
        self.submitted = submitted
        # assignments are generated relative to t0 (service time of insertion), lazily
        self.t0 = t0
        self.asg: list[dict[str, Any]] | None = None
        self.auto_at = float("inf")
        if submitted:
            times = assignments.submitted_times(data, t0, submitted)
            self.auto_at = times[0] + int(data.get("AutoApprovalDelayInSeconds") or 0)
        # service time of CreateHIT (None: seeded or added by a test, never lagging)
        self.born: float | None = None
        self.blob: bytes | None = None

    def json(self) -> bytes:
        if self.blob is None:
            self.blob = _JSON.encode(self.data).encode("ascii")
        return self.blob

    def changed(self) -> None:
        self.blob = None


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
    ) -> None:
        """``now``: the service clock (default ``time.time``; tests inject their own).

        ``modification_lag``: for this many seconds after CreateHIT, the new HIT's
        CreateAdditionalAssignmentsForHIT and UpdateExpirationForHIT answer a RequestError.
        ``listing_lag``: a new HIT appears in ListHITs only this many seconds after
        CreateHIT (GetHIT finds it at once). Both off (0) by default; both may be changed at
        any time through the attributes of the same names.
        """
        for name, value in (("modification_lag", modification_lag), ("listing_lag", listing_lag)):
            if not (value >= 0 and value != float("inf")):
                raise ValueError(f"{name} must be a non-negative number of seconds, got {value}")
        self.modification_lag = float(modification_lag)
        self.listing_lag = float(listing_lag)
        self.lock = threading.RLock()
        self._clock = now or time.time
        self._offset = 0.0
        self._rng = random.Random(seed)
        self._secret = hashlib.sha256(f"turktui-emulator:{seed}".encode()).digest()
        self._hits: dict[str, _Hit] = {}
        self._by_seq: dict[int, _Hit] = {}
        self._live: list[int] = []
        self._next_seq = 0
        self._balance = Decimal(balance)
        self._tokens: dict[tuple[str, str], float] = {}
        self._requests: Counter[str] = Counter()

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
        with self.lock:
            return self._balance

    def set_balance(self, value: str) -> None:
        with self.lock:
            self._balance = Decimal(value)

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
            return self._hits[hit_id].submitted

    def is_deleted(self, hit_id: str) -> bool:
        with self.lock:
            rec = self._hits[hit_id]
            i = bisect.bisect_left(self._live, rec.seq)
            return not (i < len(self._live) and self._live[i] == rec.seq)

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
            rec.changed()

    def _insert(self, fields: dict[str, Any]) -> str:
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
        if not data.get("HITTypeId"):
            data["HITTypeId"] = hashed_id(
                "|".join(
                    str(data.get(k))
                    for k in (
                        "Title",
                        "Description",
                        "Reward",
                        "Keywords",
                        "AssignmentDurationInSeconds",
                        "AutoApprovalDelayInSeconds",
                    )
                )
            )
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
        rec = _Hit(self._next_seq, _normalize(data), submitted, now)
        self._next_seq += 1
        self._hits[hit_id] = rec
        self._by_seq[rec.seq] = rec
        self._live.append(rec.seq)
        return hit_id

    def _live_hit(self, hit_id: str, now: float) -> _Hit:
        rec = self._hits.get(hit_id)
        if rec is None:
            raise hit_does_not_exist(hit_id, now)
        i = bisect.bisect_left(self._live, rec.seq)
        if i >= len(self._live) or self._live[i] != rec.seq:
            raise hit_does_not_exist(hit_id, now)
        self._settle(rec, now)
        return rec

    @staticmethod
    def _settle(rec: _Hit, now: float) -> None:
        """Apply what the passing of time did to the HIT: an expired HIT is not Assignable;
        Submitted work past its AutoApprovalTime is Approved (and counts as completed)."""
        d = rec.data
        if d.get("HITStatus") == "Assignable" and d["Expiration"] <= now:
            d["HITStatus"] = (
                "Unassignable" if d.get("NumberOfAssignmentsPending") else ("Reviewable")
            )
            rec.changed()
        if now >= rec.auto_at:
            work = MTurkState._assignments(rec)
            approved = assignments.auto_approve(work, now)
            rec.submitted -= approved
            d["NumberOfAssignmentsCompleted"] = d.get("NumberOfAssignmentsCompleted", 0) + approved
            rec.auto_at = min(
                (a["AutoApprovalTime"] for a in work if a["AssignmentStatus"] == "Submitted"),
                default=float("inf"),
            )
            rec.changed()

    @staticmethod
    def _assignments(rec: _Hit) -> list[dict[str, Any]]:
        """The HIT's Submitted/Approved/Rejected assignments (generated on first use)."""
        d = rec.data
        completed = d.get("NumberOfAssignmentsCompleted", 0)
        if rec.asg is None or len(rec.asg) != completed + rec.submitted:
            rec.asg = assignments.build(d, completed, rec.submitted, rec.t0)
        return rec.asg

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
    def op_get_hit(self, p: dict[str, Any]) -> bytes:
        with self.lock:
            rec = self._live_hit(p["HITId"], self.now())
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
            token = self._make_token("hits", seqs[-1]) if more and seqs else None
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
            return {"AvailableBalance": rules.money(self._balance), "OnHoldBalance": "0.00"}

    def op_create_hit(self, p: dict[str, Any]) -> bytes:
        op = "CreateHIT"
        with self.lock:
            now = self.now()
            self._check_token(op, p.get("UniqueRequestToken"), now)
            reward_text = p["Reward"]
            if not rules.is_valid_reward(reward_text):
                raise request_error(
                    f"The value {reward_text!r} is not a valid Reward.", now, PARAMETER_OUT_OF_RANGE
                )
            reward = Decimal(reward_text)
            max_a = p.get("MaxAssignments", 1)
            if not 1 <= max_a <= rules.MAX_ASSIGNMENTS:
                raise request_error(
                    f"The value {max_a} is invalid for MaxAssignments. Valid "
                    f"values range from 1 to {rules.MAX_ASSIGNMENTS}.",
                    now,
                    PARAMETER_OUT_OF_RANGE,
                )
            for name in ("LifetimeInSeconds", "AssignmentDurationInSeconds"):
                if not 30 <= p[name] <= 31_536_000:
                    raise request_error(
                        f"The value {p[name]} is invalid for {name}. Valid "
                        "values range from 30 to 31536000.",
                        now,
                        PARAMETER_OUT_OF_RANGE,
                    )
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
            if not p["Title"].strip():
                raise request_error("The Title must not be empty.", now, PARAMETER_OUT_OF_RANGE)
            cost = rules.cost_for(reward, max_a, max_a)
            if cost > self._balance:
                raise request_error(INSUFFICIENT_FUNDS_TEXT, now, INSUFFICIENT_FUNDS)
            fields: dict[str, Any] = {
                "Title": p["Title"],
                "Description": p["Description"],
                "Reward": rules.money(reward),
                "MaxAssignments": max_a,
                "AssignmentDurationInSeconds": p["AssignmentDurationInSeconds"],
                "AutoApprovalDelayInSeconds": p.get("AutoApprovalDelayInSeconds", 2592000),
                "Keywords": p.get("Keywords", ""),
                "CreationTime": now,
                "Expiration": now + p["LifetimeInSeconds"],
            }
            for name in ("Question", "RequesterAnnotation", "HITLayoutId"):
                if p.get(name) is not None:
                    fields[name] = p[name]
            if p.get("QualificationRequirements") is not None:
                fields["QualificationRequirements"] = clean(
                    "QualificationRequirementList", p["QualificationRequirements"]
                )
            hit_id = self._insert(fields)
            self._hits[hit_id].born = now
            self._balance -= cost
            self._remember_token(op, p.get("UniqueRequestToken"), now)
            return b'{"HIT":' + self._hits[hit_id].json() + b"}"

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
            try:
                reward = Decimal(d["Reward"])
            except InvalidOperation:
                reward = Decimal(0)
            after = d["MaxAssignments"] + n
            cost = rules.cost_for(reward, n, after)
            if cost > self._balance:
                raise request_error(INSUFFICIENT_FUNDS_TEXT, now, INSUFFICIENT_FUNDS)
            d["MaxAssignments"] = after
            d["NumberOfAssignmentsAvailable"] = d.get("NumberOfAssignmentsAvailable", 0) + n
            if d["Expiration"] > now and d.get("HITStatus") in ("Reviewable", "Unassignable"):
                d["HITStatus"] = "Assignable"
            rec.changed()
            self._balance -= cost
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
                if d.get("HITStatus") == "Assignable":
                    d["HITStatus"] = (
                        "Unassignable" if d.get("NumberOfAssignmentsPending") else "Reviewable"
                    )
            else:
                d["Expiration"] = at
                if (
                    d.get("HITStatus") in ("Reviewable", "Unassignable")
                    and d.get("NumberOfAssignmentsAvailable", 0) > 0
                ):
                    d["HITStatus"] = "Assignable"
            rec.changed()
            self._remember_token(op, token, now)
            return {}

    def op_delete_hit(self, p: dict[str, Any]) -> dict[str, Any]:
        with self.lock:
            now = self.now()
            rec = self._live_hit(p["HITId"], now)
            d = rec.data
            expired = d["Expiration"] <= now
            if (
                d.get("NumberOfAssignmentsPending", 0) > 0
                or rec.submitted > 0
                or not (expired or d.get("HITStatus") == "Reviewable")
            ):
                raise request_error(
                    f"This HIT is currently in the state '{d.get('HITStatus')}'. This operation "
                    "can be called with a status of: Reviewable",
                    now,
                    INVALID_HIT_STATE,
                )
            i = bisect.bisect_left(self._live, rec.seq)
            del self._live[i]
            d["HITStatus"] = "Disposed"
            rec.changed()
            return {}

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
            token = self._make_token(kind, start + size) if more else None
        out: dict[str, Any] = {"NumResults": len(page), "Assignments": page}
        if token:
            out["NextToken"] = token
        return out
