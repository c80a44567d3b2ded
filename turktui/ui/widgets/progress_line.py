"""A progress bar on one line, drawn as one widget: done cells `█`, the rest `░` (readable
without colour), then the percentage.

Textual's ProgressBar is three widgets with reactives, bindings and an ETA estimate; each
update refreshes all three, and a batch updates it every frame. This line is repainted only
when what it shows changes (a filled cell or the percentage), and then as one strip.
"""

from __future__ import annotations

from typing import ClassVar

from rich.segment import Segment
from textual.strip import Strip
from textual.widget import Widget

DONE = "\u2588"
REST = "\u2591"
#: the percentage after the bar: " 100%"
PERCENT_CELLS = 5


class ProgressLine(Widget):
    DEFAULT_CSS = """
    ProgressLine { height: 1; width: 100%; }
    ProgressLine > .progress-line--done { color: $success; }
    ProgressLine > .progress-line--rest { color: $text-muted; }
    """
    COMPONENT_CLASSES: ClassVar[set[str]] = {"progress-line--done", "progress-line--rest"}

    def __init__(self, **kwargs: object) -> None:
        super().__init__(**kwargs)  # type: ignore[arg-type]
        self.total = 1
        self.progress = 0
        #: (filled cells, percentage) as last drawn (None: not drawn yet)
        self._drawn: tuple[int, int] | None = None

    def update(self, *, total: int, progress: int) -> None:
        """Show `progress` of `total` (repainted only if that changes what is drawn)."""
        self.total, self.progress = max(1, total), max(0, min(progress, total))
        if self._drawn is not None and self._shown(self.size.width) != self._drawn:
            self.refresh()

    def _shown(self, width: int) -> tuple[int, int]:
        """(filled cells, percentage) at `width`; 100% only when all is done."""
        cells = max(0, width - PERCENT_CELLS)
        return cells * self.progress // self.total, 100 * self.progress // self.total

    def render_line(self, y: int) -> Strip:
        width = self.size.width
        filled, percent = self._drawn = self._shown(width)
        base = self.rich_style
        done = base + self.get_component_rich_style("progress-line--done")
        rest = base + self.get_component_rich_style("progress-line--rest")
        cells = max(0, width - PERCENT_CELLS)
        segments = [
            Segment(DONE * filled, done),
            Segment(REST * (cells - filled), rest),
            Segment(f"{percent:>{PERCENT_CELLS - 1}}%", base),
        ]
        return Strip(segments).crop(0, width).extend_cell_length(width, base)
