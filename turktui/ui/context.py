"""Everything a screen needs to know about the session, passed down from the app."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime, timezone
from typing import Any

from turktui.core.config import Paths, Settings
from turktui.core.environment import Environment
from turktui.core.models import Balance


def utc_now() -> datetime:
    return datetime.now(timezone.utc)


@dataclass
class AppContext:
    env: Environment
    #: a turktui.core.service.MTurkService (typed loosely: the UI never touches boto3)
    service: Any
    settings: Settings
    paths: Paths
    #: injectable clock so snapshots and tests are deterministic
    clock: Callable[[], datetime] = utc_now
    #: the request history store (turktui.core.history), None until opened
    history: Any = None
    balance: Balance | None = None
    #: a turktui.core.loader.HitLoader started before Textual was imported (by run_app);
    #: the first load takes it over. None: the app starts its own.
    hit_loader: Any = None
    extras: dict[str, Any] = field(default_factory=dict)

    @property
    def read_only(self) -> bool:
        return self.env.read_only
