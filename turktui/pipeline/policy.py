"""The one outcome → exit-code policy, used by every command (and by the app's wording of
a result where it needs the same judgement). Pure: no I/O.

  0  success            3  refused (rules or MTurk; nothing changed)
  1  cancelled          4  service error (nothing applied)
  2  usage/config       5  outcome unknown (run resolve)
                        6  conflict (MTurk's answer and the HIT disagree)
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from turktui.domain.records import Record, State

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


def needs_attention(record: Record) -> bool:
    """A conflict (assignments or expiration): exit 6, shown with its numbers."""
    return record.state is State.CONFLICT or record.expiry_state == "conflict"


def record_exit_code(record: Record) -> int:
    """One request's outcome (its expiration tail included)."""
    code = {
        State.SUCCEEDED: EXIT_OK,
        State.RESOLVED_SUCCEEDED: EXIT_OK,
        State.REFUSED: EXIT_REFUSED,
        State.FAILED: EXIT_SERVICE,
    }.get(record.state, EXIT_UNKNOWN)
    if code == EXIT_OK and record.expiry_state == "failed":
        code = EXIT_SERVICE
    if code == EXIT_OK and record.expiry_state == "unknown":
        code = EXIT_UNKNOWN
    if needs_attention(record):
        code = EXIT_CONFLICT
    return code


#: worst outcome wins: conflict over unknown over service error over refused over ok.
_SEVERITY = {EXIT_OK: 0, EXIT_REFUSED: 1, EXIT_SERVICE: 2, EXIT_UNKNOWN: 3, EXIT_CONFLICT: 4}


def worst_exit_code(codes: Iterable[int]) -> int:
    """The worst of several outcomes' codes (usage/cancel codes count as the worst)."""
    return max(codes, key=lambda c: _SEVERITY.get(c, 5), default=EXIT_OK)


def outcome_exit_code(outcome: Any) -> int:
    """One request (an Outcome): the worst of its records (a combined "+N and more time"
    is two records, each settled on its own)."""
    return worst_exit_code(record_exit_code(r) for r in outcome.records)


def batch_exit_code(report: Any, refused_lines: int = 0) -> int:
    """A batch (a BatchReport): the worst outcome, 6 > 5 > 4 > 3 > 0. Lines refused before
    sending count as refused; "nothing to do" lines do not."""
    if report.conflict:
        return EXIT_CONFLICT
    if report.unknown or report.not_sent:
        return EXIT_UNKNOWN
    if report.failed:
        return EXIT_SERVICE
    if report.refused or refused_lines:
        return EXIT_REFUSED
    return EXIT_OK


def resolve_exit_code(still_unknown: int, settled: Iterable[Record]) -> int:
    """`resolve`: 6 when a settled record is in conflict, 5 while any stays unknown."""
    if any(needs_attention(r) for r in settled):
        return EXIT_CONFLICT  # MTurk and the record disagree: the operator must look
    return EXIT_UNKNOWN if still_unknown else EXIT_OK
