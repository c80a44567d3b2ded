"""What `turktui approve` and `turktui reject` share: read each assignment (GetAssignment),
show what will happen, ask once, then record and send each as its own request (the approve /
reject operation modules), one result line per assignment; the worst outcome wins."""

from __future__ import annotations

import argparse
from decimal import Decimal
from typing import Any

from turktui.cli.output import (
    Out,
    PerHit,
    history_exit_code,
    refuse_bad_hit_ids,
    safe,
)
from turktui.cli.session import changing
from turktui.domain.errors import TurkError
from turktui.pipeline.policy import (
    EXIT_OK,
    EXIT_REFUSED,
    EXIT_SERVICE,
    EXIT_USAGE,
    worst,
)


def unique_ids(values: list[str]) -> list[str]:
    return list(dict.fromkeys(v.strip() for v in values if v.strip()))


def run_review(
    args: argparse.Namespace,
    op: Any,
    *,
    payload: dict[str, Any],
    confirm: Any,
    hit_id: str | None = None,
) -> int:
    """Approve or reject (`op`) the assignments of `args.assignment_ids` (or every Submitted
    one of `hit_id`), each recorded before it is sent. `confirm(env, what, yes)` → Declined
    or None: asked once, after every assignment was read, before anything is recorded."""
    from turktui.adapters.history import HistoryError
    from turktui.domain.rules import extension_cost, format_money
    from turktui.pipeline.batch import DEFAULT_WORKERS
    from turktui.pipeline.model import PlanRefused

    out = Out(args.json)
    ids = unique_ids(args.assignment_ids)
    usage = {"state": "usage"}
    refused = refuse_bad_hit_ids(out, [hit_id] if hit_id else [], usage)
    if refused is not None:
        return refused
    from turktui.domain.rules import InputProblem, check_hit_id

    try:
        for assignment_id in ids:
            check_hit_id(assignment_id, "assignment id")
    except InputProblem as exc:
        return out.result(EXIT_USAGE, usage, f"turktui: {exc}")
    results = PerHit(out, key="assignment_id")

    def body(engine: Any) -> int:
        nonlocal ids
        history, service, env = engine.history, engine.service, engine.env
        reads = []
        if hit_id:
            # The HIT's listing shows every assignment: one GetHIT (the reward) and the
            # listing's pages, not a GetAssignment each (each is read again just before it
            # is sent).
            try:
                listed = service.list_assignments(hit_id)
                hit = service.get_hit(hit_id) if listed else None
            except TurkError as exc:
                results.failed(hit_id, exc, "list the HIT's assignments")
                return out.result(worst(results.codes), {"results": results.results}, "")
            reads = [(a, hit) for a in listed if a.status == "Submitted"]
            if not reads:
                return out.result(
                    EXIT_OK,
                    {"results": []},
                    f"turktui: HIT {safe(hit_id)} has no Submitted assignment; nothing to do",
                )
        elif not ids:
            return out.result(EXIT_USAGE, usage, "turktui: give at least one ASSIGNMENT_ID")
        for assignment_id in ids:
            try:
                reads.append(service.get_assignment(assignment_id))
            except TurkError as exc:
                results.failed(assignment_id, exc, "read the assignment")
        if reads:
            verb = op.verb
            charge = sum(
                (
                    extension_cost(hit.reward, 1, hit.max_assignments).total
                    for a, hit in reads
                    if a.status == "Submitted" and hit.reward is not None
                ),
                Decimal(0),
            )
            money = (
                f" (about {format_money(charge)} with MTurk's fee, paid from the funds held)"
                if verb == "approve" and charge
                else ""
            )
            n = len(reads)
            what = f"{verb.capitalize()} {n} assignment{'s' if n != 1 else ''}{money}"
            out.info(f"{env.kind.banner}: {what}")
            declined = confirm(env, what, args.yes)
            if declined is not None:
                return out.result(
                    declined.code,
                    {"state": declined.state, "results": results.results},
                    declined.message,
                )
        # Each assignment is recorded before anything is sent, then they are sent a few at a
        # time (the batch's workers and shared pacing), each read, sent and confirmed on
        # its own; the results are listed in the order the assignments were read.
        ended: dict[str, Any] = {}
        records = []

        def refused(aid: str, exc: Exception) -> None:
            if isinstance(exc, PlanRefused):
                ended[aid] = (
                    EXIT_REFUSED,
                    "refused",
                    f"refused (nothing sent): {safe(exc.message)}; settle it with "
                    "`turktui resolve` first",
                    {"error_code": exc.code},
                )
            else:
                code = history_exit_code(exc, EXIT_SERVICE)
                ended[aid] = (code, "failed", f"not sent: {safe(exc)}", {})

        for assignment, hit in reads:
            aid = assignment.assignment_id
            try:
                records.append(
                    engine.request(
                        op,
                        hit,
                        subject=aid,
                        payload={
                            "assignment_id": aid,
                            "worker_id": assignment.worker_id,
                            **payload,
                        },
                    )
                )
            except (PlanRefused, HistoryError) as exc:
                refused(aid, exc)
        engine.dispatch(
            records,
            workers=DEFAULT_WORKERS,
            on_error=lambda record, exc: refused(record.subject, exc),
        )
        by_subject = {r.subject: r for r in records}
        for assignment, _hit in reads:
            aid = assignment.assignment_id
            record = by_subject.get(aid)
            if aid in ended:
                code, state, message, extra = ended[aid]
                results.done(aid, code, state, message, **extra)
            elif record is not None:
                final = history.get(record.id)
                assert final is not None
                results.recorded(aid, final)
        code = worst(results.codes)
        ok = sum(1 for c in results.codes if c == EXIT_OK)
        total = len(results.codes)
        summary = (
            f"turktui: {ok} of {total} assignment{'s' if total != 1 else ''} {op.target.lower()}"
        )
        return out.result(code, {"results": results.results}, summary)

    return changing(args, out, usage, body)
