"""The app's states, staged deterministically against the demo emulator: the one snapshot layer.

Each scene is staged once per run at 80x24 and the terminal resized to 160x48 (`render_scene`;
a scene whose wide picture differs is `restage`d), by `tests/test_screenshots.py` (which compares
the picture with the committed `screenshots/<scene>-<size>.svg`) and by `python -m
tests.screenshots` (which writes them). Fixed clock, fixed seed, a fixed endpoint shown in the
banner (the emulator's real port changes per run), and a steady cursor (no blink phase).
"""

from __future__ import annotations

import asyncio
import contextlib
import random
import threading
import time
import types
import uuid
from collections.abc import Awaitable, Callable, Iterator
from dataclasses import dataclass
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

from tests.fit import fit_problems
from tests.ui.helpers import (
    screen_text,
    steady_cursor,
    wait_for,
    wait_loaded,
    wait_ready,
    wait_screen,
)
from turktui.adapters.config import Paths, Settings
from turktui.adapters.mturk import DEMO_CREDENTIALS, MTurkService
from turktui.domain.environment import PRODUCTION_URL, Environment, EnvKind
from turktui.emulator import EmulatorServer
from turktui.ui.app import TurkTuiApp
from turktui.ui.context import AppContext

FIXED_NOW = datetime(2026, 6, 15, 12, 0, 0, tzinfo=timezone.utc)
SHOWN_URL = "http://127.0.0.1:8642"
#: An endpoint where nothing listens (the discard port): the "cannot reach" state.
UNREACHABLE_URL = "http://127.0.0.1:9"
SIZES: dict[str, tuple[int, int]] = {"80x24": (80, 24), "wide": (160, 48)}
BOTH = tuple(SIZES)
OP = "CreateAdditionalAssignmentsForHIT"

Stage = Callable[[Any, EmulatorServer], Awaitable[None]]


@dataclass(frozen=True)
class Scene:
    name: str
    description: str
    stage: Stage
    kind: EnvKind = EnvKind.DEMO
    faults: tuple[dict[str, Any], ...] = ()
    #: Operations whose requests the emulator holds, unapplied, until the pictures are taken
    #: (a request in flight for as long as the scene looks: `FaultInjector.hold`).
    held: tuple[str, ...] = ()
    sizes: tuple[str, ...] = BOTH
    read_only: bool = False
    #: The app talks to this URL instead of the emulator's (which still runs).
    real_url: str | None = None
    #: The endpoint the banner shows (default: SHOWN_URL, or MTurk's for production).
    shown_url: str | None = None
    #: The notifications are the point: not cleared before the picture.
    keep_notifications: bool = False
    #: Show notifications as toasts (run_test hides them otherwise).
    toasts: bool = False
    #: Staged again at each size (see `render_scene`): its wide picture differs from the
    #: 80x24 staging resized (a token seeded by size, a layout chosen while staging).
    restage: bool = False


def make_app(
    real_url: str,
    data_dir: Path,
    kind: EnvKind = EnvKind.DEMO,
    *,
    read_only: bool = False,
    shown_url: str | None = None,
) -> TurkTuiApp:
    """An app talking to `real_url` whose banner shows a fixed endpoint."""
    shown = shown_url or (PRODUCTION_URL if kind is EnvKind.PRODUCTION else SHOWN_URL)
    service = MTurkService(
        Environment(kind, real_url),
        credentials=DEMO_CREDENTIALS,
        connect_timeout=2.0,
        read_timeout=30.0,
        max_attempts=1,
    )
    env = Environment(kind, shown, None if kind is EnvKind.DEMO else "ops", read_only)
    paths = Paths(
        data_dir / "config.toml", data_dir, data_dir / "history.sqlite3", data_dir / "logs"
    )
    ctx = AppContext(  # a named operator: the pictures do not depend on user@host
        env=env,
        service=service,
        settings=Settings(operator="ops@example"),
        paths=paths,
        clock=lambda: FIXED_NOW,
    )
    return TurkTuiApp(ctx)


