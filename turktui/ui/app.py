"""The turktui application: wires the context, the workers and the screens together.

Startup is kept fast and the UI responsive: HITs are listed by a child process
(`turktui.adapters.loader`, usually started by `run_app` before Textual is imported) and
streamed page by page into a virtual table; the UI process does not even import boto3
until something other than listing needs it.
"""

from __future__ import annotations

import asyncio
import contextlib
import re
import signal
import time
from collections.abc import Iterator
from datetime import datetime
from typing import Any, ClassVar

from textual import events, work
from textual.binding import BindingType
from textual.css.query import NoMatches
from textual.notifications import SeverityLevel
from textual.screen import Screen
from textual.widgets._toast import ToastRack
from textual.worker import get_current_worker

from turktui.adapters import screenshots
from turktui.adapters.loader import HitLoader
from turktui.domain.errors import TurkError
from turktui.domain.models import Hit
from turktui.domain.text import one_line
from turktui.pipeline.batch import BatchReport
from turktui.ui import keymap
from turktui.ui.commands import TurkCommands
from turktui.ui.context import AppContext
from turktui.ui.controller import ControllerApp
from turktui.ui.keys import COPY_SAID, refuses, screen_name
from turktui.ui.messages import (
    BalanceFailed,
    BalanceLoaded,
    BalanceWanted,
    HitsFailed,
    HitsLoaded,
    HitsPage,
)
from turktui.ui.screens.detail import DetailScreen
from turktui.ui.screens.main import MainScreen
from turktui.ui.shared_history import SharedHistoryWatch

PAGE_SIZE = 100
#: About nine lines of a toast (app.tcss: 60 columns wide): longer says its first sentences.
TOAST_CHARS = 480


def whole_sentences(text: str, limit: int) -> str:
    """`text`, or its first whole sentences when longer than `limit` characters (never cut
    mid-sentence; a first sentence longer than the limit is kept whole)."""
    if len(text) <= limit:
        return text
    out = ""
    for sentence in re.split(r"(?<=[.;!?])\s+", text):
        if out and len(out) + 1 + len(sentence) > limit:
            break
        out = f"{out} {sentence}" if out else sentence
    return out


