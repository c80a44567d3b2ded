"""Glue between the app and the engine: the extend dialog, confirmation, the worker that runs
the engine, the history screen and start-up resolution of unsettled requests.

The app calls `open_extend(app, hit)` (`e`), `open_history(app)` (`h`) and, once mounted,
`check_unsettled(app)`. The app must offer `ctx` (AppContext) and, optionally,
`update_hit(hit)` and `refresh_balance()`; everything else is here.
"""

from __future__ import annotations

import contextlib
import dataclasses
import threading
from collections.abc import Callable
from typing import Any

from turktui.adapters.history import HistoryError, HistoryStore, OutcomeNotRecorded
from turktui.adapters.history import open_history as _open
from turktui.domain.models import Hit
from turktui.domain.records import Record, State
from turktui.domain.text import one_line
from turktui.pipeline.engine import Engine, Event, Outcome, Plan, PlanRefused, needs_attention
from turktui.ui.screens.confirm import ConfirmScreen
from turktui.ui.screens.extend import ExtendRequest, ExtendScreen, describe_request
from turktui.ui.screens.history import HistoryScreen

#: How long a worker waits for another thread that is opening the history right now.
OPEN_WAIT = 30.0


def get_history(app: Any) -> HistoryStore | None:
    """The app's one history store (opened on first use); None after telling the operator.

    No lock is held while the operator is told (a worker would wait for the UI thread while
    the UI thread waits for the lock), and the UI thread never waits for the lock."""
    ctx = app.ctx
    if ctx.history is not None:
        return ctx.history  # type: ignore[no-any-return]
    on_ui = threading.get_ident() == getattr(app, "_thread_id", None)
    history, problem = ctx.open_history(lambda: _open(ctx.paths.history_db),
                                        wait=0 if on_ui else OPEN_WAIT)
    if history is None:
        _notify(app, f"Request history unavailable: {problem}", severity="error", timeout=15)
    return history  # type: ignore[no-any-return]


def make_engine(app: Any, history: HistoryStore) -> Engine:
    ctx = app.ctx
    engine = ctx.state.engine
    if engine is None or engine.history is not history or engine.service is not ctx.service:
        engine = Engine(ctx.service, history, ctx.env, clock=ctx.clock)
        ctx.state.engine = engine
    return engine


def _notify(app: Any, message: str, **kw: Any) -> None:
    """Notify from any thread; service text is made safe and never parsed as markup."""
    kw.setdefault("markup", False)
    text = one_line(message, max_length=400)
    try:
        app.call_from_thread(app.notify, text, **kw)
    except RuntimeError:  # already on the app's thread
        app.notify(text, **kw)


# -- extend --------------------------------------------------------------------------------
def open_extend(app: Any, hit: Hit) -> None:
    """Show the dialog for `hit`; on submit plan, confirm on production, then run."""
    ctx = app.ctx
    if ctx.read_only:
        app.notify("Read-only session: extending is disabled.", severity="warning")
        return

    def submitted(request: ExtendRequest | None) -> None:
        if request is not None:
            submit_request(app, request)

    app.push_screen(ExtendScreen(hit, ctx), submitted)


def submit_request(app: Any, request: ExtendRequest) -> None:
    history = get_history(app)
    if history is None:
        return
    engine = make_engine(app, history)
    try:
        plan = engine.plan(request.hit, request.n, request.expire_at)
    except PlanRefused as exc:
        app.notify(one_line(f"Not sent: {exc.message}"), severity="error", markup=False)
        return
    if not app.ctx.env.needs_confirmation:
        run_plan(app, engine, plan)
        return
    balance = app.ctx.balance.available if app.ctx.balance is not None else None
    body = describe_request(request, app.ctx.env.kind.banner, balance)

    def confirmed(yes: bool | None) -> None:
        if yes:
            run_plan(app, engine, plan)
        else:
            app.notify("Cancelled: nothing was sent.", markup=False)

    app.push_screen(ConfirmScreen(f"Confirm: {app.ctx.env.kind.banner} request", body,
                                  danger=True), confirmed)


