"""What every screen with keys shares (the keys themselves are in `turktui.ui.keymap`).

`KeyScreen` is mixed into each screen (before Textual's `Screen`/`ModalScreen`):
- `KEYMAP_SCREEN` names the screen in the key map (its help, palette and footer);
- navigation (j/k/g/G/PgUp/PgDn/Home/End): the screen's list when it has one (even while a
  text box has the focus), else its scroll view;
- read-only: the key map's write actions are refused by `check_action` (hidden from the
  footer and the palette; the fallback binding says why);
- type-ahead: after `/`, keys typed before the focus has reached the filter box (a paste, a
  fast typist, tmux send-keys) go into the box, not to bindings. The app calls
  `capture_typeahead` before it checks bindings;
- opening it costs one pass of Textual's work: styles applied once as it mounts, the screens
  under it not laid out again for the Resize its first layout sends it, and a dialog's
  dimmed copy of the screen under it kept until that screen repaints (`turktui.ui.backdrop`).
"""

from __future__ import annotations

from decimal import Decimal
from typing import TYPE_CHECKING, Any, ClassVar

from rich.text import Text
from textual import events
from textual.app import RenderResult
from textual.containers import ScrollableContainer
from textual.geometry import Region
from textual.renderables.background_screen import BackgroundScreen
from textual.timer import Timer
from textual.visual import visualize
from textual.widget import Widget
from textual.widgets import Input, Static

from turktui.domain.text import one_line
from turktui.ui import keymap
from turktui.ui.backdrop import Backdrop
from turktui.ui.widgets.vtable import VirtualTable

if TYPE_CHECKING:
    from textual.screen import Screen
    from typing_extensions import Self

    _Base = Screen[Any]
else:
    _Base = object


#: How long a copy confirmation stays (it confirms a key just pressed: short-lived).
COPY_SAID = 2.5


def screen_name(screen: object) -> str | None:
    """The key map's name of `screen` (None: a screen without keys of its own)."""
    return getattr(screen, "KEYMAP_SCREEN", None)


def read_only(node: Any) -> bool:
    """Whether the session is read-only: the app's `read_only` (the one source)."""
    return bool(getattr(node.app, "read_only", False))


def available_balance(node: Any) -> Decimal | None:
    """The account's available balance: the app's `balance` (None: not known yet)."""
    balance = getattr(node.app, "balance", None)
    return balance.available if balance is not None else None


def refuses(node: Any, screen: str | None, action: str) -> bool:
    """Whether a read-only session refuses `action` on `screen` (a write key of the key
    map): the one rule behind every `check_action` and the palette."""
    return screen is not None and read_only(node) and action in keymap.write_actions(screen)


def refused_read_only(node: Any, what: str) -> bool:
    """The one read-only gate of the flows (extend, expire, bulk, resolve): True, and the
    operator told why in the one wording, when the session is read-only."""
    if not read_only(node):
        return False
    node.app.notify(keymap.read_only_refusal(what), severity="warning", markup=False)
    return True


def status_line(id: str | None = None) -> Static:
    """The status line of a screen with `STATUS_LINE` (hidden until a message comes), composed
    with it (a dialog's first in its decision block): opening the screen mounts nothing more."""
    line = Static(Text(""), id=id, classes="dialog-status", markup=False)
    line.display = False
    return line


def _is_view(widget: object) -> bool:
    # (Textual's Input is a ScrollableContainer too: it scrolls its own line)
    return isinstance(widget, ScrollableContainer) and not isinstance(widget, Input)