# -- staging helpers -----------------------------------------------------------------------
async def select(pilot: Any, title: str) -> None:
    """Put the cursor on the first HIT whose title starts with `title`."""
    table = pilot.app.main_screen.table
    hit = next(h for h in table.rows if h.title.startswith(title))
    assert table.move_to_hit(hit.hit_id)
    await pilot.pause()


async def open_dialog(pilot: Any, title: str, typed: str = "") -> None:
    await wait_ready(pilot)
    await select(pilot, title)
    await pilot.press("e")
    await wait_screen(pilot, "ExtendScreen")
    if typed:
        await pilot.press(*typed)
    await pilot.pause()


async def extend(pilot: Any, server: EmulatorServer, title: str, typed: str) -> None:
    """Extend one HIT through the dialog and wait until MTurk has answered it."""
    before = server.state.request_count(OP)
    await open_dialog(pilot, title, typed)
    await pilot.press("enter")
    await wait_screen(pilot, "MainScreen")
    await wait_for(pilot, lambda: server.state.request_count(OP) > before, what="the request")
    app = pilot.app
    await wait_for(
        pilot,
        lambda: not any(w.is_running for w in app.workers if w.group == "extend"),
        what="the extension",
    )


# -- the scenes ----------------------------------------------------------------------------
async def _list(pilot: Any, server: EmulatorServer) -> None:
    await wait_ready(pilot)


async def _list_sorted(pilot: Any, server: EmulatorServer) -> None:
    await wait_ready(pilot)
    await pilot.press("s", "s", "j", "j")


async def _headroom(pilot: Any, server: EmulatorServer) -> None:
    await wait_ready(pilot)
    await pilot.press("x")


async def _detail(pilot: Any, server: EmulatorServer) -> None:
    await wait_ready(pilot)
    await select(pilot, "Qualification requirements")
    await pilot.press("enter")
    await wait_screen(pilot, "DetailScreen")


async def _detail_multiline(pilot: Any, server: EmulatorServer) -> None:
    await wait_ready(pilot)
    await select(pilot, "Multi-line description")
    await pilot.press("enter")
    await wait_screen(pilot, "DetailScreen")


async def _extend_small(pilot: Any, server: EmulatorServer) -> None:
    await open_dialog(pilot, "Tag photos of street signs (4 assignments)", "3")


async def _extend_large(pilot: Any, server: EmulatorServer) -> None:
    await open_dialog(pilot, "Twenty-five assignments", "50")


async def _extend_blocked(pilot: Any, server: EmulatorServer) -> None:
    await open_dialog(pilot, "Too old to extend (2014)")


async def _extend_invalid(pilot: Any, server: EmulatorServer) -> None:
    await open_dialog(pilot, "Tag photos of street signs (4 assignments)", "12")


async def _production_confirm(pilot: Any, server: EmulatorServer) -> None:
    await open_dialog(pilot, "Twenty-five assignments", "5")
    await pilot.press("enter")
    await wait_screen(pilot, "ConfirmScreen")


async def _in_flight(pilot: Any, server: EmulatorServer) -> None:
    await open_dialog(pilot, "One hundred assignments", "20")
    await pilot.press("enter")
    await wait_screen(pilot, "MainScreen")
    # The request has reached MTurk, which holds it (the scene's `held`).
    await wait_for(pilot, lambda: server.state.request_count(OP) == 1, what="the request")


async def _history(pilot: Any, server: EmulatorServer) -> None:
    for title, typed in (
        ("Twenty-five assignments", "5"),
        ("Tag photos of street signs (2 a", "4"),
        ("Tag photos of street signs (4 assignments)", "5"),
    ):
        await extend(pilot, server, title, typed)
    await settle(pilot)
    await pilot.press("h")
    await wait_screen(pilot, "HistoryScreen")
    await wait_for(
        pilot,
        lambda: "3 records" in screen_text(pilot.app) and not pilot.app.screen.reading,
        what="3 records",
    )


