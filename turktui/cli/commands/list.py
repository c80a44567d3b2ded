"""`turktui list`: the HIT list for scripts — JSON Lines (default with --json), one JSON
array (--json-array), CSV (--csv) or aligned text; the app's filters (--extendable,
--expired, --filter TEXT, --status). Streams page by page through the same fast ListHITs
path as the app's loader (raw ListHITs JSON, `MTurkService.iter_hit_pages`): the first
HITs are printed while later pages are still being fetched."""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Callable, Iterable
from datetime import UTC, datetime
from typing import Any

from turktui.cli.options import add_connection_options
from turktui.cli.output import csv_rows, fit, safe, terminal_width
from turktui.domain.models import Hit
from turktui.domain.rules import extension_range
from turktui.pipeline.policy import EXIT_CODES, EXIT_OK, EXIT_USAGE

#: The fields of one HIT in --json/--csv, in order (MTurk's names where MTurk has one).
FIELDS = (
    "HITId",
    "Title",
    "HITStatus",
    "MaxAssignments",
    "NumberOfAssignmentsAvailable",
    "NumberOfAssignmentsPending",
    "NumberOfAssignmentsCompleted",
    "Reward",
    "CreationTime",
    "Expiration",
    "Expired",
    "Extendable",
    "CanAdd",
    "HITTypeId",
    "HITGroupId",
    "RequesterAnnotation",
    "Problem",
)

LIST_EPILOG = (
    """\
output:
  (default)      one aligned line per HIT
  --json         JSON Lines: one object per HIT, one per line (streamed)
  --json-array   one JSON array of the same objects
  --csv          CSV with a header row

Each object has: HITId, Title, HITStatus, MaxAssignments, NumberOfAssignmentsAvailable,
NumberOfAssignmentsPending, NumberOfAssignmentsCompleted, Reward (a decimal string or
null), CreationTime and Expiration (ISO 8601 UTC, e.g. 2026-11-29T21:00:00Z, or null),
Expired (bool), Extendable (bool: CreateAdditionalAssignmentsForHIT may add to it), CanAdd
(how many at most), HITTypeId, HITGroupId, RequesterAnnotation, Problem ("" or why
turktui could not read the HIT).

"""
    + EXIT_CODES
)


