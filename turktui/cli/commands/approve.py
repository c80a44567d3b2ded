"""`turktui approve ASSIGNMENT_ID… [--feedback TEXT] [--override-rejection]` and
`turktui approve --hit HIT_ID --all-submitted`: each assignment one recorded request (the
approve operation), confirmed by GetAssignment showing it Approved."""

from __future__ import annotations

import argparse

from turktui.cli.options import add_sending_options
from turktui.cli.output import Out
from turktui.pipeline.policy import EXIT_CODES, EXIT_USAGE

APPROVE_EPILOG = (
    EXIT_CODES
    + """
Each assignment is read (GetAssignment; with --hit, the HIT's listing), recorded in the
history (all of them before any is sent), then sent as ApproveAssignment; it counts as done
only when MTurk shows it Approved (the HIT's listing, else GetAssignment). One already
approved is reported as such (nothing sent). A Rejected assignment is approved only with
--override-rejection. "status of: null" (MTurk has not indexed the submission yet) leaves the
request unsettled: `turktui resolve` settles it later. Spending on production (or a remote
custom endpoint) is asked for first (pass --yes in scripts).
"""
)


def register(sub: argparse._SubParsersAction) -> None:
    parser = sub.add_parser(
        "approve",
        help="approve submitted assignments (recorded; verified on MTurk)",
        description="Approve one or more submitted assignments.",
        epilog=APPROVE_EPILOG,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument(
        "assignment_ids", metavar="ASSIGNMENT_ID", nargs="*", help="the assignments to approve"
    )
    parser.add_argument("--feedback", metavar="TEXT", help="a message to the worker (optional)")
    parser.add_argument(
        "--override-rejection",
        action="store_true",
        help="approve assignments that were rejected (MTurk's OverrideRejection)",
    )
    parser.add_argument("--hit", metavar="HIT_ID", help="with --all-submitted: this HIT's work")
    parser.add_argument(
        "--all-submitted",
        action="store_true",
        help="with --hit: approve every Submitted assignment of the HIT",
    )
    add_sending_options(parser)
    parser.set_defaults(handler=cmd_approve)


def cmd_approve(args: argparse.Namespace) -> int:
    from turktui.cli.prompts import confirm_spend
    from turktui.cli.review import run_review
    from turktui.domain.rules import InputProblem, check_feedback
    from turktui.pipeline.operations import APPROVE

    out = Out(args.json)
    usage = {"state": "usage"}
    if bool(args.hit) != bool(args.all_submitted):
        return out.result(EXIT_USAGE, usage, "turktui: --hit and --all-submitted go together")
    if args.hit and args.assignment_ids:
        return out.result(
            EXIT_USAGE, usage, "turktui: give ASSIGNMENT_IDs or --hit HIT_ID --all-submitted"
        )
    try:
        feedback = check_feedback(args.feedback, required=False)
    except InputProblem as exc:
        return out.result(EXIT_USAGE, usage, f"turktui: {exc}; nothing was sent")
    payload = {"feedback": feedback, "override_rejection": bool(args.override_rejection)}
    return run_review(args, APPROVE, payload=payload, confirm=confirm_spend, hit_id=args.hit)
