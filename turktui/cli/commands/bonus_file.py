"""`turktui bonus --csv FILE [--send-valid]`: the bonuses of a file (columns assignment_id,
amount, reason; an optional worker_id must match the assignment's worker), each its own recorded
request (the bonus operation) with a token derived from its row, so a re-run of the same file
recognises what was paid (the history, and ListBonusPayments by the reference) and pays
nothing twice. Every row is previewed with its fee and the file's total before anything is
sent; rows that cannot be paid are named with their row number and nothing is sent unless
--send-valid."""

from __future__ import annotations

import argparse
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

from turktui.cli.output import Out, PerHit, safe
from turktui.domain.bonusfile import BonusRow, RowProblem, read_bonus_file
from turktui.domain.models import Assignment, BonusPayment, Hit
from turktui.domain.records import Record
from turktui.domain.rules import bonus_fee, format_money


@dataclass
class Line:
    """A payable row, read against MTurk: its worker and HIT, and what is already known."""

    row: BonusRow
    worker: str
    hit: Hit
    token: str
    paid: bool = False  # ListBonusPayments (or the history) shows this row's payment
    prior: Record | None = None  # this row's unsettled record from an earlier run

    @property
    def fee(self) -> Decimal:
        return bonus_fee(self.row.amount)


class Reads:
    """The rows' assignments and their earlier bonuses, read a HIT at a time: a row of a HIT
    not read yet costs a GetAssignment, then its HIT's assignments (ListAssignmentsForHIT)
    and bonuses (ListBonusPayments by HIT, every page) answer the other rows of that HIT —
    a file of 1,000 rows over a few HITs is previewed in a few dozen requests, not 2,000.
    An assignment the listing does not show (yet), or a HIT whose bonuses cannot be listed,
    is read on its own (GetAssignment, ListBonusPayments by assignment)."""

    def __init__(self, service: Any) -> None:
        self.service = service
        self.known: dict[str, tuple[Assignment, Hit]] = {}
        self.paid: dict[str, list[BonusPayment]] = {}  # by assignment, for listed HITs
        self.listed: set[str] = set()

    def row(self, assignment_id: str) -> tuple[Assignment, Hit, list[BonusPayment]]:
        """The assignment, its HIT and every bonus paid for it (RequestRefused/TurkError as
        the service raises them)."""
        from turktui.domain.errors import RequestRefused

        if assignment_id not in self.known:
            assignment, hit = self.service.get_assignment(assignment_id)
            self.known[assignment_id] = (assignment, hit)
            if hit.hit_id not in self.listed:
                self.listed.add(hit.hit_id)
                for other in self.service.list_assignments(hit.hit_id):
                    self.known.setdefault(other.assignment_id, (other, hit))
                try:
                    payments = self.service.list_bonus_payments(hit_id=hit.hit_id)
                except RequestRefused:
                    payments = None
                if payments is not None:
                    for aid, (_a, of) in self.known.items():
                        if of.hit_id == hit.hit_id:
                            self.paid.setdefault(aid, [])
                    for payment in payments:
                        self.paid.setdefault(payment.assignment_id, []).append(payment)
        assignment, hit = self.known[assignment_id]
        if assignment_id not in self.paid:
            self.paid[assignment_id] = self.service.list_bonus_payments(assignment_id=assignment_id)
        return assignment, hit, self.paid[assignment_id]


