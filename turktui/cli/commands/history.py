"""`turktui history`: recorded requests, newest first (`--batch ID`: one batch's members)."""

from __future__ import annotations

import argparse
import sys
from collections.abc import Iterator
from typing import Any

from turktui.cli.options import add_connection_options
from turktui.cli.output import (
    RECORD_HEADER,
    Out,
    csv_rows,
    positive_int,
    record_line,
    redact_text,
    safe,
)
from turktui.cli.session import Session, history_file, history_scope, run
from turktui.domain.text import redact_obj
from turktui.pipeline.policy import (
    EXIT_CODES,
    EXIT_OK,
    EXIT_USAGE,
)

ENV_CHOICES = ("demo", "sandbox", "production", "custom")
#: --csv's columns: a record's --json fields but its attempts (attempt_count says how many)
CSV_FIELDS = (
    *("id", "created", "updated", "environment", "endpoint", "profile", "hit_id", "hit_title"),
    *("n", "change", "token", "max_before", "expected_after", "expire_at", "state"),
    *("error_code", "error_message", "attempt_count", "first_sent", "duration", "batch_id"),
    *("expiry_state", "expiry_error", "note", "owner", "actual_after", "target", "read_at"),
    *("read_at_server", "expiry_actual", "operation", "group_id", "operator", "subject"),
    "data",
)


def register(sub: argparse._SubParsersAction) -> None:
    fmt = argparse.RawDescriptionHelpFormatter
    history = sub.add_parser(
        "history",
        help="list recorded requests (newest first)",
        description="List recorded requests (extensions, time, expirations), newest first.",
        epilog=EXIT_CODES,
        formatter_class=fmt,
    )
    fmt = history.add_mutually_exclusive_group()
    fmt.add_argument("--json", action="store_true", help="print one JSON object")
    fmt.add_argument(
        "--csv",
        action="store_true",
        help="CSV for an audit: a header row, one row per record (attempts counted)",
    )
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
    history.add_argument(
        "--operator", metavar="NAME", help="only records made by this operator (e.g. alice@ops-2)"
    )
    history.add_argument(
        "action",
        nargs="?",
        choices=("import",),
        metavar="import",
        help="`turktui history import [PATH]`: copy a local history file (default: this "
        "machine's) into the shared history; running it again imports nothing new",
    )
    history.add_argument("source", nargs="?", metavar="PATH", help=argparse.SUPPRESS)
    add_connection_options(history, suppress=True)
    history.set_defaults(handler=cmd_history)


def cmd_history(args: argparse.Namespace) -> int:
    from turktui.adapters.config import history_label
    from turktui.domain.records import UNSETTLED, record_to_json

    out = Out(args.json)
    try:
        env_kind, endpoint = history_scope(args)
    except ValueError as exc:
        return out.result(EXIT_USAGE, {"records": []}, f"turktui: {safe(exc)}")
    if getattr(args, "batch", None):
        return cmd_history_batch(args)
    if args.action == "import":
        return cmd_history_import(args, out)
    if args.source is not None:
        return out.result(
            EXIT_USAGE, {"records": []}, f"turktui: unexpected argument {safe(args.source)!r}"
        )

    def body(session: Session) -> int:
        _, paths = session.config()
        where = paths.history_for(env_kind or "")
        history = session.history(where)
        states = UNSETTLED if args.unsettled else None
        scope = {
            "text": args.filter,
            "states": states,
            "env_kind": env_kind,
            "endpoint": endpoint,
            "operator": args.operator,
        }
        records = _records(history, scope, args.limit)
        if args.csv:  # no count: the rows are the answer
            write = csv_rows(sys.stdout, CSV_FIELDS)
            write({k: redact_obj(record_to_json(r)[k]) for k in CSV_FIELDS} for r in records)
            return EXIT_OK
        if args.json:  # the count comes first in the object
            total = history.count(**scope)
            shown = min(args.limit, total)
            return out.result_streamed(
                EXIT_OK,
                {"count": total, "file": history_label(where)},
                f"{shown} of {total} records",
                "records",
                (record_to_json(r) for r in _records(history, scope, shown, with_attempts=True)),
            )
        # The records first, the count after them (a shared history counts 100,000 records
        # slower than it reads a page), and only when there may be more than were listed.
        shown = 0
        for record in records:
            if not shown:
                print(RECORD_HEADER)
            print(redact_text(record_line(record)))
            shown += 1
        total = history.count(**scope) if shown == args.limit else shown
        scope_text = " ".join(x for x in (env_kind, endpoint) if x)
        out.say(  # the scope and the file name may hold anything: `say` makes them safe
            f"{shown} of {total} record{'s' if total != 1 else ''}"
            + (f" on {scope_text}" if scope_text else "")
            + f" ({history_label(where)})"
        )
        if env_kind is None and endpoint is None and paths.demo_history_db.exists():
            print("demo records are kept apart: `turktui history --env demo` lists them")
        return EXIT_OK

    return run(args, body, payload={"records": []})


