"""`turktui extend`, `turktui history` and `turktui resolve`: the engine from the shell.

They share the app's connection options and history file, so a request made here shows in
the app's history and vice versa.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import sys
from collections.abc import Callable
from datetime import timedelta, timezone
from typing import Any

UTC = timezone.utc

EXIT_OK = 0
EXIT_CANCELLED = 1
EXIT_USAGE = 2
EXIT_REFUSED = 3
EXIT_SERVICE = 4
EXIT_UNKNOWN = 5
EXIT_CONFLICT = 6

EXIT_CODES = """\
exit codes:
  0  success: the assignments were added (or were already added by this token)
  1  cancelled at the confirmation prompt
  2  usage or configuration problem (bad option, read-only, no TTY for a production prompt)
  3  refused: by turktui's rules (nothing sent) or by MTurk (nothing changed)
  4  service error: MTurk could not be reached or failed, and nothing was applied
  5  outcome unknown: the request may have been applied; run `turktui resolve`
  6  conflict: MTurk's answer and the HIT disagree (e.g. "already processed" but
     MaxAssignments or the expiration did not change as recorded); check the HIT: the
     history shows before/expected/actual
"""

EXTEND_EPILOG = EXIT_CODES + """
The request is recorded in the history before it is sent, and every retry reuses the same
UniqueRequestToken, so MTurk applies it at most once. --token lets a script re-run the same
intent safely within MTurk's 24-hour token window. One request per HIT at a time: a HIT
with an unsettled request in the history is refused (exit 3) unless --allow-second. The
HIT is read again just before sending: the record holds the MaxAssignments read then.
Expiration (--expire-in) follows MTurk's rules: never earlier than the current one, 60 s
to 365 days later; `--expire-in now` expires the HIT now.
"""

RESOLVE_EPILOG = """\
Settles requests whose outcome is unknown (the app or a command was killed, the connection
dropped). Each request is settled at the endpoint it was sent to, with the profile it was
sent with (--endpoint-url/--production/--sandbox only narrow the list; --profile replaces
the recorded profile, e.g. when it was renamed). Within 24
hours of the first attempt the request is re-sent with its original token (MTurk applies a
token at most once); after that turktui never re-sends, and instead compares the HIT's
MaxAssignments with the values before/after recorded for the request. Production (and
non-loopback custom) requests are confirmed one by one unless --yes. An endpoint that
cannot be reached is named, with the exact command to retry, and the exit code is 5.

