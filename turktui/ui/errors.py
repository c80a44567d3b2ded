"""Turn failures into words for the operator: a title, the message and what to do next."""

from __future__ import annotations

from turktui.domain.errors import (
    AccessDenied,
    ConfigurationError,
    ConnectionLost,
    CredentialsExpired,
    CredentialsMissing,
    EndpointUnreachable,
    ServiceFault,
    Throttled,
    TurkError,
)
from turktui.domain.text import sanitize

_TITLES: list[tuple[type[TurkError], str]] = [
    (CredentialsMissing, "No AWS credentials"),
    (CredentialsExpired, "Credentials expired"),
    (AccessDenied, "Access denied"),
    (EndpointUnreachable, "Endpoint unreachable"),
    (ConnectionLost, "Connection lost"),
    (Throttled, "Throttled by MTurk"),
    (ServiceFault, "MTurk service error"),
    (ConfigurationError, "Configuration problem"),
]


def describe(error: BaseException) -> tuple[str, str, str]:
    """(title, message, hint), all sanitized: service text may contain anything."""
    if isinstance(error, TurkError):
        title = next((t for cls, t in _TITLES if isinstance(error, cls)), "MTurk error")
        return title, sanitize(error.message, max_length=600), sanitize(error.hint)
    return (
        "Unexpected problem",
        sanitize(f"{type(error).__name__}: {error}", max_length=600),
        "This is a bug in turktui (the request log has the details); try the action again.",
    )


def one_line_summary(error: BaseException) -> str:
    title, message, _ = describe(error)
    return f"{title}: {message}"
