"""The key reference (`?`): every binding of the main screen and the app, in one list."""

from __future__ import annotations

from typing import ClassVar

from rich.table import Table
from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import VerticalScroll
from textual.screen import ModalScreen
from textual.widgets import Static

HELP_ROWS: list[tuple[str, str]] = [
    ("\u2191 \u2193  j k", "move the cursor"),
    ("PgUp PgDn", "page up / down"),
    ("g G  Home End", "first / last HIT"),
    ("Enter  d", "details of the selected HIT"),
    ("/", "filter by text in HIT id or title (Esc clears)"),
    ("x", "only HITs that can be extended (toggle)"),
    ("o", "only expired HITs (toggle)"),
    ("s", "sort by the next column (header click also sorts)"),
    ("S", "reverse the sort order"),
    ("r", "refresh the list (keeps the cursor on the same HIT)"),
    ("c", "copy the HIT id to the clipboard (OSC 52)"),
    ("e", "extend: add assignments (absent when read-only)"),
    ("h", "history of extension requests"),
    ("space", "mark / unmark the HIT and move down"),
    ("a", "mark every HIT shown (after filters)"),
    ("u", "clear all marks"),
    ("b", "bulk: extend the marked HITs (absent when read-only)"),
    ("A", "assignments of the HIT (read-only; also in the detail view)"),
    ("X", "expire the HIT now: workers can no longer accept it (asked first)"),
    ("Esc", "clear filters / go back"),
    ("ctrl+p", "command palette: every action by name"),
    ("?", "this help"),
    ("q", "quit"),
]


def help_table(read_only: bool) -> Table:
    table = Table.grid(padding=(0, 2))
    table.add_column(style="bold", no_wrap=True)
    table.add_column()
    for key, what in HELP_ROWS:
        if read_only and key in ("e", "b", "X"):
            continue
        table.add_row(key, what)
    return table


class HelpScreen(ModalScreen[None]):
    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("escape,q,question_mark", "close", "Close"),
    ]

    def __init__(self, read_only: bool = False) -> None:
        super().__init__()
        self.read_only = read_only

    def compose(self) -> ComposeResult:
        with VerticalScroll(id="help-box"):
            yield Static("turktui \u2014 keys", id="help-title", markup=False)
            yield Static(help_table(self.read_only), id="help-keys", markup=False)
            yield Static("Press Esc to close.", id="help-close", markup=False)

    def action_close(self) -> None:
        self.dismiss()
