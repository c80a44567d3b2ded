"""`turktui resolve`: settle unknown/unfinished requests, each at the endpoint it went to
(`--batch ID`: one batch's members), through `pipeline.resolving`."""

from __future__ import annotations

import argparse
from dataclasses import dataclass
from typing import Any

from turktui.cli.options import add_connection_options
from turktui.cli.output import record_line, safe
from turktui.cli.prompts import ask
from turktui.cli.session import Session, explicit_endpoint, run
from turktui.pipeline.policy import (
    EXIT_CANCELLED,
    EXIT_CODES,
    EXIT_OK,
    EXIT_USAGE,
    resolve_exit_code,
    worst,
)

RESOLVE_EPILOG = (
    """\
Settles requests whose outcome is unknown (the app or a command was killed, the connection
dropped). Each request is settled at the endpoint it was sent to, with the profile it was
sent with (--endpoint-url/--production/--sandbox only narrow the list; --profile replaces
the recorded profile, e.g. when it was renamed). Within 24 hours of the first attempt the
request is re-sent with its original token (MTurk applies a token at most once); after that
turktui never re-sends, and instead compares the HIT (MaxAssignments, the expiration) with
the values recorded for the request. Every unsettled record is reached, oldest first.
Production (and non-loopback custom) requests are confirmed one by one unless --yes. An
endpoint that cannot be reached is named, with the exact command to retry, and the exit
code is 5.

"""
    + EXIT_CODES
)


#: Unsettled records are listed, confirmed and settled this many at a time (memory bound).
PAGE = 1000


def register(sub: argparse._SubParsersAction) -> None:
    fmt = argparse.RawDescriptionHelpFormatter
    resolve = sub.add_parser(
        "resolve",
        help="settle requests whose outcome is unknown",
        description="Settle unknown/unfinished requests.",
        epilog=RESOLVE_EPILOG,
        formatter_class=fmt,
    )
    resolve.add_argument(
        "--yes", "-y", action="store_true", help="act without asking (otherwise: list and ask)"
    )
    resolve.add_argument("--json", action="store_true", help="print one JSON object")
    resolve.add_argument("--batch", metavar="ID", help="only the unsettled members of batch ID")
    resolve.add_argument(
        "--take-over",
        metavar="ID",
        type=int,
        help="settle request ID although another host's process owns it (that process is "
        "gone: a renamed machine, a synced history); recorded in its note",
    )
    add_connection_options(resolve, suppress=True)
    resolve.set_defaults(handler=cmd_resolve)


def cmd_resolve(args: argparse.Namespace) -> int:
    """Settle every unsettled record at its own endpoint with its own profile."""
    if getattr(args, "batch", None):
        return cmd_resolve_batch(args)

    def body(session: Session) -> int:
        out, history = session.out, session.history()
        take = getattr(args, "take_over", None)
        if take is not None:
            record = history.get(take)
            if record is None or record.settled:
                return out.result(
                    EXIT_USAGE, {"records": []}, f"turktui: no unsettled request #{take}"
                )
            return out.result(*resolve_records(args, session, [record]).result())
        endings = []
        for page in history.unsettled_pages(PAGE):  # every record, oldest first
            endings.append(resolve_records(args, session, page))
            if endings[-1].code in (EXIT_USAGE, EXIT_CANCELLED):
                break  # refused or declined: the later pages would be too
        return out.result(*Ending.merge(endings).result())

    return run(args, body, payload={"records": []})


@dataclass
class Ending:
    """How settling some records ended: the exit code, the JSON payload, the last line."""

    code: int
    payload: dict[str, Any]
    message: str
    settled: int = 0
    unknown: int = 0
    #: nothing was left to settle (in this page, after the endpoint filter)
    nothing: bool = False

    def result(self) -> tuple[int, dict[str, Any], str]:
        return self.code, self.payload, self.message

    @classmethod
    def merge(cls, endings: list[Ending]) -> Ending:
        """One ending for several pages of records: the worst code, every record."""
        acted = [e for e in endings if not e.nothing]
        if len(acted) <= 1:
            return acted[0] if acted else cls(EXIT_OK, {"records": []}, "Nothing to resolve.")
        settled = sum(e.settled for e in acted)
        unknown = sum(e.unknown for e in acted)
        message = f"{settled} settled, {unknown} still unknown" if unknown else f"{settled} settled"
        if acted[-1].code in (EXIT_USAGE, EXIT_CANCELLED):
            message += f"; then: {acted[-1].message}"
        payload = {
            key: [item for e in acted for item in e.payload.get(key, [])]
            for key in ("records", "endpoints")
        }
        return cls(worst(e.code for e in acted), payload, message, settled, unknown)


