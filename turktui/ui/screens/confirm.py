"""A yes/no confirmation that restates exactly what will happen (used for PRODUCTION)."""

from __future__ import annotations

from typing import ClassVar

from rich.text import Text
from textual import on
from textual.app import ComposeResult
from textual.binding import BindingType
from textual.containers import Horizontal, Vertical
from textual.screen import ModalScreen
from textual.widgets import Button, Footer, Static

from turktui.domain.text import sanitize
from turktui.ui import keymap
from turktui.ui.keys import KeyScreen


class ConfirmScreen(KeyScreen, ModalScreen[bool]):
    """Dismisses True only on an explicit "yes" (button or `y`); Escape/`n` say no."""

    DEFAULT_CSS = """
    ConfirmScreen { align: center middle; }
    ConfirmScreen #confirm-dialog {
        width: 80; height: auto; border: thick $warning; background: $surface; padding: 0 1;
    }
    ConfirmScreen.-danger #confirm-dialog { border: thick red; }
    ConfirmScreen #confirm-title { text-style: bold; }
    ConfirmScreen #confirm-buttons { height: auto; margin-top: 1; align-horizontal: right; }
    ConfirmScreen #confirm-buttons Button { margin-left: 1; }
    """

    KEYMAP_SCREEN = "confirm"
    BINDINGS: ClassVar[list[BindingType]] = keymap.bindings("confirm")

    def __init__(
        self,
        title: str,
        body: str,
        *,
        yes: str = "Yes, send",
        no: str = "Cancel",
        danger: bool = False,
    ) -> None:
        super().__init__()
        self.title_text = title
        self.body = body
        self.yes_label = yes
        self.no_label = no
        if danger:
            self.add_class("-danger")

    def compose(self) -> ComposeResult:
        with Vertical(id="confirm-dialog"):
            yield Static(Text(sanitize(self.title_text)), id="confirm-title")
            yield Static(Text(sanitize(self.body, keep_newlines=True)), id="confirm-body")
            with Horizontal(id="confirm-buttons"):
                yield Button(self.yes_label + " (y)", id="confirm-yes", variant="error")
                yield Button(self.no_label + " (Esc)", id="confirm-no")
        yield Footer()

    def on_mount(self) -> None:
        # Focus "no": a stray Enter must not spend money.
        self.query_one("#confirm-no", Button).focus()

    @on(Button.Pressed, "#confirm-yes")
    def action_yes(self) -> None:
        self.dismiss(True)

    @on(Button.Pressed, "#confirm-no")
    def action_no(self) -> None:
        self.dismiss(False)