""" + EXIT_CODES.replace("the assignments were added (or were already added by this token)",
                         "every unsettled request was settled")


def register(sub: argparse._SubParsersAction, add_connection_options: Callable[..., None]) -> None:
    fmt = argparse.RawDescriptionHelpFormatter
    extend = sub.add_parser(
        "extend", help="add assignments to a HIT (token-protected, recorded)",
        description="Add N assignments to a HIT, safely.", epilog=EXTEND_EPILOG,
        formatter_class=fmt,
    )
    # `HIT_ID N` (one HIT), or several HIT ids with a bulk mode (turktui.cli.bulk_commands).
    extend.add_argument("hit_id", metavar="HIT_ID", nargs="*",
                        help="HIT_ID N: add N to one HIT; several HIT ids: see the bulk modes")
    from turktui.cli.bulk_commands import BULK_EPILOG, add_bulk_options

    add_bulk_options(extend)
    extend.epilog = EXTEND_EPILOG + BULK_EPILOG
    extend.add_argument("--token", metavar="T",
                        help="UniqueRequestToken to use (default: a new one); ≤ 64 characters")
    extend.add_argument("--expire-in", metavar="DURATION",
                        help="also set the HIT to expire DURATION from now (e.g. 6h, 2d; "
                             "'now' expires it now)")
    extend.add_argument("--allow-second", action="store_true",
                        help="send even though the HIT already has an unsettled request in "
                             "the history (it is shown first)")
    extend.add_argument("--yes", "-y", action="store_true", help="do not ask for confirmation")
    extend.add_argument("--json", action="store_true", help="print one JSON object")
    add_connection_options(extend, suppress=True)
    extend.set_defaults(handler=cmd_extend)

    history = sub.add_parser(
        "history", help="list recorded requests (newest first)",
        description="List recorded extension requests, newest first.", formatter_class=fmt,
    )
    history.add_argument("--json", action="store_true", help="print one JSON object")
    history.add_argument("--limit", metavar="N", type=_positive_int, default=20)
    history.add_argument("--filter", metavar="TEXT", help="only records mentioning TEXT")
    history.add_argument("--unsettled", action="store_true",
                         help="only planned/sending/unknown records")
    history.add_argument("--batch", metavar="ID", help="only the members of batch ID")
    history.add_argument("--env", choices=ENV_CHOICES, metavar="KIND",
                         help="only records of this environment: demo, sandbox, production or "
                              "custom (demo records live in their own file)")
    history.add_argument("--endpoint", metavar="URL",
                         help="only records sent to this endpoint URL")
    add_connection_options(history, suppress=True)
    history.set_defaults(handler=cmd_history)

    resolve = sub.add_parser(
        "resolve", help="settle requests whose outcome is unknown",
        description="Settle unknown/unfinished requests.", epilog=RESOLVE_EPILOG,
        formatter_class=fmt,
    )
    resolve.add_argument("--yes", "-y", action="store_true",
                         help="act without asking (otherwise: list and ask)")
    resolve.add_argument("--json", action="store_true", help="print one JSON object")
    resolve.add_argument("--batch", metavar="ID",
                         help="only the unsettled members of batch ID")
    add_connection_options(resolve, suppress=True)
    resolve.set_defaults(handler=cmd_resolve)


ENV_CHOICES = ("demo", "sandbox", "production", "custom")


class _Out:
    """Human lines on stderr/stdout, or one JSON object on stdout at the end.

    Output never fails after a change was applied: JSON is ASCII with escapes (any stdout
    can carry it), text is degraded to the stream's encoding (backslash escapes)."""

    def __init__(self, as_json: bool) -> None:
        self.as_json = as_json

    def say(self, text: str) -> None:
        if not self.as_json:
            _emit(_redact(text), sys.stdout)

    def info(self, text: str) -> None:
        _emit(_redact(text), sys.stderr if self.as_json else sys.stdout)

    def result(self, code: int, payload: dict[str, Any], message: str) -> int:
        from turktui.domain.text import redact_obj

        payload = redact_obj(payload)  # type: ignore[assignment]
        message = _redact(message)
        if self.as_json:
            payload = {"exit_code": code, "message": message, **payload}
            _emit(json.dumps(payload, ensure_ascii=True, default=str), sys.stdout)
        else:
            _emit(message, sys.stdout if code == EXIT_OK else sys.stderr)
        return code


def _emit(text: str, stream: Any) -> None:
    """Print `text`, degraded to what `stream` can encode; a closed pipe is not an error
    worth failing a command whose change is already recorded."""
    encoding = getattr(stream, "encoding", None) or "utf-8"
    try:
        text.encode(encoding)
    except UnicodeEncodeError:
        text = text.encode(encoding, "backslashreplace").decode(encoding)
    except LookupError:
        text = text.encode("ascii", "backslashreplace").decode("ascii")
    with contextlib.suppress(BrokenPipeError):
        print(text, file=stream, flush=True)


def _positive_int(text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"not a whole number: {text!r}") from None
    if not 1 <= value <= 1_000_000:
        raise argparse.ArgumentTypeError("must be 1 to 1000000")
    return value


def _safe(text: object) -> str:
    from turktui.domain.text import one_line, redact

    return one_line(redact(text))


