"""One line under the table: load progress, count, sort, active filters, position.

The line is rendered from the state it shows, never pushed: its owner gives a `source`
(a callable returning the left and right text), and the reactive state that feeds it calls
`refresh()` from its watchers. Any number of changes in one frame cost one render.
"""

from __future__ import annotations

from collections.abc import Callable

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

    def render(self) -> Text:
        left, right = self.source()
        width = max(0, self.size.width)
        if self._shown == (left, right, width):
            return self._text
        self._shown = (left, right, width)
        text = Text(left, no_wrap=True, overflow="ellipsis")
        if right:
            gap = width - text.cell_len - len(right) - 1
            if gap >= 1:
                text.append(" " * gap + right)
            else:
                text.append("  " + right)
        if width:
            text.truncate(max(1, width), overflow="ellipsis")
        self._text = text
        return text
