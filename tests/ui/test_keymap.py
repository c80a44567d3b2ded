"""The key map (turktui/ui/keymap.py) is the one source of keys.

Table-driven: for every screen and every key of the map, pressing it on that screen runs the
action the map gives (or nothing, where the key does not apply), and no key has two meanings.
Also: each screen's `?` shows that screen's keys (80×24, scrolling), type-ahead after `/` in
every filter box, navigation keys in the scroll views, the palette per screen, and the
key tables of docs/terminal.md and the README are `keymap.markdown_table()` and
`keymap.markdown_summary()`.
"""

from __future__ import annotations

import re
from collections import Counter
from pathlib import Path
from typing import Any

import pytest
from textual import events
from textual.actions import parse as parse_action
from textual.command import CommandPalette
from textual.containers import ScrollableContainer
from textual.screen import Screen
from textual.widgets import Input

from tests.ui.helpers import notifications, screen_text, wait_for, wait_loaded
from turktui.domain.models import Assignment
from turktui.pipeline.engine import new_token
from turktui.pipeline.operations import APPROVE
from turktui.ui import extend_flow, keymap
from turktui.ui.app import TurkTuiApp
from turktui.ui.commands import app_commands
from turktui.ui.screens.assignments import AssignmentsScreen
from turktui.ui.screens.bulk import BatchScreen, BulkScreen, MemberTable
from turktui.ui.screens.confirm import ConfirmScreen
from turktui.ui.screens.detail import DetailScreen
from turktui.ui.screens.extend import ExtendScreen
from turktui.ui.screens.help import HelpScreen
from turktui.ui.screens.history import HistoryScreen, RecordList, RecordScreen
from turktui.ui.screens.main import MainScreen
from turktui.ui.screens.review import ReviewScreen
from turktui.ui.widgets.vtable import VirtualTable

README = Path(__file__).resolve().parents[2] / "README.md"
TERMINAL_DOC = README.parent / "docs" / "terminal.md"

SCREEN_CLASSES: dict[str, type[Screen[Any]]] = {
    "main": MainScreen,
    "detail": DetailScreen,
    "assignments": AssignmentsScreen,
    "history": HistoryScreen,
    "record": RecordScreen,
    "extend": ExtendScreen,
    "bulk": BulkScreen,
    "batch": BatchScreen,
    "review": ReviewScreen,
    "confirm": ConfirmScreen,
    "help": HelpScreen,
}
#: every key the map binds on the screens (Textual's ctrl+p is documented, not bound; the
#: app-level keys quit, tested alone)
MAP_KEYS = sorted({key for k in keymap.KEYMAP if not k.builtin for key in k.key_list})
_CHARS = {"slash": "/", "question_mark": "?", "space": " ", "enter": "\r", "escape": "\x1b"}


# -- the map itself ---------------------------------------------------------------------------
def test_no_key_has_two_meanings() -> None:
    seen: dict[str, keymap.Key] = {}
    for entry in keymap.KEYMAP:
        for key in entry.key_list:
            assert key not in seen, f"{key!r} means {seen[key].help!r} and {entry.help!r}"
            seen[key] = entry
        assert entry.screens, entry
        assert entry.footer <= entry.screens, entry
        assert set(entry.actions) <= entry.screens, entry


@pytest.mark.parametrize("screen", list(keymap.SCREENS))
def test_each_screen_binds_each_key_once(screen: str) -> None:
    keys = Counter(
        key
        for binding in keymap.bindings(screen)
        if not binding.action.startswith("app.read_only(")
        for key in binding.key.split(",")
    )
    assert [k for k, n in keys.items() if n > 1] == []
    assert keys["question_mark"] == 1 and keys["escape"] == 1 and keys["q"] == 1


def test_every_screen_class_binds_the_key_map() -> None:
    assert set(SCREEN_CLASSES) == set(keymap.SCREENS)
    for name, cls in SCREEN_CLASSES.items():
        assert name == cls.KEYMAP_SCREEN  # type: ignore[attr-defined]
        assert keymap.bindings(name) == cls.BINDINGS, name


def test_lists_bind_the_map_navigation_keys() -> None:
    table = {(b.key, b.action) for b in VirtualTable.BINDINGS}  # type: ignore[union-attr]
    assert table == {(k.keys, k.action) for k in keymap.KEYMAP if k.navigation}


