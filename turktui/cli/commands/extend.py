"""`turktui extend HIT_ID N`: one HIT (several HITs: `extend_bulk`). Shares the app's
connection options and history file, so a request made here shows in the app's history."""

from __future__ import annotations

import argparse
from collections.abc import Callable
from datetime import timedelta
from typing import Any

from turktui.cli.bulk_options import BULK_EPILOG, add_bulk_options, is_bulk
from turktui.cli.options import add_connection_options
from turktui.cli.output import Out, history_exit_code, record_line, refuse_bad_hit_ids, safe
from turktui.cli.prompts import confirm_expire, confirm_spend
from turktui.cli.session import (
    open_connection,
    open_history_of,
    refuse_read_only,
)
from turktui.pipeline.policy import (
    EXIT_CODES,
    EXIT_REFUSED,
    EXIT_SERVICE,
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
    extend.add_argument("--yes", "-y", action="store_true", help="do not ask for confirmation")
    extend.add_argument("--json", action="store_true", help="print one JSON object")
    add_connection_options(extend, suppress=True)

    def handler(args: argparse.Namespace) -> int:
        if bulk is not None and is_bulk(args):
            return bulk(args)
        return cmd_extend(args)

    extend.set_defaults(handler=handler)


def cmd_extend(args: argparse.Namespace) -> int:
    from turktui.adapters.history import HistoryError, OutcomeNotRecorded
    from turktui.domain.errors import (
        AccessDenied,
        ConfigurationError,
        CredentialsExpired,
        CredentialsMissing,
        HitNotFound,
        RequestRefused,
        TurkError,
    )
    from turktui.domain.records import holder, record_to_json
    from turktui.domain.rules import (
        EXPIRE_NOW,
        InputProblem,
        add_time,
        extension_range,
        parse_count,
        range_text,
    )
    from turktui.domain.timefmt import expires_label, iso, parse_duration
    from turktui.pipeline.engine import (
        Engine,
        PlanRefused,
        check_token,
        estimated_cost_text,
    )

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
    args.hit_id, args.n = (args.hit_id[0], "0") if time_only else args.hit_id
    base = {"hit_id": args.hit_id}
    refused = refuse_bad_hit_ids(out, [args.hit_id], {**base, "state": "usage"})
    if refused is not None:
        return refused
    n = 0
    if not time_only:
        try:
            n = parse_count(args.n)
        except InputProblem as exc:
            return out.result(EXIT_USAGE, {**base, "state": "usage"}, f"turktui: N: {exc}")
    add_seconds = None
    if args.add_time:
        try:
            add_seconds = parse_duration(args.add_time)
        except ValueError as exc:
            return out.result(EXIT_USAGE, {**base, "state": "usage"}, f"turktui: --add-time: {exc}")
    if args.token is not None:
        try:
            check_token(args.token)
        except InputProblem as exc:
            return out.result(EXIT_USAGE, {**base, "state": "usage"}, f"turktui: --token: {exc}")
    expire_seconds = None
    expire_now = (args.expire_in or "").strip().lower() == "now"
    if args.expire_in and not expire_now:
        try:
            expire_seconds = parse_duration(args.expire_in)
        except ValueError as exc:
            return out.result(
                EXIT_USAGE, {**base, "state": "usage"}, f"turktui: --expire-in: {exc}"
            )
    conn = open_connection(args)
    try:
        env = conn.env
        refused = refuse_read_only(conn, out, {**base, "state": "usage"})
        if refused is not None:
            return refused
        service = conn.service()
        try:
            hit = service.get_hit(args.hit_id)
        except HitNotFound as exc:
            return out.result(
                EXIT_REFUSED,
                {**base, "state": "refused", "error_code": exc.code},
                f"turktui: refused: {safe(exc.message)}",
            )
        except (ConfigurationError, CredentialsMissing, CredentialsExpired, AccessDenied) as exc:
            # Credentials/setup problems are the operator's to fix (exit 2), not outages.
            hint = f"\nturktui: hint: {exc.hint}" if exc.hint else ""
            return out.result(
                EXIT_USAGE, {**base, "state": "usage"}, f"turktui: {safe(exc.message)}{hint}"
            )
        except TurkError as exc:
            return out.result(
                EXIT_SERVICE,
                {**base, "state": "failed"},
                f"turktui: cannot read the HIT: {safe(exc.message)}",
            )
        rng = extension_range(hit.max_assignments, hit.created)
        if n and not rng.allows(n):
            text = (
                range_text(rng)
                if not rng.extendable
                else f"at most {rng.high:,} can be added: {rng.reason}"
            )
            return out.result(
                EXIT_REFUSED,
                {
                    **base,
                    "state": "refused",
                    "error_code": "rules",
                    "max_before": hit.max_assignments,
                    "n": n,
                },
                f"turktui: refused (nothing sent): {safe(text)}",
            )
        try:
            history = open_history_of(conn)
        except HistoryError as exc:
            return out.history_failure(exc, {**base, "state": "usage"})
        try:
            engine = Engine(service, history, env)
            expire_at = (
                engine.clock() + timedelta(seconds=expire_seconds)
                if expire_seconds
                else EXPIRE_NOW
                if expire_now
                else None
            )
            if add_seconds:
                expire_at = add_time(hit.expiration, add_seconds, engine.clock())
            busy = history.unsettled_for(env.endpoint_url, [hit.hit_id])
            for other in busy:
                out.info(
                    f"HIT {safe(hit.hit_id)} already has an unsettled request: "
                    f"{record_line(other)} ({safe(holder(other))})"
                )
            if busy and not args.allow_second:
                return out.result(
                    EXIT_REFUSED,
                    {
                        **base,
                        "state": "refused",
                        "error_code": "busy",
                        "unsettled": [r.id for r in busy],
                    },
                    f"turktui: refused (nothing sent): HIT {safe(hit.hit_id)} has "
                    f"{len(busy)} unsettled request(s) (#{busy[0].id}). One request per HIT "
                    "at a time: run `turktui resolve`, or pass --allow-second to send anyway.",
                )
            try:
                plan = engine.plan(
                    hit, n, expire_at, token=args.token, allow_second=bool(args.allow_second)
                )
            except PlanRefused as exc:
                return out.result(
                    EXIT_REFUSED,
                    {**base, "state": "refused", "error_code": exc.code},
                    f"turktui: refused (nothing sent): {safe(exc.message)}",
                )
            if n:
                summary = (
                    f"{env.kind.banner}: add {n:,} assignment{'s' if n != 1 else ''} to HIT "
                    f"{safe(hit.hit_id)} \u201c{safe(hit.title)}\u201d: max "
                    f"{hit.max_assignments:,} \u2192 {plan.new_max:,}; cost "
                    f"{estimated_cost_text(plan)}"
                )
            else:
                summary = (
                    f"{env.kind.banner}: HIT {safe(hit.hit_id)} "
                    f"\u201c{safe(hit.title)}\u201d: no assignments added"
                )
            if plan.expire_at is not None:
                summary += (
                    "; expire it now"
                    if expire_now
                    else f"; expiration {iso(hit.expiration)} \u2192 {iso(plan.expire_at)} "
                    f"({expires_label(plan.expire_at, engine.clock())})"
                )
            if n and hit.is_expired(engine.clock()) and expire_at is None:
                summary += " (the HIT has expired: added assignments will not reopen it)"
            out.info(summary)
            declined = (
                confirm_expire(env, "Expire the HIT now", args.yes)
                if expire_now and not n
                else confirm_spend(env, "Send this request", args.yes)
            )
            if declined is not None:
                return out.result(
                    declined.code, {**base, "state": declined.state}, declined.message
                )

            def progress(event: Any) -> None:
                if event.kind in ("retry", "expiration") or (
                    event.kind == "attempt" and event.attempt > 1
                ):
                    out.info(f"  {safe(event.message)}")

            try:
                outcome = engine.execute(plan, progress)
            except PlanRefused as exc:  # another request took the HIT meanwhile, a token...
                return out.result(
                    EXIT_REFUSED,
                    {**base, "state": "refused", "error_code": exc.code},
                    f"turktui: refused (nothing sent): {safe(exc.message)}",
                )
            except OutcomeNotRecorded as exc:
                code = EXIT_UNKNOWN if exc.maybe_sent else EXIT_SERVICE
                return out.result(
                    code,
                    {
                        **base,
                        "state": "unknown" if exc.maybe_sent else "failed",
                        "record_id": exc.record_id,
                    },
                    f"turktui: {safe(exc)}",
                )
            except HistoryError as exc:  # before sending: nothing was sent
                return out.result(
                    history_exit_code(exc, EXIT_SERVICE),
                    {**base, "state": "failed"},
                    f"turktui: not sent: {safe(exc)}",
                )
        finally:
            history.close()
        record = outcome.record
        code = outcome_exit_code(outcome)
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
        if code == EXIT_UNKNOWN:
            message += " Run `turktui resolve` to settle it."
        return out.result(code, payload, message)
    except RequestRefused as exc:  # pragma: no cover - defensive
        return out.result(EXIT_REFUSED, {**base, "state": "refused"}, safe(exc.message))
    finally:
        conn.close()
