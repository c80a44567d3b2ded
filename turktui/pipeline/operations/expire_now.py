"""Expire a HIT now: UpdateExpirationForHIT with a past ExpireAt (workers can no longer
accept it; work in progress is kept).

MTurk's implicit token for UpdateExpirationForHIT (HIT id + ExpireAt to the second) is
established for extensions (Dallinger #3109) and unknown for expire-now. The reading safe
under both: each expire-now request sends its own past time, derived from its token (a retry
sends the same one, so a lost answer is answered "already processed"; a second expire-now of
the same HIT, after a re-open, never repeats an earlier one's time). Without a token an
expire-now is idempotent anyway.

Confirmed only when MTurk's own answer shows the HIT no longer accepting work: its
Expiration not after MTurk's time (the `Date` of the same answer) and its status not
Assignable. No tolerance on the open side; without MTurk's time nothing is confirmed."""

from __future__ import annotations

import hashlib
from datetime import datetime, timedelta

from turktui.domain.models import Hit
from turktui.domain.records import EXPIRE_NOW, Record, State
from turktui.domain.rules import EXPIRE_NOW as EPOCH
from turktui.domain.service import TurkService
from turktui.domain.text import one_line
from turktui.domain.timefmt import expires_label, iso
from turktui.pipeline.operations.base import HitOperation, NotSent, Prepared, Read, Verdict, when

DATE_RESOLUTION = timedelta(seconds=1)
#: The past times expire-now requests send: within the first ten years after the epoch.
SPREAD = 10 * 365 * 86400


def wire_time(token: str) -> datetime:
    """The ExpireAt this request sends: the epoch plus 1 s to ten years, from its token."""
    digest = hashlib.sha256(token.encode("utf-8", "replace")).digest()
    return EPOCH + timedelta(seconds=1 + int.from_bytes(digest[:8], "big") % SPREAD)


def closed(hit: Hit, server_now: datetime | None) -> bool | None:
    """Does MTurk's answer show the HIT no longer accepting work? None: cannot tell (MTurk's
    time unknown)."""
    if hit.expiration is None or server_now is None:
        return None
    # `Date` has whole seconds (truncated): MTurk's time lies within the second after it.
    return hit.expiration < server_now + DATE_RESOLUTION and hit.status != "Assignable"


def already_expired(hit: Hit, server_now: datetime | None) -> bool:
    """ "Already expired, nothing to send": only when MTurk's clock says so (in doubt: send,
    it is idempotent)."""
    return closed(hit, server_now) is True


class ExpireNow(HitOperation):
    name = EXPIRE_NOW
    mturk_name = "UpdateExpirationForHIT"
    touches = frozenset({"expiration"})

    def prepare(self, record: Record, read: Read) -> Prepared | NotSent:
        hit: Hit = read.subject
        if already_expired(hit, read.server):  # by MTurk's clock; in doubt: send
            return NotSent(
                State.REFUSED,
                "nothing_to_do",
                f"the HIT already expired {when(hit.expiration)} by MTurk's clock "
                f"({when(read.server)}); nothing was sent",
            )
        return Prepared()  # a valid request (idempotent)

    def send(self, service: TurkService, record: Record) -> None:
        service.update_expiration(record.hit_id, wire_time(record.token))

    def confirm(self, record: Record, read: Read, processed: bool) -> Verdict:
        hit: Hit = read.subject
        values = {"expiry_actual": hit.expiration}
        shut = closed(hit, read.server)
        if shut:
            return Verdict(
                State.SUCCEEDED, f"Confirmed: the HIT expires {when(hit.expiration)}.", values
            )
        if shut is None:
            return Verdict(
                State.UNKNOWN,
                f"{self.claimed(processed)}, but MTurk's answer carried no time, so whether the "
                "HIT still accepts work cannot be confirmed; resolve will check again.",
                values,
            )
        return Verdict(
            State.CONFLICT,
            f"{self.claimed(processed)}, but the HIT expires {when(hit.expiration)} and is "
            f"{hit.status or 'open'}: workers can still accept it. It is not recorded as a "
            "success; check the HIT.",
            values,
        )

    def replan(self, record: Record, read: Read) -> str | None:
        return None  # expiring now is never stale

    def compare(self, record: Record, read: Read) -> Verdict:
        hit: Hit = read.subject
        values = {"expiry_actual": hit.expiration}
        shut = closed(hit, read.server)
        if shut:
            return Verdict(
                State.RESOLVED_SUCCEEDED,
                f"Settled by comparison: the HIT expired {when(hit.expiration)} by MTurk's "
                "clock and accepts no work, so it went through.",
                values,
            )
        if shut is None:
            return Verdict(
                State.UNKNOWN,
                "Cannot tell: MTurk's time was not in its answer, so whether the HIT still "
                "accepts work is unknown.",
                values,
            )
        return Verdict(
            State.RESOLVED_NOT_APPLIED,
            f"Settled by comparison: the HIT still accepts work (it expires "
            f"{when(hit.expiration)}), so it was not applied.",
            values,
        )

    def what(self, record: Record) -> str:
        return f"expire HIT {record.hit_id} now"

    def done(self, record: Record) -> str:
        return (
            f"Expired HIT {record.hit_id}: workers can no longer accept it; work in progress "
            "is kept."
        )

    def disagree(self, record: Record) -> str:
        return f"expected expired now, actual {when(record.expiry_actual)}"

    def numbers(self, record: Record, read: Read) -> str:
        return (
            f"the HIT expires {when(read.subject.expiration)}; this request asked to expire it now"
        )


OPERATION = ExpireNow()


# -- words before sending: the CLI and the app's confirmation say the same ------------------
def confirmation(hits: list[Hit], banner: str, now: datetime, reopen: str = "") -> list[str]:
    """What expiring `hits` now will do, before it is sent. `reopen`: how to add time later
    (the app names its key)."""
    kept = "Work in progress is kept: assignments already accepted"
    if len(hits) != 1:
        names = ", ".join(one_line(h.hit_id) for h in hits[:3])
        more = f" and {len(hits) - 3:,} more" if len(hits) > 3 else ""
        return [
            f"{banner}: expire {len(hits):,} HITs now: {names}{more}",
            f"Workers can no longer accept them. {kept} can still be submitted.",
        ]
    hit = hits[0]
    return [
        f"{banner}: expire HIT {one_line(hit.hit_id)}",
        f"\u201c{one_line(hit.title, max_length=120)}\u201d",
        f"It expires {iso(hit.expiration)} ({expires_label(hit.expiration, now)}); after "
        "this it is expired now.",
        "",
        f"Workers can no longer accept it. {kept} ({hit.pending:,} pending) can still be "
        "submitted.",
        f"Recorded in the history before it is sent; add time later{reopen} to reopen it.",
    ]
