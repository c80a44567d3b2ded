"""`turktui history`: recorded requests, newest first (`--batch ID`: one batch's members)."""

from __future__ import annotations

import argparse
from collections.abc import Iterator
from typing import Any

from turktui.cli.options import add_connection_options
from turktui.cli.output import (
    RECORD_HEADER,
    Out,
    positive_int,
    record_line,
    redact_text,
    safe,
)
from turktui.cli.session import (
    history_file,
    history_scope,
)
from turktui.pipeline.policy import (
    EXIT_CODES,
    EXIT_OK,
    EXIT_USAGE,
)

ENV_CHOICES = ("demo", "sandbox", "production", "custom")


def register(sub: argparse._SubParsersAction) -> None:
    fmt = argparse.RawDescriptionHelpFormatter
    history = sub.add_parser(
        "history",
        help="list recorded requests (newest first)",
        description="List recorded requests (extensions, time, expirations), newest first.",
        epilog=EXIT_CODES,
        formatter_class=fmt,
    )
    history.add_argument("--json", action="store_true", help="print one JSON object")
    history.add_argument(
        "--limit",
        metavar="N",
        type=positive_int,
        default=20,
        help="show the N newest matching records (default 20; 1-1000000); the total is "
        "printed after them",
    )
    history.add_argument("--filter", metavar="TEXT", help="only records mentioning TEXT")
    history.add_argument(
        "--unsettled", action="store_true", help="only planned/sending/unknown records"
    )
    history.add_argument("--batch", metavar="ID", help="only the members of batch ID")
    history.add_argument(
        "--env",
        choices=ENV_CHOICES,
        metavar="KIND",
        help="only records of this environment: demo, sandbox, production or "
        "custom (demo records live in their own file)",
    )
    history.add_argument("--endpoint", metavar="URL", help="only records sent to this endpoint URL")
    add_connection_options(history, suppress=True)
    history.set_defaults(handler=cmd_history)


def cmd_history(args: argparse.Namespace) -> int:
    from turktui.adapters.history import HistoryError, open_history
    from turktui.cli.options import load_config
    from turktui.domain.records import UNSETTLED, record_to_json

    out = Out(args.json)
    try:
        env_kind, endpoint = history_scope(args)
    except ValueError as exc:
        return out.result(EXIT_USAGE, {"records": []}, f"turktui: {safe(exc)}")
    if getattr(args, "batch", None):
        return cmd_history_batch(args)
    _, paths = load_config(args)
    where = paths.history_for(env_kind or "")
    try:
        history = open_history(where)
    except HistoryError as exc:
        return out.history_failure(exc, {"records": []})
    try:
        states = UNSETTLED if args.unsettled else None
        scope = {"text": args.filter, "states": states, "env_kind": env_kind, "endpoint": endpoint}
        total = history.count(**scope)
        shown = min(args.limit, total)
        records = _records(history, scope, shown)
        if args.json:
            return out.result_streamed(
                EXIT_OK,
                {"count": total, "file": str(where)},
                f"{shown} of {total} records",
                "records",
                (record_to_json(history.get(r.id) or r) for r in records),
            )
        if shown:
            print(RECORD_HEADER)
        for record in records:
            print(redact_text(record_line(record)))
        scope_text = " ".join(x for x in (env_kind, endpoint) if x)
        out.say(  # the scope and the file name may hold anything: `say` makes them safe
            f"{shown} of {total} record{'s' if total != 1 else ''}"
            + (f" on {scope_text}" if scope_text else "")
            + f" ({where})"
        )
        if env_kind is None and endpoint is None and paths.demo_history_db.exists():
            print("demo records are kept apart: `turktui history --env demo` lists them")
        return EXIT_OK
    finally:
        history.close()


#: Records are read this many at a time: `--limit 1000000` stays bounded in memory.
PAGE = 1000


def _records(history: Any, scope: dict[str, Any], count: int) -> Iterator[Any]:
    """The `count` newest records of `scope`, newest first, read a page at a time."""
    for offset in range(0, count, PAGE):
        yield from history.query(**scope, limit=min(PAGE, count - offset), offset=offset)


def cmd_history_batch(args: argparse.Namespace) -> int:
    """`turktui history --batch ID`: the members of one batch and their states."""
    from turktui.adapters.history import HistoryError, open_history
    from turktui.cli.options import load_config
    from turktui.domain.records import record_to_json

    _, paths = load_config(args)
    out = Out(args.json)
    try:
        history = open_history(history_file(args, paths))
    except HistoryError as exc:
        return out.history_failure(exc, {"records": []})
    try:
        members = history.batch_records(args.batch)
        if args.json:
            return out.result(
                EXIT_OK,
                {
                    "batch_id": args.batch,
                    "count": len(members),
                    "records": [record_to_json(history.get(r.id) or r) for r in members],
                },
                f"{len(members)} members",
            )
        if members:
            print(RECORD_HEADER)
        for record in members:
            print(redact_text(record_line(record)))
        states = history.batch_states(args.batch)
        summary = ", ".join(
            f"{n} {s.label}" for s, n in sorted(states.items(), key=lambda kv: kv[0].value)
        )
        print(
            f"batch {safe(args.batch)}: {len(members)} member"
            f"{'s' if len(members) != 1 else ''}" + (f" ({summary})" if summary else "")
        )
        return EXIT_OK
    finally:
        history.close()
