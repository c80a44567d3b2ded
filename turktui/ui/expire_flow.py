"""Expire now (`X` in the main list): plan an expiration-only request, confirm it on every
environment but demo (it stops workers from accepting; work in progress is kept), run it in
a thread worker through the pipeline (record → UpdateExpirationForHIT with a fixed past
time → confirm with GetHIT) and refresh the row at once (`extend_flow.announce`)."""

from __future__ import annotations

import contextlib
from typing import Any

from turktui.adapters.history import HistoryError, OutcomeNotRecorded
from turktui.domain.environment import EnvKind
from turktui.domain.models import Hit
from turktui.domain.rules import EXPIRE_NOW
from turktui.domain.text import one_line
from turktui.domain.timefmt import expires_label, iso
from turktui.pipeline.engine import Engine, Outcome, Plan, PlanRefused
from turktui.ui.extend_flow import _notify, _set_in_flight, announce, get_history, make_engine
from turktui.ui.screens.confirm import ConfirmScreen

CONFIRM_TITLE = "Expire this HIT now?"


def expire_body(hit: Hit, env_banner: str, now: Any) -> str:
    """What the confirmation says: where, which HIT, what happens, what is kept."""
    return "\n".join([
        f"{env_banner}: expire HIT {one_line(hit.hit_id)}",
        f"\u201c{one_line(hit.title, max_length=120)}\u201d",
        f"It expires {iso(hit.expiration)} ({expires_label(hit.expiration, now)}); after "
        "this it is expired now.",
        "",
        "Workers can no longer accept it. Work in progress is kept: assignments already "
        f"accepted ({hit.pending:,} pending) can still be submitted.",
        "Recorded in the history before it is sent; add time later (e) to reopen it.",
    ])


def open_expire(app: Any, hit: Hit | None) -> None:
    """`X`: expire the HIT under the cursor (confirmed on every environment but demo)."""
    ctx = app.ctx
    if ctx.read_only:
        app.notify("Read-only session: expiring is disabled.", severity="warning")
        return
    if hit is None:
        app.notify("No HIT selected.", severity="warning")
        return
    if hit.problem:
        app.notify(one_line(f"This HIT cannot be changed: {hit.problem}"), severity="warning",
                   markup=False)
        return
    if hit.is_expired(ctx.clock()):
        app.notify(one_line(f"HIT {hit.hit_id} has already expired: nothing to do."),
                   markup=False)
        return
    history = get_history(app)
    if history is None:
        return
    engine = make_engine(app, history)
    try:
        plan = engine.plan(hit, 0, EXPIRE_NOW)
    except PlanRefused as exc:
        app.notify(one_line(f"Not sent: {exc.message}"), severity="error", markup=False)
        return
    if ctx.env.kind is EnvKind.DEMO:
        run_expire(app, engine, plan)
        return

    def confirmed(yes: bool | None) -> None:
        if yes:
            run_expire(app, engine, plan)
        else:
            app.notify("Cancelled: nothing was sent.", markup=False)

    app.push_screen(ConfirmScreen(CONFIRM_TITLE, expire_body(hit, ctx.env.kind.banner,
                                                             ctx.clock()),
                                  yes="Expire now", danger=True), confirmed)


def run_expire(app: Any, engine: Engine, plan: Plan) -> Any:
    hit = plan.hit
    app.notify(one_line(f"Expiring HIT {hit.hit_id}\u2026"), markup=False, timeout=4)
    flight = object()
    _set_in_flight(app, flight, f"expire {one_line(hit.hit_id)}")

    def work() -> Outcome | None:
        try:
            try:
                outcome = engine.execute(plan)
            except PlanRefused as exc:
                _notify(app, f"Not sent: {exc.message}", severity="error", timeout=15)
                return None
            except OutcomeNotRecorded as exc:
                _notify(app, f"The history could not be written: {exc}", severity="error",
                        timeout=30)
                return None
            except HistoryError as exc:
                _notify(app, f"Not sent: the history could not be written ({exc}).",
                        severity="error", timeout=15)
                return None
            app.call_from_thread(announce, app, outcome)
            return outcome
        finally:
            with contextlib.suppress(RuntimeError):  # the app may already be gone
                app.call_from_thread(_set_in_flight, app, flight, None)

    return app.run_worker(work, thread=True, group="extend", exit_on_error=False,
                          name=f"expire {hit.hit_id}")
