"""`turktui bonus ASSIGNMENT_ID AMOUNT --reason TEXT`: pay a bonus exactly once (the bonus
operation: one token per intent, recorded before sending, settled by ListBonusPayments).

Before anything is recorded: the amount (MTurk's pattern, above zero), the reason, the
assignment (its worker is looked up), earlier bonuses for it (one intent per assignment and
worker unless --allow-second), and the balance for amount + fee; then a preview (amount, fee,
total) and, on production, a confirmation."""

from __future__ import annotations

import argparse
from collections.abc import Callable
from typing import Any

from turktui.cli.options import add_sending_options
from turktui.cli.output import Out
from turktui.pipeline.policy import EXIT_CODES

BONUS_EPILOG = (
    EXIT_CODES
    + """
A bonus is recorded in the history before it is sent, with one token (--token T names it
yourself; a re-run with the same token settles that request instead of paying again). The
Reason sent ends with a short reference derived from the token ("[tt:1a2b3c4d]"): after a lost
answer, a 5xx, "already processed" or a crash, ListBonusPayments (every page) decides whether
it was paid — it is never paid twice on a guess, and never re-sent once MTurk's 24-hour token
window has passed. A worker who already has a bonus for the assignment gets another only with
--allow-second. MTurk's fee: 20% of the amount, at least $0.01.
"""
)


def register(
    sub: argparse._SubParsersAction, from_file: Callable[[argparse.Namespace], int] | None = None
) -> None:
    """`from_file`: the handler of `--csv FILE` (cli.commands wires bonus_file's in)."""
    parser = sub.add_parser(
        "bonus",
        help="pay a bonus for an assignment, exactly once (recorded; verified on MTurk)",
        description="Pay a bonus to the worker of an assignment.",
        epilog=BONUS_EPILOG,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument("assignment_id", metavar="ASSIGNMENT_ID", nargs="?", help="the assignment")
    parser.add_argument(
        "amount", metavar="AMOUNT", nargs="?", help="dollars, at most 2 decimals (1.50)"
    )
    parser.add_argument("--reason", metavar="TEXT", help="why (the worker reads it; required)")
    parser.add_argument(
        "--csv",
        metavar="FILE",
        help="pay the bonuses of FILE (columns assignment_id, amount, reason; optional "
        "worker_id, checked against the assignment's worker)",
    )
    parser.add_argument(
        "--send-valid",
        action="store_true",
        help="with --csv: pay the valid rows although others have errors",
    )
    parser.add_argument("--token", metavar="T", help="the request's token (default: a new one)")
    parser.add_argument(
        "--allow-second",
        action="store_true",
        help="pay although the worker already has a bonus for this assignment",
    )
    add_sending_options(parser)
    parser.set_defaults(handler=lambda args: cmd_bonus(args, from_file))


def cmd_bonus(
    args: argparse.Namespace, from_file: Callable[[argparse.Namespace], int] | None = None
) -> int:
    from turktui.cli.output import PerHit, safe
    from turktui.cli.prompts import confirm_spend
    from turktui.cli.session import Session, run
    from turktui.domain.errors import TurkError
    from turktui.domain.rules import (
        InputProblem,
        bonus_fee,
        check_bonus_amount,
        check_feedback,
        check_hit_id,
    )
    from turktui.pipeline.model import PlanRefused
    from turktui.pipeline.operations import BONUS
    from turktui.pipeline.operations.bonus import bonus_subject
    from turktui.pipeline.policy import (
        EXIT_OK,
        EXIT_REFUSED,
        EXIT_USAGE,
        worst,
    )
    from turktui.pipeline.reviewing import pay_bonus, quote_bonus

    out = Out(args.json)
    usage: dict[str, Any] = {"state": "usage"}
    if args.csv is not None:
        if args.assignment_id or args.amount or args.reason or args.token:
            return out.result(
                EXIT_USAGE,
                usage,
                "turktui: --csv FILE takes no ASSIGNMENT_ID, AMOUNT, --reason or --token",
            )
        assert from_file is not None, "cli.commands wires bonus_file's handler in"
        return from_file(args)
    if not args.assignment_id or not args.amount:
        return out.result(
            EXIT_USAGE, usage, "turktui: give ASSIGNMENT_ID AMOUNT --reason TEXT, or --csv FILE"
        )
    aid = args.assignment_id.strip()
    try:
        check_hit_id(aid, "assignment id")
        amount = check_bonus_amount(args.amount)
        reason = check_feedback(args.reason, required=True, what="reason", why="say what it is for")
        if args.token is not None and not 1 <= len(args.token) <= 64:
            raise InputProblem("--token must be 1 to 64 characters (MTurk's UniqueRequestToken)")
    except InputProblem as exc:
        return out.result(EXIT_USAGE, usage, f"turktui: {exc}; nothing was sent")
    fee = bonus_fee(amount)
    results = PerHit(out, key="assignment_id")

    def body(session: Session) -> int:
        engine, service, env = session.engine(), session.service(), session.env
        history = engine.history
        prior = next(
            (
                r
                for r in history.find_by_token(args.token or "")
                if r.endpoint == env.endpoint_url and r.subject == bonus_subject(aid)
            ),
            None,
        )
        if prior is not None:
            out.info(f"request #{prior.id} has this token: settling it (never paying twice)")
            if not prior.settled:
                engine.dispatch([prior])
            final = history.get(prior.id)
        else:
            try:
                quote = quote_bonus(service, history, env.endpoint_url, aid, amount)
            except TurkError as exc:
                results.failed(aid, exc, "read the assignment, its bonuses or the balance")
                return out.result(worst(results.codes), {"results": results.results}, "")
            refusal, code = (
                (f"{quote.second}; pass --allow-second to pay another", "second")
                if quote.second and not args.allow_second
                else (quote.short, "balance")
            )
            if refusal:
                results.done(
                    aid,
                    EXIT_REFUSED,
                    "refused",
                    f"refused (nothing sent): {safe(refusal)}",
                    error_code=code,
                )
                return out.result(EXIT_REFUSED, {"results": results.results}, "")
            what = BONUS.preview(safe(quote.worker), safe(aid), amount, quote.fee, quote.available)
            out.info(f"{env.kind.banner}: {what}")
            declined = confirm_spend(env, "Pay this bonus", args.yes)
            if declined is not None:
                return out.result(declined.code, {"state": declined.state}, declined.message)
            try:
                final = pay_bonus(
                    engine,
                    quote,
                    reason,
                    token=args.token,
                    allow_second=bool(args.allow_second),
                )
            except PlanRefused as exc:
                results.failed(
                    aid,
                    exc,
                    then="; settle it with `turktui resolve` first, or pass --allow-second",
                )
                return out.result(EXIT_REFUSED, {"results": results.results}, "")
        assert final is not None
        results.recorded(aid, final, fee=str(fee))
        code = worst(results.codes)
        return out.result(
            code,
            {"results": results.results},
            "turktui: bonus " + ("paid" if code == EXIT_OK else "not confirmed paid"),
        )

    return run(args, body, payload={"results": results.results}, changing=True)
