"""Does what is on screen fit? The check of tests/ui/test_scene_fit.py, run on a staged app.

Three rules, on the screen at the top of the stack (a dialog and what it covers):

* No widget reaches past the screen or is cut by a container, unless an ancestor scrolls in
  that direction (then the operator can scroll to it).
* Every decision widget (CSS class `decision`: range, new maximum, cost, balance, problems,
  new expiration, totals) and every Button is entirely on screen and inside the visible part
  of every container around it: nothing that decides a request may be scrolled away or cut.
* The environment stays readable: its word (DEMO, SANDBOX, PRODUCTION, CUSTOM) is on the
  first rows of the screen, under any dialog.
* Toasts are compact: together they cover at most half of the list's rows, and they never
  cover a decision widget or a button; over a dialog they cover none of its content (its
  HIT id and title, a batch's header: a dialog says its messages on its status line).
  A toast is never cut (its text wraps fully), and none is drawn twice (a screen under the
  one on top shows no toast through it).
"""

from __future__ import annotations

from typing import Any

from textual.geometry import Region
from textual.screen import ModalScreen
from textual.widget import Widget
from textual.widgets import Button

from tests.ui.helpers import screen_text

DECISION = "decision"
#: The environment's word must be on one of the screen's first rows (the banner may wrap).
BANNER_ROWS = 2


def _scrolls(widget: Widget) -> tuple[bool, bool]:
    """(x, y): does an ancestor of `widget` scroll in that direction?"""
    x = y = False
    for node in widget.ancestors:
        if not isinstance(node, Widget):
            continue
        x = x or (node.allow_horizontal_scroll and node.max_scroll_x > 0)
        y = y or (node.allow_vertical_scroll and node.max_scroll_y > 0)
    return x, y


def _outside(region: Region, bound: Region, x: bool = True, y: bool = True) -> bool:
    if x and (region.x < bound.x or region.right > bound.right):
        return True
    return bool(y and (region.y < bound.y or region.bottom > bound.bottom))


def _name(widget: Widget) -> str:
    ident = f"#{widget.id}" if widget.id else ""
    classes = "".join(f".{c}" for c in sorted(widget.classes) if not c.startswith("-"))
    return f"{type(widget).__name__}{ident}{classes}"


def fit_problems(app: Any, env_word: str | None = None) -> list[str]:
    """What does not fit on `app`'s current screen, in words (empty: everything fits).
    `env_word`: the environment's word (default: the turktui app's)."""
    screen = app.screen
    bounds = Region(0, 0, *app.size)
    problems: list[str] = []
    full_map = screen._compositor.full_map  # every laid-out widget, visible or not
    for widget, geometry in full_map.items():
        if widget is screen or not isinstance(widget, Widget) or not widget.display:
            continue
        region, clip = geometry.region, geometry.clip.intersection(bounds)
        decision = isinstance(widget, Button) or widget.has_class(DECISION)
        if decision:
            if region.area == 0:
                problems.append(f"{_name(widget)} has no room (region {tuple(region)})")
            elif _outside(region, clip):
                problems.append(
                    f"{_name(widget)} is not entirely visible: region {tuple(region)}, "
                    f"visible {tuple(clip)}"
                )
            continue
        if region.area == 0:
            continue
        scroll_x, scroll_y = _scrolls(widget)
        if _outside(region, clip, x=not scroll_x, y=not scroll_y):
            problems.append(
                f"{_name(widget)} is cut: region {tuple(region)}, visible {tuple(clip)}"
            )
    # Decision widgets that were not laid out at all (squeezed out of the layout).
    for widget in screen.query(f".{DECISION}"):
        if widget.display and widget not in full_map:
            problems.append(f"{_name(widget)} is not laid out")
    toasts = [t for t in screen.query("Toast") if t.display and t.region.area]
    deciding = [
        w
        for w in full_map
        if isinstance(w, Widget) and w.display and (isinstance(w, Button) or w.has_class(DECISION))
    ]
    for toast in toasts:
        for widget in deciding:
            if toast.region.overlaps(widget.region):
                problems.append(f"a toast covers {_name(widget)}")
    if isinstance(screen, ModalScreen):
        content = [
            w
            for w in full_map
            if isinstance(w, Widget)
            and w.display
            and not w.children
            and any(isinstance(a, Widget) and a.has_class("dialog") for a in w.ancestors)
        ]
        for toast in toasts:
            for widget in content:
                if toast.region.overlaps(widget.region):
                    problems.append(f"a toast covers the dialog's {_name(widget)}")
    for toast in toasts:
        inner = toast.content_region
        needed = toast.get_content_height(toast.size, app.size, inner.width)
        if needed > inner.height:
            problems.append(f"a toast is cut: {needed} lines in {inner.height}")
    for under in app.screen_stack[:-1]:
        shown = [
            t
            for t in under.query("Toast")
            if t.region.area and all(a.display for a in t.ancestors if isinstance(a, Widget))
        ]
        if shown:
            problems.append(f"{len(shown)} toast(s) drawn again under the screen on top")
    toast_rows = sum(t.region.height for t in toasts)
    tables = [t for t in screen.query("HitTable") if t.region.area]
    if toast_rows and tables and toast_rows > tables[0].region.height // 2:
        problems.append(f"toasts cover {toast_rows} of the list's {tables[0].region.height} rows")
    words = env_word or app.ctx.env.kind.banner
    top = screen_text(app).splitlines()[:BANNER_ROWS]
    if not any(words in row for row in top):
        problems.append(f"the environment ({words}) is not on the first {BANNER_ROWS} rows")
    return problems
