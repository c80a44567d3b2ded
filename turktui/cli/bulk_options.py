"""The options, help and routing test of bulk `turktui extend` (several HITs), shared by the
`extend` and `extend_bulk` commands (which do not import each other)."""

from __future__ import annotations

import argparse

BULK_EPILOG = """
Several HITs (bulk):
  turktui extend HIT1 HIT2 ... --add N            add N to each (capped by each HIT's rules)
  turktui extend HIT1 ... --top-up-to T           raise each to T (HITs under 10: at most 9)
  turktui extend HIT1 ... --top-up-to-nine [--large-add N]
                                                  HITs under 10 to 9; HITs at 10+ get N
  turktui extend --from-file ids.txt --add N      one HIT id per line, # starts a comment
  turktui extend --retry-batch BATCH_ID           re-send what did not succeed (same tokens)
  ... --add N --add-time 1d                       also add 1d to each HIT's expiration
  turktui extend HIT1 HIT2 ... --add-time 1d      time only, for each HIT (one record each)
Every member gets its own token and the whole batch is recorded before anything is sent.
With several HITs the exit code is the worst outcome: 6 (some in conflict) over 5 (some
unknown or not sent) over 4 (some service errors) over 3 (some refused, by the rules or
MTurk) over 0 (all succeeded). HITs the mode leaves alone ("nothing to do") do not count as refused.
"""


def add_bulk_options(parser: argparse.ArgumentParser) -> None:
    group = parser.add_argument_group("several HITs (bulk)")
    modes = group.add_mutually_exclusive_group()
    modes.add_argument("--add", metavar="N", help="add N assignments to each HIT")
    modes.add_argument(
        "--top-up-to", metavar="T", help="raise each HIT's maximum to T (HITs under 10: at most 9)"
    )
    modes.add_argument(
        "--top-up-to-nine",
        action="store_true",
        help="raise HITs under 10 to 9; see --large-add for HITs at 10+",
    )
    modes.add_argument(
        "--retry-batch",
        metavar="BATCH_ID",
        help="re-send the members of a batch that did not succeed",
    )
    group.add_argument(
        "--large-add",
        metavar="N",
        default="",
        help="with --top-up-to-nine: add N to HITs at 10+ (default: none)",
    )
    group.add_argument(
        "--from-file", metavar="PATH", help="read HIT ids from PATH (one per line, # comments)"
    )
    group.add_argument(
        "--workers",
        metavar="N",
        type=int,
        default=6,
        help="requests in flight at once (1-16, default 6)",
    )


def is_bulk(args: argparse.Namespace) -> bool:
    return bool(
        getattr(args, "add", None) is not None
        or getattr(args, "top_up_to", None) is not None
        or getattr(args, "top_up_to_nine", False)
        or getattr(args, "from_file", None)
        or getattr(args, "retry_batch", None)
        or _time_for_several(args)
    )


def _time_for_several(args: argparse.Namespace) -> bool:
    """`extend HIT1 HIT2 … --add-time D`: several HIT ids (a HIT id is never all digits, so
    `extend HIT 5 --add-time D` stays one HIT with N = 5)."""
    ids = list(getattr(args, "hit_id", None) or [])
    if not getattr(args, "add_time", None) or len(ids) < 2:
        return False
    return len(ids) > 2 or not ids[1].strip().isdigit()