class KeyScreen(_Base):
    #: this screen's name in the key map
    KEYMAP_SCREEN: ClassVar[str] = ""

    _typeahead_box: Input | None = None
    _typeahead_from: Widget | None = None
    _status_timer: Timer | None = None
    #: says the app's messages on a status line in its decision block, never as toasts
    STATUS_LINE: ClassVar[bool] = False

    _resumed_once = False
    #: a dialog's dimmed copy of the screen under it (see turktui.ui.backdrop)
    _backdrop: Backdrop | None = None

    def _on_screen_resume(self, event: events.ScreenResume) -> None:
        # Runs before Screen's own handler (Textual calls each class's handler along the
        # MRO). The first resume follows the push at once: the screen's styles were applied
        # as it mounted, so Screen's restyle of every widget on it is skipped (tens of ms
        # for a dialog with its footer). A later resume (back from a screen above) restyles.
        if not self._resumed_once:
            self._resumed_once = True
            event.refresh_styles = False

    def _on_resize(self, event: events.Resize) -> None:
        # Runs before Screen's own handler, as above. A screen just pushed is laid out as it
        # resumes; that layout then sends the screen a Resize (it was "shown"), and Screen's
        # handler lays it out again (its second pass: sizes that depend on the first, before
        # the next key) and also every screen under it, at the sizes they already have: the
        # HIT list under a dialog laid out again for nothing at each open (a tenth of the
        # extend dialog's). When no laid-out size (`outer_size`) changes (and no breakpoint
        # classes depend on it) only this screen is laid out; a real resize goes on to
        # Screen's handler.
        app = self.app
        if (
            event.size == self.outer_size
            and all(screen.outer_size == event.size for screen in app._background_screens)
            and not (self.HORIZONTAL_BREAKPOINTS or app.HORIZONTAL_BREAKPOINTS)
            and not (self.VERTICAL_BREAKPOINTS or app.VERTICAL_BREAKPOINTS)
        ):
            self._screen_resized(event.size)
            event.prevent_default()

    # -- the dimmed screen under a dialog -----------------------------------------------------
    def render(self) -> RenderResult:
        rendered = super().render()
        if not isinstance(rendered, BackgroundScreen):
            return rendered  # an opaque screen: its background colour
        key = (rendered.screen, rendered.color)
        if self._backdrop is None or self._backdrop.key != key:
            self._backdrop = Backdrop(key, visualize(self, rendered))
        return self._backdrop

    def refresh(
        self, *regions: Region, repaint: bool = True, layout: bool = False, recompose: bool = False
    ) -> Self:
        if regions:  # the screen under this one changed there (Textual repaints it here)
            self._backdrop = None
        return super().refresh(*regions, repaint=repaint, layout=layout, recompose=recompose)

    # -- read-only ----------------------------------------------------------------------------
    def check_action(self, action: str, parameters: tuple[object, ...]) -> bool | None:
        if refuses(self, self.KEYMAP_SCREEN, action):
            return False
        return super().check_action(action, parameters)

    # -- navigation ---------------------------------------------------------------------------
    def _nav_target(self) -> VirtualTable[Any] | ScrollableContainer | None:
        """The list (focused, or the screen's; even while a text box has the focus), else
        the focused scroll view, else the screen's first."""
        focused = self.focused
        if isinstance(focused, VirtualTable):
            return focused
        for table in self.query(VirtualTable):
            if table.display:
                return table
        if _is_view(focused):
            return focused  # type: ignore[return-value]
        for view in self.query(ScrollableContainer):
            if _is_view(view) and view.display:
                return view
        return None

    def _nav(self, table_action: str, scroll: str) -> None:
        target = self._nav_target()
        if isinstance(target, VirtualTable):
            getattr(target, f"action_{table_action}")()
        elif target is not None:
            getattr(target, scroll)(animate=False)

    def action_cursor_down(self) -> None:
        self._nav("cursor_down", "scroll_down")

    def action_cursor_up(self) -> None:
        self._nav("cursor_up", "scroll_up")

    def action_page_down(self) -> None:
        self._nav("page_down", "scroll_page_down")

    def action_page_up(self) -> None:
        self._nav("page_up", "scroll_page_up")

    def action_first(self) -> None:
        self._nav("first", "scroll_home")

    def action_last(self) -> None:
        self._nav("last", "scroll_end")

    # -- messages: toasts, or the dialog's status line ----------------------------------------
    def _extend_compose(self, widgets: list[Widget]) -> None:
        # Textual's hook that adds its own widgets: a dialog with a status line (STATUS_LINE)
        # gets no toast rack, so no toast is ever drawn over its content.
        super()._extend_compose(widgets)  # type: ignore[misc]
        if self.STATUS_LINE:
            widgets[:] = [w for w in widgets if type(w).__name__ != "ToastRack"]

    def _status_line(self) -> Static | None:
        """A dialog's status line (`status_line()`, composed first in its decision block).
        None: this screen shows its messages as toasts."""
        found = self.query(".dialog-status")
        return found.first(Static) if found else None

    def show_status(self, message: str, title: str, severity: str, timeout: float) -> bool:
        """Show a message on the dialog's status line instead of a toast over its content
        (True: shown there). It stays `timeout` seconds, or until the next one."""
        line = self._status_line()
        if line is None:
            return False
        words = f"{title}: {message}" if title else message
        line.update(Text(one_line(words, max_length=300)))
        line.set_class(severity == "error", "-error")
        line.set_class(severity == "warning", "-warning")
        line.display = True
        if self._status_timer is not None:
            self._status_timer.stop()
        self._status_timer = self.set_timer(timeout, self._clear_status)
        return True

    def _clear_status(self) -> None:
        self._status_timer = None
        for line in self.query(".dialog-status"):
            line.display = False

    def copied(self, value: str, what: str) -> None:
        """Copy `value` to the clipboard and say so briefly (COPY_SAID seconds)."""
        self.app.copy_to_clipboard(value)
        self.notify(f"Copied {what}", markup=False, timeout=COPY_SAID)

    # -- Esc in a text box --------------------------------------------------------------------
    def clear_focused_box(self) -> bool:
        """Esc's first step in a dialog's text box: clear it if it has text (True: it did;
        the dialog and the focus stay). Esc on an empty box goes on to close the dialog."""
        box = self.focused
        if isinstance(box, Input) and box.value:
            box.value = ""
            return True
        return False

    def leave_filter(self, box: Input, to: Widget) -> bool:
        """Esc in a filter box: clear it and give the focus back to the list `to`, so the
        next keys are keys again (True: the box had the focus)."""
        if self.focused is not box:
            return False
        box.value = ""
        to.focus()
        return True

    # -- type-ahead ---------------------------------------------------------------------------
    def open_filter(self, box: Input) -> None:
        """Show `box` and give it the focus now; keys already on their way to another
        widget are caught by `capture_typeahead` until the box loses the focus."""
        box.display = True
        self._typeahead_box = box
        self._typeahead_from = self.focused
        self.set_focus(box)

    def capture_typeahead(self, event: events.Key) -> bool:
        """Called by the app before it checks bindings: True = the key went into the box."""
        box = self._typeahead_box
        if box is None:
            return False
        if not box.is_attached or not box.display or self.app.screen is not self:
            self._typeahead_box = None
            return False
        if event.key == "enter":
            # Submitted, and the focus back where it was at once: the keys after Enter
            # are keys again (bindings), not text.
            self._typeahead_box = None
            box.post_message(Input.Submitted(box, box.value))
            back = self._typeahead_from
            self.set_focus(back if back is not None and back.is_attached else None)
            return True
        if event.key == "escape":  # as if the box had the focus (it has, from now)
            self._typeahead_box = None
            self.set_focus(box)
            return False
        if event.key == "backspace":
            box.action_delete_left()
            return True
        if event.is_printable and event.character:
            box.insert_text_at_cursor(event.character)
            return True
        return False

    def on_descendant_blur(self, event: events.DescendantBlur) -> None:
        if event.widget is self._typeahead_box:
            self._typeahead_box = None