def _redact(text: str) -> str:
    """No URL password ever reaches the terminal (old records may still hold one)."""
    from turktui.domain.text import redact

    return redact(text)


def _confirm(question: str) -> bool | None:
    """True/False from the terminal; None when there is no TTY to ask on."""
    if not (sys.stdin.isatty() and sys.stdout.isatty()):
        return None
    try:
        answer = input(f"{question} [y/N] ")
    except EOFError:
        return False
    return answer.strip().lower() in ("y", "yes")


def _open(args: argparse.Namespace) -> Any:
    from turktui.cli.options import open_connection

    return open_connection(args)


def _history(conn: Any) -> Any:
    from turktui.adapters.history import open_history

    return open_history(conn.paths.history_db)


def cmd_extend(args: argparse.Namespace) -> int:
    from turktui.adapters.history import HistoryError, OutcomeNotRecorded
    from turktui.cli.prompts import confirm_spend
    from turktui.domain.errors import (
        AccessDenied,
        ConfigurationError,
        CredentialsExpired,
        CredentialsMissing,
        HitNotFound,
        RequestRefused,
        TurkError,
    )
    from turktui.domain.records import State, record_to_json
    from turktui.domain.rules import (
        EXPIRE_NOW,
        InputProblem,
        extension_range,
        parse_count,
        range_text,
    )
    from turktui.domain.timefmt import iso, parse_duration
    from turktui.pipeline.engine import (
        Engine,
        PlanRefused,
        check_token,
        estimated_cost_text,
        needs_attention,
    )

    out = _Out(args.json)
    from turktui.cli import bulk_commands

    if bulk_commands.is_bulk(args):
        return bulk_commands.cmd_extend_bulk(args)
    if len(args.hit_id or []) != 2:
        return out.result(EXIT_USAGE, {"state": "usage"},
                          "turktui: give HIT_ID N for one HIT, or several HIT ids with --add N, "
                          "--top-up-to T or --top-up-to-nine")
    args.hit_id, args.n = args.hit_id
    base = {"hit_id": args.hit_id}
    try:
        n = parse_count(args.n)
    except InputProblem as exc:
        return out.result(EXIT_USAGE, {**base, "state": "usage"}, f"turktui: N: {exc}")
    if args.token is not None:
        try:
            check_token(args.token)
        except InputProblem as exc:
            return out.result(EXIT_USAGE, {**base, "state": "usage"}, f"turktui: --token: {exc}")
    expire_seconds = None
    expire_now = (args.expire_in or "").strip().lower() == "now"
    if args.expire_in and not expire_now:
        try:
            expire_seconds = parse_duration(args.expire_in)
        except ValueError as exc:
            return out.result(EXIT_USAGE, {**base, "state": "usage"},
                              f"turktui: --expire-in: {exc}")
    conn = _open(args)
    try:
        env = conn.env
        if env.read_only:
            return out.result(EXIT_USAGE, {**base, "state": "usage"},
                              "turktui: read-only session: nothing can be changed")
        service = conn.service()
        try:
            hit = service.get_hit(args.hit_id)
        except HitNotFound as exc:
            return out.result(EXIT_REFUSED, {**base, "state": "refused", "error_code": exc.code},
                              f"turktui: refused: {_safe(exc.message)}")
        except (ConfigurationError, CredentialsMissing, CredentialsExpired, AccessDenied) as exc:
            # Credentials/setup problems are the operator's to fix (exit 2), not outages.
            hint = f"\nturktui: hint: {exc.hint}" if exc.hint else ""
            return out.result(EXIT_USAGE, {**base, "state": "usage"},
                              f"turktui: {_safe(exc.message)}{hint}")
        except TurkError as exc:
            return out.result(EXIT_SERVICE, {**base, "state": "failed"},
                              f"turktui: cannot read the HIT: {_safe(exc.message)}")
        rng = extension_range(hit.max_assignments, hit.created)
        if not rng.allows(n):
            text = range_text(rng) if not rng.extendable else \
                f"at most {rng.high:,} can be added: {rng.reason}"
            return out.result(EXIT_REFUSED, {**base, "state": "refused", "error_code": "rules",
                                             "max_before": hit.max_assignments, "n": n},
                              f"turktui: refused (nothing sent): {_safe(text)}")
        try:
            history = _history(conn)
        except HistoryError as exc:
            return out.result(EXIT_USAGE, {**base, "state": "usage"}, f"turktui: {exc}")
        try:
            engine = Engine(service, history, env)
            expire_at = (engine.clock() + timedelta(seconds=expire_seconds)
                         if expire_seconds else EXPIRE_NOW if expire_now else None)
            busy = history.unsettled_for(env.endpoint_url, [hit.hit_id])
            for other in busy:
                out.info(f"HIT {_safe(hit.hit_id)} already has an unsettled request: "
                         f"{_record_line(other)}")
            if busy and not args.allow_second:
                return out.result(
                    EXIT_REFUSED, {**base, "state": "refused", "error_code": "busy",
                                   "unsettled": [r.id for r in busy]},
                    f"turktui: refused (nothing sent): HIT {_safe(hit.hit_id)} has "
                    f"{len(busy)} unsettled request(s) (#{busy[0].id}). One request per HIT "
                    "at a time: run `turktui resolve`, or pass --allow-second to send anyway.")
            try:
                plan = engine.plan(hit, n, expire_at, token=args.token,
                                   allow_second=bool(args.allow_second))
            except PlanRefused as exc:
                return out.result(EXIT_REFUSED, {**base, "state": "refused",
                                                 "error_code": exc.code},
                                  f"turktui: refused (nothing sent): {_safe(exc.message)}")
            summary = (
                f"{env.kind.banner}: add {n:,} assignment{'s' if n != 1 else ''} to HIT "
                f"{_safe(hit.hit_id)} \u201c{_safe(hit.title)}\u201d: max "
                f"{hit.max_assignments:,} \u2192 {plan.new_max:,}; cost "
                f"{estimated_cost_text(plan)}"
            )
            if plan.expire_at is not None:
                summary += ("; expire it now" if expire_now else
                            f"; expiration {iso(hit.expiration)} \u2192 {iso(plan.expire_at)}")
            if hit.is_expired(engine.clock()) and expire_at is None:
                summary += " (the HIT has expired: added assignments will not reopen it)"
            out.info(summary)
            declined = confirm_spend(env, "Send this request", args.yes)
            if declined is not None:
                return out.result(declined.code, {**base, "state": declined.state},
                                  declined.message)

            def progress(event: Any) -> None:
                if event.kind in ("retry", "expiration") or (
                        event.kind == "attempt" and event.attempt > 1):
                    out.info(f"  {_safe(event.message)}")

            try:
                outcome = engine.execute(plan, progress)
            except PlanRefused as exc:  # another request took the HIT meanwhile, a token...
                return out.result(EXIT_REFUSED, {**base, "state": "refused",
                                                 "error_code": exc.code},
                                  f"turktui: refused (nothing sent): {_safe(exc.message)}")
            except OutcomeNotRecorded as exc:
                code = EXIT_UNKNOWN if exc.maybe_sent else EXIT_SERVICE
                return out.result(code, {**base, "state": "unknown" if exc.maybe_sent
                                         else "failed", "record_id": exc.record_id},
                                  f"turktui: {_safe(exc)}")
            except HistoryError as exc:  # before sending: nothing was sent
                return out.result(EXIT_SERVICE, {**base, "state": "failed"},
                                  f"turktui: not sent: {_safe(exc)}")
        finally:
            history.close()
        record = outcome.record
        code = {
            State.SUCCEEDED: EXIT_OK, State.RESOLVED_SUCCEEDED: EXIT_OK,
            State.REFUSED: EXIT_REFUSED, State.FAILED: EXIT_SERVICE,
        }.get(record.state, EXIT_UNKNOWN)
        if code == EXIT_OK and record.expiry_state == "failed":
            code = EXIT_SERVICE
        if code == EXIT_OK and record.expiry_state == "unknown":
            code = EXIT_UNKNOWN
        if needs_attention(record):
            code = EXIT_CONFLICT
        payload = record_to_json(record)
        payload["record_id"] = payload.pop("id")
        payload["max_after"] = outcome.hit.max_assignments if outcome.hit else None
        payload["cost"] = str(plan.cost.total) if plan.cost else None
        message = _safe(outcome.message)
        if code == EXIT_UNKNOWN:
            message += " Run `turktui resolve` to settle it."
        return out.result(code, payload, message)
    except RequestRefused as exc:  # pragma: no cover - defensive
        return out.result(EXIT_REFUSED, {**base, "state": "refused"}, _safe(exc.message))
    finally:
        conn.close()


