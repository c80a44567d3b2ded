"""The app's glue: its session state, its dialog flows, and the requests they send.

`ControllerApp` is the one owner of the session's state, as reactives: the balance (and why
it could not be read), the marks count, the requests in flight, read-only, and whether the
shared history answers. Nothing keeps a copy: what shows the state watches it (the banners,
the status line, the extend dialog's preview) and each is written in one place (the marks
from the table's MarksChanged, the requests in flight from the one Worker.StateChanged
handler, the balance from the loader's messages).

Every dialog flow is an `@work` coroutine of the app that awaits its screens
(`push_screen(…, wait_for_dismiss=True)`) and its requests, so what follows an answer is the
next line of the flow, not a callback: `extend_hit`, `expire_hit`, `bulk_extend`,
`resolve_records`, `take_over`, `resolve_batch`, `offer_unsettled` (start-up),
`review_assignments`, `send_plan`. Screens ask for them by Message (turktui.ui.messages:
ExtendWanted, ExpireWanted, BulkWanted, ResolveWanted, ResolveBatchWanted, ReviewWanted):
screens never import the app. The confirmations' words are the operations' own
(turktui.pipeline.operations), the ones the command line prints.

`Controller` holds what the flows share: the session's one history store and engine, the
read-only gate, notices, and the thread workers that send (`run_plan`, `send_reviews`,
`run_batch`, `retry_batch`, …). Those never touch widgets: they post results as Messages to
the app (OutcomeArrived, ReviewsDone, HitChanged, BatchDone), thread-safe and never waiting
for the UI thread, and a batch's rows go to the table with `post_hit` (queued, applied by the
UI thread in one go).
"""

from __future__ import annotations

import contextlib
import dataclasses
import threading
from collections.abc import Iterable
from datetime import datetime
from decimal import Decimal
from typing import Any, TypeVar

from textual import work
from textual.app import App
from textual.message import Message
from textual.reactive import reactive
from textual.screen import Screen
from textual.worker import Worker, WorkerCancelled, WorkerFailed, WorkerState

from turktui.adapters import requestlog
from turktui.adapters.history import HistoryError, HistoryStore, OutcomeNotRecorded
from turktui.domain.bulk import BulkPreview
from turktui.domain.environment import EnvKind
from turktui.domain.errors import TurkError
from turktui.domain.models import Assignment, Balance, Hit
from turktui.domain.records import Record, State
from turktui.domain.rules import EXPIRE_NOW
from turktui.domain.text import one_line
from turktui.pipeline.batch import DEFAULT_WORKERS, BatchReport, BatchRunner
from turktui.pipeline.engine import Engine, Event, Outcome, Plan, PlanRefused, needs_attention
from turktui.pipeline.operations import (
    APPROVE,
    BONUS,
    REJECT,
    batch_confirmation,
    batch_details,
    confirmation,
    expire_now,
    outcome_message,
)
from turktui.pipeline.operations.bonus import Bonus
from turktui.pipeline.operations.review import ReviewOperation
from turktui.pipeline.reviewing import BonusQuote, pay_bonus, quote_bonus, review_many
from turktui.ui import keymap
from turktui.ui.context import AppContext
from turktui.ui.errors import describe
from turktui.ui.keys import available_balance, refused_read_only
from turktui.ui.messages import (
    BatchDone,
    BulkWanted,
    ExpireWanted,
    ExtendWanted,
    HitChanged,
    OutcomeArrived,
    ResolveBatchWanted,
    ResolveWanted,
    ReviewsDone,
    ReviewWanted,
)
from turktui.ui.screens.bulk import BatchScreen, BulkScreen
from turktui.ui.screens.confirm import ConfirmScreen
from turktui.ui.screens.extend import ExtendScreen
from turktui.ui.screens.history import HistoryScreen, take_over_body
from turktui.ui.screens.review import ReviewDecision, ReviewScreen

