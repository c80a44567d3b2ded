"""The always-visible context line: which MTurk, which account, how much money, read-only.

Production is said in words ("PRODUCTION — real money") as well as in red, so it survives
NO_COLOR and 16-colour terminals.
"""

from __future__ import annotations

from rich.text import Text
from textual.widget import Widget

from turktui.adapters.config import history_label
from turktui.domain.environment import EnvKind
from turktui.domain.rules import format_money
from turktui.domain.text import one_line, redact
from turktui.ui.context import AppContext
from turktui.ui.shared_history import UNREACHABLE

KIND_WORDS = {
    EnvKind.DEMO: "DEMO (local emulator, no money)",
    EnvKind.SANDBOX: "SANDBOX (test money)",
    EnvKind.PRODUCTION: "\u26a0 PRODUCTION \u2014 real money",
    EnvKind.CUSTOM: "CUSTOM endpoint",
}


def balance_text(ctx: AppContext) -> str:
    problem = ctx.state.balance_error
    if ctx.balance is not None:
        return f"balance {format_money(ctx.balance.available)}"
    if problem:
        return "balance unavailable"
    return "balance \u2026"


def banner_text(ctx: AppContext) -> Text:
    env = ctx.env
    text = Text(no_wrap=False, overflow="fold")
    words = KIND_WORDS[env.kind]
    if env.kind is EnvKind.CUSTOM and env.needs_confirmation:
        words = "\u26a0 CUSTOM endpoint \u2014 not on this machine, may be real money"
    text.append(f" {words} ", style="bold")
    if ctx.state.history_unreachable is not None:  # first: it decides what can be done
        text.append(f"\u2502 \u26a0 {UNREACHABLE} ", style="bold reverse")
    if env.read_only:
        text.append("\u2502 READ-ONLY ", style="bold")
    text.append("\u2502 ")
    text.append(balance_text(ctx))
    who = (
        "demo credentials"
        if env.kind is EnvKind.DEMO
        else (f"profile {env.profile}" if env.profile else "default credentials")
    )
    text.append(f" \u2502 {one_line(who)}")
    text.append(f" \u2502 {one_line(redact(env.endpoint_url))}")
    if ctx.paths.history_url:  # team mode: which shared history (the default file is not said)
        text.append(f" \u2502 {history_label(ctx.paths.history_url)}")
    return text


class EnvBanner(Widget):
    """One (wrapping) line at the top of every screen; coloured by environment kind.

    Rendered from the session's state: the app's `balance` / `balance_error` / `read_only`
    watchers call `state_changed()`, and the text is built again (layout too: it may wrap)."""

    DEFAULT_CSS = "EnvBanner { height: auto; }"

    def __init__(self, ctx: AppContext, **kwargs: object) -> None:
        super().__init__(**kwargs)  # type: ignore[arg-type]
        self.ctx = ctx
        self.add_class(f"-{ctx.env.kind.value}")
        if ctx.env.read_only:
            self.add_class("-read-only")

    def render(self) -> Text:
        return banner_text(self.ctx)

    def state_changed(self) -> None:
        """The session state it shows changed (the text may wrap to another height)."""
        self.refresh(layout=True)