def _env_short(env_kind: str) -> str:
    from turktui.domain.environment import EnvKind

    try:
        return EnvKind(env_kind).short
    except ValueError:
        return _safe(env_kind)[:4].upper().ljust(4)


def _record_line(record: Any) -> str:
    from turktui.domain.timefmt import iso

    title = _safe(record.hit_title)
    if len(title) > 30:
        title = title[:29] + "\u2026"
    return (f"#{record.id:<6} {iso(record.created)}  {_env_short(record.env_kind)}  "
            f"{record.state.label:<20} "
            f"+{record.n:<7,} {_safe(record.hit_id)}  {title}  "
            f"{_safe(record.error_code)}"
            + (f"  [{_safe(record.batch_id)}]" if record.batch_id else "")
            + _conflict_text(record))


def _conflict_text(record: Any) -> str:
    """'  before 5, expected 7, actual 5' for a conflict (assignments or expiration)."""
    from turktui.domain.records import State
    from turktui.domain.timefmt import iso

    text = ""
    if record.state is State.CONFLICT:
        actual = "?" if record.actual_after is None else f"{record.actual_after:,}"
        text += (f"  CONFLICT: before {record.max_before:,}, expected "
                 f"{record.expected_after:,}, actual {actual}")
    if record.expiry_state == "conflict":
        text += (f"  EXPIRATION CONFLICT: expected {iso(record.expire_at)}, actual "
                 f"{iso(record.expiry_actual)}")
    return text