def test_q_quits_only_from_the_main_list() -> None:
    for name in keymap.SCREENS:
        [q] = [b for b in keymap.bindings(name) if b.key == "q"]
        assert q.action == ("app.quit" if name == "main" else "app.quit_hint"), name


def test_hints_in_messages_name_the_mapped_keys() -> None:
    assert keymap.key("app.history", "main") == "h"
    assert keymap.key("resolve", "history") == "R"  # r only reloads the history
    assert keymap.key("reload", "history") == "r"
    assert keymap.key("back", "batch") == "Esc"
    with pytest.raises(KeyError):
        keymap.key("resolve", "main")


@pytest.mark.parametrize(
    ("page", "block", "table"),
    [
        (TERMINAL_DOC, "keys", keymap.markdown_table),
        (README, "keys-short", keymap.markdown_summary),
    ],
    ids=["docs/terminal.md: every key", "README: the short table"],
)
def test_documented_key_tables_are_the_key_map(page: Path, block: str, table: Any) -> None:
    text = page.read_text("utf-8")
    found = re.search(rf"<!-- {block}:begin[^>]*-->\n(.*?)<!-- {block}:end -->", text, re.S)
    assert found, f"{page.name} has no generated key table ({block})"
    assert found.group(1) == table()


# -- opening each screen ------------------------------------------------------------------------
def _unsettled_record(app: TurkTuiApp) -> int:
    store = extend_flow.get_history(app)
    assert store is not None
    hit = app.main_screen.table.rows[0]
    return store.create(
        env_kind="demo",
        endpoint=app.ctx.env.endpoint_url,
        profile=None,
        hit_id=hit.hit_id,
        hit_title=hit.title,
        n=1,
        token=new_token(),
        max_before=hit.max_assignments,
        expected_after=hit.max_assignments + 1,
    )


async def _open(app: TurkTuiApp, pilot: Any, name: str) -> Screen[Any]:
    """`name`'s screen on top of the app (through the app where it opens one)."""
    ctx = app.ctx
    hit = app.main_screen.table.cursor_hit
    assert hit is not None
    if name == "main":
        return app.main_screen
    if name == "history":
        app.action_history()
        await wait_for(
            pilot, lambda: isinstance(app.screen, HistoryScreen) and not app.screen.reading
        )
        return app.screen
    screen: Screen[Any]
    if name == "detail":
        screen = DetailScreen(ctx, hit)
    elif name == "assignments":
        screen = AssignmentsScreen(ctx, hit)
    elif name == "record":
        store = extend_flow.get_history(app)
        record = store.get(_unsettled_record(app))  # type: ignore[union-attr]
        screen = RecordScreen(record, lambda rec: None)
    elif name == "extend":
        screen = ExtendScreen(hit, ctx)
    elif name == "bulk":
        screen = BulkScreen([hit], ctx)
    elif name == "batch":
        screen = BatchScreen("Batch", on_cancel=lambda: None, on_retry=lambda s: None)
    elif name == "review":
        row = Assignment("A1", worker_id="W1", hit_id=hit.hit_id, status="Submitted")
        screen = ReviewScreen(APPROVE, [row], hit, ctx.env, None, title="Approve 1")
    elif name == "confirm":
        screen = ConfirmScreen("Confirm", "Send it?")
    else:
        screen = HelpScreen("main")
    app.push_screen(screen)
    await wait_for(pilot, lambda: app.screen is screen and screen.is_mounted)
    return screen


def _record_actions(app: TurkTuiApp) -> list[tuple[str, object, bool]]:
    """Replace the app's `run_action` (what a key binding calls) by a recorder: every
    action a key tries, its target and whether the target allowed it. Nothing runs, so
    every key of the map can be pressed on one screen."""
    tried: list[tuple[str, object, bool]] = []

    async def run_action(
        action: Any, default_namespace: Any = None, namespaces: Any = None
    ) -> bool:
        destination, name, params = parse_action(action)
        target = app if destination == "app" else (default_namespace or app)
        allowed = bool(target.check_action(name, params))
        tried.append((name, target, allowed))
        return allowed

    app.run_action = run_action  # type: ignore[method-assign]
    return tried


def _expected(key: str, screen: str) -> str | None:
    entry = keymap.entry_for(key, screen)
    if entry is not None:
        return entry.action_on(screen)
    for k in keymap.KEYMAP:
        if key in k.key_list and k.elsewhere:
            return k.elsewhere
    return None