async def _type_time(pilot: Any, typed: str) -> None:
    box = pilot.app.screen.query_one("#extend-expire")
    box.value = ""
    box.focus()
    await pilot.press(*typed)
    await pilot.pause()


async def _extend_add_time(pilot: Any, server: EmulatorServer) -> None:
    await open_dialog(pilot, "Tag photos of street signs (4 assignments)")
    await _type_time(pilot, "2d")


async def _extend_both(pilot: Any, server: EmulatorServer) -> None:
    await open_dialog(pilot, "Twenty-five assignments", "5")
    await _type_time(pilot, "12h")


async def _extend_time_too_short(pilot: Any, server: EmulatorServer) -> None:
    await open_dialog(pilot, "Twenty-five assignments")
    await _type_time(pilot, "30s")


async def _extend_expired(pilot: Any, server: EmulatorServer) -> None:
    await wait_ready(pilot)
    table = pilot.app.main_screen.table
    now = pilot.app.ctx.clock()
    hit = next(
        h
        for h in table.rows
        if h.is_expired(now)
        and h.max_assignments >= 10
        and h.created is not None
        and h.created.year >= 2016
    )
    assert table.move_to_hit(hit.hit_id)
    await pilot.press("e")
    await wait_screen(pilot, "ExtendScreen")
    await pilot.press("2")
    await pilot.pause()


async def _expire_confirm(pilot: Any, server: EmulatorServer) -> None:
    await wait_ready(pilot)
    await select(pilot, "Twenty-five assignments")
    await pilot.press("X")
    await wait_screen(pilot, "ConfirmScreen")


async def _assignments(pilot: Any, server: EmulatorServer) -> None:
    await wait_ready(pilot)
    table = pilot.app.main_screen.table
    hit = next(
        h
        for h in table.rows
        if h.completed >= 20 and h.max_assignments - h.available - h.pending > h.completed
    )
    assert table.move_to_hit(hit.hit_id)
    await pilot.press("A")
    app = pilot.app
    await wait_screen(pilot, "AssignmentsScreen")
    await wait_for(pilot, lambda: app.screen.loads > 0, what="the assignments")


async def _review_view(pilot: Any, server: EmulatorServer) -> None:
    """A HIT with work to review: three Submitted, two Approved; two rows marked."""
    from tests.reviewkit import hit_with_work

    hit_id = hit_with_work(server, 3, NumberOfAssignmentsCompleted=2, Title="Rate these photos")
    await wait_ready(pilot)
    app = pilot.app
    app.main_screen.action_reload()
    await wait_for(pilot, lambda: app.main_screen.table.move_to_hit(hit_id), what="the new HIT")
    await wait_loaded(pilot)
    await pilot.press("A")
    await wait_screen(pilot, "AssignmentsScreen")
    await wait_for(pilot, lambda: app.screen.loads > 0, what="the assignments")
    await pilot.press("space", "space")


async def _review_bonus(pilot: Any, server: EmulatorServer) -> None:
    """The bonus dialog for the two marked assignments: amount, fee, total, balance."""
    await _review_view(pilot, server)
    await pilot.press("dollar_sign")
    await wait_screen(pilot, "ReviewScreen")
    app = pilot.app
    await wait_for(pilot, lambda: app.screen.focused is not None)
    await pilot.press("1", "full_stop", "5", "0", "tab")
    for key in "Thanks":
        await pilot.press(key)
    await wait_for(pilot, lambda: app.screen.decision is not None, what="a decision")
    steady_cursor(app)


async def _help(pilot: Any, server: EmulatorServer) -> None:
    await wait_ready(pilot)
    await pilot.press("question_mark")
    await wait_screen(pilot, "HelpScreen")


async def mark(pilot: Any, titles: tuple[str, ...]) -> None:
    """Mark the first HIT whose title starts with each of `titles`."""
    for title in titles:
        await select(pilot, title)
        await pilot.press("space")
    await pilot.pause()


