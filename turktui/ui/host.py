"""What screens may ask of the app (a Protocol: screens never import the app module).

The app (turktui.ui.app.TurkTuiApp) implements it; screens type `self.app` as TurkHost, so the
import graph stays a tree: app → screens, never back.
"""

from __future__ import annotations

from typing import Protocol

from turktui.domain.models import Balance, Hit
from turktui.ui.context import AppContext


class TurkHost(Protocol):
    ctx: AppContext
    # The app's reactive session state (see turktui.ui.controller.ControllerApp): what shows
    # it watches it; assigning it is all it takes.
    marks: int
    balance: Balance | None
    balance_error: str | None
    in_flight: tuple[str, ...]
    read_only: bool
    history_unreachable: str | None

    def start_up(self) -> None: ...

    def reload_hits(self) -> None: ...

    def refresh_balance(self) -> None: ...

    def balance_answer_is_latest(self, asked: int) -> bool: ...

    def copy_hit_id(self, hit: Hit | None) -> None: ...

    def action_extend(self) -> None: ...

    def action_history(self) -> None: ...

    def action_help(self) -> None: ...
