"""A yes/no confirmation that restates exactly what will happen (used for PRODUCTION)."""

from __future__ import annotations

from typing import ClassVar

from rich.text import Text
from textual import on
from textual.app import ComposeResult
from textual.binding import BindingType
from textual.containers import Horizontal, Vertical, VerticalScroll
from textual.screen import ModalScreen
from textual.widgets import Button, Static

from turktui.domain.text import sanitize
from turktui.ui import keymap
from turktui.ui.keys import KeyScreen
from turktui.ui.screens.dialog import dialog_title
from turktui.ui.widgets.key_line import StableFooter


class ConfirmScreen(KeyScreen, ModalScreen[bool]):
    """Dismisses True only on an explicit "yes" (button or `y`); Escape/`n` say no."""

    #: The box is app.tcss's `.dialog` (capped to the screen, the banner row uncovered); the
    #: body scrolls if it must, the buttons are docked at the bottom.
    DEFAULT_CSS = """
    ConfirmScreen { align: center middle; }
    ConfirmScreen #confirm-details { margin-top: 1; }
    """

    #: The focus on "no" from the start: a stray Enter must not spend money. (Set as it
    #: mounts, not moved there from the scrolling body afterwards: each move restyles.)
    AUTO_FOCUS = "#confirm-no"
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
        details: str = "",
    ) -> None:
        """`body`: what will happen and what it costs (a decision: kept on screen);
        `details`: a longer list under it (e.g. a batch's first HITs) that may scroll."""
        super().__init__()
        self.title_text = title
        self.body = body
        self.details = details
        self.yes_label = yes
        self.no_label = no
        if danger:
            self.add_class("-danger")

    def compose(self) -> ComposeResult:
        with Vertical(id="confirm-dialog", classes="dialog") as dialog:
            # The environment in words on the border (NO_COLOR, 16 colours).
            env = getattr(getattr(self.app, "ctx", None), "env", None)
            title = sanitize(self.title_text)
            dialog.border_title = (
                dialog_title(title, env) if env is not None else Text(f" {title} ", "bold")
            )
            with VerticalScroll(id="confirm-scroll", classes="dialog-body"):
                # What will happen and what it costs: the decision itself.
                yield Static(
                    Text(sanitize(self.body, keep_newlines=True)),
                    id="confirm-body",
                    classes="decision",
                )
                if self.details:
                    yield Static(
                        Text(sanitize(self.details, keep_newlines=True)), id="confirm-details"
                    )
            with Horizontal(id="confirm-buttons", classes="dialog-buttons dialog-decision"):
                yield Button(self.yes_label + " (y)", id="confirm-yes", variant="error")
                yield Button(self.no_label + " (Esc)", id="confirm-no")
        yield StableFooter()

    @on(Button.Pressed, "#confirm-yes")
    def action_yes(self) -> None:
        self.dismiss(True)

    @on(Button.Pressed, "#confirm-no")
    def action_no(self) -> None:
        self.dismiss(False)
