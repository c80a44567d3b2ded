"""Command palette (ctrl+p): every main-screen action by name."""

from __future__ import annotations

from collections.abc import Callable
from functools import partial
from typing import TYPE_CHECKING, Protocol

from textual.command import DiscoveryHit, Hit, Hits, Provider

from turktui.ui.host import TurkHost
from turktui.ui.widgets.hit_table import COLUMNS

if TYPE_CHECKING:
    from turktui.ui.screens.main import MainScreen


class CommandHost(TurkHost, Protocol):
    """The app as the command palette sees it."""

    main_screen: MainScreen


def app_commands(app: CommandHost) -> list[tuple[str, str, Callable[[], object]]]:
    main = app.main_screen
    commands: list[tuple[str, str, Callable[[], object]]] = [
        ("Refresh HITs", "reload the list (r)", app.reload_hits),
        ("Filter HITs", "filter by id or title (/)", main.action_filter),
        (
            "Toggle extendable only",
            "show only HITs that can be extended (x)",
            main.action_toggle_extendable,
        ),
        ("Toggle expired only", "show only expired HITs (o)", main.action_toggle_expired),
        ("Clear filters", "show every HIT (Esc)", main.action_clear_filters),
        ("Show HIT details", "everything about the selected HIT (Enter)", main.action_detail),
        ("Copy HIT id", "copy the selected HIT id to the clipboard (c)", main.action_copy_id),
        ("Reverse sort", "reverse the sort order (S)", main.action_sort_reverse),
        (
            "Unsorted (service order)",
            "the order ListHITs returns",
            partial(main.table.sort_by, None, False),
        ),
    ]
    for col in COLUMNS:
        commands.append(
            (
                f"Sort by {col.label}",
                f"sort the list by {col.label.lower()}",
                partial(main.table.sort_by, col.key, False),
            )
        )
    if not app.ctx.read_only:
        commands.append(
            ("Extend HIT", "add assignments to the selected HIT (e)", app.action_extend)
        )
    commands.append(("Request history", "extension requests made so far (h)", app.action_history))
    commands.append(("Refresh balance", "fetch the account balance again", app.refresh_balance))
    commands.append(("Help", "list every key (?)", app.action_help))
    return commands


class TurkCommands(Provider):
    async def discover(self) -> Hits:
        for name, help_text, callback in app_commands(self.app):  # type: ignore[arg-type]
            yield DiscoveryHit(name, callback, help=help_text)

    async def search(self, query: str) -> Hits:
        matcher = self.matcher(query)
        for name, help_text, callback in app_commands(self.app):  # type: ignore[arg-type]
            score = matcher.match(name)
            if score > 0:
                yield Hit(score, matcher.highlight(name), callback, help=help_text)
