"""Which MTurk the app talks to: demo, sandbox, production or a custom endpoint. Pure.

Production is a property of where requests go, not of a flag: an endpoint URL is parsed
(host case, default ports, trailing dots, paths, queries and userinfo normalised) before
the environment is decided, and `--production` with `--endpoint-url` stays PRODUCTION in
every respect. Userinfo (`user:password@`) is dropped from the URL: it is never sent, stored
or printed.
"""

from __future__ import annotations

import ipaddress
from dataclasses import dataclass
from enum import Enum
from urllib.parse import urlsplit

from turktui.domain.text import redact

REGION = "us-east-1"  # MTurk only lives here
SANDBOX_HOST = "mturk-requester-sandbox.us-east-1.amazonaws.com"
PRODUCTION_HOST = "mturk-requester.us-east-1.amazonaws.com"
SANDBOX_URL = f"https://{SANDBOX_HOST}"
PRODUCTION_URL = f"https://{PRODUCTION_HOST}"
_DEFAULT_PORTS = {"http": 80, "https": 443}


class EnvKind(str, Enum):
    DEMO = "demo"
    SANDBOX = "sandbox"
    PRODUCTION = "production"
    CUSTOM = "custom"

    @property
    def banner(self) -> str:
        return self.value.upper()

    @property
    def short(self) -> str:
        """Four letters for narrow tables: DEMO, SBOX, PROD, CUST."""
        return {"demo": "DEMO", "sandbox": "SBOX", "production": "PROD", "custom": "CUST"}[
            self.value
        ]


@dataclass(frozen=True, slots=True)
class Endpoint:
    """A parsed endpoint URL: `url` is normalised and never carries userinfo."""

    url: str
    scheme: str
    host: str
    port: int | None
    had_userinfo: bool = False

    @property
    def is_production_host(self) -> bool:
        return self.host == PRODUCTION_HOST

    @property
    def is_sandbox_host(self) -> bool:
        return self.host == SANDBOX_HOST

    @property
    def is_loopback(self) -> bool:
        return is_loopback_host(self.host)


def is_loopback_host(host: str) -> bool:
    host = host.strip("[]").rstrip(".").lower()
    if host == "localhost" or host.endswith(".localhost"):
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def parse_endpoint(text: str) -> Endpoint:
    """Parse and normalise an endpoint URL; ValueError (one line, no secrets) if unusable.

    Normalised: scheme and host lower-cased, the host's trailing dot removed, the default
    port (80/443) dropped, query and fragment dropped, a trailing slash removed, userinfo
    dropped (`had_userinfo` says it was there).
    """
    raw = (text or "").strip()
    if not raw:
        raise ValueError("the endpoint URL is empty: give one such as http://127.0.0.1:8443")
    try:
        parts = urlsplit(raw)
        port = parts.port
    except ValueError as exc:
        raise ValueError(f"the endpoint URL is not valid: {_describe(exc)}") from None
    scheme = parts.scheme.lower()
    if scheme not in _DEFAULT_PORTS:
        raise ValueError(
            f"the endpoint URL must start with http:// or https:// (got {redact(raw)!r})"
        )
    host = (parts.hostname or "").rstrip(".").lower()
    if not host:
        raise ValueError(f"the endpoint URL has no host (got {redact(raw)!r})")
    if port == _DEFAULT_PORTS[scheme]:
        port = None
    shown_host = f"[{host}]" if ":" in host else host
    netloc = shown_host if port is None else f"{shown_host}:{port}"
    path = parts.path.rstrip("/")
    had_userinfo = "@" in parts.netloc
    return Endpoint(f"{scheme}://{netloc}{path}", scheme, host, port, had_userinfo)


def _describe(exc: ValueError) -> str:
    return str(exc).split("\n")[0][:120]


@dataclass(frozen=True, slots=True)
class Environment:
    kind: EnvKind
    endpoint_url: str
    profile: str | None = None
    read_only: bool = False
    #: Custom endpoints that are not loopback get the production confirmation unless the
    #: config says `confirm_custom = false`.
    confirm_custom: bool = True

    @property
    def is_production(self) -> bool:
        return self.kind is EnvKind.PRODUCTION

    @property
    def is_loopback(self) -> bool:
        try:
            return parse_endpoint(self.endpoint_url).is_loopback
        except ValueError:
            return False

    @property
    def needs_confirmation(self) -> bool:
        """Does spending here need an explicit yes (a TTY answer or --yes)?"""
        if self.kind is EnvKind.PRODUCTION:
            return True
        if self.kind is EnvKind.CUSTOM:
            return self.confirm_custom and not self.is_loopback
        return False

    @property
    def confirm_words(self) -> str:
        """How the confirmation names where the money goes."""
        if self.kind is EnvKind.PRODUCTION:
            return "PRODUCTION (real money)"
        return f"CUSTOM endpoint {self.endpoint_url} (not on this machine: may be real money)"

    @property
    def describe(self) -> str:
        who = f"profile {self.profile}" if self.profile else "default credentials"
        if self.kind is EnvKind.DEMO:
            who = "demo credentials"
        return f"{self.kind.banner} · {self.endpoint_url} · {who}"


def resolve_environment(
    *,
    demo_url: str | None = None,
    sandbox: bool = False,
    production: bool = False,
    endpoint_url: str | None = None,
    profile: str | None = None,
    read_only: bool = False,
    default: str = "sandbox",
    confirm_custom: bool = True,
) -> Environment:
    """Pick the environment from options. Sandbox is the default: it costs nothing.

    `--production` with an endpoint URL is PRODUCTION (red bar, confirmations, history label);
    an endpoint on MTurk's production host is PRODUCTION without the flag. ValueError for an
    empty or unusable URL.
    """
    if demo_url:
        return Environment(EnvKind.DEMO, demo_url, None, read_only)
    if sandbox and production:
        raise ValueError("--sandbox and --production contradict each other")
    if endpoint_url is not None:
        endpoint = parse_endpoint(endpoint_url)
        if production or endpoint.is_production_host:
            kind = EnvKind.PRODUCTION
        elif endpoint.is_sandbox_host:
            kind = EnvKind.SANDBOX
        else:
            kind = EnvKind.CUSTOM
        return Environment(kind, endpoint.url, profile, read_only, confirm_custom)
    if production or (not sandbox and default == "production"):
        return Environment(EnvKind.PRODUCTION, PRODUCTION_URL, profile, read_only)
    return Environment(EnvKind.SANDBOX, SANDBOX_URL, profile, read_only)
