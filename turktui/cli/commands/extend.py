"""`turktui extend HIT_ID N`: one HIT (several HITs: `extend_bulk`). Shares the app's
connection options and history file, so a request made here shows in the app's history."""

from __future__ import annotations

import argparse
from collections.abc import Callable
from datetime import datetime, timedelta
from typing import Any

from turktui.cli.bulk_options import BULK_EPILOG, add_bulk_options, is_bulk
from turktui.cli.options import add_sending_options
from turktui.cli.output import Out, record_line, refuse_bad_hit_ids, safe
from turktui.cli.prompts import confirm_expire, confirm_spend
from turktui.cli.session import Session, run
from turktui.domain.errors import TurkError
from turktui.domain.records import holder
from turktui.pipeline.operations import confirmation
from turktui.pipeline.policy import (
    EXIT_CODES,
    EXIT_REFUSED,
    EXIT_UNKNOWN,
    EXIT_USAGE,
    outcome_exit_code,
)

EXTEND_EPILOG = (
    EXIT_CODES
    + """
The request is recorded in the history before it is sent, and every retry reuses the same
UniqueRequestToken, so MTurk applies it at most once. --token lets a script re-run the same
intent safely within MTurk's 24-hour token window. One request per HIT at a time: a HIT
with an unsettled request in the history is refused (exit 3) unless --allow-second. The
HIT is read again just before sending: the record holds the MaxAssignments read then.
Expiration follows MTurk's rules: never earlier than the current one, 60 s to 365 days
later. --add-time DURATION adds DURATION to the current expiration (from now for an expired
HIT); --expire-in DURATION sets it DURATION from now; `--expire-in now` expires the HIT now.
Without N only the expiration changes (`turktui extend HIT --add-time 2d`): one record,
shown as "time" in the history. With N, the assignments are added first, then the
expiration: two records (one group), each recorded before it is sent and settled on its
own; the time is sent only after the assignments went through.
"""
)


def register(
    sub: argparse._SubParsersAction, bulk: Callable[[argparse.Namespace], int] | None = None
) -> None:
    """`bulk`: the handler for several HITs (cli.commands wires extend_bulk's in)."""
    fmt = argparse.RawDescriptionHelpFormatter
    extend = sub.add_parser(
        "extend",
        help="add assignments to a HIT (token-protected, recorded)",
        description="Add N assignments and/or time to a HIT, or to several HITs at once "
        "(bulk), recorded and token-protected.",
        epilog=EXTEND_EPILOG,
        formatter_class=fmt,
    )
    # `HIT_ID N` (one HIT), or several HIT ids with a bulk mode (turktui.cli.commands.extend_bulk).
    extend.add_argument(
        "hit_id",
        metavar="HIT_ID",
        nargs="*",
        help="HIT_ID [N]: add N to one HIT (without N: --add-time or "
        "--expire-in only); several HIT ids: see the bulk modes",
    )
    add_bulk_options(extend)
    extend.epilog = EXTEND_EPILOG + BULK_EPILOG
    extend.add_argument(
        "--token",
        metavar="T",
        help="UniqueRequestToken to use (default: a new one); ≤ 64 characters",
    )
    extend.add_argument(
        "--expire-in",
        metavar="DURATION",
        help="also set the HIT to expire DURATION from now (e.g. 6h, 2d; 'now' expires it now)",
    )
    extend.add_argument(
        "--add-time",
        metavar="DURATION",
        help="also add DURATION to the HIT's expiration (from now if it has "
        "expired), e.g. 12h, 2d; 60 s to 365 d",
    )
    extend.add_argument(
        "--allow-second",
        action="store_true",
        help="send even though the HIT already has an unsettled request in "
        "the history (it is shown first)",
    )
    add_sending_options(extend)

    def handler(args: argparse.Namespace) -> int:
        if bulk is not None and is_bulk(args):
            return bulk(args)
        return cmd_extend(args)

    extend.set_defaults(handler=handler)


