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

EXIT_CODES = """\
exit codes:
  0  success: the assignments were added (or were already added by this token)
  1  cancelled at the confirmation prompt
  2  usage or configuration problem (bad option, read-only, no TTY for a production prompt)
  3  refused: by turktui's rules (nothing sent) or by MTurk (nothing changed)
  4  service error: MTurk could not be reached or failed, and nothing was applied
  5  outcome unknown: the request may have been applied; run `turktui resolve`
"""

EXTEND_EPILOG = EXIT_CODES + """
The request is recorded in the history before it is sent, and every retry reuses the same
UniqueRequestToken, so MTurk applies it at most once. --token lets a script re-run the same
intent safely within MTurk's 24-hour token window.
"""

RESOLVE_EPILOG = """\
Settles requests whose outcome is unknown (the app or a command was killed, the connection
dropped). Within 24 hours of the first attempt the request is re-sent with its original
token (MTurk applies a token at most once); after that turktui never re-sends, and instead
compares the HIT's MaxAssignments with the values before/after recorded for the request.

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
                        help="also set the HIT to expire DURATION from now (e.g. 6h, 2d)")
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


class _Out:
    """Human lines on stderr/stdout, or one JSON object on stdout at the end.

    Output never fails after a change was applied: JSON is ASCII with escapes (any stdout
    can carry it), text is degraded to the stream's encoding (backslash escapes)."""

    def __init__(self, as_json: bool) -> None:
        self.as_json = as_json

    def say(self, text: str) -> None:
        if not self.as_json:
            _emit(text, sys.stdout)

    def info(self, text: str) -> None:
        _emit(text, sys.stderr if self.as_json else sys.stdout)

    def result(self, code: int, payload: dict[str, Any], message: str) -> int:
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
    from turktui.core.text import one_line

    return one_line(text)


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
    from turktui.core.history import open_history

    return open_history(conn.paths.history_db)


def cmd_extend(args: argparse.Namespace) -> int:
    from turktui.core.engine import Engine, PlanRefused, check_token, estimated_cost_text
    from turktui.core.errors import (
        AccessDenied,
        ConfigurationError,
        CredentialsExpired,
        CredentialsMissing,
        HitNotFound,
        RequestRefused,
        TurkError,
    )
    from turktui.core.history import HistoryError, OutcomeNotRecorded, State, record_to_json
    from turktui.core.rules import InputProblem, extension_range, parse_count, range_text
    from turktui.core.timefmt import iso, parse_duration

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
    if args.expire_in:
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
                         if expire_seconds else None)
            try:
                plan = engine.plan(hit, n, expire_at, token=args.token)
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
            if expire_at is not None:
                summary += f"; expiration \u2192 {iso(expire_at)}"
            if hit.is_expired(engine.clock()) and expire_at is None:
                summary += " (the HIT has expired: added assignments will not reopen it)"
            out.info(summary)
            if env.is_production and not args.yes:
                answer = _confirm("Send this request to PRODUCTION (real money)?")
                if answer is None:
                    return out.result(EXIT_USAGE, {**base, "state": "usage"},
                                      "turktui: production needs confirmation: no terminal to "
                                      "ask on, pass --yes to confirm")
                if not answer:
                    return out.result(EXIT_CANCELLED, {**base, "state": "cancelled"},
                                      "turktui: cancelled; nothing was sent")

            def progress(event: Any) -> None:
                if event.kind in ("retry", "expiration") or (
                        event.kind == "attempt" and event.attempt > 1):
                    out.info(f"  {_safe(event.message)}")

            try:
                outcome = engine.execute(plan, progress)
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


def _record_line(record: Any) -> str:
    from turktui.core.timefmt import iso

    title = _safe(record.hit_title)
    if len(title) > 30:
        title = title[:29] + "\u2026"
    return (f"#{record.id:<6} {iso(record.created)}  {record.state.label:<20} "
            f"+{record.n:<7,} {_safe(record.hit_id)}  {title}  "
            f"{_safe(record.error_code)}"
            + (f"  [{_safe(record.batch_id)}]" if record.batch_id else ""))


def cmd_history(args: argparse.Namespace) -> int:
    from turktui.cli.options import load_config
    from turktui.core.history import UNSETTLED, HistoryError, open_history, record_to_json

    if getattr(args, "batch", None):
        from turktui.cli.bulk_commands import cmd_history_batch

        return cmd_history_batch(args)
    _, paths = load_config(args)
    out = _Out(args.json)
    try:
        history = open_history(paths.history_db)
    except HistoryError as exc:
        return out.result(EXIT_USAGE, {"records": []}, f"turktui: {exc}")
    try:
        states = UNSETTLED if args.unsettled else None
        total = history.count(text=args.filter, states=states)
        records = history.query(text=args.filter, states=states, limit=args.limit)
        if args.json:
            full = [history.get(r.id) or r for r in records]
            return out.result(EXIT_OK, {"count": total, "records": [record_to_json(r)
                                                                    for r in full]},
                              f"{len(records)} of {total} records")
        for record in records:
            print(_record_line(record))
        print(f"{len(records)} of {total} record{'s' if total != 1 else ''} "
              f"({paths.history_db})")
        return EXIT_OK
    finally:
        history.close()


def cmd_resolve(args: argparse.Namespace) -> int:
    from turktui.core.engine import Engine, PlanRefused
    from turktui.core.history import HistoryError, State, record_to_json

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
            unsettled = history.unsettled()
            mine = [r for r in unsettled if r.endpoint == conn.env.endpoint_url]
            others = len(unsettled) - len(mine)
            if others:
                out.info(f"{others} unsettled record(s) belong to other endpoints; connect to "
                         "them to resolve those.")
            if not mine:
                return out.result(EXIT_OK, {"records": []}, "Nothing to resolve.")
            engine = Engine(conn.service(), history, conn.env)
            for record in mine:
                how = ("re-send with its original token" if engine.can_resend(record)
                       else "compare MaxAssignments (token window over: no re-send)")
                if record.state is State.PLANNED:
                    how = "mark as never sent"
                out.info(f"{_record_line(record)}  \u2192 {how}")
            if not args.yes:
                answer = _confirm(f"Resolve {len(mine)} request(s) on {conn.env.kind.banner}?")
                if answer is None:
                    return out.result(EXIT_USAGE, {"records": [record_to_json(r) for r in mine]},
                                      "turktui: pass --yes to resolve without a terminal")
                if not answer:
                    return out.result(EXIT_CANCELLED, {"records": []}, "Cancelled.")
            results = []
            for record in mine:
                full = history.get(record.id) or record
                try:
                    outcome = engine.resolve(full)
                except PlanRefused as exc:
                    out.info(f"#{record.id}: {exc.message}")
                    continue
                except HistoryError as exc:
                    return out.result(EXIT_SERVICE, {"records": [record_to_json(r)
                                                                 for r in results]},
                                      f"turktui: #{record.id}: {_safe(exc)}")
                results.append(outcome.record)
                out.say(f"#{record.id}: {_safe(outcome.message)}")
            still = [r for r in results if not r.settled]
            code = EXIT_UNKNOWN if still else EXIT_OK
            message = (f"{len(results) - len(still)} settled, {len(still)} still unknown"
                       if still else f"{len(results)} settled")
            return out.result(code, {"records": [record_to_json(r) for r in results]}, message)
        finally:
            history.close()
    finally:
        conn.close()
