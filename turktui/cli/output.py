"""Command output: human lines, or one JSON object; record lines for listings.

Output never fails after a change was applied, and never shows a URL password."""

from __future__ import annotations

import argparse
import contextlib
import csv
import io
import json
import sys
from collections.abc import Callable, Iterable, Sequence
from typing import Any

from turktui.adapters.history import HistoryBusy, HistoryError, OutcomeNotRecorded
from turktui.domain.environment import EnvKind
from turktui.domain.errors import (
    AccessDenied,
    ConfigurationError,
    CredentialsExpired,
    CredentialsMissing,
    RequestRefused,
    TurkError,
)
from turktui.domain.models import Hit
from turktui.domain.records import State
from turktui.domain.rules import InputProblem, check_hit_id
from turktui.domain.text import one_line, redact, redact_obj, sanitize, sanitize_data
from turktui.domain.timefmt import iso
from turktui.pipeline.engine import Engine, Outcome, Plan, PlanRefused
from turktui.pipeline.operations import conflict_words, operation_label, outcome_message
from turktui.pipeline.policy import (
    EXIT_BUSY,
    EXIT_OK,
    EXIT_REFUSED,
    EXIT_SERVICE,
    EXIT_UNKNOWN,
    EXIT_USAGE,
    record_exit_code,
)


class Out:
    """Human lines on stderr/stdout, or one JSON object on stdout at the end.

    Output never fails after a change was applied: JSON is ASCII with escapes (any stdout
    can carry it), text is degraded to the stream's encoding (backslash escapes)."""

    def __init__(self, as_json: bool) -> None:
        self.as_json = as_json

    def say(self, text: str) -> None:
        if not self.as_json:
            emit(redact_text(text), sys.stdout)

    def info(self, text: str) -> None:
        emit(redact_text(text), self._info_stream())

    def info_width(self) -> int | None:
        """The width `info` lines may be cut to (None: not a terminal, never cut)."""
        return terminal_width(self._info_stream())

    def _info_stream(self) -> Any:
        return sys.stderr if self.as_json else sys.stdout

    def result(self, code: int, payload: dict[str, Any], message: str) -> int:

        payload = redact_obj(payload)  # type: ignore[assignment]
        message = redact_text(message)
        if self.as_json:
            payload = {"exit_code": code, "message": message, **payload}
            emit(json.dumps(payload, ensure_ascii=True, default=str), sys.stdout)
        else:
            emit(message, sys.stdout if code == EXIT_OK else sys.stderr)
        return code

    def result_streamed(
        self,
        code: int,
        payload: dict[str, Any],
        message: str,
        key: str,
        items: Iterable[dict[str, Any]],
    ) -> int:
        """`result` with `payload[key]` a list written item by item as `items` yields them:
        the same one JSON object, in bounded memory however many there are."""
        if not self.as_json:
            return self.result(code, payload, message)
        head: dict[str, Any] = {"exit_code": code, "message": redact_text(message)}
        head.update(redact_obj(payload))  # type: ignore[call-overload]
        sys.stdout.write(json.dumps(head, ensure_ascii=True, default=str)[:-1] + f', "{key}": [')
        for number, item in enumerate(items):
            text = json.dumps(redact_obj(item), ensure_ascii=True, default=str)
            sys.stdout.write(text if number == 0 else ", " + text)
        sys.stdout.write("]}\n")
        sys.stdout.flush()
        return code

    def history_failure(
        self, exc: HistoryError, payload: dict[str, Any], default: int = EXIT_USAGE
    ) -> int:
        """The history cannot be used: one line, exit 7 when another process holds its lock
        (`history_exit_code`), else `default` (2 at open, 4 before sending)."""
        return self.result(history_exit_code(exc, default), payload, f"turktui: {safe(exc)}")


def refuse_bad_hit_ids(out: Out, ids: Iterable[str], payload: dict[str, Any]) -> int | None:
    """The one check of HIT ids given on the command line, before anything is sent: exit 2
    naming the first that cannot be one (MTurk would answer a validation error)."""
    for hit_id in ids:
        try:
            check_hit_id(hit_id)
        except InputProblem as exc:
            return out.result(EXIT_USAGE, payload, f"turktui: {exc}")
    return None


def history_exit_code(exc: BaseException, default: int = EXIT_USAGE) -> int:
    """7 (`EXIT_BUSY`) when another process held the history's write lock too long."""
    return EXIT_BUSY if isinstance(exc, HistoryBusy) else default