def run_plan(app: Any, engine: Engine, plan: Plan) -> Any:
    """Run the engine in a thread worker; progress and result arrive as notifications."""
    hit = plan.hit
    app.notify(one_line(f"Adding {plan.n:,} to HIT {hit.hit_id}…"), markup=False, timeout=4)
    flight = object()
    _set_in_flight(app, flight, f"+{plan.n:,} to {one_line(hit.hit_id)}")

    def on_event(event: Event) -> None:
        if event.kind == "retry" or (event.kind == "attempt" and event.attempt > 1) \
                or event.kind == "expiration":
            _notify(app, event.message, timeout=4)

    def work() -> Outcome | None:
        try:
            return _execute()
        finally:
            with contextlib.suppress(RuntimeError):  # the app may already be gone
                app.call_from_thread(_set_in_flight, app, flight, None)

    def _execute() -> Outcome | None:
        try:
            outcome = engine.execute(plan, on_event)
        except PlanRefused as exc:
            if exc.code == "busy" and not plan.allow_second:
                # One request per HIT at a time: show the fact and ask before a second one.
                with contextlib.suppress(RuntimeError):
                    app.call_from_thread(_confirm_second, app, engine, plan, exc.message)
                return None
            _notify(app, f"Not sent: {exc.message}", severity="error", timeout=15)
            return None
        except OutcomeNotRecorded as exc:
            # Sent (maybe), but the history failed afterwards: never claim "not sent".
            _notify(app, f"The history could not be written: {exc}", severity="error",
                    timeout=30)
            return None
        except HistoryError as exc:
            _notify(app, f"Not sent: the history could not be written ({exc}).",
                    severity="error", timeout=15)
            return None
        app.call_from_thread(announce, app, outcome)
        return outcome

    return app.run_worker(work, thread=True, group="extend", exit_on_error=False,
                          name=f"extend {hit.hit_id}")


def _confirm_second(app: Any, engine: Engine, plan: Plan, fact: str) -> None:
    """The HIT already has an unsettled request: send a second one only if confirmed."""
    body = "\n".join([
        one_line(fact, max_length=300), "",
        f"Send another +{plan.n:,} to HIT {one_line(plan.hit.hit_id)} anyway? Its "
        "MaxAssignments is read again just before sending; the unsettled request may still "
        "add its own assignments. Resolve it first (history: h, then r) if unsure.",
    ])

    def answered(yes: bool | None) -> None:
        if yes:
            run_plan(app, engine, dataclasses.replace(plan, allow_second=True))
        else:
            app.notify("Not sent: the HIT already has an unsettled request.", markup=False)

    app.push_screen(ConfirmScreen("This HIT has an unsettled request", body,
                                  yes="Send a second request", no="Cancel", danger=True),
                    answered)


def _set_in_flight(app: Any, key: object, label: str | None) -> None:
    """Keep `ctx.state.in_flight` (shown in the status line) in step with the workers."""
    flights = app.ctx.state.in_flight
    if label is None:
        flights.pop(key, None)
    else:
        flights[key] = label
    main = getattr(app, "main_screen", None)
    if main is not None and hasattr(main, "update_status"):
        with contextlib.suppress(Exception):  # not mounted yet / already gone
            main.update_status()


def announce(app: Any, outcome: Outcome) -> None:
    """Tell the operator and refresh what changed (runs on the app thread)."""
    state = outcome.record.state
    app.ctx.state.last_outcome = outcome
    if needs_attention(outcome.record):
        severity, title = "error", "Conflict: check the HIT"
    elif outcome.succeeded:
        severity, title = "information", "Done"
        if outcome.record.expiry_state in ("failed", "unknown"):
            severity = "warning"
    elif state in (State.REFUSED, State.FAILED, State.RESOLVED_NOT_APPLIED):
        severity, title = "error", "Not applied"
    else:
        severity, title = "warning", "Outcome unknown"
    message = outcome.message
    if state is State.UNKNOWN:
        message += " Open the history (h) and resolve it (r)."
    app.notify(one_line(message, max_length=400), title=title, severity=severity,
               markup=False, timeout=10 if outcome.succeeded else 20)
    if outcome.hit is not None and hasattr(app, "update_hit"):
        with contextlib.suppress(Exception):  # the list may not hold this HIT any more
            app.update_hit(outcome.hit)
    if hasattr(app, "refresh_balance"):
        app.refresh_balance()
    for screen in app.screen_stack:
        if isinstance(screen, HistoryScreen):
            screen.reload()


# -- history and resolve -------------------------------------------------------------------
def open_history(app: Any, *, resolve_batch: Callable[[str], None] | None = None) -> None:
    """Show the history at once; its worker opens the store (first use) and reads it.
    `resolve_batch(batch_id)`: what `B` does (none: resolving batches is off)."""
    if isinstance(app.screen, HistoryScreen):
        return
    if app.ctx.history_opening:  # e.g. the start-up check waits for another process's lock
        app.notify("Request history unavailable: the request history is still being opened "
                   "(another turktui may be using it); try again in a moment",
                   severity="warning", timeout=10, markup=False)
        return
    resolve = None if app.ctx.read_only else (lambda rec: resolve_records(app, [rec]))
    source = app.ctx.history if app.ctx.history is not None else (lambda: get_history(app))
    app.push_screen(HistoryScreen(source, resolve,
                                  resolve_batch=None if app.ctx.read_only else resolve_batch))


