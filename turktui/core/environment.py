"""Which MTurk the app talks to: demo, sandbox, production or a custom endpoint. Pure."""

from __future__ import annotations

from dataclasses import dataclass
from enum import Enum

REGION = "us-east-1"  # MTurk only lives here
SANDBOX_URL = "https://mturk-requester-sandbox.us-east-1.amazonaws.com"
PRODUCTION_URL = "https://mturk-requester.us-east-1.amazonaws.com"


class EnvKind(str, Enum):
    DEMO = "demo"
    SANDBOX = "sandbox"
    PRODUCTION = "production"
    CUSTOM = "custom"

    @property
    def banner(self) -> str:
        return self.value.upper()


@dataclass(frozen=True, slots=True)
class Environment:
    kind: EnvKind
    endpoint_url: str
    profile: str | None = None
    read_only: bool = False

    @property
    def is_production(self) -> bool:
        return self.kind is EnvKind.PRODUCTION

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
) -> Environment:
    """Pick the environment from options. Sandbox is the default: it costs nothing."""
    if demo_url:
        return Environment(EnvKind.DEMO, demo_url, None, read_only)
    if sandbox and production:
        raise ValueError("--sandbox and --production contradict each other")
    if endpoint_url:
        url = endpoint_url.rstrip("/")
        if url == PRODUCTION_URL:
            kind = EnvKind.PRODUCTION
        elif url == SANDBOX_URL:
            kind = EnvKind.SANDBOX
        else:
            kind = EnvKind.CUSTOM
        return Environment(kind, url, profile, read_only)
    if production or (not sandbox and default == "production"):
        return Environment(EnvKind.PRODUCTION, PRODUCTION_URL, profile, read_only)
    return Environment(EnvKind.SANDBOX, SANDBOX_URL, profile, read_only)