def emit(text: str, stream: Any) -> None:
    """Print `text`, degraded to what `stream` can encode; a closed pipe is not an error
    worth failing a command whose change is already recorded. No control character reaches
    the terminal raw (a title or a service message with ESC shows it as ␛)."""
    text = sanitize(text, keep_newlines=True)
    encoding = getattr(stream, "encoding", None) or "utf-8"
    try:
        text.encode(encoding)
    except UnicodeEncodeError:
        text = text.encode(encoding, "backslashreplace").decode(encoding)
    except LookupError:
        text = text.encode("ascii", "backslashreplace").decode("ascii")
    with contextlib.suppress(BrokenPipeError):
        print(text, file=stream, flush=True)


#: A cell beginning with one of these is a formula to a spreadsheet: neutralised with a
#: leading single quote (OWASP, "CSV Injection").
FORMULA_START = ("=", "+", "-", "@", "\t", "\r")


def csv_cell(value: object) -> object:
    """One value as a CSV cell: booleans `true`/`false`, None empty, text with its controls
    made visible (TAB, LF and CR kept: quoted) and a would-be formula neutralised."""
    if isinstance(value, bool):
        return text_value(value)
    if value is None:
        return ""
    if isinstance(value, dict | list):  # an operation's own fields: one JSON cell
        value = json.dumps(value, sort_keys=True, ensure_ascii=False, default=str)
    if isinstance(value, str):
        value = sanitize_data(value)
        if value.startswith(FORMULA_START):
            return "'" + value
    return value


def csv_rows(stream: Any, fields: Sequence[str]) -> Callable[[Iterable[dict[str, Any]]], None]:
    """The one CSV writer of every command: a header row now, then a function writing rows
    (dicts; `csv_cell` values) and flushing. RFC 4180 line ends (CRLF), so a bare CR or LF
    inside a cell is quoted and never splits a row."""
    buffer = io.StringIO()
    table = csv.DictWriter(buffer, fieldnames=list(fields), lineterminator="\r\n")

    def write(rows: Iterable[dict[str, Any]]) -> None:
        table.writerows({k: csv_cell(v) for k, v in row.items()} for row in rows)
        if buffer.tell():
            stream.write(buffer.getvalue())
            stream.flush()
            buffer.seek(0)
            buffer.truncate()

    table.writeheader()
    write(())
    return write


def text_value(value: object) -> str:
    """A value in text output: booleans `true`/`false` (as in JSON and CSV), None `-`."""
    if isinstance(value, bool):
        return "true" if value else "false"
    return "-" if value is None else safe(value)


def terminal_width(stream: Any) -> int | None:
    """The terminal's width when `stream` is one; None (nothing is cut) for a pipe or file."""
    try:
        if not stream.isatty():
            return None
    except (AttributeError, ValueError, OSError):
        return None
    import shutil

    return shutil.get_terminal_size().columns


def fit(text: str, width: int | None) -> str:
    """`text` cut to `width` with an ellipsis (None: whole)."""
    if width is None or len(text) <= width:
        return text
    return text[: max(0, width - 1)] + "\u2026"


def positive_int(text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"not a whole number: {text!r}") from None
    if not 1 <= value <= 1_000_000:
        raise argparse.ArgumentTypeError("must be 1 to 1000000")
    return value


#: The most characters of one field a text line prints (MTurk's titles are far shorter; a
#: hand-edited history or a hostile service may not be): longer is cut with "…".
FIELD_MAX = 2_000


def safe(text: object) -> str:
    """One field for a text line: no URL password, every control visible, one line, at most
    FIELD_MAX characters."""
    return one_line(redact(text)[: FIELD_MAX + 1], max_length=FIELD_MAX)


def redact_text(text: str) -> str:
    """No URL password ever reaches the terminal (old records may still hold one)."""

    return redact(text)


def env_short(env_kind: str) -> str:

    try:
        return EnvKind(env_kind).short
    except ValueError:
        return safe(env_kind)[:4].upper().ljust(4)


#: The columns of `record_line`, for a listing's header row.
RECORD_HEADER = (
    f"{'#id':<7} {'created (UTC)':<23}  {'env':<4}  {'state':<20} {'change':<8} HIT id  title  "
    "error"
)


def record_line(record: Any) -> str:
    """One history record as a line; the title is cut (30 characters) only on a terminal."""
    title = safe(record.hit_title)
    if terminal_width(sys.stdout) is not None:
        title = fit(title, 30)
    return (
        f"#{record.id:<6} {iso(record.created)}  {env_short(record.env_kind)}  "
        f"{record.state.label:<20} "
        f"{safe(operation_label(record)):<8} {safe(record.hit_id)}  {title}  "
        f"{safe(record.error_code)}"
        + (f"  [{safe(record.batch_id)}]" if record.batch_id else "")
        + (f"  ({safe(record.group_id)})" if record.group_id else "")
        + conflict_text(record)
    )


