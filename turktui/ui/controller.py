"""The typed controller of extend / bulk / resolve: dialogs, confirmations, workers.

`Controller` holds what the flows need (the app to show screens on and run workers in, the
session context, the one engine) and offers typed methods: `extend(hit)`, `submit(request)`,
`run_plan(plan)`, `resolve(records)`, `take_over(record)`, `check_unsettled()`,
`open_history()`, `bulk(hits)`, `submit_bulk(preview)`, `run_batch(preview)`,
`retry_batch(runner, screen)`, `resolve_batch(batch_id)`.

Screens ask for these through Messages (turktui.ui.messages: ExtendWanted, BulkWanted,
ResolveWanted, ResolveBatchWanted), which `ControllerApp` hands to the controller. Workers
never touch widgets: they post results as Messages to the app (FlightChanged, OutcomeArrived,
HitChanged, BatchDone) — thread-safe, never waiting for the UI thread — and a batch's rows go
to the table with `post_hit` (queued, applied by the UI thread in one go).
"""

from __future__ import annotations

import dataclasses
import threading
from collections.abc import Iterable
from typing import Any

from textual.app import App
from textual.message import Message
from textual.reactive import reactive
from textual.worker import Worker

from turktui.adapters.history import HistoryError, HistoryStore, OutcomeNotRecorded
from turktui.domain.bulk import BulkPreview
from turktui.domain.environment import EnvKind
from turktui.domain.models import Assignment, Hit
from turktui.domain.records import Record, State
from turktui.domain.rules import EXPIRE_NOW
from turktui.domain.text import one_line
from turktui.pipeline.batch import BatchReport, BatchRunner
from turktui.pipeline.engine import Engine, Event, Outcome, Plan, PlanRefused, needs_attention
from turktui.pipeline.operations import (
    REJECT,
    batch_confirmation,
    batch_details,
    confirmation,
    expire_now,
    outcome_message,
)
from turktui.pipeline.operations.bonus import Bonus
from turktui.pipeline.reviewing import pay_bonus, review
from turktui.ui import keymap
from turktui.ui.context import AppContext
from turktui.ui.messages import (
    BatchDone,
    BulkWanted,
    ExpireWanted,
    ExtendWanted,
    FlightChanged,
    HitChanged,
    OutcomeArrived,
    ResolveBatchWanted,
    ResolveWanted,
    ReviewsDone,
)
from turktui.ui.screens.bulk import BatchScreen, BulkScreen
from turktui.ui.screens.confirm import ConfirmScreen
from turktui.ui.screens.extend import ExtendRequest, ExtendScreen
from turktui.ui.screens.history import HistoryScreen, take_over_body
from turktui.ui.screens.main import READ_ONLY_MESSAGE
from turktui.ui.screens.review import ReviewDecision

#: Where an unsettled request is resolved, in keys of the key map.
RESOLVE_HINT = (
    f"history: {keymap.key('app.history', 'main')}, then {keymap.key('resolve', 'history')}"
)
#: How long a worker waits for another thread that is opening the history right now.
OPEN_WAIT = 30.0


