"""The keys (`?`): the keys of the screen `?` was pressed on, from the key map.

A read-only session leaves out the keys that change something and says why. The box
scrolls (j/k, PgUp/PgDn, g/G) when the list is longer than the screen.

The key table is laid out once per screen, read-only flag and width (`KeyTable`): Rich
lays a table out anew on each of Textual's layout and paint passes, four or five per `?`."""

from __future__ import annotations

import functools
from typing import ClassVar

from rich.console import Console, ConsoleOptions, RenderResult
from rich.measure import Measurement
from rich.segment import Segment
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


@functools.lru_cache(maxsize=64)
def _laid_out(screen: str, read_only: bool, width: int, console: Console) -> tuple[Segment, ...]:
    """The help table of `screen` laid out `width` cells wide: its segments, lines ended
    by newlines (the key map does not change while the app runs)."""
    options = console.options.update_width(width)
    lines = console.render_lines(help_table(screen, read_only), options, pad=False)
    return tuple(segment for line in lines for segment in (*line, Segment.line()))


class KeyTable:
    """The help table of a screen as a Rich renderable whose layout is kept per width."""

    def __init__(self, screen: str = "main", read_only: bool = False) -> None:
        self.screen = screen
        self.read_only = read_only

    def __rich_console__(self, console: Console, options: ConsoleOptions) -> RenderResult:
        yield from _laid_out(self.screen, self.read_only, options.max_width, console)

    def __rich_measure__(self, console: Console, options: ConsoleOptions) -> Measurement:
        return Measurement.get(console, options, help_table(self.screen, self.read_only))


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
            yield Static(KeyTable(self.for_screen, self.read_only), id="help-keys")
            if note:
                yield Static(Text(note), id="help-read-only")
            yield Static(Text("Esc or ? closes."), id="help-close")

    def action_back(self) -> None:
        self.dismiss()

    def action_close(self) -> None:
        self.action_back()