def history_scope(args: argparse.Namespace) -> tuple[str | None, str | None]:
    """(environment kind, normalised endpoint) `turktui history` is limited to.

    `--env KIND`, or the connection flags read as filters: `--demo` → demo, `--production`
    → production, `--sandbox` → sandbox, `--endpoint-url`/`--endpoint URL` → that endpoint.
    ValueError (one line) when they contradict each other or a URL is unusable.
    """
    from turktui.domain.environment import parse_endpoint

    kinds = {k for k, on in (("demo", getattr(args, "demo", False)),
                             ("production", getattr(args, "production", False)),
                             ("sandbox", getattr(args, "sandbox", False))) if on}
    if getattr(args, "env", None):
        kinds.add(args.env)
    if len(kinds) > 1:
        raise ValueError(f"contradictory environment filters: {', '.join(sorted(kinds))}")
    endpoint = None
    for option, url in (("--endpoint", getattr(args, "endpoint", None)),
                        ("--endpoint-url", getattr(args, "endpoint_url", None))):
        if url is None:
            continue
        if not url.strip():
            raise ValueError(f"{option} is empty: give a URL or leave it out")
        normal = parse_endpoint(url).url
        if endpoint is not None and normal != endpoint:
            raise ValueError("--endpoint and --endpoint-url name different endpoints")
        endpoint = normal
    return (kinds.pop() if kinds else None), endpoint


