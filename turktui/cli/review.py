"""What `turktui approve` and `turktui reject` share: read each assignment (GetAssignment; a
whole HIT's from its listing), show what will happen, ask once, then record each as its own
request (the approve / reject operation modules) and send them a few at a time; one result
line per assignment, in the order read; the worst outcome wins."""

from __future__ import annotations

import argparse
from typing import Any

from turktui.cli.output import Out, PerHit, refuse_bad_hit_ids, safe
from turktui.cli.session import Session, run
from turktui.domain.errors import TurkError
from turktui.pipeline.batch import DEFAULT_WORKERS
from turktui.pipeline.policy import EXIT_OK, EXIT_USAGE, worst
from turktui.pipeline.reviewing import review_many


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

    def body(session: Session) -> int:
        engine, service, env = session.engine(), session.service(), session.env
        reads = []
        if hit_id:
            # The HIT's listing shows every assignment: one GetHIT (the reward) and the
            # listing's pages, not a GetAssignment each (each is read again just before it
            # is sent).
            try:
                listed = service.list_assignments(hit_id)
                hit = service.get_hit(hit_id) if listed else None
            except TurkError as exc:
                return results.ended(hit_id, exc, "list the HIT's assignments")
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
            override = bool(payload.get("override_rejection"))
            out.info(op.confirmation(reads, env.kind.banner, override_rejection=override))
            declined = confirm(env, f"{op.verb.capitalize()} these assignments", args.yes)
            if declined is not None:
                return out.result(
                    declined.code,
                    {"state": declined.state, "results": results.results},
                    declined.message,
                )
        server = service.server_date() if hasattr(service, "server_date") else None
        reviewed = review_many(engine, op, reads, payload, workers=DEFAULT_WORKERS, server=server)
        for assignment, result in reviewed:
            aid = assignment.assignment_id
            if isinstance(result, Exception):
                results.failed(aid, result, then="; settle it with `turktui resolve` first")
            else:
                results.recorded(aid, result)
        code = worst(results.codes)
        ok = sum(1 for c in results.codes if c == EXIT_OK)
        total = len(results.codes)
        summary = (
            f"turktui: {ok} of {total} assignment{'s' if total != 1 else ''} {op.target.lower()}"
        )
        return out.result(code, {"results": results.results}, summary)

    return run(args, body, payload={"results": results.results}, changing=True)
