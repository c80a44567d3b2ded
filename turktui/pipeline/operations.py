"""Token-protected operations: what the pipeline needs to know about each one.

A token-protected operation is one small class implementing `Operation`:

* `send(service, record)`: send it with its idempotency token (a retry reuses it);
* `confirmed(record, hit, server_now)`: what GetHIT must show afterwards to call it applied
  (a 200, an "already processed" and a re-send are questions that GetHIT answers);
* `answer(error)`: how MTurk's answer maps to the pipeline's words: "applied" ("this token
  was already processed": an earlier attempt went through), "refused" (MTurk said no:
  nothing changed) or "error" (transport/service trouble: retry with the same token while
  it is transient; the outcome may be unknown).

Today: `ADD_ASSIGNMENTS` (CreateAdditionalAssignmentsForHIT, the record's UniqueRequestToken)
and `UPDATE_EXPIRATION` (UpdateExpirationForHIT: no token parameter; MTurk derives one from
the HIT id and ExpireAt to the second, see turktui/emulator/FIDELITY.md). The history keeps
one record per intent (the assignments) with an optional expiration tail; a new operation
(e.g. bonuses) adds a class here and a place in the record for its outcome. Pure: no I/O
except through the duck-typed `service` given to `send`.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any, Literal, Protocol

from turktui.domain.errors import RequestRefused, TokenAlreadyProcessed, TurkError
from turktui.domain.models import Hit
from turktui.domain.records import Record
from turktui.domain.rules import expiration_matches

Answer = Literal["applied", "refused", "error"]

#: "Expire now" is confirmed when the HIT's Expiration is not after MTurk's time; without
#: MTurk's `Date`, the local clock plus this tolerance stands in.
EXPIRE_NOW_TOLERANCE = timedelta(minutes=10)


class Operation(Protocol):
    """One token-protected MTurk operation."""

    name: str

    def send(self, service: Any, record: Record) -> None: ...

    def confirmed(self, record: Record, hit: Hit, server_now: datetime) -> bool: ...

    def answer(self, error: TurkError) -> Answer: ...


class _Base:
    name = ""

    def answer(self, error: TurkError) -> Answer:
        if isinstance(error, TokenAlreadyProcessed):
            return "applied"
        if isinstance(error, RequestRefused):
            return "refused"
        return "error"


class AddAssignments(_Base):
    """CreateAdditionalAssignmentsForHIT with the record's UniqueRequestToken; applied when
    MaxAssignments is the one the record expected."""

    name = "CreateAdditionalAssignmentsForHIT"

    def send(self, service: Any, record: Record) -> None:
        service.create_additional_assignments(record.hit_id, record.n, record.token)

    def confirmed(self, record: Record, hit: Hit, server_now: datetime) -> bool:
        return hit.max_assignments == record.expected_after


class UpdateExpiration(_Base):
    """UpdateExpirationForHIT (MTurk's implicit token: HIT id + ExpireAt); applied when the
    HIT's Expiration is the one asked for ("expire now": not after MTurk's time)."""

    name = "UpdateExpirationForHIT"

    def send(self, service: Any, record: Record) -> None:
        assert record.expire_at is not None
        service.update_expiration(record.hit_id, record.expire_at)

    def confirmed(self, record: Record, hit: Hit, server_now: datetime) -> bool:
        assert record.expire_at is not None
        return expiration_matches(
            record.expire_at, hit.expiration, server_now + EXPIRE_NOW_TOLERANCE
        )


ADD_ASSIGNMENTS = AddAssignments()
UPDATE_EXPIRATION = UpdateExpiration()