class Controller:
    """Extend, bulk and resolve for one app and one session (see the module docstring)."""

    def __init__(self, app: ControllerApp, ctx: AppContext) -> None:
        self.app = app
        self.ctx = ctx

    # -- the store and the engine ------------------------------------------------------------
    def _on_ui_thread(self) -> bool:
        return threading.get_ident() == self.app.ui_thread

    def history(self) -> HistoryStore | None:
        """The session's one history store (opened on first use); None after telling the
        operator. No lock is held while the operator is told, and the UI thread never waits
        for the lock (a worker opening it may wait for another process)."""
        ctx = self.ctx
        if ctx.history is not None:
            return ctx.history  # type: ignore[no-any-return]
        history, problem = ctx.open_history(
            ctx.store_opener, wait=0 if self._on_ui_thread() else OPEN_WAIT
        )
        if history is None:
            self.notify(f"Request history unavailable: {problem}", severity="error", timeout=15)
        return history  # type: ignore[no-any-return]

    def engine(self, history: HistoryStore) -> Engine:
        """The one engine of the session (rebuilt if the store or the service change)."""
        ctx = self.ctx
        engine = ctx.state.engine
        if engine is None or engine.history is not history or engine.service is not ctx.service:
            engine = Engine(ctx.service, history, ctx.env, clock=ctx.clock)
            ctx.state.engine = engine
        return engine

    def notify(self, message: str, **kw: Any) -> None:
        """Notify from any thread (App.notify is thread-safe: it posts a message); service
        text is made safe and never parsed as markup."""
        kw.setdefault("markup", False)
        self.app.notify(one_line(message, max_length=400), **kw)

    def _post(self, message: Message) -> None:
        """A result for the app, from any thread, without waiting."""
        self.app.post_message(message)

    def refused_read_only(self, what: str) -> bool:
        """The one read-only gate (keys, palette, flows): True, and the operator told why in
        the one wording, when the session is read-only."""
        if not self.ctx.read_only:
            return False
        self.app.notify(READ_ONLY_MESSAGE.format(what=what), severity="warning", markup=False)
        return True

    # -- extend --------------------------------------------------------------------------------
    def extend(self, hit: Hit) -> None:
        """The dialog for `hit`; on submit: plan, confirm on production, then run."""
        if self.refused_read_only("extending"):
            return

        def submitted(request: ExtendRequest | None) -> None:
            if request is not None:
                self.submit(request)

        self.app.push_screen(ExtendScreen(hit, self.ctx), submitted)

    def submit(self, request: ExtendRequest) -> None:
        history = self.history()
        if history is None:
            return
        engine = self.engine(history)
        try:
            plan = engine.plan(request.hit, request.n, request.expire_at)
        except PlanRefused as exc:
            self.notify(f"Not sent: {exc.message}", severity="error")
            return
        env = self.ctx.env
        if not env.needs_confirmation:
            self.run_plan(plan, engine)
            return
        balance = self.ctx.balance.available if self.ctx.balance is not None else None
        body = "\n".join(confirmation(plan, env.kind.banner, self.ctx.clock(), balance, real=True))

        def confirmed(yes: bool | None) -> None:
            if yes:
                self.run_plan(plan, engine)
            else:
                self.notify("Cancelled: nothing was sent.")

        self.app.push_screen(
            ConfirmScreen(f"Confirm: {env.kind.banner} request", body, danger=True), confirmed
        )

    def run_plan(self, plan: Plan, engine: Engine | None = None) -> Worker[Outcome | None] | None:
        """Run the plan in a thread worker; its outcome arrives as OutcomeArrived."""
        if engine is None:
            history = self.history()
            if history is None:
                return None
            engine = self.engine(history)
        hit = plan.hit
        what = change_text(plan)
        if plan.n == 0 and plan.expire_at == EXPIRE_NOW:
            self.notify(f"Expiring HIT {hit.hit_id}\u2026", timeout=4)
            label = f"expire {one_line(hit.hit_id)} now"
        else:
            verb = f"Adding {plan.n:,}" if plan.n else "Adding time"
            self.notify(f"{verb} to HIT {hit.hit_id}\u2026", timeout=4)
            label = f"{what} to {one_line(hit.hit_id)}"
        flight = object()
        self._post(FlightChanged(flight, label))

        def on_event(event: Event) -> None:
            if (
                event.kind == "retry"
                or (event.kind == "attempt" and event.attempt > 1)
                or event.kind == "expiration"
            ):
                self.notify(event.message, timeout=4)

        def work() -> Outcome | None:
            try:
                return execute()
            finally:
                self._post(FlightChanged(flight, None))

        def execute() -> Outcome | None:
            try:
                outcome = engine.execute(plan, on_event)
            except PlanRefused as exc:
                if exc.code == "busy" and not plan.allow_second:
                    # One request per HIT at a time: show the fact and ask before a second.
                    self.app.call_later(self._confirm_second, engine, plan, exc.message)
                    return None
                self.notify(f"Not sent: {exc.message}", severity="error", timeout=15)
                return None
            except OutcomeNotRecorded as exc:
                # Sent (maybe), but the history failed afterwards: never claim "not sent".
                self.notify(
                    f"The history could not be written: {exc}", severity="error", timeout=30
                )
                return None
            except HistoryError as exc:
                self.notify(
                    f"Not sent: the history could not be written ({exc}).",
                    severity="error",
                    timeout=15,
                )
                return None
            self._post(OutcomeArrived(outcome))
            return outcome

        return self.app.run_worker(
            work, thread=True, group="extend", exit_on_error=False, name=f"extend {hit.hit_id}"
        )

    def _confirm_second(self, engine: Engine, plan: Plan, fact: str) -> None:
        """The HIT already has an unsettled request: send a second one only if confirmed."""
        body = "\n".join(
            [
                one_line(fact, max_length=300),
                "",
                f"Send another +{plan.n:,} to HIT {one_line(plan.hit.hit_id)} anyway? Its "
                "MaxAssignments is read again just before sending; the unsettled request may still "
                "add its own assignments. Resolve it first "
                f"({RESOLVE_HINT}) if unsure.",
            ]
        )

        def answered(yes: bool | None) -> None:
            if yes:
                self.run_plan(dataclasses.replace(plan, allow_second=True), engine)
            else:
                self.notify("Not sent: the HIT already has an unsettled request.")

        self.app.push_screen(
            ConfirmScreen(
                "This HIT has an unsettled request",
                body,
                yes="Send a second request",
                no="Cancel",
                danger=True,
            ),
            answered,
        )

    def note_outcomes(self, records: Iterable[Record]) -> None:
        """Keep the session's unknown requests (quitting with one left exits 5 and says to
        resolve it): an outcome that is not known adds it, a settled one removes it."""
        unknown = self.ctx.state.unknown
        for record in records:
            if record.settled:
                unknown.discard(record.id)
            else:
                unknown.add(record.id)

    def announce(self, outcome: Outcome) -> None:
        """Tell the operator (UI thread; ControllerApp calls it for OutcomeArrived)."""
        state = outcome.record.state
        self.ctx.state.last_outcome = outcome
        self.note_outcomes(list(outcome.records))
        if any(needs_attention(r) for r in outcome.records):
            severity, title = "error", "Conflict: check the HIT"
        elif outcome.succeeded:
            severity, title = "information", "Done"
            if outcome.record.expiry_state in ("failed", "unknown"):
                severity = "warning"
        elif outcome.record.state.applied:  # the assignments went through, the time did not
            severity, title = "warning", "Partly done"
        elif state in (State.REFUSED, State.FAILED, State.RESOLVED_NOT_APPLIED):
            severity, title = "error", "Not applied"
        else:
            severity, title = "warning", "Outcome unknown"
        message = outcome.message
        if state is State.UNKNOWN:
            message += f" Resolve it: {RESOLVE_HINT}."
        self.app.notify(
            one_line(message, max_length=400),
            title=title,
            severity=severity,  # type: ignore[arg-type]
            markup=False,
            timeout=10 if outcome.succeeded else 20,
        )

    # -- expire now ----------------------------------------------------------------------------
    def expire(self, hit: Hit | None) -> None:
        """`X`: plan an expire-now request, confirm it on every environment but demo, then
        run it like any request ("already expired" is judged on the fresh read, by MTurk's
        clock: the local one may run ahead)."""
        ctx = self.ctx
        if self.refused_read_only("expiring"):
            return
        if hit is None:
            self.app.notify("No HIT selected.", severity="warning")
            return
        if hit.problem:
            self.notify(f"This HIT cannot be changed: {hit.problem}", severity="warning")
            return
        history = self.history()
        if history is None:
            return
        engine = self.engine(history)
        try:
            plan = engine.plan(hit, 0, EXPIRE_NOW)
        except PlanRefused as exc:
            self.notify(f"Not sent: {exc.message}", severity="error")
            return
        if ctx.env.kind is EnvKind.DEMO:
            self.run_plan(plan, engine)
            return

        def confirmed(yes: bool | None) -> None:
            if yes:
                self.run_plan(plan, engine)
            else:
                self.notify("Cancelled: nothing was sent.")

        reopen = f" ({keymap.key('app.extend', 'main')})"
        body = "\n".join(expire_now.confirmation([hit], ctx.env.kind.banner, ctx.clock(), reopen))
        self.app.push_screen(
            ConfirmScreen(EXPIRE_TITLE, body, yes="Expire now", danger=True), confirmed
        )

    # -- review and pay (the assignments view) -------------------------------------------------
    def review_confirmation(self, decision: ReviewDecision) -> ConfirmScreen | None:
        """The confirmation a review needs after its dialog, where the command line asks
        too: spending on production or a remote custom endpoint; a rejection on every
        environment but demo. None: the dialog was the confirmation."""
        env, op = self.ctx.env, decision.op
        rejecting = op is REJECT and env.kind is not EnvKind.DEMO
        if not (env.needs_confirmation or rejecting):
            return None
        body = f"{env.kind.banner}: {decision.words}\n\n{op.consequence}"
        return ConfirmScreen(
            f"Confirm: {env.kind.banner} \u00b7 {op.title}",
            body,
            yes=decision.words.split(" ", 1)[0],
            danger=True,
        )

    def send_reviews(self, decision: ReviewDecision) -> Worker[None] | None:
        """Record, send and settle each assignment of `decision` through the engine (the
        command line's own functions), in a thread worker; the results arrive as one
        ReviewsDone message."""
        history = self.history()
        if history is None:
            return None
        engine = self.engine(history)
        op = decision.op
        flight = object()
        self._post(FlightChanged(flight, one_line(decision.words, max_length=60)))
        self.notify(f"{decision.words}\u2026", timeout=4)
        quotes = {q.assignment.assignment_id: q for q in decision.quotes}
        payload = dict(decision.payload)

        def one(a: Assignment) -> Record:
            if isinstance(op, Bonus):
                return pay_bonus(
                    engine,
                    quotes[a.assignment_id],
                    str(payload["reason"]),
                    allow_second=decision.allow_second,
                )
            return review(engine, op, a, decision.hit, payload)

        def work() -> None:
            results: list[tuple[str, Record | None, str]] = []
            try:
                for a in decision.rows:
                    aid = a.assignment_id
                    try:
                        final = one(a)
                    except PlanRefused as exc:
                        results.append((aid, None, f"Not sent: {exc.message}"))
                    except OutcomeNotRecorded as exc:
                        results.append((aid, None, f"The history could not be written: {exc}"))
                    except HistoryError as exc:
                        results.append(
                            (aid, None, f"Not sent: the history could not be written ({exc}).")
                        )
                    else:
                        results.append((aid, final, outcome_message(final)))
            finally:
                self._post(FlightChanged(flight, None))
                self._post(ReviewsDone(op, results))

        return self.app.run_worker(
            work, thread=True, group="review", exit_on_error=False, name=f"{op.name} assignments"
        )

    def reviews_done(self, message: ReviewsDone) -> None:
        """Tell the operator in one line (UI thread; ControllerApp calls it)."""
        self.note_outcomes(message.records)
        done = sum(1 for r in message.records if r.state.applied is True)
        total = len(message.results)
        problems = [
            f"{aid}: {text}"
            for aid, record, text in message.results
            if record is None or record.state.applied is not True
        ]
        line = message.op.tally(done, total)
        if problems:
            line += f" {problems[0]}"
            if len(problems) > 1:
                line += (
                    f" (+{len(problems) - 1} more: history, {keymap.key('app.history', 'main')})"
                )
        if any(not r.settled for r in message.records):
            line += f" Resolve what is unknown: {RESOLVE_HINT}."
        severity = "information" if not problems else ("warning" if done else "error")
        self.app.notify(one_line(line, max_length=400), severity=severity, markup=False, timeout=20)

    # -- history and resolve -------------------------------------------------------------------
    def open_history(self) -> None:
        """Show the history at once; its worker opens the store (first use) and reads it.
        Its `r` / `B` come back as ResolveWanted / ResolveBatchWanted messages."""
        app, ctx = self.app, self.ctx
        if isinstance(app.screen, HistoryScreen):
            return
        if ctx.history_opening:  # e.g. the start-up check waits for another process's lock
            self.notify(
                "Request history unavailable: the request history is still being "
                "opened (another turktui may be using it); try again in a moment",
                severity="warning",
                timeout=10,
            )
            return
        resolve = None if ctx.read_only else (lambda rec: app.post_message(ResolveWanted([rec])))
        batch = None if ctx.read_only else (lambda bid: app.post_message(ResolveBatchWanted(bid)))
        take = (
            None
            if ctx.read_only
            else (lambda rec: app.post_message(ResolveWanted([rec], take_over=True)))
        )
        source = ctx.history if ctx.history is not None else self.history
        app.push_screen(
            HistoryScreen(source, resolve, resolve_batch=batch, take_over=take, clock=ctx.clock)
        )

    def take_over(self, record: Record) -> None:
        """`T` in the history: another host's process holds `record`. Asked first (who,
        where, since when, until when it counts as live); yes: settled here through the
        same pipeline as `turktui resolve --take-over ID`, which records the take-over."""
        if self.refused_read_only("taking over (it may re-send requests)"):
            return
        body = take_over_body(record, self.ctx.clock())

        def answered(yes: bool | None) -> None:
            if yes:
                self.resolve([record], take_over=True)
            else:
                self.notify(f"Cancelled: request #{record.id} was left to its owner.")

        self.app.push_screen(
            ConfirmScreen(
                f"Take over request #{record.id}?", body, yes="Take over", no="Cancel", danger=True
            ),
            answered,
        )

    def resolve(
        self, records: list[Record], *, confirmed: bool = False, take_over: bool = False
    ) -> Worker[Any] | None:
        """Settle records in a worker, each at its own endpoint with its own profile (see
        turktui.pipeline.resolving). Records whose endpoint may spend real money (production,
        a non-loopback custom endpoint) are confirmed first unless `confirmed`."""
        history = self.history()
        if history is None or not records:
            return None
        ctx = self.ctx
        if self.refused_read_only("resolving (it may re-send requests)"):
            return None
        from turktui.pipeline.resolving import Target

        confirm_custom = ctx.settings.confirm_custom
        careful = [
            r
            for r in records
            if Target.of(r).environment(confirm_custom=confirm_custom).needs_confirmation
        ]
        if careful and not confirmed:
            lines = [
                f"{len(careful)} of these request(s) went to an endpoint that may spend "
                "real money; resolving may re-send them with their original token:",
                "",
            ]
            for rec in careful[:8]:
                lines.append(
                    one_line(f"#{rec.id}  +{rec.n:,} on HIT {rec.hit_id}  {Target.of(rec).label}")
                )
            if len(careful) > 8:
                lines.append(f"\u2026 and {len(careful) - 8} more")

            def answered(yes: bool | None) -> None:
                if yes:
                    self.resolve(records, confirmed=True, take_over=take_over)
                else:
                    self.notify("Cancelled: nothing was resolved.")

            self.app.push_screen(
                ConfirmScreen(
                    "Confirm: resolve on PRODUCTION", "\n".join(lines), yes="Resolve", danger=True
                ),
                answered,
            )
            return None

        def work() -> list[Outcome]:
            from turktui.pipeline.resolving import like_service_factory, resolve_everywhere

            here = ctx.env.endpoint_url

            def on_outcome(outcome: Outcome) -> None:
                if outcome.record.endpoint != here:  # another endpoint: not a HIT of this list
                    outcome = dataclasses.replace(outcome, hit=None)
                self._post(OutcomeArrived(outcome))

            make = like_service_factory(
                ctx.service,
                connect_timeout=ctx.settings.connect_timeout,
                read_timeout=ctx.settings.read_timeout,
            )
            reports = resolve_everywhere(
                records,
                history,
                make,
                reuse=(ctx.env, ctx.service),
                confirm_custom=confirm_custom,
                on_outcome=on_outcome,
                clock=ctx.clock,
                take_over={r.id for r in records} if take_over else (),
            )
            outcomes = []
            for report in reports:
                outcomes += report.outcomes
                for text in report.errors:
                    self.notify(text, severity="error")
                if report.unreachable is not None or report.still_unknown:
                    self.notify(report.summary(), severity="warning", timeout=30)
            return outcomes

        self.notify(f"Resolving {len(records)} request(s)\u2026", timeout=4)
        return self.app.run_worker(
            work, thread=True, group="extend", exit_on_error=False, name="resolve"
        )

    def check_unsettled(self) -> None:
        """At start-up: offer to resolve requests left unsettled by an earlier session."""
        if self.ctx.read_only:
            return
        ctx = self.ctx

        def work() -> None:
            history = self.history()
            if history is None:
                return
            try:
                here = ctx.env.endpoint_url
                engine = self.engine(history)
                # Every endpoint: each is resolved where it went. An earlier demo session's
                # embedded service is gone for good: its records are not offered (the history
                # has them). Records of a process still running (another app, a CLI batch)
                # are its own.
                pending = [
                    r
                    for r in history.unsettled()
                    if (r.env_kind != "demo" or r.endpoint == here) and not engine.is_live(r)
                ]
            except HistoryError:
                return
            if pending:
                self.app.call_later(self._offer, pending)

        self.app.run_worker(
            work, thread=True, group="history", exit_on_error=False, name="check unsettled"
        )

    def _offer(self, pending: list[Record]) -> None:
        from turktui.pipeline.resolving import Target

        lines = [
            f"{len(pending)} request(s) from an earlier session have no recorded outcome "
            "(the program stopped or the connection dropped):",
            "",
        ]
        for rec in pending[:8]:
            lines.append(
                one_line(
                    f"#{rec.id}  +{rec.n:,} on HIT {rec.hit_id}  "
                    f"({rec.state.label})  {Target.of(rec).label}"
                )
            )
        if len(pending) > 8:
            lines.append(f"\u2026 and {len(pending) - 8} more")
        lines += [
            "",
            "Resolving re-sends a request with its original token within 24 hours "
            "(MTurk applies it at most once); after that it only compares MaxAssignments.",
        ]
        confirm_custom = self.ctx.settings.confirm_custom
        careful = [
            r
            for r in pending
            if Target.of(r).environment(confirm_custom=confirm_custom).needs_confirmation
        ]
        if careful:
            lines += [
                "",
                f"{len(careful)} of them went to PRODUCTION or a remote custom "
                "endpoint (real money).",
            ]

        def answered(yes: bool | None) -> None:
            if yes:
                self.resolve(pending, confirmed=True)
            else:
                self.notify(f"Unsettled requests remain: resolve them later ({RESOLVE_HINT}).")

        self.app.push_screen(
            ConfirmScreen(
                "Unsettled requests",
                "\n".join(lines),
                yes="Resolve now",
                no="Later",
                danger=bool(careful),
            ),
            answered,
        )

    # -- bulk ----------------------------------------------------------------------------------
    def bulk(self, hits: list[Hit]) -> None:
        """The bulk dialog for `hits` (the marked ones); on submit confirm, then run."""
        if self.refused_read_only("bulk extension"):
            return
        if not hits:
            self.notify(
                f"Mark HITs with {keymap.key('toggle_mark', 'main')} first "
                f"({keymap.key('mark_all', 'main')}: mark all shown, "
                f"{keymap.key('clear_marks', 'main')}: clear marks).",
                severity="warning",
            )
            return

        def submitted(preview: BulkPreview | None) -> None:
            if preview is not None:
                self.submit_bulk(preview)

        self.app.push_screen(BulkScreen(hits, self.ctx), submitted)

    def submit_bulk(self, preview: BulkPreview) -> None:
        env = self.ctx.env
        if env.kind is EnvKind.DEMO:  # every other endpoint restates the totals first
            self.run_batch(preview)
            return

        def confirmed(yes: bool | None) -> None:
            if yes:
                self.run_batch(preview)
            else:
                self.notify("Cancelled: nothing was sent.")

        body = "\n".join(batch_confirmation(preview, env.kind.banner))
        self.app.push_screen(
            ConfirmScreen(
                f"Confirm: {env.kind.banner} batch",
                body,
                danger=True,
                details="\n".join(batch_details(preview)),
            ),
            confirmed,
        )

    def _member(self, screen: BatchScreen) -> Any:
        def member(outcome: Outcome) -> None:
            screen.post_message(BatchScreen.Member(outcome))
            if outcome.hit is not None:
                self.app.post_hit(outcome.hit)  # queued: the worker never waits on the UI

        return member

    def _watch(self, screen: BatchScreen) -> dict[str, Any]:
        """The callbacks of a batch run that show it on `screen` (from worker threads)."""
        return {
            "progress": lambda p: screen.post_message(BatchScreen.Progress(p)),
            "member": self._member(screen),
            "started": lambda rec: screen.post_message(BatchScreen.Started(rec)),
        }

    def run_batch(self, preview: BulkPreview) -> BatchScreen | None:
        """Record every member (one token each), then send them in a thread worker."""
        history = self.history()
        if history is None:
            return None
        runner = BatchRunner(self.engine(history))
        title = f"{self.ctx.env.kind.banner}: {preview.describe()} on {preview.send_count:,} HITs"
        screen = BatchScreen(
            title, on_cancel=runner.cancel, on_retry=lambda s: self.retry_batch(runner, s)
        )
        self.ctx.state.batch_runner = runner
        self.app.push_screen(screen)

        def work() -> BatchReport | None:
            try:
                # Each HIT's new expiration as planned and shown (None: time unchanged).
                expire_at = preview.expirations() if preview.add_seconds is not None else None
                bid, records = runner.record(preview, expire_at=expire_at)
            except (PlanRefused, HistoryError) as exc:
                screen.post_message(BatchScreen.Finished(None, f"Not sent: {exc}"))
                self.notify(f"Not sent: {exc}", severity="error")
                return None
            screen.post_message(BatchScreen.Recorded(bid, records))
            report = runner.send(bid, records, **self._watch(screen))
            error = "; ".join(one_line(e) for e in list(report.errors.values())[:1])
            screen.post_message(BatchScreen.Finished(report, error))
            self._post(BatchDone(report))
            return report

        self.app.run_worker(work, thread=True, group="bulk", exit_on_error=False, name="bulk batch")
        return screen

    def retry_batch(self, runner: BatchRunner, screen: BatchScreen) -> None:
        """Re-send only what did not succeed, each member with its recorded token."""
        bid = screen.batch_id
        if bid is None:
            return
        screen.start_retry()

        def work() -> BatchReport:
            report = runner.retry(bid, **self._watch(screen))
            screen.post_message(BatchScreen.Finished(report))
            self._post(BatchDone(report))
            return report

        self.app.run_worker(work, thread=True, group="bulk", exit_on_error=False, name="bulk retry")

    def resolve_batch(self, batch_id: str) -> Worker[Any] | None:
        """Settle a batch's unsettled members (history screen, `B`)."""
        history = self.history()
        if history is None:
            return None
        try:
            pending = [r for r in history.batch_records(batch_id) if not r.settled]
        except HistoryError as exc:
            self.notify(f"The history cannot be read: {exc}", severity="error")
            return None
        if any(r.endpoint != self.ctx.env.endpoint_url for r in pending):
            # Sent elsewhere: settle each member at the endpoint it went to.
            return self.resolve(pending)
        runner = BatchRunner(self.engine(history))

        def work() -> BatchReport:
            report = runner.resolve(batch_id)
            for outcome in report.outcomes.values():
                if outcome.hit is not None:
                    self.app.post_hit(outcome.hit)
            self._post(BatchDone(report))
            return report

        self.notify(f"Resolving batch {one_line(batch_id)}\u2026", timeout=4)
        return self.app.run_worker(
            work, thread=True, group="extend", exit_on_error=False, name="resolve batch"
        )


