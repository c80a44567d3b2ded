"""Command output: human lines, or one JSON object; record lines for listings.

Output never fails after a change was applied, and never shows a URL password."""

from __future__ import annotations

import argparse
import contextlib
import csv
import io
import json
import sys
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from turktui.adapters.history import HistoryBusy, HistoryError, OutcomeNotRecorded
from turktui.domain.environment import EnvKind
from turktui.domain.errors import TurkError
from turktui.domain.models import Hit
from turktui.domain.records import State
from turktui.domain.rules import InputProblem, check_hit_id
from turktui.domain.text import one_line, redact, redact_obj, sanitize, sanitize_data
from turktui.domain.timefmt import iso
from turktui.pipeline.engine import Engine, Outcome, Plan, PlanRefused
from turktui.pipeline.operations import conflict_words, operation_label, outcome_message
from turktui.pipeline.policy import (
    CHANGING,
    EXIT_BUSY,
    EXIT_OK,
    EXIT_REFUSED,
    EXIT_SERVICE,
    EXIT_UNKNOWN,
    EXIT_USAGE,
    error_exit_code,
    fitted,
    record_exit_code,
    worst,
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


def refuse_bad_hit_ids(out: Out, ids: Iterable[str], payload: dict[str, Any]) -> int | None:
    """The one check of HIT ids given on the command line, before anything is sent: exit 2
    naming the first that cannot be one (MTurk would answer a validation error)."""
    for hit_id in ids:
        try:
            check_hit_id(hit_id)
        except InputProblem as exc:
            return out.result(EXIT_USAGE, payload, f"turktui: {exc}")
    return None


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


@dataclass(frozen=True)
class Failure:
    """How a failure ends a command (or one subject of it): the exit code (the table's),
    the state in JSON, one line (made safe; no "turktui: "), the hint, fields for JSON."""

    code: int
    state: str
    message: str
    hint: str = ""
    fields: Mapping[str, Any] = field(default_factory=dict)

    @property
    def line(self) -> str:
        """The command's last line: 'turktui: …', and its hint on a line of its own."""
        return f"turktui: {self.message}" + (f"\nturktui: hint: {self.hint}" if self.hint else "")


class StopCommand(Exception):
    """The whole command ends here, before anything else is tried (configuration or
    credentials that no other subject would get past, a history that cannot be opened)."""

    def __init__(self, message: str, code: int = EXIT_USAGE, state: str = "usage") -> None:
        super().__init__(message)
        self.failure = Failure(code, state, message.removeprefix("turktui: "))


def failure(
    exc: BaseException, command: str | None = None, what: str = "", changing: bool | None = None
) -> Failure | None:
    """The one judgement of how an error ends a command: its exit code (`policy`'s table:
    `fitted` to what `command` can end with, `policy.APP` for the app), its state and its
    line.
    `what` names what could not be done ("read the HIT"); `changing`: the command changes
    things (default: by its name), so a history failure says nothing was sent. None: not an
    error a command expects (a bug: re-raised, it becomes exit 70 with a crash log)."""
    if isinstance(exc, StopCommand):
        return exc.failure
    fields: dict[str, Any] = {}
    hint = ""
    if isinstance(exc, PlanRefused):
        code, state, message = (
            EXIT_REFUSED,
            "refused",
            f"refused (nothing sent): {safe(exc.message)}",
        )
        fields["error_code"] = exc.code
    elif isinstance(exc, OutcomeNotRecorded):
        code, state = (EXIT_UNKNOWN, "unknown") if exc.maybe_sent else (EXIT_SERVICE, "failed")
        message = safe(exc)
        fields["record_id"] = exc.record_id
    elif isinstance(exc, HistoryError):  # while recording: nothing was sent
        code = EXIT_BUSY if isinstance(exc, HistoryBusy) else EXIT_SERVICE
        if changing is None:
            changing = command is None or command in CHANGING
        state, message = "failed", f"{'not sent' if changing else 'error'}: {safe(exc)}"
    elif isinstance(exc, TurkError):
        code, hint = error_exit_code(exc), safe(exc.hint)
        if code == EXIT_USAGE:  # the set-up: the operator's to fix, whatever was asked
            state, message = "usage", f"error: {safe(exc.message)}"
        elif code == EXIT_REFUSED:
            state, message = "refused", f"refused: {safe(exc.message)}"
            fields["error_code"] = getattr(exc, "code", "")
        else:
            state = "failed"
            message = (
                f"cannot {what}: {safe(exc.message)}" if what else f"error: {safe(exc.message)}"
            )
    else:
        return None
    return Failure(fitted(code, command), state, message, hint, fields)


class PerHit:
    """The results of a command over several HITs (or assignments: `key`), one at a time:
    each ends with an exit code, a state and one line (stdout when it went through, stderr
    otherwise)."""

    def __init__(self, out: Out, key: str = "hit_id") -> None:
        self.out = out
        self.key = key
        self.codes: list[int] = []
        self.results: list[dict[str, Any]] = []

    def ended(self, subject: str, exc: BaseException, what: str) -> int:
        """`exc` is `subject`'s result (`failed`) and the command ends there: the worst code
        so far, the results so far."""
        self.failed(subject, exc, what)
        return self.out.result(worst(self.codes), {"results": self.results}, "")

    def done(self, subject: str, code: int, state: str, message: str, /, **extra: Any) -> None:
        self.codes.append(code)
        self.results.append(
            {self.key: subject, "exit_code": code, "state": state, "message": message, **extra}
        )
        (self.out.say if code == EXIT_OK else self.out.info)(f"{safe(subject)}: {message}")

    def failed(self, subject: str, exc: BaseException, what: str = "", then: str = "") -> None:
        """An error is this subject's result (`failure`; `then` is added to its line when it
        was refused). Set-up problems end the command (StopCommand): every other subject
        would meet them too."""
        judged = failure(exc, what=what)
        if judged is None:
            raise exc
        if judged.code == EXIT_USAGE:
            raise StopCommand(judged.line) from None
        message = judged.message + (then if judged.code == EXIT_REFUSED else "")
        self.done(subject, judged.code, judged.state, message, **judged.fields)

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

    def send(
        self, engine: Engine, plans: Iterable[Plan], extra: Callable[[Outcome], dict[str, Any]]
    ) -> None:
        """Send each plan (`execute`), one after the other; each one's result is its record
        as it ended (`recorded`), with `extra(outcome)`."""
        for plan in plans:
            outcome = self.execute(engine, plan)
            if outcome is not None:
                self.recorded(plan.hit.hit_id, outcome.record, **extra(outcome))

    def read_hits(self, service: Any, hit_ids: Iterable[str]) -> Iterator[Hit]:
        """GetHIT for each HIT of the command, one after the other; a failure is that HIT's
        result (`failed`), and the HITs read are yielded."""
        for hit_id in hit_ids:
            try:
                yield service.get_hit(hit_id)
            except TurkError as exc:
                self.failed(hit_id, exc, "read the HIT")

    def plan(self, engine: Engine, hit: Hit, n: int, expire_at: Any) -> Plan | None:
        """`engine.plan(...)`; a refusal is this HIT's result (None is returned)."""
        try:
            return engine.plan(hit, n, expire_at)
        except PlanRefused as exc:
            self.failed(hit.hit_id, exc)
            return None

    def execute(self, engine: Engine, plan: Plan) -> Outcome | None:
        """`engine.execute(plan)`; a refusal or a history failure is this HIT's result
        (and None is returned): whether anything may have been sent is said exactly."""
        try:
            return engine.execute(plan)
        except (PlanRefused, HistoryError) as exc:
            self.failed(plan.hit.hit_id, exc)
        return None
