"""Bulk `turktui extend`: several HITs (arguments or --from-file) with one mode, and
`--batch` for `turktui history` / `turktui resolve`.

    turktui extend HIT1 HIT2 ... --add N
    turktui extend --from-file ids.txt --top-up-to 9
    turktui extend HIT1 HIT2 --top-up-to-nine [--large-add N]
    turktui extend --retry-batch BATCH_ID

The preview is printed first (every HIT's planned change, capped or refused with the reason,
its cost, the totals against the balance); production asks for confirmation restating the
totals (unless --yes). Every member is recorded (one token each) before anything is sent.
"""

from __future__ import annotations

import argparse
import signal
import threading
from collections.abc import Sequence
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime
from decimal import Decimal
from typing import Any

from turktui.cli.bulk_options import BULK_EPILOG as BULK_EPILOG
from turktui.cli.bulk_options import add_bulk_options as add_bulk_options
from turktui.cli.bulk_options import is_bulk as is_bulk
from turktui.cli.output import Out, PerHit, fit, refuse_bad_hit_ids, safe
from turktui.cli.prompts import confirm_spend
from turktui.cli.session import Session, run
from turktui.domain.errors import TurkError
from turktui.domain.rules import InputProblem, add_time, check_hit_id
from turktui.pipeline.policy import (
    EXIT_REFUSED,
    EXIT_SIGNAL_BASE,
    EXIT_USAGE,
    batch_exit_code,
)

#: The most a --from-file list may hold (about 300,000 HIT ids).
FROM_FILE_MAX_BYTES = 10_000_000


def read_ids(path: str) -> list[str]:
    """HIT ids from a file: one per line; blank lines and `#` comments are ignored. A BOM,
    CRLF line ends and quotes around an id ("ID" or 'ID', as spreadsheets save them) are
    accepted; anything else that is not a HIT id is refused naming its line (ValueError).
    A pipe (`--from-file <(...)`) is read too, at most FROM_FILE_MAX_BYTES (OSError)."""
    with open(path, "rb") as handle:
        data = handle.read(FROM_FILE_MAX_BYTES + 1)
    if len(data) > FROM_FILE_MAX_BYTES:
        raise OSError(f"{path} is larger than {FROM_FILE_MAX_BYTES:,} bytes")
    ids = []
    for number, line in enumerate(data.decode("utf-8-sig").splitlines(), 1):
        text = line.split("#", 1)[0].strip()
        if len(text) >= 2 and text[0] == text[-1] and text[0] in "\"'":
            text = text[1:-1].strip()
        if not text:
            continue
        try:
            ids.append(check_hit_id(text))
        except InputProblem as exc:
            raise ValueError(f"{path}, line {number}: {exc}") from None
    return ids


def _mode(args: argparse.Namespace) -> Any:
    from turktui.domain.bulk import parse_mode

    if args.add is not None:
        return parse_mode("add", args.add)
    if args.top_up_to is not None:
        return parse_mode("top-up", args.top_up_to)
    if args.top_up_to_nine:
        return parse_mode("nine", args.large_add or "")
    return None


def preview_lines(preview: Any, width: int | None = None) -> list[str]:
    """The preview as aligned lines (service text made safe); cut to `width` only on a
    terminal (None: a pipe or a file gets every reason whole)."""
    out = [fit(f"{'HIT id':<30} {'Max':>7}  {'Change':<24} {'Cost':>10}  Reason", width)]
    for line in preview.lines:
        text = (
            f"{safe(line.hit.hit_id):<30} {line.hit.max_assignments:>7,}  "
            f"{safe(line.change_text):<24} {line.cost_text:>10}  {safe(line.reason)}"
        )
        out.append(fit(text, width))
    return out