def resolve_records(app: Any, records: list[Record], *, confirmed: bool = False) -> Any:
    """Settle records in a worker, each at its own endpoint with its own profile (see
    turktui.pipeline.resolving). Records whose endpoint may spend real money (production, a
    non-loopback custom endpoint) are confirmed first unless `confirmed`."""
    history = get_history(app)
    if history is None or not records:
        return None
    if app.ctx.read_only:
        app.notify("read-only: resolving is off (it may re-send requests).",
                   severity="warning", markup=False)
        return None
    from turktui.pipeline.resolving import Target

    confirm_custom = getattr(app.ctx.settings, "confirm_custom", True)
    careful = [r for r in records
               if Target.of(r).environment(confirm_custom=confirm_custom).needs_confirmation]
    if careful and not confirmed:
        lines = [f"{len(careful)} of these request(s) went to an endpoint that may spend real "
                 "money; resolving may re-send them with their original token:", ""]
        for rec in careful[:8]:
            lines.append(one_line(f"#{rec.id}  +{rec.n:,} on HIT {rec.hit_id}  "
                                  f"{Target.of(rec).label}"))
        if len(careful) > 8:
            lines.append(f"\u2026 and {len(careful) - 8} more")

        def answered(yes: bool | None) -> None:
            if yes:
                resolve_records(app, records, confirmed=True)
            else:
                app.notify("Cancelled: nothing was resolved.", markup=False)

        app.push_screen(ConfirmScreen("Confirm: resolve on PRODUCTION", "\n".join(lines),
                                      yes="Resolve", danger=True), answered)
        return None

    def work() -> list[Outcome]:
        from turktui.pipeline.resolving import like_service_factory, resolve_everywhere

        ctx = app.ctx
        here = ctx.env.endpoint_url

        def on_outcome(outcome: Outcome) -> None:
            if outcome.record.endpoint != here:  # another endpoint: not a HIT of this list
                outcome = dataclasses.replace(outcome, hit=None)
            app.call_from_thread(announce, app, outcome)

        make = like_service_factory(
            ctx.service, connect_timeout=getattr(ctx.settings, "connect_timeout", 5.0),
            read_timeout=getattr(ctx.settings, "read_timeout", 30.0))
        reports = resolve_everywhere(records, history, make, reuse=(ctx.env, ctx.service),
                                     confirm_custom=confirm_custom, on_outcome=on_outcome,
                                     clock=ctx.clock)
        outcomes = []
        for report in reports:
            outcomes += report.outcomes
            for text in report.errors:
                _notify(app, text, severity="error")
            if report.unreachable is not None or report.still_unknown:
                _notify(app, report.summary(), severity="warning", timeout=30)
        return outcomes

    app.notify(f"Resolving {len(records)} request(s)\u2026", markup=False, timeout=4)
    return app.run_worker(work, thread=True, group="extend", exit_on_error=False,
                          name="resolve")


def check_unsettled(app: Any) -> None:
    """At start-up: offer to resolve requests left unsettled by an earlier session."""
    if app.ctx.read_only:
        return

    def work() -> None:
        history = get_history(app)
        if history is None:
            return
        try:
            here = app.ctx.env.endpoint_url
            engine = make_engine(app, history)
            # Every endpoint: each is resolved where it went. An earlier demo session's
            # embedded service is gone for good: its records are not offered (history has them).
            # Records of a process still running (another app, a CLI batch) are its own.
            pending = [r for r in history.unsettled()
                       if (r.env_kind != "demo" or r.endpoint == here)
                       and not engine.is_live(r)]
        except HistoryError:
            return
        if pending:
            app.call_from_thread(_offer, app, pending)

    app.run_worker(work, thread=True, group="history", exit_on_error=False,
                   name="check unsettled")


def _offer(app: Any, pending: list[Record]) -> None:
    lines = [f"{len(pending)} request(s) from an earlier session have no recorded outcome "
             "(the program stopped or the connection dropped):", ""]
    from turktui.pipeline.resolving import Target

    for rec in pending[:8]:
        lines.append(one_line(f"#{rec.id}  +{rec.n:,} on HIT {rec.hit_id}  ({rec.state.label})"
                              f"  {Target.of(rec).label}"))
    if len(pending) > 8:
        lines.append(f"… and {len(pending) - 8} more")
    lines += ["", "Resolving re-sends a request with its original token within 24 hours "
              "(MTurk applies it at most once); after that it only compares MaxAssignments."]

    confirm_custom = getattr(app.ctx.settings, "confirm_custom", True)
    careful = [r for r in pending
               if Target.of(r).environment(confirm_custom=confirm_custom).needs_confirmation]
    if careful:
        lines += ["", f"{len(careful)} of them went to PRODUCTION or a remote custom endpoint "
                      "(real money)."]

    def answered(yes: bool | None) -> None:
        if yes:
            resolve_records(app, pending, confirmed=True)
        else:
            app.notify("Unsettled requests remain: open the history (h) to resolve them later.",
                       markup=False)

    app.push_screen(ConfirmScreen("Unsettled requests", "\n".join(lines), yes="Resolve now",
                                  no="Later", danger=bool(careful)), answered)
