"""`turktui reject ASSIGNMENT_ID… --feedback TEXT`: each assignment one recorded request (the
reject operation), confirmed by GetAssignment showing it Rejected."""

from __future__ import annotations

import argparse

from turktui.cli.options import add_sending_options
from turktui.cli.output import Out
from turktui.pipeline.policy import EXIT_CODES, EXIT_USAGE

REJECT_EPILOG = (
    EXIT_CODES
    + """
Rejecting needs feedback (the worker reads it: at most 1,024 characters, no control
characters) and is asked for on every environment but --demo (pass --yes in scripts). Each
assignment is read, recorded, then sent as RejectAssignment; it counts as done only when MTurk
shows it Rejected. One already rejected is reported as such (nothing sent); one whose
AutoApprovalTime has passed by MTurk's clock is refused, naming that time.
"""
)


def register(sub: argparse._SubParsersAction) -> None:
    parser = sub.add_parser(
        "reject",
        help="reject submitted assignments, with feedback (recorded; verified on MTurk)",
        description="Reject one or more submitted assignments.",
        epilog=REJECT_EPILOG,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument(
        "assignment_ids", metavar="ASSIGNMENT_ID", nargs="+", help="the assignments to reject"
    )
    parser.add_argument(
        "--feedback", metavar="TEXT", required=True, help="why the work is rejected (required)"
    )
    add_sending_options(parser)
    parser.set_defaults(handler=cmd_reject)


def cmd_reject(args: argparse.Namespace) -> int:
    from turktui.cli.prompts import confirm_reject
    from turktui.cli.review import run_review
    from turktui.domain.rules import InputProblem, check_feedback
    from turktui.pipeline.operations import REJECT

    out = Out(args.json)
    try:
        feedback = check_feedback(args.feedback, required=True)
    except InputProblem as exc:
        return out.result(EXIT_USAGE, {"state": "usage"}, f"turktui: {exc}; nothing was sent")
    return run_review(args, REJECT, payload={"feedback": feedback}, confirm=confirm_reject)
