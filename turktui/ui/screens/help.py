"""The keys (`?`): the keys of the screen `?` was pressed on, from the key map.

A read-only session leaves out the keys that change something and says why. The box
scrolls (j/k, PgUp/PgDn, g/G) when the list is longer than the screen."""

from __future__ import annotations

from typing import ClassVar

from rich.table import Table
from rich.text import Text
from textual.app import ComposeResult
from textual.binding import BindingType
from textual.containers import VerticalScroll
from textual.screen import ModalScreen
from textual.widgets import Static

from turktui.ui import keymap
from turktui.ui.keys import KeyScreen


def help_table(screen: str = "main", read_only: bool = False) -> Table:
    table = Table.grid(padding=(0, 2))
    table.add_column(style="bold", no_wrap=True)
    table.add_column()
    for keys, what in keymap.help_rows(screen, read_only):
        table.add_row(Text(keys), Text(what))
    return table


def help_title(screen: str) -> str:
    return f"turktui \u2014 keys: {keymap.SCREENS.get(screen, screen)}"


class HelpScreen(KeyScreen, ModalScreen[None]):
    KEYMAP_SCREEN = "help"
    BINDINGS: ClassVar[list[BindingType]] = keymap.bindings("help")

    def __init__(self, screen: str = "main", read_only: bool = False) -> None:
        super().__init__()
        #: the screen whose keys are shown
        self.for_screen = screen
        self.read_only = read_only

    def compose(self) -> ComposeResult:
        note = keymap.read_only_note(self.for_screen) if self.read_only else ""
        with VerticalScroll(id="help-box"):
            yield Static(Text(help_title(self.for_screen)), id="help-title")
            yield Static(help_table(self.for_screen, self.read_only), id="help-keys")
            if note:
                yield Static(Text(note), id="help-read-only")
            yield Static(Text("Esc or ? closes."), id="help-close")

    def action_back(self) -> None:
        self.dismiss()

    def action_close(self) -> None:
        self.action_back()
