"""One line under the table: load progress, count, sort, active filters, position."""

from __future__ import annotations

from rich.text import Text
from textual.widgets import Static


class StatusBar(Static):
    def __init__(self, **kwargs: object) -> None:
        super().__init__(markup=False, **kwargs)  # type: ignore[arg-type]

    def show(self, left: str, right: str = "") -> None:
        width = max(0, self.size.width)
        text = Text(left, no_wrap=True, overflow="ellipsis")
        if right:
            gap = width - text.cell_len - len(right) - 1
            if gap >= 1:
                text.append(" " * gap + right)
            else:
                text.append("  " + right)
        text.truncate(max(1, width), overflow="ellipsis") if width else None
        self.update(text)