def _focus_for_bindings(screen: Screen[Any]) -> None:
    """Lists keep their table focused (its own navigation keys are the map's); elsewhere
    no widget has the focus, so the screen's own bindings answer (a text box would take
    the letters; a scroll view its arrows: both tested below)."""
    tables = [t for t in screen.query(VirtualTable) if t.display]
    if screen.KEYMAP_SCREEN in keymap.LISTS and tables:  # type: ignore[attr-defined]
        screen.set_focus(tables[0])
    else:
        screen.set_focus(None)


#: a read-only session never opens the dialogs, the batch progress or a record to resolve
_READ_ONLY_SCREENS = ("main", "detail", "assignments", "history", "help")


async def _back_to_the_list(app: TurkTuiApp, pilot: Any) -> None:
    """Close whatever `_open` put on top (nothing ran on it), back to the main list."""
    while len(app.screen_stack) > 1:
        app.pop_screen()
    await wait_for(pilot, lambda: app.screen is app.main_screen, what="the main list on top")


@pytest.mark.parametrize("read_only", [False, True], ids=["writable", "read-only"])
async def test_every_key_runs_its_mapped_action_on_every_screen(
    read_only: bool, emulator: Any, make_context: Any
) -> None:
    """Every key of the map, pressed on every screen in turn (one app: nothing runs, so
    each screen is opened over the list and closed again)."""
    app = TurkTuiApp(make_context(emulator.url, read_only=read_only))
    async with app.run_test(size=(80, 24)) as pilot:
        await wait_loaded(pilot)
        names = _READ_ONLY_SCREENS if read_only else tuple(keymap.SCREENS)
        for name in names:
            screen = await _open(app, pilot, name)
            _focus_for_bindings(screen)
            await pilot.pause()
            tried = _record_actions(app)
            for key in MAP_KEYS:
                tried.clear()
                await pilot.press(key)
                _check_key(app, screen, name, read_only, key, tried)
            del app.run_action  # the recorder goes: the class's own again
            await _back_to_the_list(app, pilot)


def _check_key(
    app: TurkTuiApp,
    screen: Screen[Any],
    name: str,
    read_only: bool,
    key: str,
    tried: list[tuple[str, object, bool]],
) -> None:
    expected = _expected(key, name)
    if expected is None:
        assert tried == [], f"{key!r} on {name}: not in the map here, yet ran {tried}"
        return
    destination, action, _params = parse_action(expected)
    assert tried, f"{key!r} on {name}: should run {expected}, ran nothing"
    got, target, allowed = tried[0]
    assert got == action, f"{key!r} on {name}: ran {got!r}, the map says {expected!r}"
    if destination == "app":
        assert target is app, (key, name, target)
    else:  # the screen, or (its own navigation keys) the focused list
        assert target is screen or target is screen.focused, (key, name, target)
    assert callable(getattr(target, f"action_{action}", None)), (name, action)
    entry = keymap.entry_for(key, name)
    if read_only and entry is not None and entry.write:
        # refused, and the fallback says why
        assert not allowed, f"{key!r} on {name} is allowed in a read-only session"
        assert [t[0] for t in tried[1:2]] == ["read_only"], (key, name, tried)
    assert app.screen is screen, f"{key!r} on {name}: left the screen (nothing should run)"


# -- help ---------------------------------------------------------------------------------------
def _box_text(app: TurkTuiApp, box: Any) -> str:
    region = box.region
    lines = screen_text(app).splitlines()
    return "\n".join(line[region.x : region.right] for line in lines[region.y : region.bottom])


def _prefix(text: str) -> str:
    return text[:30]


async def test_help_shows_the_keys_of_the_screen_it_is_pressed_on(
    emulator: Any, make_context: Any
) -> None:
    """`?` on every screen in turn (one app): the help of that screen, fitting 80x24."""
    app = TurkTuiApp(make_context(emulator.url))
    async with app.run_test(size=(80, 24)) as pilot:
        await wait_loaded(pilot)
        for name in keymap.SCREENS:
            await _help_on(app, pilot, name)
            await _back_to_the_list(app, pilot)


