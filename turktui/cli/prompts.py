"""The one confirmation every spending command asks before sending.

Production, and a custom endpoint that is not on this machine (unless the config says
`confirm_custom = false`), never get a request without `--yes` or a "y" typed on a terminal.
"""

from __future__ import annotations

import sys
from dataclasses import dataclass

from turktui.domain.environment import Environment
from turktui.pipeline.policy import EXIT_CANCELLED, EXIT_USAGE


@dataclass(frozen=True)
class Declined:
    """Why nothing is sent: `code` is the exit code, `state` the JSON state, `message` one line."""

    code: int
    state: str
    message: str


def ask(question: str) -> bool | None:
    """True/False from the terminal; None when there is no TTY to ask on."""
    if not (sys.stdin.isatty() and sys.stdout.isatty()):
        return None
    try:
        answer = input(f"{question} [y/N] ")
    except EOFError:
        return False
    return answer.strip().lower() in ("y", "yes")


def confirm_spend(env: Environment, what: str, yes: bool) -> Declined | None:
    """None: go ahead. Otherwise nothing may be sent, and Declined says why.

    `what` restates the action ("Send 3 requests (+15 assignments, $1.80)"); the question
    names where the money goes.
    """
    if yes or not env.needs_confirmation:
        return None
    answer = ask(f"{what} to {env.confirm_words}?")
    if answer is None:
        where = "production" if env.is_production else "this custom endpoint"
        return Declined(
            EXIT_USAGE,
            "usage",
            f"turktui: {where} needs confirmation: no terminal to ask on, pass --yes to confirm",
        )
    if not answer:
        return Declined(EXIT_CANCELLED, "cancelled", "turktui: cancelled; nothing was sent")
    return None


def confirm_expire(env: Environment, what: str, yes: bool) -> Declined | None:
    """Expiring stops workers from accepting the HIT: asked on every environment but demo
    (sandbox and loopback included), unless `--yes`."""
    return _confirm_everywhere(
        env,
        what,
        yes,
        "It stops workers from accepting the HIT; work in progress is kept.",
        "expiring",
    )


def confirm_reject(env: Environment, what: str, yes: bool) -> Declined | None:
    """Rejecting is final for the worker (their approval rate): asked on every environment
    but demo, unless `--yes`."""
    from turktui.pipeline.operations import REJECT

    return _confirm_everywhere(env, what, yes, REJECT.consequence, "rejecting")


def _confirm_everywhere(
    env: Environment, what: str, yes: bool, consequence: str, doing: str
) -> Declined | None:
    from turktui.domain.environment import EnvKind

    if yes or env.kind is EnvKind.DEMO:
        return None
    answer = ask(f"{what} on {env.kind.value}? {consequence}")
    if answer is None:
        return Declined(
            EXIT_USAGE,
            "usage",
            f"turktui: {doing} needs confirmation: no terminal to ask on, pass --yes to confirm",
        )
    if not answer:
        return Declined(EXIT_CANCELLED, "cancelled", "turktui: cancelled; nothing was sent")
    return None
