"""One line under the table: load progress, count, sort, active filters, position."""

from __future__ import annotations

from rich.text import Text
from textual.widgets import Static


class StatusBar(Static):
    def __init__(self, **kwargs: object) -> None:
        super().__init__(markup=False, **kwargs)  # type: ignore[arg-type]
        self._shown: tuple[str, str, int] | None = None

    def show(self, left: str, right: str = "") -> None:
        width = max(0, self.size.width)
        # Called on every cursor move: skip identical updates.
        if self._shown == (left, right, width):
            return
        self._shown = (left, right, width)
        text = Text(left, no_wrap=True, overflow="ellipsis")
        if right:
            gap = width - text.cell_len - len(right) - 1
            if gap >= 1:
                text.append(" " * gap + right)
            else:
                text.append("  " + right)
        text.truncate(max(1, width), overflow="ellipsis") if width else None
        # Fixed size (one full-width line, see app.tcss): a repaint, never a relayout, which
        # would cost the whole screen a layout pass per keypress.
        self.update(text, layout=False)