async def _help_on(app: TurkTuiApp, pilot: Any, name: str) -> None:
    screen = await _open(app, pilot, name)
    if name == "review":  # its feedback box takes "?" as text (F1 is the help there)
        screen.set_focus(None)
    await pilot.press("question_mark")  # with a dialog's number box focused, too
    if name == "help":  # `?` on the help closes it
        await wait_for(pilot, lambda: app.screen is app.main_screen, what="help closed by ?")
        return
    await wait_for(pilot, lambda: isinstance(app.screen, HelpScreen), what=f"help on {name}")
    help_screen = app.screen
    assert help_screen.for_screen == name
    box = help_screen.query_one("#help-box", ScrollableContainer)
    await pilot.pause()
    # It fits 80×24, and scrolls (PgDn) to show every row.
    assert box.region.x >= 0 and box.region.y >= 0, name
    assert box.region.right <= 80 and box.region.bottom <= 24, name
    seen = _box_text(app, box)
    for _ in range(20):
        if box.scroll_y >= box.max_scroll_y:
            break
        await pilot.press("pagedown")
        await pilot.pause()
        seen += "\n" + _box_text(app, box)
    assert f"keys: {keymap.SCREENS[name]}" in seen, name
    assert "Esc or ? closes." in seen, name
    flat = re.sub(r"\s+", " ", seen)
    for _keys, what in keymap.help_rows(name):
        assert _prefix(what) in flat, (name, what)
    for entry in keymap.KEYMAP:
        if not entry.applies(name):
            others = [e for e in keymap.entries(name) if _prefix(e.help) == _prefix(entry.help)]
            if not others:
                assert _prefix(entry.help) not in flat, (name, entry.help)
    await pilot.press("escape")
    await wait_for(pilot, lambda: app.screen is screen, what=f"back on {name} after Esc")


async def test_read_only_help_leaves_out_write_keys_and_says_why(
    emulator: Any, make_context: Any
) -> None:
    app = TurkTuiApp(make_context(emulator.url, read_only=True))
    async with app.run_test(size=(80, 24)) as pilot:
        await wait_loaded(pilot)
        await pilot.press("question_mark")
        await wait_for(pilot, lambda: isinstance(app.screen, HelpScreen))
        box = app.screen.query_one("#help-box", ScrollableContainer)
        await pilot.press("G")
        await pilot.pause()
        text = re.sub(r"\s+", " ", _box_text(app, box))
        assert "Off in this read-only session" in text
        assert "extend the HIT" not in text and "bulk: extend the marked" not in text
        assert "expire the HIT now" not in text


# -- navigation in the scroll views -------------------------------------------------------------
async def _nav_scrolls(pilot: Any, view: ScrollableContainer) -> None:
    assert view.max_scroll_y > 1, "the view does not overflow: nothing to test"
    for keys, check in (
        (("j",), lambda: view.scroll_y == 1),
        (("j", "k"), lambda: view.scroll_y == 1),
        (("G",), lambda: view.scroll_y == view.max_scroll_y),
        (("g",), lambda: view.scroll_y == 0),
        (("pagedown",), lambda: view.scroll_y > 1),
        (("ctrl+b",), lambda: view.scroll_y == 0),
        (("end",), lambda: view.scroll_y == view.max_scroll_y),
        (("home",), lambda: view.scroll_y == 0),
    ):
        await pilot.press(*keys)
        await wait_for(pilot, check, what=f"{keys} to scroll ({view.scroll_y})")


async def test_jk_gG_scroll_the_hit_detail(emulator: Any, make_context: Any) -> None:
    app = TurkTuiApp(make_context(emulator.url))
    async with app.run_test(size=(80, 14)) as pilot:
        await wait_loaded(pilot)
        await pilot.press("enter")
        await wait_for(pilot, lambda: isinstance(app.screen, DetailScreen))
        view = app.screen.query_one("#detail-scroll", ScrollableContainer)
        await pilot.pause()
        await _nav_scrolls(pilot, view)


async def test_jk_gG_scroll_the_history_record(emulator: Any, make_context: Any) -> None:
    app = TurkTuiApp(make_context(emulator.url))
    async with app.run_test(size=(80, 14)) as pilot:
        await wait_loaded(pilot)
        screen = await _open(app, pilot, "record")
        view = screen.query_one("#record-box", ScrollableContainer)
        await pilot.pause()
        await _nav_scrolls(pilot, view)


async def test_jk_gG_scroll_the_help(emulator: Any, make_context: Any) -> None:
    app = TurkTuiApp(make_context(emulator.url))
    async with app.run_test(size=(80, 24)) as pilot:
        await wait_loaded(pilot)
        await pilot.press("question_mark")
        await wait_for(pilot, lambda: isinstance(app.screen, HelpScreen))
        view = app.screen.query_one("#help-box", ScrollableContainer)
        await pilot.pause()
        await _nav_scrolls(pilot, view)