EXPIRE_TITLE = "Expire this HIT now?"


def change_text(plan: Plan) -> str:
    """What a plan changes, in words: '+5', '+5 and time', 'add time', 'expire now'."""
    if plan.n == 0:
        return "expire now" if plan.expire_at == EXPIRE_NOW else "add time"
    added = f"+{plan.n:,}"
    return added + " and time" if plan.expire_at is not None else added


class ControllerApp(App[int]):
    """An app with a `Controller`: it hands the screens' requests to the controller and
    applies the workers' results. Subclasses show what changed through `show_hit`,
    `refresh_balance` and `after_batch` (the real app: the table, the banner, the marks)."""

    #: labels of the requests in flight (the status line shows them; its watcher repaints
    #: only that line)
    in_flight: reactive[tuple[str, ...]] = reactive((), repaint=False)

    def __init__(self, ctx: AppContext) -> None:
        super().__init__()
        self.ctx = ctx
        self.controller = Controller(self, ctx)
        self._flights: dict[object, str] = {}
        #: the thread running the app's event loop (set once it runs)
        self.ui_thread: int | None = None

    def on_load(self) -> None:
        self.ui_thread = threading.get_ident()

    # -- hooks ---------------------------------------------------------------------------------
    def show_hit(self, hit: Hit) -> None:
        """A HIT changed at MTurk: show it (the real app: its row and detail view)."""

    def post_hit(self, hit: Hit) -> None:
        """From any thread, without waiting: show `hit` (the real app queues it for its
        table, which applies queued rows together)."""
        self.post_message(HitChanged(hit))

    def refresh_balance(self) -> None:
        """Something was spent: fetch the balance again."""

    def after_batch(self, report: BatchReport) -> str:
        """A batch ended (the real app unmarks what it extended); words for its message."""
        return ""

    # -- requests ------------------------------------------------------------------------------
    def on_extend_wanted(self, message: ExtendWanted) -> None:
        self.controller.extend(message.hit)

    def on_expire_wanted(self, message: ExpireWanted) -> None:
        self.controller.expire(message.hit)

    def on_bulk_wanted(self, message: BulkWanted) -> None:
        self.controller.bulk(message.hits)

    def on_resolve_wanted(self, message: ResolveWanted) -> None:
        if message.take_over:
            self.controller.take_over(message.records[0])
            return
        self.controller.resolve(message.records, confirmed=message.confirmed)

    def on_resolve_batch_wanted(self, message: ResolveBatchWanted) -> None:
        self.controller.resolve_batch(message.batch_id)

    # -- results -------------------------------------------------------------------------------
    def on_flight_changed(self, message: FlightChanged) -> None:
        if message.label is None:
            self._flights.pop(message.key, None)
        else:
            self._flights[message.key] = message.label
        self.in_flight = tuple(self._flights.values())  # the one copy: the status line

    def on_outcome_arrived(self, message: OutcomeArrived) -> None:
        outcome = message.outcome
        self.controller.announce(outcome)
        if outcome.hit is not None:
            self.show_hit(outcome.hit)
        self.refresh_balance()
        self._reload_history_screens()

    def on_hit_changed(self, message: HitChanged) -> None:
        self.show_hit(message.hit)

    def on_reviews_done(self, message: ReviewsDone) -> None:
        self.controller.reviews_done(message)
        self.refresh_balance()
        self._reload_history_screens()
        for screen in self.screen_stack:
            reviewed = getattr(screen, "reviewed", None)
            if reviewed is not None:
                reviewed(message)

    def on_batch_done(self, message: BatchDone) -> None:
        self.refresh_balance()
        self._reload_history_screens()
        report = message.report
        if report is None:
            return
        self.ctx.state.last_batch = report
        self.controller.note_outcomes(report.records)
        severity = "information" if report.all_succeeded else "warning"
        self.notify(
            one_line(f"Batch {report.batch_id}: {report.summary()}", max_length=400)
            + self.after_batch(report),
            severity=severity,
            markup=False,
            timeout=10,
        )

    def _reload_history_screens(self) -> None:
        for screen in self.screen_stack:
            if isinstance(screen, HistoryScreen):
                screen.reload()