def _fetch(service: Any, ids: Sequence[str], workers: int) -> tuple[list[Any], dict[str, str]]:
    """Read every HIT (a few at a time): (hits found, {id: why not}); TurkError on outages."""
    from turktui.domain.errors import HitNotFound

    missing: dict[str, str] = {}

    def one(hit_id: str) -> Any:
        try:
            return service.get_hit(hit_id)
        except HitNotFound as exc:
            missing[hit_id] = exc.message
            return None

    with ThreadPoolExecutor(max_workers=max(1, min(workers, len(ids) or 1))) as pool:
        hits = list(pool.map(one, ids))
    return [h for h in hits if h is not None], missing


def _run(runner: Any, fn: Any, out: Out) -> tuple[Any, int | None]:
    """Run a batch in a thread so Ctrl-C cancels what has not started (and waits for what
    is in flight to be recorded): (the report, the signal that interrupted it or None)."""
    box: dict[str, Any] = {}
    signum: int | None = None
    done = threading.Event()

    def target() -> None:
        try:
            box["report"] = fn()
        except BaseException as exc:  # handed to the main thread
            box["error"] = exc
        finally:
            done.set()

    thread = threading.Thread(target=target, name="bulk", daemon=True)
    thread.start()
    # An Event, not Thread.join: a KeyboardInterrupt inside join() can leave the thread
    # looking finished while it still runs (the batch's report then missing).
    try:
        while not done.wait(0.2):
            pass
    except KeyboardInterrupt as exc:  # Ctrl-C, or SIGTERM/SIGHUP (lifecycle.Interrupted)
        signum = getattr(exc, "signum", signal.SIGINT)
        out.info("turktui: cancelling: requests in flight finish and are recorded\u2026")
        runner.cancel()
        while not done.wait(0.2):  # a second signal leaves now (in flight → unknown)
            pass
    if "error" in box:
        raise box["error"]
    return box["report"], signum


def _ending(report: Any, code: int, message: str, signum: int | None) -> tuple[int, str]:
    """A batch's exit code and last line; interrupted, 128 + the signal (the exit-code
    table), naming `turktui resolve` for what was left unknown."""
    if signum is None:
        return code, message
    message += f"; interrupted ({signal.Signals(signum).name})"
    if report.unknown:
        message += f"; {report.unknown:,} unknown: run `turktui resolve` to settle them"
    return EXIT_SIGNAL_BASE + signum, message


def _member_printer(out: Out) -> Any:
    from turktui.pipeline.batch import member_status

    def member(outcome: Any) -> None:
        rec = outcome.record
        out.say(f"  {safe(rec.hit_id)}: {safe(member_status(rec))}")

    return member


def _payload(report: Any, preview: Any = None) -> dict[str, Any]:
    from turktui.domain.records import record_to_json

    payload: dict[str, Any] = {
        "batch_id": report.batch_id,
        "succeeded": report.succeeded,
        "refused": report.refused,
        "failed": report.failed,
        "unknown": report.unknown,
        "not_sent": report.not_sent,
        "members": [record_to_json(r) for r in report.records],
    }
    if preview is not None:
        payload["preview"] = [
            {
                "hit_id": line.hit.hit_id,
                "status": line.status.value,
                "n": line.n,
                "max_before": line.hit.max_assignments,
                "new_max": line.new_max,
                "reason": line.reason,
                "cost": str(line.cost.total) if line.cost is not None else None,
            }
            for line in preview.lines
        ]
        payload["total_cost"] = str(preview.total_cost)
        payload["total_assignments"] = preview.total_assignments
    return payload