def history_file(args: argparse.Namespace, paths: Any) -> Any:
    """Demo records live in their own file (`history-demo.sqlite3`)."""
    kind, _ = history_scope(args)
    return paths.history_for(kind or "")


def cmd_history(args: argparse.Namespace) -> int:
    from turktui.adapters.history import HistoryError, open_history
    from turktui.cli.options import load_config
    from turktui.domain.records import UNSETTLED, record_to_json

    out = _Out(args.json)
    try:
        env_kind, endpoint = history_scope(args)
    except ValueError as exc:
        return out.result(EXIT_USAGE, {"records": []}, f"turktui: {_safe(exc)}")
    if getattr(args, "batch", None):
        from turktui.cli.bulk_commands import cmd_history_batch

        return cmd_history_batch(args)
    _, paths = load_config(args)
    where = paths.history_for(env_kind or "")
    try:
        history = open_history(where)
    except HistoryError as exc:
        return out.result(EXIT_USAGE, {"records": []}, f"turktui: {exc}")
    try:
        states = UNSETTLED if args.unsettled else None
        scope = {"text": args.filter, "states": states, "env_kind": env_kind,
                 "endpoint": endpoint}
        total = history.count(**scope)
        records = history.query(**scope, limit=args.limit)
        if args.json:
            full = [history.get(r.id) or r for r in records]
            return out.result(EXIT_OK, {"count": total, "file": str(where),
                                        "records": [record_to_json(r) for r in full]},
                              f"{len(records)} of {total} records")
        for record in records:
            print(_redact(_record_line(record)))
        scope_text = " ".join(x for x in (env_kind, endpoint) if x)
        print(f"{len(records)} of {total} record{'s' if total != 1 else ''}"
              + (f" on {_redact(scope_text)}" if scope_text else "") + f" ({where})")
        if env_kind is None and endpoint is None and paths.demo_history_db.exists():
            print("demo records are kept apart: `turktui history --env demo` lists them")
        return EXIT_OK
    finally:
        history.close()


def _explicit_endpoint(args: argparse.Namespace) -> bool:
    return bool(getattr(args, "endpoint_url", None) or getattr(args, "production", False)
                or getattr(args, "sandbox", False))


def cmd_resolve(args: argparse.Namespace) -> int:
    """Settle every unsettled record at its own endpoint with its own profile."""
    from turktui.adapters.history import HistoryError

    if getattr(args, "batch", None):
        from turktui.cli.bulk_commands import cmd_resolve_batch

        return cmd_resolve_batch(args)
    out = _Out(args.json)
    conn = _open(args)
    try:
        try:
            history = _history(conn)
        except HistoryError as exc:
            return out.result(EXIT_USAGE, {"records": []}, f"turktui: {exc}")
        try:
            return resolve_records(args, conn, history, history.unsettled(), out)
        finally:
            history.close()
    finally:
        conn.close()