async def test_jk_move_the_history_list_even_from_the_filter_box(
    emulator: Any, make_context: Any
) -> None:
    app = TurkTuiApp(make_context(emulator.url))
    async with app.run_test(size=(80, 24)) as pilot:
        await wait_loaded(pilot)
        for _ in range(3):
            _unsettled_record(app)
        screen = await _open(app, pilot, "history")
        listing = screen.query_one(RecordList)
        await pilot.press("j")
        await wait_for(pilot, lambda: listing.cursor == 1)
        await pilot.press("G")
        await wait_for(pilot, lambda: listing.cursor == 2)
        await pilot.press("slash")
        await pilot.press("up")  # the box has the focus: arrows still move the list
        await wait_for(pilot, lambda: listing.cursor == 1)


# -- type-ahead -----------------------------------------------------------------------------------
def _burst(app: TurkTuiApp, *keys: str) -> None:
    """Keys queued in one go, before the app handles the first (a paste, tmux send-keys):
    the filter box cannot have the focus yet when the second arrives."""
    for key in keys:
        app.post_message(events.Key(key, _CHARS.get(key, key if len(key) == 1 else None)))


async def test_type_ahead_goes_into_the_main_filter(demo_context: Any) -> None:
    app = TurkTuiApp(demo_context)
    async with app.run_test(size=(80, 24)) as pilot:
        await wait_loaded(pilot)
        main = app.main_screen
        _burst(app, "slash", "b", "o", "x", "backspace", "l", "d", "enter", "x")
        await wait_for(
            pilot, lambda: main.table.filter_text == "bold" and main.table.extendable_only
        )
        # "x" after Enter is a key again (extendable only); before it, it was text
        assert app.screen is main
        assert not main.table.expired_only and not app.marks


async def test_type_ahead_goes_into_the_history_filter(emulator: Any, make_context: Any) -> None:
    """`/ u r` once toggled "unsettled" and ran Resolve: every key goes into the box."""
    app = TurkTuiApp(make_context(emulator.url))
    async with app.run_test(size=(80, 24)) as pilot:
        await wait_loaded(pilot)
        _unsettled_record(app)
        hist = await _open(app, pilot, "history")
        assert isinstance(hist, HistoryScreen)
        await wait_for(pilot, lambda: hist.current is not None and not hist.current.settled)
        resolved: list[Any] = []
        hist.resolve_cb = resolved.append
        hist.resolve_batch_cb = resolved.append
        _burst(app, "slash", "u", "r")
        await wait_for(pilot, lambda: hist.filter_text == "ur" and not hist.reading)
        assert not hist.only_unsettled and resolved == [] and app.screen is hist
        await pilot.press("escape")  # clears the box and goes back to the list
        await wait_for(pilot, lambda: hist.filter_text == "" and not hist.reading)
        await wait_for(pilot, lambda: isinstance(hist.focused, RecordList))
        # Every key the history binds, typed right after /: all text, nothing runs.
        _burst(app, "slash", "U", "E", "m", "R", "B", "d", "c", "q", "enter")
        await wait_for(pilot, lambda: hist.filter_text == "UEmRBdcq" and not hist.reading)
        assert not hist.only_unsettled and hist.env_filter is None
        assert resolved == [] and app.screen is hist
        assert not [n for n in notifications(app) if n.message == keymap.Q_HINT]


# -- palette ---------------------------------------------------------------------------------------
async def test_palette_offers_the_actions_of_the_current_screen(
    emulator: Any, make_context: Any
) -> None:
    app = TurkTuiApp(make_context(emulator.url))
    async with app.run_test(size=(80, 24)) as pilot:
        await wait_loaded(pilot)
        main_names = {n for n, _, _ in app_commands(app)}
        for key in keymap.commands("main"):
            assert key.command_on("main") in main_names
        assert "Clear filters" in main_names and "Back" not in main_names
        assert "Toggle unsettled only" not in main_names
        hist = await _open(app, pilot, "history")
        names = {n for n, _, _ in app_commands(app, hist)}
        assert names == {k.command_on("history") for k in keymap.commands("history")}
        await pilot.press("ctrl+p")
        await pilot.press(*"unsettled only")
        await wait_for(pilot, lambda: "Toggle unsettled only" in screen_text(app))
        await pilot.press("enter")
        await wait_for(pilot, lambda: hist.only_unsettled)  # type: ignore[attr-defined]


