"""Functions over a `ControllerApp` (turktui.ui.controller), for scripts, benchmarks and
tests that drive the flows directly: `open_extend(app, hit)`, `open_history(app)`,
`check_unsettled(app)`, `get_history(app)`, `make_engine(app, history)`,
`run_plan(app, engine, plan)`, `resolve_records(app, records)`. The app is any
`ControllerApp` (the real one, or a small test host). A flow runs as the app's worker: the
functions that start one return it (`await worker.wait()` for its result)."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from textual.worker import Worker

from turktui.adapters.history import HistoryStore
from turktui.domain.models import Hit
from turktui.domain.records import Record
from turktui.pipeline.engine import Engine, Outcome, Plan
from turktui.ui.controller import OPEN_WAIT

if TYPE_CHECKING:
    from turktui.ui.controller import ControllerApp

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


def open_extend(app: ControllerApp, hit: Hit) -> Worker[Outcome | None]:
    return app.extend_hit(hit)


def open_history(app: ControllerApp) -> None:
    app.controller.open_history()


def check_unsettled(app: ControllerApp) -> Worker[Any]:
    return app.offer_unsettled()


def get_history(app: ControllerApp) -> HistoryStore | None:
    return app.controller.history()


def make_engine(app: ControllerApp, history: HistoryStore) -> Engine:
    return app.controller.engine(history)


def run_plan(app: ControllerApp, engine: Engine, plan: Plan) -> Worker[Outcome | None]:
    return app.send_plan(plan, engine)


def resolve_records(
    app: ControllerApp, records: list[Record], *, confirmed: bool = False
) -> Worker[Any]:
    return app.resolve_records(records, confirmed)
