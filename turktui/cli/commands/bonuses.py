"""`turktui bonuses --hit HIT_ID | --assignment ID [--json | --csv]`: the bonuses MTurk shows
(ListBonusPayments, every page), with the request reference turktui put in each Reason."""

from __future__ import annotations

import argparse
import re
import sys
from decimal import Decimal
from typing import Any

from turktui.cli.options import add_connection_options
from turktui.cli.output import Out
from turktui.pipeline.policy import EXIT_CODES

#: The fields of one payment in --json/--csv, in order (MTurk's names).
FIELDS = ("AssignmentId", "WorkerId", "BonusAmount", "GrantTime", "Reason", "Reference")
_REFERENCE = re.compile(r"\[(tt:[0-9a-f]{8})\]")


def register(sub: argparse._SubParsersAction) -> None:
    parser = sub.add_parser(
        "bonuses",
        help="list the bonuses paid for a HIT or an assignment",
        description="List bonus payments (ListBonusPayments, every page).",
        epilog=EXIT_CODES,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    which = parser.add_mutually_exclusive_group(required=True)
    which.add_argument("--hit", metavar="HIT_ID", help="every bonus of this HIT")
    which.add_argument("--assignment", metavar="ID", help="every bonus of this assignment")
    fmt = parser.add_mutually_exclusive_group()
    fmt.add_argument("--json", action="store_true", help="print one JSON object")
    fmt.add_argument("--csv", action="store_true", help="CSV with a header row")
    add_connection_options(parser, suppress=True)
    parser.set_defaults(handler=cmd_bonuses)


def cmd_bonuses(args: argparse.Namespace) -> int:
    from turktui.cli.output import csv_rows, safe
    from turktui.cli.session import Session, run
    from turktui.domain.errors import TurkError
    from turktui.domain.rules import InputProblem, check_hit_id, format_money
    from turktui.domain.timefmt import iso
    from turktui.pipeline.policy import EXIT_OK, EXIT_USAGE

    out = Out(args.json)
    usage: dict[str, Any] = {"state": "usage"}
    subject = (args.hit or args.assignment or "").strip()
    try:
        check_hit_id(subject, "HIT id" if args.hit else "assignment id")
    except InputProblem as exc:
        return out.result(EXIT_USAGE, usage, f"turktui: {exc}")

    def body(session: Session) -> int:
        which = {"hit_id": subject} if args.hit else {"assignment_id": subject}
        try:
            payments = session.service().list_bonus_payments(**which)
        except TurkError as exc:
            return session.fail(exc, "list the bonuses")
        rows = [
            {
                "AssignmentId": p.assignment_id,
                "WorkerId": p.worker_id,
                "BonusAmount": None if p.amount is None else str(p.amount),
                "GrantTime": iso(p.grant_time) if p.grant_time else None,
                "Reason": p.reason,
                "Reference": (m.group(1) if (m := _REFERENCE.search(p.reason)) else ""),
            }
            for p in payments
        ]
        total = sum((p.amount for p in payments if p.amount is not None), Decimal(0))
        summary = (
            f"{len(rows):,} bonus payment{'s' if len(rows) != 1 else ''}, {format_money(total)}"
        )
        if args.csv:
            csv_rows(sys.stdout, FIELDS)(rows)
            return EXIT_OK
        if not args.json:
            for row in rows:
                out.say(
                    f"{safe(row['GrantTime'] or '?'):<20}  {safe(row['AssignmentId'])}  "
                    f"{safe(row['WorkerId'])}  ${row['BonusAmount'] or '?':>8}  "
                    f"{safe(row['Reason'])}"
                )
        return out.result(EXIT_OK, {"payments": rows}, summary)

    return run(args, body, payload={"payments": []})