async def test_palette_hides_write_actions_when_read_only(emulator: Any, make_context: Any) -> None:
    app = TurkTuiApp(make_context(emulator.url, read_only=True))
    async with app.run_test(size=(80, 24)) as pilot:
        await wait_loaded(pilot)
        names = {n for n, _, _ in app_commands(app)}
        for key in keymap.KEYMAP:
            if key.command and key.applies("main"):
                assert (key.command_on("main") in names) is (not key.write), key.command
        hist = await _open(app, pilot, "history")
        names = {n for n, _, _ in app_commands(app, hist)}
        assert "Resolve request" not in names and "Toggle unsettled only" in names


# -- q and Esc -------------------------------------------------------------------------------------
async def test_q_elsewhere_says_esc_goes_back(emulator: Any, make_context: Any) -> None:
    app = TurkTuiApp(make_context(emulator.url))
    async with app.run_test(size=(80, 24)) as pilot:
        await wait_loaded(pilot)
        for name in ("detail", "history", "assignments", "help"):
            screen = await _open(app, pilot, name)
            await pilot.press("q")
            await wait_for(
                pilot, lambda: any(n.message == keymap.Q_HINT for n in notifications(app))
            )
            assert app.screen is screen and app.is_running
            await pilot.press("escape")
            await wait_for(pilot, lambda: app.screen is app.main_screen)
            notifications(app).clear()


@pytest.mark.parametrize("size", [(80, 24), (160, 48)])
@pytest.mark.parametrize("where", ["main", "extend-box", "history-filter", "palette"])
async def test_ctrl_c_quits_from_anywhere(
    where: str, size: tuple[int, int], emulator: Any, make_context: Any
) -> None:
    """Ctrl-C leaves (as q and ctrl+q do), even from a text box with text in it or from the
    command palette; never the "press ctrl+q" notice."""
    app = TurkTuiApp(make_context(emulator.url))
    async with app.run_test(size=size) as pilot:
        await wait_loaded(pilot)
        if where == "extend-box":
            await _open(app, pilot, "extend")
            await pilot.press("4")
            assert isinstance(app.focused, Input) and app.focused.value == "4"
        elif where == "history-filter":
            await _open(app, pilot, "history")
            await pilot.press("slash", "x")
            assert isinstance(app.focused, Input)
        elif where == "palette":
            await pilot.press("ctrl+p")
            await wait_for(pilot, lambda: isinstance(app.screen, CommandPalette))
        await pilot.press("ctrl+c")
        await wait_for(pilot, lambda: app.return_code is not None, what="the app to quit")
    assert app.return_code == 0
    assert not any("quit" in n.title.lower() for n in notifications(app))


async def test_batch_progress_copy_is_the_row_id(emulator: Any, make_context: Any) -> None:
    app = TurkTuiApp(make_context(emulator.url))
    copied: list[str] = []
    app.copy_to_clipboard = copied.append  # type: ignore[method-assign]
    async with app.run_test(size=(80, 24)) as pilot:
        await wait_loaded(pilot)
        screen = await _open(app, pilot, "batch")
        store = extend_flow.get_history(app)
        record = store.get(_unsettled_record(app))  # type: ignore[union-attr]
        screen.post_message(BatchScreen.Recorded("batch-1", [record]))
        table = screen.query_one(MemberTable)
        await wait_for(pilot, lambda: len(table.rows) == 1)
        await pilot.press("c")
        await wait_for(pilot, lambda: copied == [record.hit_id])
        assert screen.running  # `c` no longer cancels the batch


# -- footer ---------------------------------------------------------------------------------------
async def test_every_footer_shows_help_first_at_80_columns(
    emulator: Any, make_context: Any
) -> None:
    """The footer is cut on the right at 80 columns: help comes first on every screen (F1
    where a focused text box would take `?`)."""
    app = TurkTuiApp(make_context(emulator.url))
    async with app.run_test(size=(80, 24)) as pilot:
        await wait_loaded(pilot)
        for name in keymap.SCREENS:
            if name == "help":
                continue  # (no footer: the help is the keys)
            screen = await _open(app, pilot, name)
            await pilot.pause()
            footer = screen_text(app).splitlines()[-1].split()
            first = "".join(footer[:2]) if footer and len(footer[0]) < 3 else footer[0]
            assert first in ("?Help", "f1Help"), (name, footer)
            assert ("qQuit" in footer or "q Quit" in " ".join(footer)) is (name == "main")
            while app.screen is not app.main_screen:
                app.pop_screen()
                await wait_for(pilot, lambda s=screen: not s.is_attached)
