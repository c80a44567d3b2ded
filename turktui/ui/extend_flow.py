"""Functions over an app's `Controller` (turktui.ui.controller), for scripts, benchmarks and
tests that drive the flows directly: `open_extend(app, hit)`, `open_history(app)`,
`check_unsettled(app)`, `get_history(app)`, `make_engine(app, history)`,
`run_plan(app, engine, plan)`, `resolve_records(app, records)`. The app is any
`ControllerApp` (the real one, or a small test host)."""

from __future__ import annotations

from typing import Any, Protocol

from textual.worker import Worker

from turktui.adapters.history import HistoryStore
from turktui.domain.models import Hit
from turktui.domain.records import Record
from turktui.pipeline.engine import Engine, Outcome, Plan
from turktui.ui.controller import OPEN_WAIT, Controller

__all__ = [
    "OPEN_WAIT",
    "check_unsettled",
    "get_history",
    "make_engine",
    "open_extend",
    "open_history",
    "resolve_records",
    "run_plan",
]


class HasController(Protocol):
    controller: Controller


def open_extend(app: HasController, hit: Hit) -> None:
    app.controller.extend(hit)


def open_history(app: HasController) -> None:
    app.controller.open_history()


def check_unsettled(app: HasController) -> None:
    app.controller.check_unsettled()


def get_history(app: HasController) -> HistoryStore | None:
    return app.controller.history()


def make_engine(app: HasController, history: HistoryStore) -> Engine:
    return app.controller.engine(history)


def run_plan(app: HasController, engine: Engine, plan: Plan) -> Worker[Outcome | None] | None:
    return app.controller.run_plan(plan, engine)


def resolve_records(
    app: HasController, records: list[Record], *, confirmed: bool = False
) -> Worker[Any] | None:
    return app.controller.resolve(records, confirmed=confirmed)