def resolve_records(
    args: argparse.Namespace, session: Session, records: list[Any], *, label: str = ""
) -> Ending:
    """Settle `records` (unsettled) each at its own endpoint: list, confirm, resolve, report.
    Used by `turktui resolve` (a page at a time, or the one record of --take-over) and
    `turktui resolve --batch ID`."""
    from turktui.domain.records import State, record_to_json
    from turktui.pipeline.resolving import (
        group_by_target,
        like_service_factory,
        resolve_everywhere,
        same_endpoint,
    )

    out, conn, history = session.out, session.conn, session.history()
    if explicit_endpoint(args):  # only the records made against the endpoint given
        records = [r for r in records if same_endpoint(r.endpoint, conn.env.endpoint_url)]
    if not records:
        return Ending(EXIT_OK, {"records": []}, f"Nothing to resolve{label}.", nothing=True)
    if conn.env.read_only:
        return Ending(
            EXIT_USAGE,
            {"records": [record_to_json(r) for r in records]},
            f"turktui: read-only session: {len(records)} unsettled request(s) left as they are",
        )
    override = getattr(args, "profile", None)  # --profile: use it for every record
    groups = group_by_target(records, profile=override)
    planner = session.engine()  # its rules: can a record be re-sent, is it live
    for target, group in groups.items():
        out.info(f"{target.label}: {len(group)} unsettled")
        for record in group:
            how = (
                "re-send with its original token (if MTurk's clock agrees)"
                if planner.can_resend(record, record.read_at_server)
                else "compare (no re-send: MTurk's token window is over or unknown)"
            )
            if record.state is State.PLANNED:
                how = "mark as never sent"
            if planner.is_live(record) and record.id != getattr(args, "take_over", None):
                how = f"left alone: {planner.live_message(record)}"
            out.info(f"  {record_line(record)}  \u2192 {how}")
    allowed = _ask_resolve(args, groups, conn.settings.confirm_custom)
    if isinstance(allowed, int):
        code = allowed
        message = (
            "turktui: pass --yes to resolve without a terminal"
            if code == EXIT_USAGE
            else "Cancelled."
        )
        return Ending(code, {"records": [record_to_json(r) for r in records]}, message)
    service = session.service()
    make = like_service_factory(
        service,
        connect_timeout=conn.settings.connect_timeout,
        read_timeout=conn.settings.read_timeout,
    )
    reports = resolve_everywhere(
        records,
        history,
        make,
        reuse=(conn.env, service),
        confirm_custom=conn.settings.confirm_custom,
        profile=override,
        allow=lambda r: r.id in allowed,
        take_over={args.take_over} if getattr(args, "take_over", None) is not None else (),
        on_outcome=lambda o: out.say(f"#{o.record.id}: {safe(o.message)}"),
    )
    results = []
    for report in reports:
        for text in report.errors:
            out.info(text)
        out.info(report.summary())
        results += [o.record for o in report.outcomes]
    unknown = sum(r.still_unknown + len(r.skipped) for r in reports)
    settled = sum(r.settled for r in reports)
    code = resolve_exit_code(unknown, results, sum(r.busy for r in reports))
    message = f"{settled} settled, {unknown} still unknown" if unknown else f"{settled} settled"
    payload = {
        "records": [record_to_json(r) for r in results],
        "endpoints": [
            {
                "environment": r.target.env_kind,
                "endpoint": r.target.endpoint,
                "profile": r.target.profile,
                "settled": r.settled,
                "still_unknown": r.still_unknown + len(r.skipped),
                "unreachable": r.unreachable,
                "retry": r.target.retry_command(),
            }
            for r in reports
        ],
    }
    return Ending(code, payload, message + label, settled, unknown)


def _ask_resolve(
    args: argparse.Namespace, groups: dict[Any, list[Any]], confirm_custom: bool
) -> set[int] | int:
    """Which records may be resolved: one question for the harmless ones, one per record
    where money may be spent (production, non-loopback custom). An int is an exit code."""
    everything = {r.id for group in groups.values() for r in group}
    if args.yes:
        return everything
    plain = [
        r
        for t, g in groups.items()
        for r in g
        if not t.environment(confirm_custom=confirm_custom).needs_confirmation
    ]
    careful = [
        (t, r)
        for t, g in groups.items()
        for r in g
        if t.environment(confirm_custom=confirm_custom).needs_confirmation
    ]
    allowed: set[int] = set()
    if plain:
        answer = ask(f"Resolve {len(plain)} request(s) (demo/sandbox/local)?")
        if answer is None:
            return EXIT_USAGE
        if not answer:
            return EXIT_CANCELLED
        allowed |= {r.id for r in plain}
    for target, record in careful:
        env = target.environment(confirm_custom=confirm_custom)
        answer = ask(
            f"Resolve #{record.id} ({record.change_label} on HIT {safe(record.hit_id)}) "
            f"on {env.confirm_words}? It may be re-sent with its token"
        )
        if answer is None:
            return EXIT_USAGE
        if answer:
            allowed.add(record.id)
    return allowed


def cmd_resolve_batch(args: argparse.Namespace) -> int:
    """`turktui resolve --batch ID`: settle the unsettled members of one batch, each at the
    endpoint it was sent to (see `resolve_records`)."""

    def body(session: Session) -> int:
        out, history = session.out, session.history()
        members = history.batch_records(args.batch)
        if not members:
            return out.result(
                EXIT_USAGE, {"records": []}, f"turktui: no batch {safe(args.batch)} in the history"
            )
        pending = [history.get(r.id) or r for r in members if not r.settled]
        out.info(f"Batch {safe(args.batch)}: {len(members)} member(s), {len(pending)} unsettled")
        ending = resolve_records(args, session, pending, label=f" in batch {safe(args.batch)}")
        return out.result(*ending.result())

    return run(args, body, payload={"records": []})