def cmd_extend(args: argparse.Namespace) -> int:
    """One HIT: what was typed is checked here (exit 2, nothing opened); the rules (+N, the
    ranges, the HIT's age, the time) are the engine's plan's, whose verdict is shown."""
    from turktui.domain.rules import EXPIRE_NOW, InputProblem, add_time, parse_count
    from turktui.domain.timefmt import parse_duration
    from turktui.pipeline.engine import check_token

    out = Out(args.json)
    if args.add_time and args.expire_in:
        return out.result(
            EXIT_USAGE, {"state": "usage"}, "turktui: give --add-time or --expire-in, not both"
        )
    time_only = len(args.hit_id or []) == 1 and bool(args.add_time or args.expire_in)
    if len(args.hit_id or []) != 2 and not time_only:
        return out.result(
            EXIT_USAGE,
            {"state": "usage"},
            "turktui: give HIT_ID N for one HIT (HIT_ID alone with --add-time or "
            "--expire-in), or several HIT ids with --add N, --top-up-to T or "
            "--top-up-to-nine",
        )
    hit_id, count = (args.hit_id[0], "") if time_only else args.hit_id
    base: dict[str, Any] = {"hit_id": hit_id}
    usage = {**base, "state": "usage"}
    refused = refuse_bad_hit_ids(out, [hit_id], usage)
    if refused is not None:
        return refused
    expire_now = (args.expire_in or "").strip().lower() == "now"
    try:
        n = parse_count(count) if not time_only else 0
    except InputProblem as exc:
        return out.result(EXIT_USAGE, usage, f"turktui: N: {exc}")
    seconds: dict[str, float] = {}
    for option, text in (("--add-time", args.add_time), ("--expire-in", args.expire_in)):
        if text and not (option == "--expire-in" and expire_now):
            try:
                seconds[option] = parse_duration(text)
            except ValueError as exc:
                return out.result(EXIT_USAGE, usage, f"turktui: {option}: {exc}")
    if args.token is not None:
        try:
            check_token(args.token)
        except InputProblem as exc:
            return out.result(EXIT_USAGE, usage, f"turktui: --token: {exc}")

    def body(session: Session) -> int:
        env, engine = session.env, session.engine()
        try:
            hit = session.service().get_hit(hit_id)
        except TurkError as exc:
            return session.fail(exc, "read the HIT")
        session.payload.update(max_before=hit.max_assignments, n=n)
        now = engine.clock()
        expire_at: datetime | None = EXPIRE_NOW if expire_now else None
        if "--expire-in" in seconds:
            expire_at = now + timedelta(seconds=seconds["--expire-in"])
        if "--add-time" in seconds:
            expire_at = add_time(hit.expiration, seconds["--add-time"], now)
        # The plan's verdict (the rules, the ranges, the time) before anything else.
        plan = engine.plan(hit, n, expire_at, token=args.token, allow_second=args.allow_second)
        # Shown before asking; the one guard is the history's, when recording. A record with
        # this request's own token is this request: the engine settles it (a script's re-run).
        busy = [
            r
            for r in session.history().unsettled_for(env.endpoint_url, [hit.hit_id])
            if r.token != plan.token
        ]
        for other in busy:
            out.info(
                f"HIT {safe(hit.hit_id)} already has an unsettled request: "
                f"{record_line(other)} ({safe(holder(other))})"
            )
        if busy and not args.allow_second:
            return out.result(
                EXIT_REFUSED,
                {
                    **session.payload,
                    "state": "refused",
                    "error_code": "busy",
                    "unsettled": [r.id for r in busy],
                },
                f"turktui: refused (nothing sent): HIT {safe(hit.hit_id)} has "
                f"{len(busy)} unsettled request(s) (#{busy[0].id}). One request per HIT "
                "at a time: run `turktui resolve`, or pass --allow-second to send anyway.",
            )
        for line in confirmation(plan, env.kind.banner, now, real=env.needs_confirmation):
            out.info(line)
        declined = (
            confirm_expire(env, "Expire the HIT now", args.yes)
            if expire_now and not n
            else confirm_spend(env, "Send this request", args.yes)
        )
        if declined is not None:
            return out.result(declined.code, {**base, "state": declined.state}, declined.message)

        def progress(event: Any) -> None:
            if event.kind in ("retry", "expiration") or (
                event.kind == "attempt" and event.attempt > 1
            ):
                out.info(f"  {safe(event.message)}")

        outcome = engine.execute(plan, progress)
        return out.result(outcome_exit_code(outcome), *_result(outcome, plan))

    return run(args, body, payload=base, changing=True)


def _result(outcome: Any, plan: Any) -> tuple[dict[str, Any], str]:
    """The JSON payload and the last line of a request that was sent (or settled)."""
    from turktui.domain.records import record_to_json

    record = outcome.record
    payload = record_to_json(record)
    payload["record_id"] = payload.pop("id")
    if outcome.more:  # the time part: its own record, shown with the assignments
        part = outcome.more[-1].record
        payload["parts"] = [record_to_json(o.record) for o in outcome.more]
        payload["expire_at"] = record_to_json(part)["expire_at"]
        payload["expiry_state"] = "succeeded" if part.state.applied else part.state.value
        payload["change"] = f"{record.change_label} +{part.change_label.lstrip('+')}"
    payload["max_after"] = outcome.hit.max_assignments if outcome.hit else None
    payload["cost"] = str(plan.cost.total) if plan.cost else None
    message = safe(outcome.message)
    if outcome_exit_code(outcome) == EXIT_UNKNOWN:
        message += " Run `turktui resolve` to settle it."
    return payload, message