#: A mix the bulk scenes mark: under 10, 10+, a capped one, one too old, one expired.
BULK_TITLES = (
    "Tag photos of street signs (4 assignments)",
    "Tag photos of street signs (2 a",
    "Twenty-five assignments",
    "Too old to extend (2014)",
    "Expired, large",
)


async def open_bulk(pilot: Any, mode: str = "add", number: str = "", time: str = "") -> None:
    await wait_ready(pilot)
    await mark(pilot, BULK_TITLES)
    await pilot.press("b")
    await wait_screen(pilot, "BulkScreen")
    screen = pilot.app.screen
    if mode != "add":
        await pilot.click(f"#mode-{mode}")
    screen.query_one("#bulk-number").value = number
    screen.query_one("#bulk-time").value = time
    screen.query_one("#bulk-number").focus()
    await pilot.pause()


async def _bulk_add(pilot: Any, server: EmulatorServer) -> None:
    await open_bulk(pilot, "add", "5")


async def _bulk_top_up(pilot: Any, server: EmulatorServer) -> None:
    await open_bulk(pilot, "top-up", "12")


async def _bulk_nine(pilot: Any, server: EmulatorServer) -> None:
    await open_bulk(pilot, "nine", "3")


async def _bulk_add_time(pilot: Any, server: EmulatorServer) -> None:
    await open_bulk(pilot, "add", "5", "1d")


async def _bulk_time_only(pilot: Any, server: EmulatorServer) -> None:
    await open_bulk(pilot, "add", "", "12h")


async def _bulk_confirm(pilot: Any, server: EmulatorServer) -> None:
    await open_bulk(pilot, "add", "5", "1d")
    await pilot.press("ctrl+s")
    await wait_screen(pilot, "ConfirmScreen")


async def _bulk_finished(pilot: Any, server: EmulatorServer) -> None:
    await open_bulk(pilot, "add", "2", "1d")
    await pilot.press("ctrl+s")
    await wait_screen(pilot, "BatchScreen")
    screen = pilot.app.screen
    status = screen.query_one(".dialog-status")
    app = pilot.app
    # The batch's end reaches the screen (its counts) and the app (the marks it clears, said
    # on the status line, and the balance read again in a worker) as separate messages, and
    # the list's banner under the dialog is drawn again at that screen's next frame: the
    # picture waits for each, the balance as it is drawn.
    await wait_for(
        pilot,
        lambda: (
            not screen.running
            and "Marks cleared" in str(status.render())
            and f"balance ${server.state.balance:,.2f}" in screen_text(app)
        ),
        what="the batch, its notice and the balance after it, drawn",
    )


async def _bulk_running(pilot: Any, server: EmulatorServer) -> None:
    await open_bulk(pilot, "add", "2")
    await pilot.press("ctrl+s")
    await wait_screen(pilot, "BatchScreen")
    screen = pilot.app.screen
    await wait_for(
        pilot,
        lambda: (
            bool(screen.states)
            and screen.sending == len(screen.states) == server.state.request_count(OP)
        ),
        what="every member on the wire",
    )
    screen.ticker.pause()  # one frame of the spinner in the picture
    table = screen.query_one("#batch-members")
    table.frame = 0
    table.invalidate_cells()


async def _record_detail(pilot: Any, server: EmulatorServer) -> None:
    await _history(pilot, server)
    await pilot.press("enter")
    await wait_screen(pilot, "RecordScreen")


async def _help_on(pilot: Any, key: str, screen: str, prepare: Stage, server: Any) -> None:
    await prepare(pilot, server)
    await pilot.press(key)
    await wait_screen(pilot, screen)


async def _help_history(pilot: Any, server: EmulatorServer) -> None:
    await _help_on(pilot, "question_mark", "HelpScreen", _history, server)


async def _help_detail(pilot: Any, server: EmulatorServer) -> None:
    await _help_on(pilot, "question_mark", "HelpScreen", _detail, server)


async def _help_assignments(pilot: Any, server: EmulatorServer) -> None:
    await _help_on(pilot, "question_mark", "HelpScreen", _assignments, server)