def resolve_records(args: argparse.Namespace, conn: Any, history: Any, records: list[Any],
                    out: _Out, *, label: str = "") -> int:
    """Settle `records` (unsettled) each at its own endpoint: list, confirm, resolve, report.
    Used by `turktui resolve` and `turktui resolve --batch ID`."""
    from turktui.domain.records import State, describe_owner, record_to_json
    from turktui.pipeline.engine import Engine, needs_attention
    from turktui.pipeline.resolving import (
        group_by_target,
        like_service_factory,
        resolve_everywhere,
        same_endpoint,
    )

    if _explicit_endpoint(args):  # only the records made against the endpoint given
        records = [r for r in records if same_endpoint(r.endpoint, conn.env.endpoint_url)]
    if not records:
        return out.result(EXIT_OK, {"records": []}, f"Nothing to resolve{label}.")
    if conn.env.read_only:
        return out.result(EXIT_USAGE, {"records": [record_to_json(r) for r in records]},
                          f"turktui: read-only session: {len(records)} unsettled "
                          "request(s) left as they are")
    override = getattr(args, "profile", None)  # --profile: use it for every record
    groups = group_by_target(records, profile=override)
    planner = Engine(None, history, conn.env)
    for target, group in groups.items():
        out.info(f"{target.label}: {len(group)} unsettled")
        for record in group:
            how = ("re-send with its original token (if MTurk's clock agrees)"
                   if planner.can_resend(record)
                   else "compare MaxAssignments (token window over: no re-send)")
            if record.state is State.PLANNED:
                how = "mark as never sent"
            if planner.is_live(record):
                how = (f"left alone: being sent by a running process "
                       f"({describe_owner(record.owner)})")
            out.info(f"  {_record_line(record)}  \u2192 {how}")
    allowed = _ask_resolve(args, groups, conn.settings.confirm_custom)
    if isinstance(allowed, int):
        code = allowed
        message = ("turktui: pass --yes to resolve without a terminal"
                   if code == EXIT_USAGE else "Cancelled.")
        return out.result(code, {"records": [record_to_json(r) for r in records]}, message)
    service = conn.service()
    make = like_service_factory(service, connect_timeout=conn.settings.connect_timeout,
                                read_timeout=conn.settings.read_timeout)
    reports = resolve_everywhere(
        records, history, make, reuse=(conn.env, service),
        confirm_custom=conn.settings.confirm_custom, profile=override,
        allow=lambda r: r.id in allowed,
        on_outcome=lambda o: out.say(f"#{o.record.id}: {_safe(o.message)}"),
    )
    results = []
    for report in reports:
        for text in report.errors:
            out.info(text)
        out.info(report.summary())
        results += [o.record for o in report.outcomes]
    unknown = sum(r.still_unknown + len(r.skipped) for r in reports)
    settled = sum(r.settled for r in reports)
    code = EXIT_UNKNOWN if unknown else EXIT_OK
    if any(needs_attention(r) for r in results):
        code = EXIT_CONFLICT  # MTurk and the record disagree: the operator must look
    message = (f"{settled} settled, {unknown} still unknown" if unknown
               else f"{settled} settled")
    payload = {
        "records": [record_to_json(r) for r in results],
        "endpoints": [{"environment": r.target.env_kind, "endpoint": r.target.endpoint,
                       "profile": r.target.profile, "settled": r.settled,
                       "still_unknown": r.still_unknown + len(r.skipped),
                       "unreachable": r.unreachable,
                       "retry": r.target.retry_command()} for r in reports],
    }
    return out.result(code, payload, message + label)


def _ask_resolve(args: argparse.Namespace, groups: dict[Any, list[Any]],
                 confirm_custom: bool) -> set[int] | int:
    """Which records may be resolved: one question for the harmless ones, one per record
    where money may be spent (production, non-loopback custom). An int is an exit code."""
    everything = {r.id for group in groups.values() for r in group}
    if args.yes:
        return everything
    plain = [r for t, g in groups.items() for r in g
             if not t.environment(confirm_custom=confirm_custom).needs_confirmation]
    careful = [(t, r) for t, g in groups.items() for r in g
               if t.environment(confirm_custom=confirm_custom).needs_confirmation]
    allowed: set[int] = set()
    if plain:
        answer = _confirm(f"Resolve {len(plain)} request(s) (demo/sandbox/local)?")
        if answer is None:
            return EXIT_USAGE
        if not answer:
            return EXIT_CANCELLED
        allowed |= {r.id for r in plain}
    for target, record in careful:
        env = target.environment(confirm_custom=confirm_custom)
        answer = _confirm(f"Resolve #{record.id} (+{record.n:,} on HIT {_safe(record.hit_id)}) "
                          f"on {env.confirm_words}? It may be re-sent with its token")
        if answer is None:
            return EXIT_USAGE
        if answer:
            allowed.add(record.id)
    return allowed
