"""A one-line footer drawn as one widget: the screen's shown bindings, key then label.

Textual's Footer mounts a widget per key and styles each (and composes again once the
screen's bindings are known): on a screen that opens often (the HIT detail, every `Enter`)
that was a fifth of the time from key to frame. This line looks like the compact footer
(the key coloured, its label right after it, one space between actions), follows
`check_action` (a refused action is not shown; a disabled one is dim), and a click on an
action runs it.
"""

from __future__ import annotations

from typing import Any, ClassVar

from rich.style import Style
from rich.text import Text
from textual import events
from textual.app import ComposeResult
from textual.screen import Screen
from textual.widget import Widget
from textual.widgets import Footer
from textual.widgets._footer import FooterKey


class KeyLine(Widget):
    DEFAULT_CSS = """
    KeyLine {
        dock: bottom;
        height: 1;
        width: 100%;
        background: $footer-background;
        color: $footer-description-foreground;
    }
    KeyLine > .key-line--key {
        color: $footer-key-foreground;
        background: $footer-key-background;
        text-style: bold;
    }
    KeyLine > .key-line--description {
        color: $footer-description-foreground;
    }
    """
    COMPONENT_CLASSES: ClassVar[set[str]] = {"key-line--key", "key-line--description"}

    def __init__(self, **kwargs: object) -> None:
        super().__init__(**kwargs)  # type: ignore[arg-type]
        #: (first cell, last cell + 1, action) of each action drawn, for clicks
        self._spans: list[tuple[int, int, str]] = []

    def on_mount(self) -> None:
        # Focus changes (the scroll view gets it on mount) may change the active bindings.
        self.screen.bindings_updated_signal.subscribe(self, lambda _screen: self.refresh())

    def on_unmount(self) -> None:
        self.screen.bindings_updated_signal.unsubscribe(self)

    def render(self) -> Text:
        key_style = self.get_component_rich_style("key-line--key", partial=True)
        label_style = self.get_component_rich_style("key-line--description", partial=True)
        text = Text(no_wrap=True, overflow="crop")
        spans: list[tuple[int, int, str]] = []
        seen: set[str] = set()
        for _node, binding, enabled, _tooltip in self.screen.active_bindings.values():
            if not binding.show or binding.action in seen:
                continue
            seen.add(binding.action)
            if text:
                text.append(" ")
            start = text.cell_len
            dim = Style() if enabled else Style(dim=True)
            text.append(self.app.get_key_display(binding), key_style + dim)
            text.append(binding.description, label_style + dim)
            spans.append((start, text.cell_len, binding.action))
        self._spans = spans
        return text

    async def on_click(self, event: events.Click) -> None:
        for start, end, action in self._spans:
            if start <= event.x < end:
                event.stop()
                await self.app.run_action(action, self.screen)
                return


class StableFooter(Footer):
    """Textual's Footer, composed again only when what it shows changes, each key styled once.

    Footer mounts a widget per key again whenever the screen's bindings are refreshed (each
    time its screen comes back: closing the HIT detail, the help, a dialog), ~20 widgets
    styled one by one. Here the shown keys are compared first: the same keys, no work.

    And each FooterKey, once mounted, took its `compact` from the footer through a watcher
    that toggles its `-compact` class: a second styling of every key, about a quarter of the
    CPU of opening a screen (profiled). Here each key is born with its footer's value and
    class, so the watcher finds nothing to change."""

    def __init__(self, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self._composed_for: tuple[tuple[str, str, str, bool], ...] | None = None

    def _shown(self) -> tuple[tuple[str, str, str, bool], ...]:
        return tuple(
            (binding.key, binding.action, binding.description, enabled)
            for _node, binding, enabled, _tip in self.screen.active_bindings.values()
            if binding.show
        )

    def compose(self) -> ComposeResult:
        if self._bindings_ready:
            self._composed_for = self._shown()
        for widget in super().compose():
            if isinstance(widget, FooterKey):
                # what it would end with: the footer's value where bound to it (the command
                # palette's key is not: it stays compact)
                bound = "compact" in (widget._reactive_connect or {})
                compact = self.compact if bound else True
                widget.set_reactive(FooterKey.compact, compact)
                widget.set_class(compact, "-compact", update=False)
            yield widget

    def bindings_changed(self, screen: Screen[Any]) -> None:
        if (
            self._composed_for is not None
            and self.is_attached
            and screen is self.screen
            and self._shown() == self._composed_for
        ):
            return
        super().bindings_changed(screen)
