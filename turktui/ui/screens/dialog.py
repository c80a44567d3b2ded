"""What every dialog shares: its border title names the environment in words.

The box itself (never wider than the screen, the banner row and the footer row left
uncovered, a scrolling body and the decision lines docked at the bottom) is app.tcss's
`.dialog`, `.dialog-body`, `.dialog-decision` and `.decision`.
"""

from __future__ import annotations

from rich.text import Text

from turktui.domain.environment import Environment, EnvKind

#: Short enough for a border at 80 columns; the banner above says the rest.
ENV_WORDS = {
    EnvKind.DEMO: "DEMO \u2014 no money",
    EnvKind.SANDBOX: "SANDBOX \u2014 test money",
    EnvKind.PRODUCTION: "\u26a0 PRODUCTION \u2014 real money",
    EnvKind.CUSTOM: "CUSTOM endpoint",
}


def env_words(env: Environment) -> str:
    words = ENV_WORDS[env.kind]
    if env.read_only:
        words += " \u00b7 READ-ONLY"
    return words


def dialog_title(title: str, env: Environment) -> Text:
    """' DEMO — no money · Add assignments and/or time ' (a Text: never read as markup)."""
    return Text.assemble((f" {env_words(env)} ", "bold"), f"\u00b7 {title} ")