def conflict_text(record: Any) -> str:
    """'  before 5, expected 7, actual 5' for a conflict (assignments or expiration)."""
    from turktui.domain.timefmt import iso

    text = ""
    if record.state is State.CONFLICT:
        text += f"  CONFLICT: {safe(conflict_words(record))}"
    if record.expiry_state == "conflict":
        text += (
            f"  EXPIRATION CONFLICT: expected {iso(record.expire_at)}, actual "
            f"{iso(record.expiry_actual)}"
        )
    return text


class StopCommand(Exception):
    """The whole command ends here, before anything else is tried (configuration or
    credentials that no other HIT would get past): the operator's line, with its hint."""

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message


class PerHit:
    """The results of a command over several HITs (or assignments: `key`), one at a time:
    each ends with an exit code, a state and one line (stdout when it went through, stderr
    otherwise)."""

    def __init__(self, out: Out, key: str = "hit_id") -> None:
        self.out = out
        self.key = key
        self.codes: list[int] = []
        self.results: list[dict[str, Any]] = []

    def done(self, subject: str, code: int, state: str, message: str, /, **extra: Any) -> None:
        self.codes.append(code)
        self.results.append(
            {self.key: subject, "exit_code": code, "state": state, "message": message, **extra}
        )
        (self.out.say if code == EXIT_OK else self.out.info)(f"{safe(subject)}: {message}")

    def failed(self, subject: str, exc: TurkError, what: str) -> None:
        """A refusal or a service failure is this subject's result. Configuration and
        credential problems end the command (StopCommand): every other one would meet them
        too."""
        if isinstance(
            exc, (ConfigurationError, CredentialsMissing, CredentialsExpired, AccessDenied)
        ):
            hint = f"\nturktui: hint: {exc.hint}" if exc.hint else ""
            raise StopCommand(f"turktui: {safe(exc.message)}{hint}") from None
        if isinstance(exc, RequestRefused):
            self.done(
                subject,
                EXIT_REFUSED,
                "refused",
                f"refused: {safe(exc.message)}",
                error_code=exc.code,
            )
        else:
            self.done(subject, EXIT_SERVICE, "failed", f"cannot {what}: {safe(exc.message)}")

    def recorded(self, subject: str, record: Any, /, **extra: Any) -> None:
        """The result of a request's record as it ended: its exit code, state, outcome (with
        `turktui resolve` named while it is unknown) and its fields."""
        from turktui.domain.records import record_to_json

        code = record_exit_code(record)
        data = record_to_json(record)
        data["record_id"] = data.pop("id")
        for key in ("state", self.key):
            data.pop(key, None)
        message = safe(outcome_message(record))
        if code == EXIT_UNKNOWN:
            message += " Run `turktui resolve` to settle it."
        self.done(subject, code, record.state.value, message, **extra, **data)

    def read_hit(self, service: Any, hit_id: str) -> Hit | None:
        """GetHIT for one HIT of the command; a failure is this HIT's result (`failed`;
        None is returned)."""
        try:
            return service.get_hit(hit_id)  # type: ignore[no-any-return]
        except TurkError as exc:
            self.failed(hit_id, exc, "read the HIT")
        return None

    def plan(self, engine: Engine, hit: Hit, n: int, expire_at: Any) -> Plan | None:
        """`engine.plan(...)`; a refusal is this HIT's result (None is returned)."""
        try:
            return engine.plan(hit, n, expire_at)
        except PlanRefused as exc:
            self.done(
                hit.hit_id,
                EXIT_REFUSED,
                "refused",
                f"refused (nothing sent): {safe(exc.message)}",
                error_code=exc.code,
            )
            return None

    def execute(self, engine: Engine, plan: Plan) -> Outcome | None:
        """`engine.execute(plan)`; a refusal or a history failure is this HIT's result
        (and None is returned): whether anything may have been sent is said exactly."""
        hit_id = plan.hit.hit_id
        try:
            return engine.execute(plan)
        except PlanRefused as exc:
            self.done(
                hit_id,
                EXIT_REFUSED,
                "refused",
                f"refused (nothing sent): {safe(exc.message)}",
                error_code=exc.code,
            )
        except OutcomeNotRecorded as exc:
            self.done(
                hit_id,
                EXIT_UNKNOWN if exc.maybe_sent else EXIT_SERVICE,
                "unknown" if exc.maybe_sent else "failed",
                safe(exc),
                record_id=exc.record_id,
            )
        except HistoryError as exc:
            self.done(
                hit_id, history_exit_code(exc, EXIT_SERVICE), "failed", f"not sent: {safe(exc)}"
            )
        return None
