"""The always-visible context line: which MTurk, which account, how much money, read-only.

Production is said in words ("PRODUCTION — real money") as well as in red, so it survives
NO_COLOR and 16-colour terminals.
"""

from __future__ import annotations

from typing import Any

from rich.text import Text
from textual.widget import Widget

from turktui.adapters.config import history_label
from turktui.domain.environment import EnvKind
from turktui.domain.models import Balance
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


#: The app's session state the banner shows (its reactives; the banner watches each).
SHOWS = ("balance", "balance_error", "read_only", "history_unreachable")


def balance_text(balance: Balance | None, error: str | None) -> str:
    if balance is not None:
        return f"balance {format_money(balance.available)}"
    if error:
        return "balance unavailable"
    return "balance \u2026"


def banner_text(ctx: AppContext, state: Any) -> Text:
    """The banner for the session `ctx`, from the app's reactive `state` (SHOWS)."""
    env = ctx.env
    text = Text(no_wrap=False, overflow="fold")
    words = KIND_WORDS[env.kind]
    if env.kind is EnvKind.CUSTOM and env.needs_confirmation:
        words = "\u26a0 CUSTOM endpoint \u2014 not on this machine, may be real money"
    text.append(f" {words} ", style="bold")
    if state.history_unreachable is not None:  # first: it decides what can be done
        text.append(f"\u2502 \u26a0 {UNREACHABLE} ", style="bold reverse")
    if state.read_only:
        text.append("\u2502 READ-ONLY ", style="bold")
    text.append("\u2502 ")
    text.append(balance_text(state.balance, state.balance_error))
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

    Rendered from the app's reactive session state (SHOWS): it watches each, and when one
    changes the text is built again (layout too: it may wrap)."""

    DEFAULT_CSS = "EnvBanner { height: auto; }"

    def __init__(self, ctx: AppContext, **kwargs: object) -> None:
        super().__init__(**kwargs)  # type: ignore[arg-type]
        self.ctx = ctx
        self.add_class(f"-{ctx.env.kind.value}")

    def on_mount(self) -> None:
        self.set_class(bool(self.app.read_only), "-read-only")  # type: ignore[attr-defined]
        for name in SHOWS:
            self.watch(self.app, name, self._state_changed, init=False)

    def render(self) -> Text:
        return banner_text(self.ctx, self.app)

    def _state_changed(self) -> None:
        """The session state it shows changed (the text may wrap to another height)."""
        self.set_class(bool(self.app.read_only), "-read-only")  # type: ignore[attr-defined]
        self.refresh(layout=True)