#: Records are read this many at a time: `--limit 1000000` stays bounded in memory.
PAGE = 1000


def _records(
    history: Any, scope: dict[str, Any], limit: int, *, with_attempts: bool = False
) -> Iterator[Any]:
    """At most `limit` newest records of `scope`, newest first, read a page at a time (a
    short page is the last); `with_attempts`: with their attempts (two statements a page)."""
    for offset in range(0, limit, PAGE):
        page = history.query(
            **scope, limit=min(PAGE, limit - offset), offset=offset, with_attempts=with_attempts
        )
        yield from page
        if len(page) < min(PAGE, limit - offset):
            return


def cmd_history_batch(args: argparse.Namespace) -> int:
    """`turktui history --batch ID`: the members of one batch and their states."""
    from turktui.domain.records import record_to_json

    def body(session: Session) -> int:
        out = session.out
        history = session.history(history_file(args, session.config()[1]))
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

    return run(args, body, payload={"records": []})


#: Records copied per transaction by `history import` (a crash loses at most one chunk's
#: progress; the next run skips what is already there).
IMPORT_CHUNK = 500


def cmd_history_import(args: argparse.Namespace, out: Out) -> int:
    """`turktui history import [PATH]`: a local history file into the shared one."""
    from pathlib import Path

    from turktui.adapters.config import history_label, is_database_url
    from turktui.adapters.history import HistoryError

    empty = {"imported": 0, "skipped": 0}

    def body(session: Session) -> int:
        _, paths = session.config()
        if not is_database_url(paths.history):
            return out.result(
                EXIT_USAGE,
                empty,
                "turktui: history import copies a local history into the shared one: name it "
                "with --history-url, TURKTUI_HISTORY_URL or the config's history_url",
            )
        source = Path(args.source) if args.source else paths.history_db
        if not source.is_file():
            return out.result(EXIT_USAGE, empty, f"turktui: no history file at {source}")
        local, shared = session.history(source), session.history(paths.history)
        added = skipped = 0
        try:
            ids = [r.id for r in reversed(local.query(limit=max(local.count(), 1)))]
            for start in range(0, len(ids), IMPORT_CHUNK):
                chunk = [local.get(i) for i in ids[start : start + IMPORT_CHUNK]]
                done = shared.import_records(r for r in chunk if r is not None)
                added, skipped = added + done[0], skipped + done[1]
        except HistoryError as exc:
            return out.result(
                EXIT_USAGE,
                {"imported": added, "skipped": skipped},
                f"turktui: imported {added:,} before: {exc}; run it again to go on",
            )
        return out.result(
            EXIT_OK,
            {"imported": added, "skipped": skipped, "from": str(source)},
            f"imported {added:,} record{'s' if added != 1 else ''} from {source} into the "
            f"{history_label(paths.history)} ({skipped:,} already there)",
        )

    return run(args, body, payload=empty)