async def _read_only_extend(pilot: Any, server: EmulatorServer) -> None:
    await wait_ready(pilot)
    await select(pilot, "Twenty-five assignments")
    await pilot.press("e")
    await wait_for(pilot, lambda: bool(pilot.app._notifications), what="the refusal")


async def _toasts(pilot: Any, server: EmulatorServer) -> None:
    await wait_ready(pilot)
    await _three_toasts(pilot)


async def _toasts_over_dialog(pilot: Any, server: EmulatorServer) -> None:
    """Toasts raised on the list, then the dialog opened and a message raised over it: the
    list's toasts are not drawn again under the dialog, the message is on its status line."""
    await wait_ready(pilot)
    await _three_toasts(pilot)
    await open_dialog(pilot, "Twenty-five assignments", "5")
    pilot.app.notify("Copied Q2ZHM1ZIAGX0L1DGYMS1WUBFPGH8WA to the clipboard.", markup=False)
    await wait_for(pilot, lambda: bool(pilot.app.screen.query(".dialog-status")))


async def _toast_long(pilot: Any, server: EmulatorServer) -> None:
    """A long message: said in whole sentences, wrapped fully (never cut mid-sentence)."""
    await wait_ready(pilot)
    pilot.app.notify(
        "The history could not be written: the disk is full (28 KiB free). The request was "
        "sent, and its outcome is kept in memory until the history can be written again. "
        "Free some space, then open the history (h) to check the request. Nothing else will "
        "be sent until then.",
        severity="error",
        markup=False,
    )
    await wait_for(pilot, lambda: len(pilot.app.screen.query("Toast")) == 1, what="the toast")


async def _toasts_batch(pilot: Any, server: EmulatorServer) -> None:
    """A finished batch: its notice and a copy are on the status line, not over its header."""
    await _bulk_finished(pilot, server)
    await pilot.press("c")
    await wait_for(pilot, lambda: bool(pilot.app.screen.query(".dialog-status")))


async def _three_toasts(pilot: Any) -> None:
    app = pilot.app
    app.notify("Extended Q2ZHM1ZIAGX0L1DGYMS1WUBFPGH8WA: +5 assignments (25 \u2192 30).")
    app.notify("Copied Q2ZHM1ZIAGX0L1DGYMS1WUBFPGH8WA to the clipboard.")
    app.notify(
        "The endpoint did not answer in time; the request is recorded and will be checked "
        "with GetHIT before anything is sent again.",
        severity="error",
    )
    await wait_for(pilot, lambda: len(app.screen.query("Toast")) == 3, what="three toasts")