def cmd_extend_bulk(args: argparse.Namespace) -> int:
    from turktui.domain.bulk import BulkLine, BulkPreview, LineStatus, ModeProblem
    from turktui.domain.models import Hit
    from turktui.pipeline.batch import BatchRunner
    from turktui.pipeline.operations import batch_confirmation

    out = Out(args.json)
    if args.retry_batch:
        return _retry(args, out)
    try:
        mode = _mode(args)
    except ModeProblem as exc:
        return out.result(EXIT_USAGE, {"state": "usage"}, f"turktui: {exc}")
    add_seconds = None
    if getattr(args, "add_time", None):
        from turktui.domain.timefmt import parse_duration

        try:
            add_seconds = parse_duration(args.add_time)
        except ValueError as exc:
            return out.result(EXIT_USAGE, {"state": "usage"}, f"turktui: --add-time: {exc}")
        if getattr(args, "expire_in", None):
            return out.result(
                EXIT_USAGE, {"state": "usage"}, "turktui: give --add-time or --expire-in, not both"
            )
    if mode is None and add_seconds is not None:
        return _add_time_each(args, out, add_seconds)
    if mode is None:
        return out.result(
            EXIT_USAGE,
            {"state": "usage"},
            "turktui: with several HITs, choose --add N, --top-up-to T or "
            "--top-up-to-nine (and/or --add-time DURATION)",
        )
    if args.large_add and not args.top_up_to_nine:
        return out.result(
            EXIT_USAGE, {"state": "usage"}, "turktui: --large-add goes with --top-up-to-nine"
        )
    if not 1 <= args.workers <= 16:
        return out.result(EXIT_USAGE, {"state": "usage"}, "turktui: --workers must be 1-16")
    if getattr(args, "token", None):
        return out.result(
            EXIT_USAGE,
            {"state": "usage"},
            "turktui: --token is for one HIT; a batch makes one token per HIT",
        )
    ids = list(args.hit_id or [])
    refused = refuse_bad_hit_ids(out, ids, {"state": "usage"})
    if refused is not None:
        return refused
    if args.from_file:
        try:
            ids += read_ids(args.from_file)
        except (OSError, ValueError) as exc:
            return out.result(EXIT_USAGE, {"state": "usage"}, f"turktui: --from-file: {safe(exc)}")
    ids = list(dict.fromkeys(ids))  # one intent per HIT, in the order given
    if not ids:
        return out.result(EXIT_USAGE, {"state": "usage"}, "turktui: no HIT ids given")

    def body(session: Session) -> int:
        env, service = session.env, session.service()
        try:
            hits, missing = _fetch(service, ids, args.workers)
        except TurkError as exc:
            return session.fail(exc, "read the HITs")
        balance: Decimal | None
        try:
            balance = service.get_balance().available
        except TurkError:
            balance = None
        from turktui.domain.bulk import plan_bulk

        now = datetime.now(UTC)
        # The app's bulk dialog plans the same way (one rule for the time: new_expiration).
        planned = plan_bulk(hits, mode, balance, add_seconds=add_seconds, now=now)
        by_id = {line.hit.hit_id: line for line in planned.lines}
        lines = [
            by_id.get(hid)
            or BulkLine(Hit(hid), LineStatus.REFUSED, None, 0, f"not found: {missing.get(hid, '')}")
            for hid in ids
        ]
        preview = BulkPreview(mode, tuple(lines), balance, add_seconds)
        for text in preview_lines(preview, out.info_width()):
            out.info(text)
        out.info(f"{env.kind.banner}: {preview.describe()}: {preview.totals_text()}")
        if not preview.send_count:
            return out.result(
                EXIT_REFUSED,
                {"state": "refused", **_preview_only(preview)},
                "turktui: nothing to send (see the reasons above)",
            )
        if preview.sufficient is False:
            return out.result(
                EXIT_REFUSED,
                {"state": "refused", **_preview_only(preview)},
                "turktui: refused (nothing sent): the balance does not cover the total cost",
            )
        for line in batch_confirmation(preview, env.kind.banner)[2:]:  # the totals restated
            out.info(line)
        declined = confirm_spend(env, "Send these requests", args.yes)
        if declined is not None:
            return out.result(declined.code, {"state": declined.state}, declined.message)
        runner = BatchRunner(session.engine(), workers=args.workers)
        bid, records = runner.record(
            preview,
            expire_at=preview.expirations(),  # each HIT's, as planned and shown
            allow_second=bool(getattr(args, "allow_second", False)),
        )
        out.info(f"Recorded batch {bid} ({len(records):,} requests); sending\u2026")
        report, signum = _run(
            runner, lambda: runner.send(bid, records, member=_member_printer(out)), out
        )
        refused_lines = preview.refused_count
        code = batch_exit_code(report, refused_lines)
        message = f"Batch {bid}: {report.summary()}"
        if refused_lines:
            message += f"; {refused_lines:,} refused before sending"
        if report.retryable:
            message += f". Retry with `turktui extend --retry-batch {bid}`"
        code, message = _ending(report, code, message, signum)
        return out.result(code, _payload(report, preview), message + ".")

    return run(args, body, changing=True)


