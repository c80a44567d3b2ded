"""Command palette (ctrl+p): every action of the current screen by name.

Generated from the key map (`turktui.ui.keymap`): the entries that apply on the screen the
palette was opened from and that it allows now (a read-only session offers no write
action; a screen's `check_action` refusal hides one too). The main list adds the sort
orders and the balance refresh, which have no key."""

from __future__ import annotations

from collections.abc import Callable
from functools import partial
from typing import TYPE_CHECKING, Any, Protocol

from textual.command import DiscoveryHit, Hit, Hits, Provider

from turktui.ui import keymap
from turktui.ui.host import TurkHost
from turktui.ui.keys import read_only, screen_name
from turktui.ui.widgets.hit_table import COLUMNS

if TYPE_CHECKING:
    from textual.screen import Screen

    from turktui.ui.screens.main import MainScreen


class CommandHost(TurkHost, Protocol):
    """The app as the command palette sees it."""

    main_screen: MainScreen


Command = tuple[str, str, Callable[[], object]]


def _allowed(app: Any, screen: Screen[Any], key: keymap.Key, name: str) -> bool:
    if key.write and read_only(app):
        return False
    namespace, _, action = key.action_on(name).rpartition(".")
    if namespace:  # app.*: the app decides (read-only handled above)
        return True
    action = action.split("(", 1)[0]
    return bool(screen.check_action(action, ()))


def screen_commands(app: Any, screen: Screen[Any]) -> list[Command]:
    """(name, help, callback) of every key-map action that `screen` allows now."""
    name = screen_name(screen)
    if name is None:
        return []
    out: list[Command] = []
    for key in keymap.commands(name):
        if not _allowed(app, screen, key, name):
            continue
        help_text = f"{key.help} ({keymap.display(key)})"
        action = partial(app.run_action, key.action_on(name), screen)
        out.append((key.command_on(name), help_text, action))
    if name == "main":
        out += _main_extras(app)
    return out


def _main_extras(app: CommandHost) -> list[Command]:
    main = app.main_screen
    extras: list[Command] = [
        (
            "Unsorted (service order)",
            "the order ListHITs returns",
            partial(main.table.sort_by, None, False),
        ),
    ]
    for col in COLUMNS:
        extras.append(
            (
                f"Sort by {col.label}",
                f"sort the list by {col.label.lower()}",
                partial(main.table.sort_by, col.key, False),
            )
        )
    extras.append(("Refresh balance", "fetch the account balance again", app.refresh_balance))
    return extras


def app_commands(app: Any, screen: Screen[Any] | None = None) -> list[Command]:
    """The commands for `screen` (default: the screen on top)."""
    return screen_commands(app, screen if screen is not None else app.screen)


class TurkCommands(Provider):
    async def discover(self) -> Hits:
        for name, help_text, callback in app_commands(self.app, self.screen):
            yield DiscoveryHit(name, callback, help=help_text)

    async def search(self, query: str) -> Hits:
        matcher = self.matcher(query)
        for name, help_text, callback in app_commands(self.app, self.screen):
            score = matcher.match(name)
            if score > 0:
                yield Hit(score, matcher.highlight(name), callback, help=help_text)
