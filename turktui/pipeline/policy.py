"""The one outcome → exit-code policy, used by every command (and by the app's wording of
a result where it needs the same judgement). Pure: no I/O.

`EXIT_TABLE` is the one table of exit codes every command honours: the commands' `--help`
print it (`EXIT_CODES`), the README's table is `markdown_table()` (`python -m
turktui.pipeline.policy` prints it).
"""

from __future__ import annotations

import signal
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

from turktui.domain.errors import (
    AccessDenied,
    ConfigurationError,
    CredentialsExpired,
    CredentialsMissing,
    HitNotFound,
    RequestRefused,
    TurkError,
)
from turktui.domain.records import Record, State

EXIT_OK = 0
EXIT_CANCELLED = 1
EXIT_USAGE = 2
EXIT_REFUSED = 3
EXIT_SERVICE = 4
EXIT_UNKNOWN = 5
EXIT_CONFLICT = 6
EXIT_BUSY = 7
EXIT_INTERNAL = 70  # EX_SOFTWARE
#: Ended by a signal: 128 + the signal's number (SIGHUP 129, SIGINT 130, SIGTERM 143), the
#: shell's convention. Requests in flight that could not finish are recorded as "unknown".
EXIT_SIGNAL_BASE = 128

#: The commands, for the table's "who" column (the app is `turktui` without a command).
COMMANDS = (
    "extend",
    "expire",
    "approve",
    "reject",
    "bonus",
    "list",
    "bonuses",
    "history",
    "resolve",
    "paths",
)
#: The commands that can change something (a failure of theirs says what was not sent).
CHANGING = ("extend", "expire", "approve", "reject", "bonus", "resolve")
_SERVICE = ("extend", "expire", "approve", "reject", "bonus", "list", "bonuses")


@dataclass(frozen=True)
class ExitCode:
    """One row of the table: the code(s), what it means, the commands that can end with it."""

    codes: tuple[int, ...]
    meaning: str
    commands: tuple[str, ...] = COMMANDS
    #: the app (no command) can end with it too
    app: bool = False

    @property
    def label(self) -> str:
        return ", ".join(str(c) for c in self.codes)


_SIGNALS = ", ".join(
    f"{name} {EXIT_SIGNAL_BASE + getattr(signal, name)}" for name in ("SIGHUP", "SIGINT", "SIGTERM")
)

EXIT_TABLE: tuple[ExitCode, ...] = (
    ExitCode(
        (EXIT_OK,),
        "success: everything asked was done (extend: added, or already added by this "
        "token; expire: the HITs expired or had; approve, reject: every assignment shows the "
        "asked-for status, or already did; bonus: paid, or already paid by this token; list, "
        "bonuses, history, paths: printed; resolve: "
        "every unsettled request settled)",
        app=True,
    ),
    ExitCode((EXIT_CANCELLED,), "cancelled at the confirmation prompt; nothing was sent", CHANGING),
    ExitCode(
        (EXIT_USAGE,),
        "usage or configuration problem: a bad option or value, no credentials, read-only, "
        "no terminal for a confirmation (pass --yes), a history file that cannot be used, a "
        "terminal the app cannot drive; nothing was sent",
        app=True,
    ),
    ExitCode(
        (EXIT_REFUSED,),
        "refused: by turktui's rules (nothing sent) or by MTurk (nothing changed)",
        ("extend", "expire", "approve", "reject", "bonus"),
    ),
    ExitCode(
        (EXIT_SERVICE,),
        "service error: MTurk could not be reached or failed, and nothing was applied (list: "
        "the HITs already printed are valid, the listing is incomplete)",
        _SERVICE,
    ),
    ExitCode(
        (EXIT_UNKNOWN,),
        "outcome unknown: a request may have been applied; run `turktui resolve` (also the "
        "app's code when it was quit with a request left unknown)",
        CHANGING,
        app=True,
    ),
    ExitCode(
        (EXIT_CONFLICT,),
        'conflict: MTurk\'s answer and the HIT disagree (e.g. "already processed" but '
        "MaxAssignments or the expiration is not what the record expected); check the HIT: "
        "`turktui history` shows before / expected / actual",
        tuple(c for c in CHANGING if c != "bonus"),  # a bonus not shown is unknown (5)
    ),
    ExitCode(
        (EXIT_BUSY,),
        "history busy: another turktui process held the history file's write lock longer "
        "than turktui waits (15 s); nothing was sent; try again when it is done",
        CHANGING,
    ),
    ExitCode(
        (EXIT_INTERNAL,),
        "internal error: a bug; one line on stderr, the details in `crash.log` in the log "
        "directory (`turktui paths`)",
        app=True,
    ),
    ExitCode(
        tuple(EXIT_SIGNAL_BASE + getattr(signal, n) for n in ("SIGHUP", "SIGINT", "SIGTERM")),
        f"ended by a signal, 128 + its number ({_SIGNALS}); a request in flight is recorded "
        "as unknown and `turktui resolve` is named. Ctrl-C in a command is SIGINT (130); in "
        "the app Ctrl-C is a key that quits as `q` does (0, or 5 with a request left "
        "unknown)",
        app=True,
    ),
)


