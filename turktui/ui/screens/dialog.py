"""What every dialog shares: its border title names the environment in the banner's words.

The box itself (never wider than the screen, the banner row and the footer row left
uncovered, a scrolling body and the decision lines docked at the bottom) is app.tcss's
`.dialog`, `.dialog-body`, `.dialog-decision` and `.decision`.
"""

from __future__ import annotations

from rich.text import Text

from turktui.domain.environment import Environment
from turktui.ui.widgets.env_banner import KIND_WORDS


def env_words(env: Environment) -> str:
    words = KIND_WORDS[env.kind]
    if env.read_only:
        words += " \u00b7 READ-ONLY"
    return words


def dialog_title(title: str, env: Environment) -> Text:
    """' DEMO (local emulator, no money) · Add assignments and/or time ' (a Text, never markup)."""
    return Text.assemble((f" {env_words(env)} ", "bold"), f"\u00b7 {title} ")