def register(sub: argparse._SubParsersAction) -> None:
    parser = sub.add_parser(
        "list",
        help="list HITs for scripts (JSON Lines, JSON array, CSV)",
        description="List every HIT, streaming page by page.",
        epilog=LIST_EPILOG,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    fmt = parser.add_mutually_exclusive_group()
    fmt.add_argument("--json", action="store_true", help="JSON Lines: one object per HIT")
    fmt.add_argument("--json-array", action="store_true", help="one JSON array of HITs")
    fmt.add_argument("--csv", action="store_true", help="CSV with a header row")
    parser.add_argument(
        "--extendable", action="store_true", help="only HITs that assignments can be added to"
    )
    parser.add_argument("--expired", action="store_true", help="only expired HITs")
    parser.add_argument(
        "--filter",
        metavar="TEXT",
        help="only HITs whose id or title contains TEXT (case-insensitive)",
    )
    parser.add_argument(
        "--status",
        metavar="STATUS",
        action="append",
        type=_status,
        choices=HIT_STATUSES,
        help=f"only HITs with this HITStatus ({', '.join(HIT_STATUSES)}; any case); repeat "
        "for several",
    )
    add_connection_options(parser, suppress=True)
    parser.set_defaults(handler=cmd_list)


#: MTurk's HITStatus values (the API reference): what `--status` accepts.
HIT_STATUSES = ("Assignable", "Unassignable", "Reviewable", "Reviewing", "Disposed")


def _status(text: str) -> str:
    """`--status` in any case, as MTurk spells it (argparse's `choices` then refuses the
    rest, naming the allowed values)."""
    wanted = text.strip().casefold()
    return next((s for s in HIT_STATUSES if s.casefold() == wanted), text)


def hit_matches(
    hit: Hit,
    now: datetime,
    *,
    text: str = "",
    extendable: bool = False,
    expired: bool = False,
    statuses: Iterable[str] = (),
) -> bool:
    """The app's filters (id/title text, extendable only, expired only) plus status."""
    if text:
        needle = text.casefold()
        if needle not in hit.hit_id.casefold() and needle not in hit.title.casefold():
            return False
    wanted = {s.casefold() for s in statuses}
    if wanted and hit.status.casefold() not in wanted:
        return False
    if extendable and not extension_range(hit.max_assignments, hit.created).extendable:
        return False
    return not (expired and not hit.is_expired(now))


def hit_to_json(hit: Hit, now: datetime) -> dict[str, Any]:
    rng = extension_range(hit.max_assignments, hit.created)
    return {
        "HITId": hit.hit_id,
        "Title": hit.title,
        "HITStatus": hit.status,
        "MaxAssignments": hit.max_assignments,
        "NumberOfAssignmentsAvailable": hit.available,
        "NumberOfAssignmentsPending": hit.pending,
        "NumberOfAssignmentsCompleted": hit.completed,
        "Reward": None if hit.reward is None else str(hit.reward),
        "CreationTime": _stamp(hit.created),
        "Expiration": _stamp(hit.expiration),
        "Expired": hit.is_expired(now),
        "Extendable": bool(rng.extendable) and not hit.problem,
        "CanAdd": rng.high if rng.extendable and not hit.problem else 0,
        "HITTypeId": hit.hit_type_id,
        "HITGroupId": hit.hit_group_id,
        "RequesterAnnotation": hit.annotation,
        "Problem": hit.problem,
    }


def _stamp(moment: datetime | None) -> str | None:
    """ISO 8601 in UTC to the second ("2026-11-29T21:00:00Z"), or None."""
    if moment is None:
        return None
    return moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


#: The text output's columns: (header, width; the last column takes the rest).
TEXT_HEADER = f"{'HITId':<30}  {'HITStatus':<12} {'Max':>7} {'Avail':>6} {'Expiration':<20}  Title"


def _text_line(row: dict[str, Any], width: int | None) -> str:
    """One HIT as an aligned line; on a terminal the title is cut to fit `width`."""
    line = (
        f"{safe(row['HITId']):<30}  {safe(row['HITStatus']):<12} {row['MaxAssignments']:>7,} "
        f"{row['NumberOfAssignmentsAvailable']:>6,} {row['Expiration'] or '?':<20}  "
        f"{safe(row['Title'])}"
    )
    return fit(line, width)


def cmd_list(args: argparse.Namespace) -> int:
    from turktui.cli.output import failure
    from turktui.cli.session import Session, run
    from turktui.domain.errors import TurkError

    if args.filter is not None and not args.filter.strip():
        print("turktui: list: --filter is empty", file=sys.stderr)
        return EXIT_USAGE
    now = datetime.now(UTC)
    statuses = tuple(args.status or ())

    def keep(hit: Hit) -> bool:
        return hit_matches(
            hit,
            now,
            text=args.filter or "",
            extendable=args.extendable,
            expired=args.expired,
            statuses=statuses,
        )

    out = sys.stdout

    def body(session: Session) -> int:
        count = 0
        writer = _writer(args, out)
        try:
            for page in session.service().iter_hit_pages():
                chunk = [hit_to_json(hit, now) for hit in page if keep(hit)]
                count += len(chunk)
                writer(chunk, False)
            writer([], True)
        except TurkError as exc:  # what was printed is valid; the listing is incomplete
            writer([], True)
            judged = failure(exc, session.command)
            assert judged is not None
            print(
                f"turktui: list: {safe(exc.message)} (after {count:,} HITs; the listing is "
                "incomplete)" + (f"\nturktui: hint: {judged.hint}" if judged.hint else ""),
                file=sys.stderr,
            )
            return judged.code
        if not (args.json or args.json_array or args.csv):
            print(f"{count:,} HITs", file=sys.stderr)
        return EXIT_OK

    return run(args, body, as_json=False)  # --json is JSON Lines: an ending is a line on stderr


def _writer(args: argparse.Namespace, out: Any) -> Callable[[list[dict[str, Any]], bool], None]:
    """A function (rows, last) that writes a page's rows (and the closing part)."""
    if args.json:

        def jsonl(rows: list[dict[str, Any]], last: bool) -> None:
            if rows:
                out.write("".join(json.dumps(r, ensure_ascii=True) + "\n" for r in rows))
                out.flush()

        return jsonl
    if args.json_array:
        state = {"first": True, "closed": False}

        def array(rows: list[dict[str, Any]], last: bool) -> None:
            if state["closed"]:
                return
            parts = []
            for row in rows:
                parts.append(
                    ("[\n" if state["first"] else ",\n") + json.dumps(row, ensure_ascii=True)
                )
                state["first"] = False
            if last:
                parts.append("[]\n" if state["first"] else "\n]\n")
                state["closed"] = True
            if parts:
                out.write("".join(parts))
                out.flush()

        return array
    if args.csv:
        write = csv_rows(out, FIELDS)
        return lambda rows, last: write(rows)
    width = terminal_width(out)
    out.write(fit(TEXT_HEADER, width) + "\n")

    def text(rows: list[dict[str, Any]], last: bool) -> None:
        if rows:
            out.write("".join(_text_line(r, width) + "\n" for r in rows))
            out.flush()

    return text
