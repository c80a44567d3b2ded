"""Move a HIT's expiration later: UpdateExpirationForHIT with a future ExpireAt.

The operation has no token parameter: MTurk derives one from the HIT id and ExpireAt to the
second (Dallinger #3109; turktui/emulator/FIDELITY.md), so a retry sends the same ExpireAt
and a repeat is answered "already processed". Applied when GetHIT shows that expiration.
A time is only ever sent while it is still a valid move: 60 s to 365 days after the HIT's
expiration as read just before, and in the future by MTurk's clock (a past time is read by
MTurk as "expire now")."""

from __future__ import annotations

from datetime import datetime, timedelta

from turktui.domain.models import Hit
from turktui.domain.records import UPDATE_EXPIRATION, Record, State
from turktui.domain.rules import (
    MIN_EXPIRATION_INCREMENT,
    InputProblem,
    check_expiration,
    is_expire_now,
)
from turktui.domain.service import TurkService
from turktui.domain.text import one_line
from turktui.domain.timefmt import expires_label, iso
from turktui.pipeline.operations.base import (
    HitOperation,
    NotSent,
    Prepared,
    Read,
    Verdict,
    when,
)


class UpdateExpiration(HitOperation):
    name = UPDATE_EXPIRATION
    mturk_name = "UpdateExpirationForHIT"
    touches = frozenset({"expiration"})

    def problem(self, record: Record, hit: Hit, now: datetime) -> str | None:
        """Why `record.expire_at` may not be sent now (None: it may). `now` is MTurk's time
        when known."""
        assert record.expire_at is not None
        if record.expire_at <= now + timedelta(seconds=MIN_EXPIRATION_INCREMENT):
            return (
                f"the planned expiration {when(record.expire_at)} is no longer in the future "
                f'(it is now {when(now)}): MTurk would read it as "expire now"'
            )
        try:
            check_expiration(record.expire_at, hit.expiration, now)
        except InputProblem as exc:
            return str(exc).removesuffix(" Nothing was sent.")
        return None

    def prepare(self, record: Record, read: Read) -> Prepared | NotSent:
        why = self.problem(record, read.subject, read.server or read.local)
        if why is None:
            return Prepared()
        return NotSent(State.REFUSED, "expiration", f"{why} Nothing was sent.")

    def send(self, service: TurkService, record: Record) -> None:
        assert record.expire_at is not None
        service.update_expiration(record.hit_id, record.expire_at)

    def confirm(self, record: Record, read: Read, processed: bool) -> Verdict:
        hit: Hit = read.subject
        values = {"expiry_actual": hit.expiration}
        if _same(record.expire_at, hit.expiration):
            return Verdict(
                State.SUCCEEDED, f"Confirmed: the HIT expires {when(hit.expiration)}.", values
            )
        return Verdict(
            State.CONFLICT,
            f"{self.claimed(processed)}, but the HIT expires {when(hit.expiration)}, not "
            f"{when(record.expire_at)}. It is not recorded as a success; check the HIT.",
            values,
        )

    def replan(self, record: Record, read: Read) -> str | None:
        if _same(record.expire_at, read.subject.expiration):
            return None  # applied: a re-send is answered "already processed"
        if read.server is None:
            return "MTurk's time is unknown, so the time cannot be checked"
        return self.problem(record, read.subject, read.server)

    def compare(self, record: Record, read: Read) -> Verdict:
        hit: Hit = read.subject
        values = {"expiry_actual": hit.expiration}
        if _same(record.expire_at, hit.expiration):
            return Verdict(
                State.RESOLVED_SUCCEEDED,
                f"Settled by comparison: the HIT expires {when(hit.expiration)}, as asked, so "
                "it went through.",
                values,
            )
        return Verdict(
            State.RESOLVED_NOT_APPLIED,
            f"Settled by comparison: the HIT expires {when(hit.expiration)}, not "
            f"{when(record.expire_at)}, and no other request explains a change, so it was not "
            "applied.",
            values,
        )

    def what(self, record: Record) -> str:
        return f"expiration of HIT {record.hit_id} \u2192 {when(record.expire_at)}"

    def done(self, record: Record) -> str:
        return f"HIT {record.hit_id} now expires {when(record.expire_at)}."

    def disagree(self, record: Record) -> str:
        return f"expected {when(record.expire_at)}, actual {when(record.expiry_actual)}"

    def numbers(self, record: Record, read: Read) -> str:
        return (
            f"the HIT expires {when(read.subject.expiration)}; this request asked for "
            f"{when(record.expire_at)}"
        )


def _same(expected: datetime | None, actual: datetime | None) -> bool:
    return (
        expected is not None
        and actual is not None
        and int(expected.timestamp()) == int(actual.timestamp())
    )


OPERATION = UpdateExpiration()


# -- words before sending: the CLI and the app's confirmation say the same ------------------
def expiration_line(hit: Hit, expire_at: datetime, now: datetime) -> str:
    """The expiration part of a request, in one sentence."""
    if is_expire_now(expire_at):
        return "Then the HIT is expired now: workers can no longer accept it."
    return (
        f"Expiration {iso(hit.expiration)} \u2192 {iso(expire_at)} "
        f"({expires_label(expire_at, now)})."
    )


def confirmation(hit: Hit, expire_at: datetime, banner: str, now: datetime) -> list[str]:
    """What "add time" (no assignments) will do, before it is sent."""
    return [
        f"{banner}: add time to HIT {one_line(hit.hit_id)} (no assignments)",
        f"\u201c{one_line(hit.title, max_length=70)}\u201d",
        expiration_line(hit, expire_at, now),
        "Workers can accept the HIT until then: its open assignments may be spent.",
    ]