#: Where an unsettled request is resolved, in keys of the key map.
RESOLVE_HINT = (
    f"history: {keymap.key('app.history', 'main')}, then {keymap.key('resolve', 'history')}"
)
#: How long a worker waits for another thread that is opening the history right now.
OPEN_WAIT = 30.0
#: The worker group of the single requests (extend, add time, expire): while one of its
#: workers runs, its request is in flight (the status line says so).
REQUESTS = "extend"
#: What the read-only gate names, per review operation.
REVIEWING = {APPROVE.name: "approving", REJECT.name: "rejecting", BONUS.name: "paying bonuses"}
#: What a flow says when the operator answers no.
NOTHING_SENT = "Cancelled: nothing was sent."

T = TypeVar("T")


@dataclasses.dataclass(frozen=True)
class SecondRequest:
    """The engine refused a request: its HIT already has an unsettled one (`fact`). The
    extend flow asks before it sends a second."""

    fact: str


class Controller:
    """What the flows of one app and one session share (see the module docstring)."""

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

    def plan(self, hit: Hit, n: int, expire_at: Any) -> tuple[Plan, Engine] | None:
        """The plan of a single request, and the engine to run it; None after saying why
        not (the history is away, or the rules refuse it)."""
        history = self.history()
        if history is None:
            return None
        engine = self.engine(history)
        try:
            return engine.plan(hit, n, expire_at), engine
        except PlanRefused as exc:
            self.notify(f"Not sent: {exc.message}", severity="error")
            return None

    def notify(self, message: str, **kw: Any) -> None:
        """Notify from any thread (App.notify is thread-safe: it posts a message); service
        text is made safe and never parsed as markup."""
        kw.setdefault("markup", False)
        self.app.notify(one_line(message, max_length=400), **kw)

    def _post(self, message: Message) -> None:
        """A result for the app, from any thread, without waiting."""
        self.app.post_message(message)

    def refused_read_only(self, what: str) -> bool:
        """The one read-only gate (turktui.ui.keys.refused_read_only)."""
        return refused_read_only(self.app, what)

    # -- what the flows await ------------------------------------------------------------------
    async def ask(self, screen: Screen[T]) -> T | None:
        """Show `screen` and wait for its answer (from a flow's worker)."""
        return await self.app.push_screen(screen, wait_for_dismiss=True)

    async def confirmed(self, screen: ConfirmScreen, no: str = NOTHING_SENT) -> bool:
        """Ask `screen`'s question; a "no" is said (`no`) and answers False."""
        if await self.ask(screen):
            return True
        self.notify(no)
        return False

    async def outcome(self, worker: Worker[T] | None) -> T | None:
        """What a request's thread worker returned (None: it failed or was cancelled; the
        app's one Worker.StateChanged handler has said why)."""
        if worker is None:
            return None
        try:
            return await worker.wait()
        except (WorkerFailed, WorkerCancelled):
            return None

    async def send(self, plan: Plan, engine: Engine) -> Outcome | None:
        """Send `plan` and wait for its outcome. A HIT that already has an unsettled request
        gets a second one only if the operator confirms it (the question shows the first)."""
        while True:
            result = await self.outcome(self.run_plan(plan, engine))
            if not isinstance(result, SecondRequest):
                return result
            screen = ConfirmScreen(
                "This HIT has an unsettled request",
                second_request_body(plan, result.fact),
                yes="Send a second request",
                no="Cancel",
                danger=True,
            )
            if not await self.confirmed(
                screen, "Not sent: the HIT already has an unsettled request."
            ):
                return None
            plan = dataclasses.replace(plan, allow_second=True)

    # -- single requests -----------------------------------------------------------------------
    def run_plan(
        self, plan: Plan, engine: Engine | None = None
    ) -> Worker[Outcome | SecondRequest | None] | None:
        """Run the plan in a thread worker (group REQUESTS: in flight while it runs); its
        outcome arrives as OutcomeArrived. A HIT busy with an unsettled request: the worker
        returns SecondRequest (the extend flow asks), nothing is sent."""
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

        def on_event(event: Event) -> None:
            if (
                event.kind == "retry"
                or (event.kind == "attempt" and event.attempt > 1)
                or event.kind == "expiration"
            ):
                self.notify(event.message, timeout=4)

        def work() -> Outcome | SecondRequest | None:
            try:
                outcome = engine.execute(plan, on_event)
            except PlanRefused as exc:
                if exc.code == "busy" and not plan.allow_second:
                    return SecondRequest(exc.message)  # one request per HIT at a time
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
            work,
            thread=True,
            group=REQUESTS,
            exit_on_error=False,
            name=f"extend {hit.hit_id}",
            description=label,
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

    def read_quotes(
        self, rows: list[Assignment], available: Decimal | None
    ) -> Worker[list[BonusQuote] | str]:
        """What a bonus preview needs for each assignment, in a thread worker: its worker
        and earlier bonuses, against the app's balance (`available`; read here once for
        every row when it is not known yet). A string: why it cannot be read."""
        ctx = self.ctx

        def work() -> list[BonusQuote] | str:
            history = self.history()
            try:
                money = available
                if money is None:
                    money = ctx.service.get_balance().available
                return [
                    quote_bonus(
                        ctx.service,
                        history,
                        ctx.env.endpoint_url,
                        a.assignment_id,
                        Decimal(0),
                        available=money,
                    )
                    for a in rows
                ]
            except TurkError as exc:
                return f"could not read the assignment, its bonuses or the balance: {exc.message}"

        return self.app.run_worker(
            work, thread=True, group="quotes", exit_on_error=False, name="bonus quotes"
        )

    def send_reviews(self, decision: ReviewDecision) -> Worker[ReviewsDone] | None:
        """Record, send and settle each assignment of `decision` through the engine (the
        command line's own functions), in a thread worker of group REQUESTS (in flight
        while it runs); the results arrive as one ReviewsDone message, which the worker
        also returns."""
        history = self.history()
        if history is None:
            return None
        engine = self.engine(history)
        op = decision.op
        self.notify(f"{decision.words}\u2026", timeout=4)
        quotes = {q.assignment.assignment_id: q for q in decision.quotes}
        payload = dict(decision.payload)

        def said(aid: str, got: Record | Exception) -> tuple[str, Record | None, str]:
            if isinstance(got, Record):
                return (aid, got, outcome_message(got))
            if isinstance(got, PlanRefused):
                return (aid, None, f"Not sent: {got.message}")
            if isinstance(got, OutcomeNotRecorded):
                return (aid, None, f"The history could not be written: {got}")
            if isinstance(got, HistoryError):
                return (aid, None, f"Not sent: the history could not be written ({got}).")
            raise got

        def bonuses() -> list[tuple[str, Record | None, str]]:
            out = []
            for a in decision.rows:
                try:
                    got: Record | Exception = pay_bonus(
                        engine,
                        quotes[a.assignment_id],
                        str(payload["reason"]),
                        allow_second=decision.allow_second,
                    )
                except (PlanRefused, HistoryError) as exc:
                    got = exc
                out.append(said(a.assignment_id, got))
            return out

        def work() -> ReviewsDone:
            results: list[tuple[str, Record | None, str]] = []
            try:
                if isinstance(op, Bonus):
                    results = bonuses()
                else:  # the command line's own path: recorded, sent and confirmed as a group
                    pairs = [(a, decision.hit) for a in decision.rows]
                    reviewed = review_many(engine, op, pairs, payload, workers=DEFAULT_WORKERS)
                    results = [said(a.assignment_id, got) for a, got in reviewed]
            finally:
                done = ReviewsDone(op, results)
                self._post(done)
            return done

        return self.app.run_worker(
            work,
            thread=True,
            group=REQUESTS,
            exit_on_error=False,
            name=f"{op.name} assignments",
            description=one_line(decision.words, max_length=60),
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
        read_only = app.read_only
        resolve = None if read_only else (lambda rec: app.post_message(ResolveWanted([rec])))
        batch = None if read_only else (lambda bid: app.post_message(ResolveBatchWanted(bid)))
        take = (
            None
            if read_only
            else (lambda rec: app.post_message(ResolveWanted([rec], take_over=True)))
        )
        source = ctx.history if ctx.history is not None else self.history
        app.push_screen(
            HistoryScreen(source, resolve, resolve_batch=batch, take_over=take, clock=ctx.clock)
        )

    def careful(self, records: Iterable[Record]) -> list[Record]:
        """The records whose endpoint may spend real money (production, a non-loopback
        custom endpoint): resolving them is confirmed first."""
        from turktui.pipeline.resolving import Target

        confirm_custom = self.ctx.settings.confirm_custom
        return [
            r
            for r in records
            if Target.of(r).environment(confirm_custom=confirm_custom).needs_confirmation
        ]

    def run_resolve(
        self, records: list[Record], history: HistoryStore, *, take_over: bool = False
    ) -> Worker[list[Outcome]]:
        """Settle records in a thread worker, each at its own endpoint with its own profile
        (see turktui.pipeline.resolving); each outcome arrives as OutcomeArrived. With
        `take_over`, records another host's process holds are taken over (and that is
        recorded), as `turktui resolve --take-over ID` does."""
        ctx = self.ctx

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
                confirm_custom=ctx.settings.confirm_custom,
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
            work, thread=True, group="resolve", exit_on_error=False, name="resolve"
        )

    def find_unsettled(self) -> Worker[list[Record]]:
        """In a thread worker: the requests an earlier session left unsettled, to offer."""
        ctx = self.ctx

        def work() -> list[Record]:
            history = self.history()
            if history is None:
                return []
            try:
                here = ctx.env.endpoint_url
                engine = self.engine(history)
                # Every endpoint: each is resolved where it went. An earlier demo session's
                # embedded service is gone for good: its records are not offered (the history
                # has them). Records of a process still running (another app, a CLI batch)
                # are its own.
                return [
                    r
                    for r in history.unsettled()
                    if (r.env_kind != "demo" or r.endpoint == here) and not engine.is_live(r)
                ]
            except HistoryError:
                return []

        return self.app.run_worker(
            work, thread=True, group="history", exit_on_error=False, name="check unsettled"
        )

    # -- bulk ----------------------------------------------------------------------------------
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
            report = runner.send(bid, records, **screen.watch(self.app.post_hit))
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
            report = runner.retry(bid, **screen.watch(self.app.post_hit))
            screen.post_message(BatchScreen.Finished(report))
            self._post(BatchDone(report))
            return report

        self.app.run_worker(work, thread=True, group="bulk", exit_on_error=False, name="bulk retry")

    def run_resolve_batch(self, batch_id: str, history: HistoryStore) -> Worker[BatchReport]:
        """Settle a batch's unsettled members at this endpoint, in a thread worker."""
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
            work, thread=True, group="resolve", exit_on_error=False, name="resolve batch"
        )