class TurkTuiApp(ControllerApp):
    """The app. Its session state is ControllerApp's reactives, and what shows it follows
    by watching them (nothing calls an update): the banners (turktui.ui.widgets.env_banner)
    and the main list's status line. What changes with every key or request (`marks`,
    `in_flight`) does not repaint the screen itself (`repaint=False`: a repaint is bytes to
    the terminal); the status line's watcher repaints that line only. The balance and the
    session's mode, rarely changed, repaint the screen: a banner under a dialog shows
    through it, and only the dialog's screen is drawn anew."""

    CSS_PATH = "app.tcss"
    TITLE = "turktui"
    COMMANDS = ControllerApp.COMMANDS | {TurkCommands}
    # Every screen binds its own keys from the key map (turktui.ui.keymap), `?` and `q`
    # included; the app binds the map's app-level keys (ctrl+c / ctrl+q quit from anywhere,
    # in place of Textual's ctrl+c notice); Textual's ctrl+p stays.
    BINDINGS: ClassVar[list[BindingType]] = keymap.app_bindings()

    def __init__(self, ctx: AppContext) -> None:
        super().__init__(ctx)
        self.main_screen = MainScreen(ctx)
        self._reload_timer = None
        self._loader: HitLoader | None = None
        #: balance requests asked, and the latest whose answer was shown (answers come back
        #: in any order: `balance_answer_is_latest`)
        self._balance_asked = 0
        self._balance_shown = 0
        #: team mode's watch on the shared history (None: a local file)
        self.shared_history: SharedHistoryWatch | None = None
        if ctx.env.is_production:
            self.add_class("-production")

    async def run_async(self, **kwargs: Any) -> int | None:
        """Run the app; SIGTERM and SIGINT end it cleanly (terminal restored, exit code
        128 + signal). Before the event loop closes (which would wait for every worker
        thread, however stuck), requests in flight are settled through the
        `settle_in_flight` hook the CLI installs: it says at once which HIT it waits for,
        and records what cannot finish as unknown."""
        loop = asyncio.get_running_loop()
        installed = []
        for sig in (signal.SIGTERM, signal.SIGINT):
            try:
                loop.add_signal_handler(sig, self._on_signal, int(sig))
            except (ValueError, RuntimeError, NotImplementedError):  # not the main thread
                continue
            installed.append(sig)
        try:
            return await super().run_async(**kwargs)
        finally:
            for sig in installed:
                loop.remove_signal_handler(sig)
            state = self.ctx.state
            if state.settle_in_flight is not None:
                state.exit_code = state.settle_in_flight(
                    self.return_code or 0, self.ctx.history, sorted(state.unknown)
                )

    def _on_signal(self, signum: int) -> None:
        self.ctx.state.signal = signum
        self.exit(return_code=128 + signum)

    def get_default_screen(self) -> MainScreen:
        return self.main_screen

    def start_up(self) -> None:
        """Called by the main screen once its first frame is painted."""
        # The loader also fetches the balance (after the first page), so the UI process
        # does not import boto3 while rows stream in.
        generation = self.main_screen.begin_load()
        loader, self.ctx.hit_loader = self.ctx.hit_loader, None
        self._start_load(generation, loader, with_balance=self._ask_balance())
        seconds = float(self.ctx.settings.auto_refresh or 0)
        if seconds > 0:
            self._reload_timer = self.set_interval(max(1.0, seconds), self._auto_reload_tick)
        # Requests an earlier session left without an outcome are offered for resolution.
        # Checked at once, before this session can have sent anything of its own.
        self.offer_unsettled()

    async def on_event(self, event: events.Event) -> None:
        # A key the key map gives priority on this screen (`?` in the number dialogs) runs
        # before the focused text box could take it: Textual drops a priority binding whose
        # key an Input would consume.
        if isinstance(event, events.Key) and not event.is_forwarded:
            name = screen_name(self.screen)
            entry = keymap.entry_for(event.key, name) if name is not None else None
            if entry is not None and name in entry.priority_on:
                await self.run_action(entry.action_on(name), self.screen)
                return
        await super().on_event(event)

    def _on_key(self, event: events.Key) -> None:
        # Runs before App._on_key checks the bindings (Textual dispatches handlers along the
        # MRO): type-ahead after "/" goes to the filter box instead (see keys.KeyScreen).
        capture = getattr(self.screen, "capture_typeahead", None)
        if capture is not None and capture(event):
            event.stop()
            event.prevent_default()

    # -- public API (used by the extend/history flows) ---------------------------------------
    @property
    def selected_hit(self) -> Hit | None:
        return self.main_screen.table.cursor_hit

    def update_hit(self, hit: Hit) -> None:
        """Replace the row of `hit.hit_id` in place (sort, filter and cursor are kept)."""
        self.show_hit(hit)

    # -- the controller's hooks ----------------------------------------------------------------
    def show_hit(self, hit: Hit) -> None:
        try:
            table = self.main_screen.table
        except NoMatches:  # the app is closing (an outcome that arrived as it quit): no list
            return
        table.update_hit(hit)
        for screen in self.screen_stack:
            if isinstance(screen, DetailScreen) and screen.hit.hit_id == hit.hit_id:
                screen.show_hit(hit)

    def post_hit(self, hit: Hit) -> None:
        """From a worker: the row is queued and applied with the others (never waits)."""
        with contextlib.suppress(NoMatches):  # the app is closing: no list to show it in
            self.main_screen.table.post_hit(hit)

    def after_batch(self, report: BatchReport) -> str:
        """After a batch, the HITs it extended lose their marks (so the same keys cannot
        repeat it); the others keep theirs, and the message says so."""
        table = self.main_screen.table
        before = len(table.marked)
        table.unmark(r.hit_id for r in report.records if r.state.applied)
        cleared, kept = before - len(table.marked), len(table.marked)
        if not cleared:
            return f" {kept:,} HIT(s) stay marked." if kept else ""
        text = f" Marks cleared on the {cleared:,} HIT(s) extended"
        unmark = keymap.key("clear_marks", "main")
        return text + (f"; {kept:,} not extended stay marked ({unmark}: clear)." if kept else ".")

    def reload_hits(self) -> None:
        """Fetch every HIT again; the cursor stays on the same HIT."""
        generation = self.main_screen.begin_load()
        self._start_load(generation, None, with_balance=0)

    def _end_batch(self) -> None:
        super()._end_batch()
        if not self._batch_count:
            # Textual skips a screen's frame that falls inside a batch update (a mount, a
            # notification) and pauses that screen's update timer until the screen is next
            # idle. A screen under a dialog may get no message of its own to make it so:
            # the list's banner, given a new balance under the batch dialog, was then never
            # drawn again in the dialog's dimmed copy of it. Each screen under the top one
            # is asked to look again (nothing is done where nothing changed).
            for screen in self._background_screens:
                screen.check_idle()

    def refresh_balance(self) -> None:
        self._load_balance(self._ask_balance())

    def _ask_balance(self) -> int:
        """The number of a new balance request (in the order asked)."""
        self._balance_asked += 1
        return self._balance_asked

    def balance_answer_is_latest(self, asked: int) -> bool:
        """Whether the answer to request `asked` may be shown: none asked later has been
        shown already (answers come back in any order: a read started before a batch's end
        may arrive after the one started after it, and would show a balance before it)."""
        if asked < self._balance_shown:
            return False
        self._balance_shown = asked
        return True

    def copy_hit_id(self, hit: Hit | None) -> None:
        if hit is None:
            self.notify("No HIT selected.", severity="warning")
            return
        self.copy_to_clipboard(hit.hit_id)
        self.notify(f"Copied HIT id {one_line(hit.hit_id)}", markup=False, timeout=COPY_SAID)

    def notify(
        self,
        message: str,
        *,
        title: str = "",
        severity: SeverityLevel = "information",
        timeout: float | None = None,
        markup: bool = True,
    ) -> None:
        """A warning or an error says so in words (its title), not by its colour alone. A
        toast is never cut mid-sentence: a long message keeps its whole first sentences.
        Over a dialog with a status line the message shows there (one line), not as a
        toast over the dialog's content. Thread-safe, as App.notify."""
        if not title and severity in ("warning", "error"):
            title = severity.capitalize()
        message = whole_sentences(message, TOAST_CHARS)
        seconds = self.NOTIFICATION_TIMEOUT if timeout is None else timeout
        super().notify(message, title=title, severity=severity, timeout=timeout, markup=markup)
        if not markup or "[" not in message:  # (markup would show as brackets there)
            self.call_later(self._on_dialog_status_line, message, title, severity, seconds)

    def _on_dialog_status_line(
        self, message: str, title: str, severity: str, timeout: float
    ) -> None:
        show = getattr(self.screen, "show_status", None)
        if show is not None:
            show(message, title, severity, timeout)

    def deliver_screenshot(
        self,
        filename: str | None = None,
        path: str | None = None,
        time_format: str | None = None,
    ) -> str | None:
        """The palette's "Screenshot": saved under the data directory (an ops box has no
        ~/Downloads), written by a worker, and the path announced."""
        self._save_screenshot(self.export_screenshot(), self.ctx.clock().astimezone())
        return None

    @work(thread=True, exit_on_error=False, group="screenshot")
    def _save_screenshot(self, svg: str, moment: datetime) -> None:
        try:
            saved = screenshots.save_svg(self.ctx.paths.data_dir, moment, svg)
        except screenshots.ScreenshotError as error:
            self.notify(str(error), title="Screenshot not saved", severity="error", markup=False)
            return
        self.notify(f"Saved to {saved}", title="Screenshot", markup=False)

    # -- workers -----------------------------------------------------------------------------
    def _start_load(self, generation: int, loader: HitLoader | None, with_balance: int) -> None:
        """List every HIT (generation `generation`); `with_balance`: the number of the
        balance request the listing answers too (0: none)."""
        # Stop a running load now: its worker is blocked on the pipe, and killing the child
        # is what unblocks it.
        self._close_loader()
        self._load_hits(generation, loader, with_balance)

    def _close_loader(self) -> None:
        loader, self._loader = self._loader, None
        if loader is not None:
            loader.close()

    def on_mount(self) -> None:
        self.screen_change_signal.subscribe(self, self._screen_changed)
        if self.ctx.paths.history_url:  # team mode: say when the shared history is away
            self.shared_history = SharedHistoryWatch(self)
            self.shared_history.start()

    def _screen_changed(self, screen: Screen[Any]) -> None:
        """A screen under the one on top (a dialog shows it through) does not draw its
        toasts a second time beneath the dialog's (app.tcss: `ToastRack.-under`). The class
        is on its toast rack only: on the whole screen (Textual's SUSPENDED_SCREEN_CLASS) it
        restyled every widget of the list at each dialog, tens of ms at 10,000 HITs."""
        for under in self.screen_stack:
            with contextlib.suppress(NoMatches):  # (a dialog with a status line has none)
                rack = under.get_child_by_type(ToastRack)
                if rack.has_class("-under") != (under is not screen):
                    rack.set_class(under is not screen, "-under")
                    under.refresh(layout=True)

    def on_unmount(self) -> None:
        # Never leave a child process (or a worker thread blocked on its pipe) behind.
        if self.shared_history is not None:
            self.shared_history.stop()
        self._close_loader()
        if self.ctx.hit_loader is not None:
            self.ctx.hit_loader.close()

    def _in_process_events(self) -> Iterator[tuple[str, Any]]:
        """For a stand-in service that cannot be rebuilt in a child process."""
        pages = 0
        for hits in self.ctx.service.iter_hit_pages(PAGE_SIZE):
            pages += 1
            yield "page", hits
        yield "done", pages

    @work(thread=True, exclusive=True, exit_on_error=False, group="load")
    def _load_hits(self, generation: int, loader: HitLoader | None, with_balance: int) -> None:
        worker = get_current_worker()
        target = self.main_screen
        pages = 0
        batch: list[Hit] = []
        last_post = 0.0
        balance_seen = False
        try:
            spec = getattr(self.ctx.service, "spec", None)
            if loader is None and spec is not None:
                loader = HitLoader(spec(), page_size=PAGE_SIZE, balance=bool(with_balance))
            if loader is not None:
                if worker.is_cancelled:
                    return
                self._loader = loader
            events = loader.events() if loader is not None else self._in_process_events()
            for kind, payload in events:
                if worker.is_cancelled:
                    return
                if kind == "page":
                    pages += 1
                    batch.extend(payload)
                    # First page at once; then batches ≥ 0.1 s apart, so the UI thread is
                    # not woken 100 times for 100 pages.
                    now = time.monotonic()
                    if pages == 1 or now - last_post >= 0.1:
                        target.post_message(HitsPage(generation, pages, batch))
                        batch, last_post = [], now
                elif kind == "balance":
                    balance_seen = True
                    target.post_message(BalanceLoaded(payload, with_balance))
                elif kind == "balance_error":
                    balance_seen = True
                    target.post_message(BalanceFailed(payload, with_balance))
                elif kind == "done":
                    if batch:
                        target.post_message(HitsPage(generation, pages, batch))
                    target.post_message(HitsLoaded(generation, pages))
        except TurkError as exc:
            target.post_message(HitsFailed(generation, exc))
        except Exception as exc:  # last resort: a message, never a traceback
            target.post_message(HitsFailed(generation, exc))
        finally:
            if loader is not None:
                loader.close()
        if with_balance and not balance_seen and not worker.is_cancelled:
            # The listing failed before the balance was asked for: ask on its own.
            target.post_message(BalanceWanted())

    @work(thread=True, exclusive=True, exit_on_error=False, group="balance")
    def _load_balance(self, asked: int) -> None:
        target = self.main_screen
        try:
            target.post_message(BalanceLoaded(self.ctx.service.get_balance(), asked))
        except Exception as exc:  # TurkError or worse: the banner says "unavailable"
            target.post_message(BalanceFailed(exc, asked))

    def _auto_reload_tick(self) -> None:
        # Paused while a dialog or another screen is open, and while a load is running.
        if self.screen is not self.main_screen or self.main_screen.is_loading:
            return
        self.reload_hits()

    # -- actions -----------------------------------------------------------------------------
    def check_action(self, action: str, parameters: tuple[object, ...]) -> bool | None:
        # Read-only: the key map's write keys (`e`, `b`, …) are removed outright (not merely
        # dimmed) from the footer; their fallback binding says why (action_read_only).
        return not refuses(self, screen_name(self.screen), action)

    def action_read_only(self, what: str) -> None:
        """Every refusal says why: a write key in a read-only session. (The same fallback
        binding is reached when a screen refuses the key for another reason, e.g. Retry
        while the batch runs: then nothing is said.)"""
        self.controller.refused_read_only(what)

    def action_quit_hint(self) -> None:
        """`q` on any screen but the main list: it quits only from there."""
        self.notify(keymap.Q_HINT, markup=False, timeout=4)

    def action_reload_hits(self) -> None:
        self.reload_hits()

    def action_help(self) -> None:
        """`?`: the keys of the screen it is pressed on (again, on the help: close it)."""
        from turktui.ui.screens.help import HelpScreen

        if isinstance(self.screen, HelpScreen):
            self.screen.dismiss()
            return
        self.push_screen(HelpScreen(screen_name(self.screen) or "main", self.read_only))

    def action_extend(self) -> None:
        hit = self.selected_hit
        if isinstance(self.screen, DetailScreen):
            hit = self.screen.hit
        if hit is None:
            self.notify("No HIT selected.", severity="warning")
            return
        if hit.problem:
            self.notify(
                f"This HIT cannot be extended: MTurk sent data turktui cannot trust "
                f"({hit.problem}). Reload ({keymap.key('reload', 'main')}) to read it again.",
                severity="warning",
                markup=False,
                timeout=8,
            )
            return
        self.extend_hit(hit)

    def marked_hits(self) -> list[Hit]:
        return self.main_screen.table.marked_hits

    def action_bulk(self) -> None:
        """`b`: the bulk dialog for the marked HITs."""
        self.bulk_extend(self.marked_hits())

    def action_history(self) -> None:
        self.controller.open_history()
