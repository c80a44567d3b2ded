"""One line under the table: load progress, count, sort, active filters, position.

The line is rendered from the state it shows, never pushed: its owner gives a `source`
(a callable returning the left and right text), and the reactive state that feeds it calls
`source_changed()` from its watchers: the line is repainted only when its text changed
(over SSH a repaint is bytes), and any number of changes in one frame cost one render.
"""

from __future__ import annotations

from collections.abc import Callable

from rich.cells import cell_len, set_cell_size
from rich.text import Text
from textual.widget import Widget


class StatusBar(Widget):
    DEFAULT_CSS = "StatusBar { height: 1; }"

    def __init__(
        self, source: Callable[[], tuple[str, str]] | None = None, **kwargs: object
    ) -> None:
        super().__init__(**kwargs)  # type: ignore[arg-type]
        self.source = source or (lambda: ("", ""))
        self._shown: tuple[str, str, int] | None = None
        self._text = Text()

    @property
    def text(self) -> tuple[str, str]:
        """What the line says now (left, right)."""
        return self.source()

    def source_changed(self) -> None:
        """The state the line shows may have changed: repaint it if its text did."""
        left, right = self.source()
        if self._shown != (left, right, max(0, self.size.width)):
            self.refresh()

    def render(self) -> Text:
        left, right = self.source()
        width = max(0, self.size.width)
        if self._shown == (left, right, width):
            return self._text
        self._shown = (left, right, width)
        self._text = status_line(left, right, width)
        return self._text


def status_line(left: str, right: str, width: int) -> Text:
    """`left` and `right` on one line of `width` terminal cells: `right` (the position
    counter) always whole at the right edge, `left` cut with an ellipsis where they would
    meet. Widths are cells as Rich measures them (wide characters take two)."""
    right_cells = cell_len(right)
    if not width:
        return Text(left + ("  " + right if right else ""), no_wrap=True)
    if right and right_cells + 2 > width:  # not even the counter fits: cut it
        return Text(set_cell_size(right, width), no_wrap=True)
    room = width - (right_cells + 1 if right else 0)
    if cell_len(left) > room:
        left = set_cell_size(left, max(0, room - 1)) + "\u2026" if room else ""
    text = Text(left, no_wrap=True)
    if right:
        text.append(" " * (width - cell_len(left) - right_cells) + right)
    return text