EXPIRE_TITLE = "Expire this HIT now?"


def change_text(plan: Plan) -> str:
    """What a plan changes, in words: '+5', '+5 and time', 'add time', 'expire now'."""
    if plan.n == 0:
        return "expire now" if plan.expire_at == EXPIRE_NOW else "add time"
    added = f"+{plan.n:,}"
    return added + " and time" if plan.expire_at is not None else added


def second_request_body(plan: Plan, fact: str) -> str:
    """The question before a second request on a HIT with an unsettled one (`fact`)."""
    return "\n".join(
        [
            one_line(fact, max_length=300),
            "",
            f"Send another +{plan.n:,} to HIT {one_line(plan.hit.hit_id)} anyway? Its "
            "MaxAssignments is read again just before sending; the unsettled request may still "
            "add its own assignments. Resolve it first "
            f"({RESOLVE_HINT}) if unsure.",
        ]
    )


def careful_resolve_body(careful: list[Record]) -> str:
    """The question before resolving records whose endpoint may spend real money."""
    from turktui.pipeline.resolving import Target

    lines = [
        f"{len(careful)} of these request(s) went to an endpoint that may spend "
        "real money; resolving may re-send them with their original token:",
        "",
    ]
    for rec in careful[:8]:
        lines.append(one_line(f"#{rec.id}  +{rec.n:,} on HIT {rec.hit_id}  {Target.of(rec).label}"))
    if len(careful) > 8:
        lines.append(f"\u2026 and {len(careful) - 8} more")
    return "\n".join(lines)