def _add_time_each(args: argparse.Namespace, out: Out, seconds: float) -> int:
    """`extend HIT1 HIT2 … --add-time D`: time only for each HIT, one record each (shown as
    "time"), sent one after the other; the worst outcome wins."""
    from turktui.pipeline.operations.update_expiration import expiration_line
    from turktui.pipeline.policy import EXIT_OK, worst

    ids = list(dict.fromkeys(args.hit_id or []))
    refused = refuse_bad_hit_ids(out, ids, {"state": "usage"})
    if refused is not None:
        return refused
    if args.from_file:
        try:
            ids = list(dict.fromkeys(ids + read_ids(args.from_file)))
        except (OSError, ValueError) as exc:
            return out.result(EXIT_USAGE, {"state": "usage"}, f"turktui: --from-file: {safe(exc)}")
    per_hit = PerHit(out)
    results, codes = per_hit.results, per_hit.codes

    def body(session: Session) -> int:
        env, engine = session.env, session.engine()
        plans = []
        for hit in per_hit.read_hits(session.service(), ids):
            plan = per_hit.plan(engine, hit, 0, add_time(hit.expiration, seconds, engine.clock()))
            if plan is None:
                continue
            assert plan.expire_at is not None
            when = expiration_line(hit, plan.expire_at, engine.clock())
            out.info(f"  {safe(hit.hit_id)}: {when}")
            plans.append(plan)
        if plans:
            declined = confirm_spend(
                env, f"Add {safe(args.add_time)} to {len(plans)} HIT expiration(s)", args.yes
            )
            if declined is not None:
                return out.result(
                    declined.code, {"state": declined.state, "results": results}, declined.message
                )
        per_hit.send(engine, plans, lambda outcome: {})
        ok = sum(1 for c in codes if c == EXIT_OK)
        return out.result(
            worst(codes), {"results": results}, f"turktui: time added to {ok} of {len(ids)} HITs"
        )

    return run(args, body, payload={"results": results}, changing=True)


def _preview_only(preview: Any) -> dict[str, Any]:
    return {
        k: v
        for k, v in _payload(_EmptyReport(), preview).items()
        if k in ("preview", "total_cost", "total_assignments")
    }


class _EmptyReport:
    batch_id = None
    succeeded = refused = failed = unknown = not_sent = 0
    records: list[Any] = []


def _retry(args: argparse.Namespace, out: Out) -> int:
    from turktui.pipeline.batch import BatchRunner

    def body(session: Session) -> int:
        bid = args.retry_batch
        members = session.history().batch_records(bid)
        if not members:
            return out.result(
                EXIT_USAGE, {"state": "usage"}, f"turktui: no batch {safe(bid)} in the history"
            )
        runner = BatchRunner(session.engine(), workers=args.workers)
        pending = runner.pending(bid)
        out.info(
            f"Batch {safe(bid)}: {len(members):,} members, {len(pending):,} to "
            "re-send with their recorded tokens"
        )
        declined = (
            confirm_spend(session.env, f"Re-send {len(pending):,} requests", args.yes)
            if pending
            else None
        )
        if declined is not None:
            return out.result(declined.code, {"state": declined.state}, declined.message)
        report, signum = _run(runner, lambda: runner.retry(bid, member=_member_printer(out)), out)
        code, message = _ending(
            report, batch_exit_code(report, 0), f"Batch {safe(bid)}: {report.summary()}", signum
        )
        return out.result(code, _payload(report), message)

    return run(args, body, changing=True)
