"""`turktui history`: recorded requests, newest first (`--batch ID`: one batch's members)."""

from __future__ import annotations

import argparse

from turktui.cli.options import add_connection_options
from turktui.cli.output import Out, csv_text, positive_int, record_line, redact_text, safe
from turktui.cli.session import (
    history_file,
    history_scope,
)
from turktui.pipeline.policy import (
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
    *("read_at_server", "expiry_actual"),
)


def register(sub: argparse._SubParsersAction) -> None:
    fmt = argparse.RawDescriptionHelpFormatter
    history = sub.add_parser(
        "history",
        help="list recorded requests (newest first)",
        description="List recorded extension requests, newest first.",
        formatter_class=fmt,
    )
    fmt = history.add_mutually_exclusive_group()
    fmt.add_argument("--json", action="store_true", help="print one JSON object")
    fmt.add_argument(
        "--csv",
        action="store_true",
        help="CSV for an audit: a header row, one row per record (attempts counted)",
    )
    history.add_argument("--limit", metavar="N", type=positive_int, default=20)
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
    from turktui.adapters.config import history_label
    from turktui.adapters.history import HistoryError
    from turktui.adapters.stores import open_store
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
        history = open_store(where)
    except HistoryError as exc:
        return out.result(EXIT_USAGE, {"records": []}, f"turktui: {exc}")
    try:
        states = UNSETTLED if args.unsettled else None
        scope = {"text": args.filter, "states": states, "env_kind": env_kind, "endpoint": endpoint}
        total = history.count(**scope)
        records = history.query(**scope, limit=args.limit)
        if args.csv:
            rows = ({k: record_to_json(r)[k] for k in CSV_FIELDS} for r in records)
            print(redact_text(csv_text(rows, CSV_FIELDS, header=True)), end="")
            return EXIT_OK
        if args.json:
            full = [history.get(r.id) or r for r in records]
            return out.result(
                EXIT_OK,
                {
                    "count": total,
                    "file": history_label(where),
                    "records": [record_to_json(r) for r in full],
                },
                f"{len(records)} of {total} records",
            )
        for record in records:
            print(redact_text(record_line(record)))
        scope_text = " ".join(x for x in (env_kind, endpoint) if x)
        print(
            f"{len(records)} of {total} record{'s' if total != 1 else ''}"
            + (f" on {redact_text(scope_text)}" if scope_text else "")
            + f" ({history_label(where)})"
        )
        if env_kind is None and endpoint is None and paths.demo_history_db.exists():
            print("demo records are kept apart: `turktui history --env demo` lists them")
        return EXIT_OK
    finally:
        history.close()


def cmd_history_batch(args: argparse.Namespace) -> int:
    """`turktui history --batch ID`: the members of one batch and their states."""
    from turktui.adapters.history import HistoryError
    from turktui.adapters.stores import open_store
    from turktui.cli.options import load_config
    from turktui.domain.records import record_to_json

    _, paths = load_config(args)
    out = Out(args.json)
    try:
        history = open_store(history_file(args, paths))
    except HistoryError as exc:
        return out.result(EXIT_USAGE, {"records": []}, f"turktui: {exc}")
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
        for record in members:
            print(record_line(record))
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
