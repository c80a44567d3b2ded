"""Command output: human lines, or one JSON object; record lines for listings.

Output never fails after a change was applied, and never shows a URL password."""

from __future__ import annotations

import argparse
import contextlib
import json
import sys
from collections.abc import Iterable, Sequence
from typing import Any

from turktui.adapters.history import HistoryError, OutcomeNotRecorded
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
from turktui.domain.text import one_line, redact, redact_obj
from turktui.domain.timefmt import iso
from turktui.pipeline.engine import Engine, Outcome, Plan, PlanRefused
from turktui.pipeline.operations import conflict_words, operation_label
from turktui.pipeline.policy import EXIT_OK, EXIT_REFUSED, EXIT_SERVICE, EXIT_UNKNOWN


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
        emit(redact_text(text), sys.stderr if self.as_json else sys.stdout)

    def result(self, code: int, payload: dict[str, Any], message: str) -> int:

        payload = redact_obj(payload)  # type: ignore[assignment]
        message = redact_text(message)
        if self.as_json:
            payload = {"exit_code": code, "message": message, **payload}
            emit(json.dumps(payload, ensure_ascii=True, default=str), sys.stdout)
        else:
            emit(message, sys.stdout if code == EXIT_OK else sys.stderr)
        return code


def emit(text: str, stream: Any) -> None:
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


def positive_int(text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"not a whole number: {text!r}") from None
    if not 1 <= value <= 1_000_000:
        raise argparse.ArgumentTypeError("must be 1 to 1000000")
    return value


def safe(text: object) -> str:

    return one_line(redact(text))


def redact_text(text: str) -> str:
    """No URL password ever reaches the terminal (old records may still hold one)."""

    return redact(text)


def env_short(env_kind: str) -> str:

    try:
        return EnvKind(env_kind).short
    except ValueError:
        return safe(env_kind)[:4].upper().ljust(4)


def record_line(record: Any) -> str:

    title = safe(record.hit_title)
    if len(title) > 30:
        title = title[:29] + "\u2026"
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
    """The results of a command over several HITs, one at a time: each HIT ends with an exit
    code, a state and one line (stdout when it went through, stderr otherwise)."""

    def __init__(self, out: Out) -> None:
        self.out = out
        self.codes: list[int] = []
        self.results: list[dict[str, Any]] = []

    def done(self, hit_id: str, code: int, state: str, message: str, **extra: Any) -> None:
        self.codes.append(code)
        self.results.append(
            {"hit_id": hit_id, "exit_code": code, "state": state, "message": message, **extra}
        )
        (self.out.say if code == EXIT_OK else self.out.info)(f"{safe(hit_id)}: {message}")

    def read_hit(self, service: Any, hit_id: str) -> Hit | None:
        """GetHIT for one HIT of the command; a refusal or a service failure is this HIT's
        result (None is returned). Configuration and credential problems end the command
        (StopCommand): every other HIT would meet them too."""
        try:
            return service.get_hit(hit_id)  # type: ignore[no-any-return]
        except RequestRefused as exc:
            self.done(
                hit_id,
                EXIT_REFUSED,
                "refused",
                f"refused: {safe(exc.message)}",
                error_code=exc.code,
            )
        except (ConfigurationError, CredentialsMissing, CredentialsExpired, AccessDenied) as exc:
            hint = f"\nturktui: hint: {exc.hint}" if exc.hint else ""
            raise StopCommand(f"turktui: {safe(exc.message)}{hint}") from None
        except TurkError as exc:
            self.done(hit_id, EXIT_SERVICE, "failed", f"cannot read the HIT: {safe(exc.message)}")
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
            self.done(hit_id, EXIT_SERVICE, "failed", f"not sent: {safe(exc)}")
        return None


def csv_text(rows: Iterable[dict[str, Any]], fields: Sequence[str], *, header: bool) -> str:
    """Rows as CSV text (a header row first when asked): `list --csv`, `history --csv`."""
    import csv
    import io

    buf = io.StringIO()
    table = csv.DictWriter(buf, fieldnames=list(fields), lineterminator="\n")
    if header:
        table.writeheader()
    table.writerows(rows)
    return buf.getvalue()
