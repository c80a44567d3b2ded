"""A bonus file (`turktui bonus --csv FILE`), read as pure code: columns assignment_id,
amount, reason and, optionally, worker_id (any order, a header row; a UTF-8 BOM and CSV
quoting are accepted). Every row that cannot be paid as written is named with its row number
and why; nothing here talks to MTurk (the assignment's worker — which a worker_id cell must
match —, unknown assignments and the balance are checked by the command)."""

from __future__ import annotations

import csv
import hashlib
import io
from dataclasses import dataclass
from decimal import Decimal

from turktui.domain.rules import InputProblem, check_bonus_amount, check_feedback, check_hit_id

COLUMNS = ("assignment_id", "amount", "reason")
#: a column a file may have: the worker the operator means (checked against the assignment's)
OPTIONAL = ("worker_id",)
MAX_BYTES = 10_000_000


@dataclass(frozen=True, slots=True)
class BonusRow:
    """One payable row: its number in the file (the header is row 1) and its values."""

    row: int
    assignment_id: str
    amount: Decimal
    amount_text: str
    reason: str
    #: the file's worker_id cell ("" when the file has none): must be the assignment's worker
    worker_id: str = ""

    def token(self, endpoint: str) -> str:
        """The row's stable token: the same row of the same file (and endpoint) is the same
        intent, so a re-run is recognised (by the history and ListBonusPayments) and never
        pays twice; any change to the row is another intent."""
        key = "\x1f".join((endpoint, self.assignment_id, self.amount_text, self.reason))
        return "bonus-" + hashlib.sha256(key.encode("utf-8", "replace")).hexdigest()[:40]


@dataclass(frozen=True, slots=True)
class RowProblem:
    row: int
    message: str

    def __str__(self) -> str:
        return f"row {self.row}: {self.message}"


def read_bonus_file(data: bytes) -> tuple[list[BonusRow], list[RowProblem]]:
    """The payable rows and the problems (row 0: the file as a whole)."""
    if len(data) > MAX_BYTES:
        return [], [RowProblem(0, f"the file is over {MAX_BYTES // 1_000_000} MB")]
    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        return [], [RowProblem(0, f"not UTF-8 text (byte {exc.start + 1})")]
    reader = csv.reader(io.StringIO(text, newline=""), strict=True)
    try:
        lines = list(reader)
    except csv.Error as exc:
        return [], [RowProblem(reader.line_num, f"unreadable CSV ({exc})")]
    if not lines:
        return [], [RowProblem(0, "the file is empty: it needs a header row " + ",".join(COLUMNS))]
    header = [h.strip().lower() for h in lines[0]]
    missing = [c for c in COLUMNS if c not in header]
    if missing:
        return [], [
            RowProblem(1, f"the header lacks {', '.join(missing)} (columns: {', '.join(COLUMNS)})")
        ]
    where = {c: header.index(c) for c in (*COLUMNS, *OPTIONAL) if c in header}
    rows: list[BonusRow] = []
    problems: list[RowProblem] = []
    seen: dict[tuple[str, str, str], int] = {}
    for number, cells in enumerate(lines[1:], start=2):
        if not any(c.strip() for c in cells):
            continue  # a blank line
        if len(cells) < len(header):
            problems.append(
                RowProblem(number, f"{len(cells)} column(s), the header has {len(header)}")
            )
            continue
        aid = cells[where["assignment_id"]].strip()
        amount_text = cells[where["amount"]].strip()
        reason = cells[where["reason"]]
        worker = cells[where["worker_id"]].strip() if "worker_id" in where else ""
        try:
            check_hit_id(aid, "assignment id")
            if worker:
                check_hit_id(worker, "worker id")
            amount = check_bonus_amount(amount_text)
            check_feedback(reason, required=True, what="reason", why="say what it is for")
        except InputProblem as exc:
            problems.append(RowProblem(number, str(exc)))
            continue
        key = (aid, amount_text, reason)
        if key in seen:
            problems.append(RowProblem(number, f"the same bonus as row {seen[key]} (a duplicate)"))
            continue
        seen[key] = number
        rows.append(BonusRow(number, aid, amount, amount_text, reason, worker))
    if not rows and not problems:
        problems.append(RowProblem(0, "the file has no bonus rows"))
    return rows, problems