def unsettled_offer_body(pending: list[Record], careful: int) -> str:
    """The start-up offer: the requests an earlier session left without an outcome."""
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
    if careful:
        lines += [
            "",
            f"{careful} of them went to PRODUCTION or a remote custom endpoint (real money).",
        ]
    return "\n".join(lines)


class ControllerApp(App[int]):
    """An app with a `Controller`: the one owner of the session's state (reactives), its
    dialog flows (`@work` coroutines), and the workers' results applied. Subclasses show
    what changed through `show_hit`, `refresh_balance` and `after_batch` (the real app: the
    table, the banner, the marks)."""

    #: the account balance (None: not known yet) and why it could not be fetched
    balance: reactive[Balance | None] = reactive(None)
    balance_error: reactive[str | None] = reactive(None)
    #: HITs marked for a bulk extension (written by the main list's MarksChanged)
    marks: reactive[int] = reactive(0, repaint=False)
    #: labels of the requests in flight (written by on_worker_state_changed)
    in_flight: reactive[tuple[str, ...]] = reactive((), repaint=False)
    #: the session cannot change anything (--read-only or read_only = true)
    read_only: reactive[bool] = reactive(False)
    #: team mode: why the shared history cannot be reached now (None: it can; see
    #: turktui.ui.shared_history)
    history_unreachable: reactive[str | None] = reactive(None)

    def __init__(self, ctx: AppContext) -> None:
        super().__init__()
        self.ctx = ctx
        self.set_reactive(ControllerApp.read_only, ctx.read_only)
        self.set_reactive(ControllerApp.balance, ctx.balance)
        self.controller = Controller(self, ctx)
        #: failures of workers (see on_worker_state_changed), newest last
        self.worker_failures: list[str] = []
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

    # -- the dialog flows ----------------------------------------------------------------------
    @work(group="flow", exit_on_error=False)
    async def extend_hit(self, hit: Hit) -> Outcome | None:
        """The extend dialog for `hit`; on submit: plan, confirm where it costs money,
        send (asking before a second request on a busy HIT)."""
        c = self.controller
        if c.refused_read_only("extending"):
            return None
        request = await c.ask(ExtendScreen(hit, self.ctx))
        if request is None:
            return None
        planned = c.plan(request.hit, request.n, request.expire_at)
        if planned is None:
            return None
        plan, engine = planned
        env = self.ctx.env
        if env.needs_confirmation:
            words = confirmation(
                plan, env.kind.banner, self.ctx.clock(), available_balance(self), real=True
            )
            body = "\n".join(words)
            screen = ConfirmScreen(f"Confirm: {env.kind.banner} request", body, danger=True)
            if not await c.confirmed(screen):
                return None
        return await c.send(plan, engine)

    @work(group="flow", exit_on_error=False)
    async def expire_hit(self, hit: Hit | None) -> Outcome | None:
        """`X`: plan an expire-now request, confirm it on every environment but demo, then
        send it like any request ("already expired" is judged on the fresh read, by MTurk's
        clock: the local one may run ahead)."""
        c = self.controller
        if c.refused_read_only("expiring"):
            return None
        if hit is None:
            self.notify("No HIT selected.", severity="warning")
            return None
        if hit.problem:
            c.notify(f"This HIT cannot be changed: {hit.problem}", severity="warning")
            return None
        planned = c.plan(hit, 0, EXPIRE_NOW)
        if planned is None:
            return None
        plan, engine = planned
        env = self.ctx.env
        if env.kind is not EnvKind.DEMO:
            reopen = f" ({keymap.key('app.extend', 'main')})"
            body = "\n".join(
                expire_now.confirmation([hit], env.kind.banner, self.ctx.clock(), reopen)
            )
            screen = ConfirmScreen(EXPIRE_TITLE, body, yes="Expire now", danger=True)
            if not await c.confirmed(screen):
                return None
        return await c.send(plan, engine)

    @work(group="flow", exit_on_error=False)
    async def send_plan(self, plan: Plan, engine: Engine) -> Outcome | None:
        """Send a plan made elsewhere (scripts, tests), as the extend flow sends its own."""
        return await self.controller.send(plan, engine)

    @work(group="flow", exit_on_error=False)
    async def bulk_extend(self, hits: list[Hit]) -> None:
        """`b`: the bulk dialog for `hits` (the marked ones); on submit confirm (every
        endpoint but demo restates the totals first), then run the batch."""
        c = self.controller
        if c.refused_read_only("bulk extension"):
            return
        if not hits:
            c.notify(
                f"Mark HITs with {keymap.key('toggle_mark', 'main')} first "
                f"({keymap.key('mark_all', 'main')}: mark all shown, "
                f"{keymap.key('clear_marks', 'main')}: clear marks).",
                severity="warning",
            )
            return
        preview = await c.ask(BulkScreen(hits, self.ctx))
        if preview is None:
            return
        env = self.ctx.env
        if env.kind is not EnvKind.DEMO:
            screen = ConfirmScreen(
                f"Confirm: {env.kind.banner} batch",
                "\n".join(batch_confirmation(preview, env.kind.banner)),
                danger=True,
                details="\n".join(batch_details(preview)),
            )
            if not await c.confirmed(screen):
                return
        c.run_batch(preview)

    @work(group="flow", exit_on_error=False)
    async def resolve_records(
        self, records: list[Record], confirmed: bool = False
    ) -> list[Outcome] | None:
        """Settle records (history `R`, the start-up offer). Records whose endpoint may
        spend real money are confirmed first unless `confirmed`."""
        return await self._resolve(records, confirmed)

    @work(group="flow", exit_on_error=False)
    async def take_over(self, record: Record) -> list[Outcome] | None:
        """History `T`: another host's process holds `record`. Asked first (who, where,
        since when, until when it counts as live); yes: settled here through the same
        pipeline as `turktui resolve --take-over ID`, which records the take-over."""
        c = self.controller
        if c.refused_read_only("taking over"):
            return None
        screen = ConfirmScreen(
            f"Take over request #{record.id}?",
            take_over_body(record, self.ctx.clock()),
            yes="Take over",
            no="Cancel",
            danger=True,
        )
        if not await c.confirmed(screen, f"Cancelled: request #{record.id} was left to its owner."):
            return None
        return await self._resolve([record], False, take_over=True)

    async def _resolve(
        self, records: list[Record], confirmed: bool, *, take_over: bool = False
    ) -> list[Outcome] | None:
        c = self.controller
        if not records or c.refused_read_only("resolving"):
            return None
        history = c.history()
        if history is None:
            return None
        careful = c.careful(records)
        if careful and not confirmed:
            screen = ConfirmScreen(
                "Confirm: resolve on PRODUCTION",
                careful_resolve_body(careful),
                yes="Resolve",
                danger=True,
            )
            if not await c.confirmed(screen, "Cancelled: nothing was resolved."):
                return None
        return await c.outcome(c.run_resolve(records, history, take_over=take_over))

    @work(group="flow", exit_on_error=False)
    async def resolve_batch(self, batch_id: str) -> BatchReport | None:
        """Settle a batch's unsettled members (history `B`)."""
        c = self.controller
        if c.refused_read_only("resolving"):
            return None
        history = c.history()
        if history is None:
            return None
        try:
            pending = [r for r in history.batch_records(batch_id) if not r.settled]
        except HistoryError as exc:
            c.notify(f"The history cannot be read: {exc}", severity="error")
            return None
        if any(r.endpoint != self.ctx.env.endpoint_url for r in pending):
            # Sent elsewhere: settle each member at the endpoint it went to.
            await self._resolve(pending, False)
            return None
        return await c.outcome(c.run_resolve_batch(batch_id, history))

    @work(group="flow", exit_on_error=False)
    async def offer_unsettled(self) -> list[Outcome] | None:
        """At start-up: offer to resolve requests left unsettled by an earlier session."""
        c = self.controller
        if self.read_only:
            return None
        pending = await c.outcome(c.find_unsettled())
        if not pending:
            return None
        careful = c.careful(pending)
        screen = ConfirmScreen(
            "Unsettled requests",
            unsettled_offer_body(pending, len(careful)),
            yes="Resolve now",
            no="Later",
            danger=bool(careful),
        )
        later = f"Unsettled requests remain: resolve them later ({RESOLVE_HINT})."
        if not await c.confirmed(screen, later):
            return None
        return await self._resolve(pending, True)

    @work(group="flow", exit_on_error=False)
    async def review_assignments(
        self,
        op: ReviewOperation | Bonus,
        rows: list[Assignment],
        hit: Hit,
        title: str,
        now: datetime | None = None,
    ) -> ReviewsDone | None:
        """The assignments view's Y / N / $ / P: (a bonus's readings,) the review dialog,
        the confirmation where the command line asks too, then send; nothing is sent
        unless the operator says so."""
        c = self.controller
        if c.refused_read_only(REVIEWING[op.name]):
            return None
        quotes: list[BonusQuote] = []
        if isinstance(op, Bonus):
            read = await c.outcome(c.read_quotes(rows, available_balance(self)))
            if read is None:
                return None
            if isinstance(read, str):
                c.notify(f"Not sent: {read}", severity="error")
                return None
            quotes = read
        dialog = ReviewScreen(op, rows, hit, self.ctx.env, now, title=title, quotes=quotes)
        decision = await c.ask(dialog)
        if decision is None:
            c.notify(NOTHING_SENT)
            return None
        confirm = c.review_confirmation(decision)
        if confirm is not None and not await c.confirmed(confirm):
            return None
        return await c.outcome(c.send_reviews(decision))

    # -- what the screens ask for --------------------------------------------------------------
    def on_extend_wanted(self, message: ExtendWanted) -> None:
        self.extend_hit(message.hit)

    def on_expire_wanted(self, message: ExpireWanted) -> None:
        self.expire_hit(message.hit)

    def on_bulk_wanted(self, message: BulkWanted) -> None:
        self.bulk_extend(message.hits)

    def on_resolve_wanted(self, message: ResolveWanted) -> None:
        if message.take_over:
            self.take_over(message.records[0])
        else:
            self.resolve_records(message.records, message.confirmed)

    def on_review_wanted(self, message: ReviewWanted) -> None:
        self.review_assignments(message.op, message.rows, message.hit, message.title, message.now)

    def on_resolve_batch_wanted(self, message: ResolveBatchWanted) -> None:
        self.resolve_batch(message.batch_id)

    # -- workers ---------------------------------------------------------------------------------
    def on_worker_state_changed(self, event: Worker.StateChanged) -> None:
        """The one handler of the app's workers. A single request's worker is in flight
        while it runs (`in_flight`: their labels, from the workers themselves). A failure
        surfaces here: every worker runs with exit_on_error=False, so an exception would
        otherwise end it silently; the operator is told (title, message, what to do) and
        the request log keeps the traceback."""
        worker = event.worker
        if worker.group == REQUESTS:
            self.in_flight = tuple(
                w.description
                for w in self.workers
                if w.group == REQUESTS and w.state in (WorkerState.PENDING, WorkerState.RUNNING)
            )
        if event.state is not WorkerState.ERROR or worker.error is None:
            return
        error = worker.error
        title, message, hint = describe(error)
        self.worker_failures.append(f"{worker.name or worker.group}: {title}")
        with contextlib.suppress(Exception):
            requestlog.logger().error(
                "worker %r failed: %s", worker.name or worker.group, message, exc_info=error
            )
        self.notify(
            f"{message} {hint}".strip(),
            title=f"{title} ({worker.group})",
            severity="error",
            timeout=20,
            markup=False,
        )

    # -- results ---------------------------------------------------------------------------------
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