def cmd_bonus_file(args: argparse.Namespace) -> int:
    from turktui.adapters.history import HistoryError
    from turktui.cli.prompts import confirm_spend
    from turktui.cli.session import Session, run
    from turktui.domain.errors import RequestRefused, TurkError
    from turktui.pipeline.model import PlanRefused
    from turktui.pipeline.operations import BONUS, when
    from turktui.pipeline.operations.bonus import bonus_subject, matches
    from turktui.pipeline.policy import (
        EXIT_OK,
        EXIT_REFUSED,
        EXIT_USAGE,
        worst,
    )

    out = Out(args.json)
    usage: dict[str, Any] = {"state": "usage"}
    try:
        with open(args.csv, "rb") as handle:
            data = handle.read(20_000_001)
    except OSError as exc:
        return out.result(
            EXIT_USAGE, usage, f"turktui: cannot read {safe(args.csv)}: {safe(exc.strerror)}"
        )
    rows, problems = read_bonus_file(data)
    if problems and not rows:
        for problem in problems:
            out.info(f"turktui: {safe(problem)}")
        return out.result(
            EXIT_USAGE,
            {"state": "usage", "problems": [str(p) for p in problems]},
            "turktui: nothing was sent: the file has no payable row",
        )
    results = PerHit(out, key="row")

    def body(session: Session) -> int:
        engine, service, env = session.engine(), session.service(), session.env
        history = engine.history
        lines: list[Line] = []
        reads = Reads(service)
        for row in rows:
            try:
                assignment, hit, payments = reads.row(row.assignment_id)
            except RequestRefused as exc:
                problems.append(RowProblem(row.row, f"MTurk refused it: {exc.message}"))
                continue
            except TurkError as exc:
                return results.ended(f"row {row.row}", exc, "read the assignment")
            if row.worker_id and row.worker_id != assignment.worker_id:
                problems.append(
                    RowProblem(
                        row.row,
                        f"worker_id {row.worker_id} is not the worker of assignment "
                        f"{row.assignment_id} ({assignment.worker_id})",
                    )
                )
                continue
            token = row.token(env.endpoint_url)
            line = Line(row, assignment.worker_id, hit, token)
            line.paid = any(
                matches(p, row.assignment_id, line.worker, row.amount, token) for p in payments
            )
            for prior in history.find_by_token(token):
                if prior.endpoint == env.endpoint_url:
                    line.paid = line.paid or prior.state.applied is True
                    line.prior = None if prior.settled else prior
            others = [
                p
                for p in payments
                if p.worker_id == line.worker
                and not matches(p, row.assignment_id, line.worker, p.amount or Decimal(0), token)
            ]
            if others and not line.paid and line.prior is None and not args.allow_second:
                problems.append(
                    RowProblem(
                        row.row,
                        f"worker {line.worker} already has a bonus for assignment "
                        f"{row.assignment_id} ({format_money(others[0].amount)} granted "
                        f"{when(others[0].grant_time)}); pass --allow-second to pay another",
                    )
                )
                continue
            lines.append(line)
        to_pay = [line for line in lines if not line.paid]
        amount = sum((line.row.amount for line in to_pay), Decimal(0))
        fees = sum((line.fee for line in to_pay), Decimal(0))
        for line in lines:
            state = "already paid" if line.paid else "to pay"
            out.info(
                f"row {line.row.row:>5}  {safe(line.row.assignment_id)}  {safe(line.worker)}  "
                f"{format_money(line.row.amount):>9}  fee {format_money(line.fee):>7}  "
                f"total {format_money(line.row.amount + line.fee):>9}  {state}"
            )
        for problem in sorted(problems, key=lambda p: p.row):
            out.info(f"row {problem.row:>5}  ERROR: {safe(problem.message)}")
        out.info(
            f"{env.kind.banner}: {len(to_pay)} bonus(es) to pay: {format_money(amount)} + fee "
            f"{format_money(fees)} = {format_money(amount + fees)}; "
            f"{len(lines) - len(to_pay)} already paid; {len(problems)} row(s) with errors"
        )
        payload: dict[str, Any] = {
            "problems": [str(p) for p in sorted(problems, key=lambda p: p.row)],
            "already_paid": [line.row.row for line in lines if line.paid],
            "amount": str(amount),
            "fee": str(fees),
            "total": str(amount + fees),
        }
        if problems and not args.send_valid:
            return out.result(
                EXIT_USAGE,
                {"state": "usage", **payload},
                f"turktui: nothing was sent: {len(problems)} row(s) with errors; fix them, or "
                "pass --send-valid to pay the valid rows",
            )
        if to_pay:
            try:
                available = service.get_balance().available
            except TurkError as exc:
                return results.ended("balance", exc, "read the balance")
            if amount + fees > available:
                return out.result(
                    EXIT_REFUSED,
                    {"state": "refused", **payload},
                    f"turktui: nothing was sent: the file's total {format_money(amount + fees)}"
                    f" is more than the available balance {format_money(available)}",
                )
            declined = confirm_spend(
                env, f"Pay {len(to_pay)} bonus(es), {format_money(amount + fees)}", args.yes
            )
            if declined is not None:
                return out.result(declined.code, {"state": declined.state}, declined.message)
        for problem in problems:
            results.done(
                f"row {problem.row}", EXIT_REFUSED, "refused", f"not sent: {problem.message}"
            )
        for line in lines:
            subject = f"row {line.row.row}"
            if line.paid:
                results.done(subject, EXIT_OK, "already_paid", "already paid; nothing was sent")
                continue
            record = line.prior
            try:
                if record is None:
                    record = engine.request(
                        BONUS,
                        line.hit,
                        token=line.token,
                        subject=bonus_subject(line.row.assignment_id),
                        allow_second=bool(args.allow_second),
                        payload={
                            "assignment_id": line.row.assignment_id,
                            "worker_id": line.worker,
                            "amount": line.row.amount_text,
                            "reason": line.row.reason,
                        },
                    )
                engine.dispatch([record])
            except (PlanRefused, HistoryError) as exc:
                results.failed(subject, exc)
                continue
            final = history.get(record.id)
            assert final is not None
            results.recorded(subject, final, fee=str(line.fee))
        code = worst(results.codes) if results.codes else EXIT_OK
        paid = sum(1 for r in results.results if r["state"] in ("succeeded", "resolved_succeeded"))
        return out.result(
            code, {"results": results.results, **payload}, f"turktui: {paid} bonus(es) paid now"
        )

    return run(args, body, payload={"results": results.results}, changing=True)