SCENES: tuple[Scene, ...] = (
    Scene("list", "The HIT list, loaded", _list),
    Scene(
        "list-sorted", "The HIT list sorted by title, cursor moved", _list_sorted, sizes=("wide",)
    ),
    Scene("detail", "The detail view of a HIT", _detail),
    Scene(
        "detail-multiline",
        "A HIT whose description has several lines",
        _detail_multiline,
        sizes=("80x24",),
    ),
    Scene("extend-under-10", "Extending a HIT created with 4 assignments", _extend_small),
    Scene("extend-10-plus", "Extending a HIT with 25 assignments", _extend_large),
    Scene("extend-too-old", "A HIT that cannot be extended", _extend_blocked),
    Scene("extend-invalid", "A number beyond the allowed range", _extend_invalid),
    Scene(
        "production-confirm",
        "The production confirmation",
        _production_confirm,
        kind=EnvKind.PRODUCTION,
    ),
    Scene(
        "production-headroom",
        "Production, only HITs with headroom",
        _headroom,
        kind=EnvKind.PRODUCTION,
        sizes=("80x24",),
    ),
    Scene(
        "in-flight",
        "A request in flight (the service is slow)",
        _in_flight,
        held=(OP,),
        keep_notifications=True,
    ),
    Scene("history", "The request history", _history),
    Scene("help", "The help screen", _help),
    Scene("help-read-only", "The help screen, read-only", _help, read_only=True, sizes=("80x24",)),
    Scene(
        "unreachable",
        "The endpoint cannot be reached",
        _list,
        kind=EnvKind.SANDBOX,
        real_url=UNREACHABLE_URL,
        shown_url=UNREACHABLE_URL,
        sizes=("80x24",),
    ),
    Scene("extend-add-time", "Adding time only to a live HIT", _extend_add_time, restage=True),
    Scene("extend-both", "Adding assignments and time in one request", _extend_both, restage=True),
    Scene(
        "extend-time-too-short",
        "A time MTurk would refuse (under a minute)",
        _extend_time_too_short,
    ),
    Scene("extend-expired", "An expired HIT: time counted from now", _extend_expired, restage=True),
    Scene(
        "expire-confirm",
        "Expire now: the confirmation (sandbox)",
        _expire_confirm,
        kind=EnvKind.SANDBOX,
    ),
    Scene("assignments", "The assignments of a HIT", _assignments),
    Scene(
        "assignments-review",
        "Reviewing: two assignments marked (Y approve, N reject, $ bonus)",
        _review_view,
    ),
    Scene("review-bonus", "A bonus for the marked assignments: fee, total, balance", _review_bonus),
    Scene("bulk-add", "Bulk: add N to each marked HIT", _bulk_add),
    Scene("bulk-top-up", "Bulk: top up to a target maximum", _bulk_top_up),
    Scene("bulk-nine", "Bulk: top up to 9, add N to HITs at 10+", _bulk_nine),
    Scene("bulk-add-time", "Bulk: add N and add time to each", _bulk_add_time),
    Scene("bulk-time-only", "Bulk: add time only", _bulk_time_only),
    Scene(
        "bulk-confirm",
        "Bulk: the totals confirmed (sandbox)",
        _bulk_confirm,
        kind=EnvKind.SANDBOX,
        restage=True,
    ),
    Scene(
        "bulk-running",
        "Bulk: a batch in progress (the service is slow)",
        _bulk_running,
        held=(OP,),
    ),
    Scene("bulk-finished", "Bulk: a finished batch", _bulk_finished),
    Scene("record-detail", "A history record in detail", _record_detail),
    Scene("help-history", "The help screen over the history", _help_history),
    Scene("help-detail", "The help screen over a HIT's detail", _help_detail, restage=True),
    Scene(
        "help-assignments", "The help screen over the assignments", _help_assignments, restage=True
    ),
    Scene(
        "read-only-extend",
        "A read-only session: the extend dialog refuses",
        _read_only_extend,
        read_only=True,
        keep_notifications=True,
    ),
    Scene(
        "toasts", "Three notifications over the list", _toasts, keep_notifications=True, toasts=True
    ),
    Scene(
        "toasts-dialog",
        "Notifications and the extend dialog: its status line, no toast over it",
        _toasts_over_dialog,
        keep_notifications=True,
        toasts=True,
    ),
    Scene(
        "toast-long",
        "A long notification: whole sentences, never cut",
        _toast_long,
        keep_notifications=True,
        toasts=True,
    ),
    Scene(
        "toasts-batch",
        "A finished batch: its notices on the status line, its header clear",
        _toasts_batch,
        keep_notifications=True,
        toasts=True,
    ),
)

#: Every picture: (scene, size name), each rendered once per run.
PICTURES: tuple[tuple[Scene, str], ...] = tuple(
    (scene, size) for scene in SCENES for size in scene.sizes
)


#: What did not fit, per (scene name, size name) staged in this process (tests/fit.py), read
#: by tests/test_screenshots.py right after staging.
FIT: dict[tuple[str, str], list[str]] = {}


def file_name(scene: Scene, size_name: str) -> str:
    return f"{scene.name}-{size_name}.svg"


async def settle(pilot: Any) -> None:
    """Drop staging notifications so they don't clutter the picture."""
    pilot.app.clear_notifications()
    await pilot.pause()


