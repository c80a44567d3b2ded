"""The dimmed screen under a dialog, drawn once per change of that screen.

A ModalScreen's background is translucent, so Textual renders it as the screen below,
tinted (`BackgroundScreen`): every line of that screen rendered again and every segment
re-coloured, each time the dialog's own screen is repainted — and it is, at each layout
that touches it (twice as a dialog opens). `Backdrop` keeps the tinted lines until the
screen under the dialog changes: Textual then repaints those regions on the dialog's screen
(`Screen._compositor_refresh` calls its `refresh(*regions)`), which is when `KeyScreen`
drops it; a new size, tint or screen below makes a new one too.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from textual.visual import Visual

if TYPE_CHECKING:
    from textual.css.styles import RulesMap
    from textual.strip import Strip
    from textual.style import Style
    from textual.visual import RenderOptions


class Backdrop(Visual):
    """`visual` (the tinted screen below), its strips kept per (width, height, style)."""

    def __init__(self, key: object, visual: Visual) -> None:
        #: what it shows: (the screen below, the tint)
        self.key = key
        self._visual = visual
        self._drawn: tuple[tuple[int, int | None, Style], list[Strip]] | None = None

    def render_strips(
        self, width: int, height: int | None, style: Style, options: RenderOptions
    ) -> list[Strip]:
        wanted = (width, height, style)
        if self._drawn is None or self._drawn[0] != wanted:
            self._drawn = (wanted, self._visual.render_strips(width, height, style, options))
        return self._drawn[1]

    def get_optimal_width(self, rules: RulesMap, container_width: int) -> int:
        return self._visual.get_optimal_width(rules, container_width)

    def get_height(self, rules: RulesMap, width: int) -> int:
        return self._visual.get_height(rules, width)

    def __repr__(self) -> str:
        return f"Backdrop({self.key!r})"
