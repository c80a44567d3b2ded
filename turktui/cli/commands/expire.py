"""`turktui expire HIT…`: stop workers from accepting HITs now (work in progress is kept).

Each HIT is one recorded request (the expire_now operation), sent as UpdateExpirationForHIT
with a past ExpireAt of its own (turktui.pipeline.operations.expire_now), retried with the
same ExpireAt and confirmed with GetHIT and MTurk's time."""

from __future__ import annotations

import argparse
from typing import Any

from turktui.cli.options import add_sending_options
from turktui.cli.output import Out, PerHit, record_line, refuse_bad_hit_ids, safe
from turktui.cli.prompts import confirm_expire
from turktui.cli.session import Session, run
from turktui.domain.timefmt import iso
from turktui.pipeline.policy import (
    EXIT_CODES,
    EXIT_OK,
    EXIT_REFUSED,
    EXIT_USAGE,
    worst,
)

EXPIRE_EPILOG = (
    EXIT_CODES
    + """
Expiring a HIT stops workers from accepting it; work already accepted can still be
submitted. It is asked for on every environment but --demo (pass --yes in scripts). Each HIT
is recorded in the history before anything is sent (one record each, shown as "expire"), and
sent as UpdateExpirationForHIT with a past time of its own, so the local clock does not
matter; a retry sends the same time, which MTurk treats as the same request. It counts as done
only when MTurk's answer shows the HIT no longer accepting work. A HIT that has already expired
by MTurk's clock is left alone (nothing sent); when in doubt it is sent. With several HITs the
worst outcome wins.
"""
)


def register(sub: argparse._SubParsersAction) -> None:
    parser = sub.add_parser(
        "expire",
        help="expire HITs now (recorded; workers can no longer accept them)",
        description="Expire one or more HITs now.",
        epilog=EXPIRE_EPILOG,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument("hit_ids", metavar="HIT_ID", nargs="+", help="the HITs to expire")
    add_sending_options(parser)
    parser.set_defaults(handler=cmd_expire)


def cmd_expire(args: argparse.Namespace) -> int:
    from turktui.domain.rules import EXPIRE_NOW
    from turktui.pipeline.operations.expire_now import already_expired, confirmation

    out = Out(args.json)
    hit_ids = list(dict.fromkeys(h.strip() for h in args.hit_ids if h.strip()))
    if not hit_ids:
        return out.result(EXIT_USAGE, {"state": "usage"}, "turktui: give at least one HIT_ID")
    refused = refuse_bad_hit_ids(out, hit_ids, {"state": "usage"})
    if refused is not None:
        return refused
    per_hit = PerHit(out)
    results, codes, done = per_hit.results, per_hit.codes, per_hit.done

    def body(session: Session) -> int:
        env, service, engine = session.env, session.service(), session.engine()
        plans = []
        for hit in per_hit.read_hits(service, hit_ids):
            hit_id = hit.hit_id
            dated = getattr(service, "server_date", None)  # MTurk's time of that answer
            server_now = dated() if callable(dated) else None
            if already_expired(hit, server_now):
                done(
                    hit_id,
                    EXIT_OK,
                    "already_expired",
                    f"already expired ({iso(hit.expiration)}); nothing was sent",
                )
                continue
            busy = engine.history.unsettled_for(env.endpoint_url, [hit.hit_id])
            if busy:
                for other in busy:
                    out.info(
                        f"HIT {safe(hit.hit_id)} has an unsettled request: {record_line(other)}"
                    )
                done(
                    hit_id,
                    EXIT_REFUSED,
                    "refused",
                    f"refused (nothing sent): it has an unsettled request (#{busy[0].id});"
                    " run `turktui resolve` first",
                    error_code="busy",
                )
                continue
            plan = per_hit.plan(engine, hit, 0, EXPIRE_NOW)
            if plan is not None:
                plans.append(plan)
        if plans:
            for line in confirmation([p.hit for p in plans], env.kind.banner, engine.clock()):
                out.info(line)
            declined = confirm_expire(
                env, f"Expire {len(plans)} HIT{'s' if len(plans) != 1 else ''} now", args.yes
            )
            if declined is not None:
                return out.result(
                    declined.code, {"state": declined.state, "results": results}, declined.message
                )
        per_hit.send(engine, plans, lambda outcome: {"expiration": _expiration(outcome)})
        ok = sum(1 for c in codes if c == EXIT_OK)
        summary = f"turktui: {ok} of {len(hit_ids)} HIT{'s' if len(hit_ids) != 1 else ''} expired"
        return out.result(worst(codes), {"results": results}, summary)

    return run(args, body, payload={"results": results}, changing=True)


def _expiration(outcome: Any) -> str | None:
    """The HIT's expiration as read after the request (ISO 8601), or None."""
    expiration = outcome.hit.expiration if outcome.hit else None
    return expiration.isoformat() if expiration else None