async def prepare(scene: Scene, pilot: Any, server: EmulatorServer) -> None:
    """Stage `scene`; clear staging notifications unless they are the point."""
    await scene.stage(pilot, server)
    if not scene.keep_notifications:
        await settle(pilot)
    steady_cursor(pilot.app)
    await pilot.wait_for_scheduled_animations()
    await pilot.pause()


async def stage(
    scene: Scene, server: EmulatorServer, data_dir: Path, sizes: tuple[str, ...]
) -> dict[str, str]:
    """Run the real app headless, stage `scene` at the first of `sizes`, and take its SVG
    screenshot there and at each further size (the terminal resized, as a user would)."""
    app = make_app(
        scene.real_url or server.url,
        data_dir,
        scene.kind,
        read_only=scene.read_only,
        shown_url=scene.shown_url,
    )
    pictures: dict[str, str] = {}
    async with app.run_test(size=SIZES[sizes[0]], notifications=scene.toasts) as pilot:
        await prepare(scene, pilot, server)
        for size_name in sizes:
            if pictures:
                await pilot.resize_terminal(*SIZES[size_name])
                await pilot.pause()
                await pilot.pause()
                await pilot.wait_for_scheduled_animations()
            FIT[(scene.name, size_name)] = fit_problems(app)
            pictures[size_name] = app.export_screenshot(title=f"turktui — {scene.description}")
        server.faults.clear()  # held requests land before the app leaves
    return pictures


@contextlib.contextmanager
def steady_pipeline(seed: str) -> Iterator[None]:
    """Tokens, batch ids and measured durations the same on every run: the pipeline's
    `uuid.uuid4` is seeded and its `time.monotonic` is a per-thread counter (1 ms a call), so
    a record's token, its duration and its attempts' durations are fixed in the picture."""
    from turktui.pipeline import batch, engine, model, sending

    rng = random.Random(seed)
    lock = threading.Lock()
    ticks = threading.local()

    def uuid4() -> uuid.UUID:
        with lock:
            return uuid.UUID(int=rng.getrandbits(128), version=4)

    def monotonic() -> float:
        ticks.n = getattr(ticks, "n", 0) + 1
        return 1000.0 + ticks.n / 1000

    fake_uuid = types.SimpleNamespace(uuid4=uuid4)
    fake_time = types.SimpleNamespace(
        **{k: getattr(time, k) for k in dir(time) if not k.startswith("__")}
    )
    fake_time.monotonic = monotonic
    saved = (engine.uuid, batch.uuid, model.uuid, engine.time, sending.time)
    engine.uuid, batch.uuid, model.uuid = fake_uuid, fake_uuid, fake_uuid  # type: ignore[assignment]
    engine.time = sending.time = fake_time  # type: ignore[assignment]
    try:
        yield
    finally:
        engine.uuid, batch.uuid, model.uuid, engine.time, sending.time = saved  # type: ignore[assignment]


def render_scene(scene: Scene, data_dir: Path) -> dict[str, str]:
    """`scene` at every size (SIZES), each against a freshly seeded emulator: its SVG per
    size name (its fit problems in FIT). Staged once and resized, which draws the same as
    staging at each size (tests/test_screenshots.py compares every picture), unless the
    scene is `restage`d or pictured at one size only."""
    sizes = tuple(SIZES)
    if scene.restage or scene.sizes != sizes:
        pictures: dict[str, str] = {}
        for size_name in sizes:
            pictures.update(_render(scene, (size_name,), data_dir / size_name))
        return pictures
    return _render(scene, sizes, data_dir)


def _render(scene: Scene, sizes: tuple[str, ...], data_dir: Path) -> dict[str, str]:
    with (
        steady_pipeline(f"{scene.name}-{sizes[0]}"),
        EmulatorServer(hits=200, seed=1, now=FIXED_NOW.timestamp) as server,
    ):
        for fault in scene.faults:
            server.faults.add(**fault)
        for op in scene.held:
            server.faults.hold(op)
        try:
            return asyncio.run(stage(scene, server, data_dir, sizes))
        finally:
            server.faults.clear()