def _help_table() -> str:
    import textwrap

    lines = ["exit codes (the same for every command; with several HITs the worst wins):"]
    for row in EXIT_TABLE:
        indent = " " * (len(row.label) + 4)
        lines += textwrap.wrap(
            row.meaning,
            86,
            initial_indent=f"  {row.label}  ",
            subsequent_indent=indent,
            break_on_hyphens=False,
        )
    return "\n".join(lines) + "\n"


#: The table as `--help` prints it (every command's epilog, and the main help).
EXIT_CODES = _help_table()


def markdown_table() -> str:
    """The README's exit-code table (between `<!-- exit-codes:begin -->` and `:end`)."""
    lines = ["| code | meaning | commands |", "|---|---|---|"]
    for row in EXIT_TABLE:
        who = ", ".join(f"`{c}`" for c in row.commands)
        if row.commands == COMMANDS:
            who = "every command"
        if row.app:
            who += " and the app"
        meaning = row.meaning.replace("|", "\\|")
        lines.append(f"| {row.label} | {meaning} | {who} |")
    return "\n".join(lines) + "\n"


#: worst outcome wins: conflict over unknown over service error over refused over ok;
#: a problem that stopped the command (usage, busy, cancelled) over any outcome.
_SEVERITY = {
    EXIT_OK: 0,
    EXIT_REFUSED: 1,
    EXIT_SERVICE: 2,
    EXIT_UNKNOWN: 3,
    EXIT_CONFLICT: 4,
    EXIT_BUSY: 5,
    EXIT_USAGE: 5,
    EXIT_CANCELLED: 5,
}


def worst(codes: Iterable[int]) -> int:
    """The exit code of a command over several HITs: the worst outcome (EXIT_OK if none)."""
    return max(codes, key=lambda c: _SEVERITY.get(c, 5), default=EXIT_OK)


def error_exit_code(exc: TurkError) -> int:
    """A failure talking to MTurk: 2 when the operator must fix the set-up (configuration,
    credentials, access), 3 when MTurk refused, 4 for the service failing."""
    if isinstance(exc, ConfigurationError | CredentialsMissing | CredentialsExpired | AccessDenied):
        return EXIT_USAGE
    if isinstance(exc, RequestRefused | HitNotFound):
        return EXIT_REFUSED
    return EXIT_SERVICE


#: The app (`turktui` without a command), as `fitted` names it.
APP = "app"


def codes_of(command: str) -> frozenset[int]:
    """The codes `command` (or APP) can end with, by the table."""
    return frozenset(
        code
        for row in EXIT_TABLE
        if (row.app if command == APP else command in row.commands)
        for code in row.codes
    )


#: A code a command cannot end with (the table) is read as the next one it can: a refusal
#: is a service error for a command that only reads (list, bonuses), a service error a
#: usage problem for one that does not talk to MTurk (history, paths, the app's start).
_FALLBACK = {EXIT_REFUSED: EXIT_SERVICE, EXIT_SERVICE: EXIT_USAGE}


def fitted(code: int, command: str | None) -> int:
    """`code` as `command` (or APP) may end with it, by the table."""
    if command != APP and command not in COMMANDS:
        return code  # no command named, or not one of the table's (a test's own): as judged
    allowed = codes_of(command)
    while code not in allowed and code in _FALLBACK:
        code = _FALLBACK[code]
    return code


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


def outcome_exit_code(outcome: Any) -> int:
    """One request (an Outcome): the worst of its records (a combined "+N and more time"
    is two records, each settled on its own)."""
    return worst(record_exit_code(r) for r in outcome.records)


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


def resolve_exit_code(still_unknown: int, settled: Iterable[Record], busy: int = 0) -> int:
    """`resolve`: 6 when a settled record is in conflict, 7 when records were left because
    the history was busy, 5 while any stays unknown."""
    if any(needs_attention(r) for r in settled):
        return EXIT_CONFLICT  # MTurk and the record disagree: the operator must look
    if busy:
        return EXIT_BUSY
    return EXIT_UNKNOWN if still_unknown else EXIT_OK


if __name__ == "__main__":  # the README's exit-code table: python -m turktui.pipeline.policy
    print(markdown_table(), end="")
