"""The key map: every key of every screen, in one table.

Each screen's `BINDINGS` are built from it (`bindings("history")`), and so are the help
(`?`, per screen), the command palette, the footer (which keys show), the table of every key
in docs/terminal.md (`markdown_table()`) and the README's short one (`markdown_summary()`),
both checked by tests/ui/test_keymap.py. One key has one meaning on every screen where it is
bound; a screen where it does not apply does not bind it.

`q` quits from the main list only. Elsewhere it is bound to a notice ("q quits from the main
list; Esc goes back") so that a `q` meant as "back" does nothing surprising; Esc goes back
everywhere (on the main list it clears the filters).

Keys that change something (`write`) are refused in a read-only session: the screen's
`check_action` hides them from the footer and the palette, the help leaves them out and says
why, and pressing one says why (a hidden fallback binding, `app.read_only(...)`).
"""

from __future__ import annotations

import functools
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field

from textual.binding import Binding

#: Every screen that has keys, with the name the help and the README use.
SCREENS: dict[str, str] = {
    "main": "HIT list",
    "detail": "HIT detail",
    "assignments": "Assignments",
    "history": "History",
    "record": "History record",
    "extend": "Extend dialog",
    "bulk": "Bulk dialog",
    "review": "Review dialog",
    "batch": "Batch progress",
    "confirm": "Confirmation",
    "help": "Help",
}
ALL = frozenset(SCREENS)
#: screens whose main widget is a list (it binds the navigation keys itself)
LISTS = frozenset({"main", "history", "assignments", "batch"})
#: navigation keys work everywhere: the screen's list (even from a text box), else its
#: scroll view (the detail, a record, the help, a dialog that scrolls)
NAVIGABLE = ALL

#: What `q` does where it does not quit.
Q_HINT = "q quits from the main list; Esc goes back."
#: How a session is made read-only, as every read-only wording says it.
READ_ONLY_HOW = "--read-only or read_only = true"
READ_ONLY_WHY = f"read-only session ({READ_ONLY_HOW})"


def read_only_refusal(what: str) -> str:
    """The one wording of a read-only refusal (a write key, a flow, the palette):
    'read-only: extending is off (started with --read-only or read_only = true)'."""
    return f"read-only: {what} is off (started with {READ_ONLY_HOW})"


@dataclass(frozen=True, eq=False)
class Key:
    """One entry of the key map."""

    #: Textual key names, comma-separated (the first is the main one)
    keys: str
    #: the action run on every screen in `screens` (unless `actions` names another there)
    action: str
    #: short footer label
    label: str
    #: the help text (`?`, the README)
    help: str
    #: where the key applies
    screens: frozenset[str]
    #: where the footer shows it (a subset of `screens`)
    footer: frozenset[str] = frozenset()
    #: the action on a given screen when it is not `action` (same meaning, other method)
    actions: Mapping[str, str] = field(default_factory=dict)
    #: the footer label on a given screen when it is not `label`
    labels: Mapping[str, str] = field(default_factory=dict)
    #: changes something: refused in a read-only session
    write: bool = False
    #: what the refusal names ("extending")
    what: str = ""
    #: the keys as the help and the README write them (default: from `keys`)
    shown: str = ""
    #: command palette name (empty: not in the palette)
    command: str = ""
    #: the palette name on a given screen when it is not `command`
    commands: Mapping[str, str] = field(default_factory=dict)
    #: screens where the binding has priority over a focused text box (number fields)
    priority_on: frozenset[str] = frozenset()
    #: bound by Textual itself, not by `bindings()` (documented here all the same)
    builtin: bool = False
    #: bound once by the app (`app_bindings()`), with priority: the same on every screen,
    #: a text box and Textual's own screens (the palette) included
    app_level: bool = False
    #: moves the cursor or the view (lists: the table's own keys; views: `ScrollKeys`)
    navigation: bool = False
    #: bound on the screens NOT in `screens` to this action (`q`: the notice)
    elsewhere: str = ""

    @property
    def key_list(self) -> list[str]:
        return [k.strip() for k in self.keys.split(",") if k.strip()]

    def action_on(self, screen: str) -> str:
        return self.actions.get(screen, self.action)

    def applies(self, screen: str) -> bool:
        return screen in self.screens

    def command_on(self, screen: str) -> str:
        return self.commands.get(screen, self.command)


def _s(*names: str) -> frozenset[str]:
    unknown = set(names) - set(SCREENS)
    assert not unknown, unknown
    return frozenset(names)


_FOOTER_ALL = ALL
_BACK = {
    "main": "back",
    "extend": "cancel",
    "bulk": "cancel",
    "review": "cancel",
    "confirm": "no",
}

#: The key map. Order: the footer's order and the help's.
KEYMAP: tuple[Key, ...] = (
    Key(
        "question_mark,f1",
        "app.help",
        "Help",
        "the keys of the screen it is pressed on (again: close)",
        ALL,
        footer=_FOOTER_ALL,
        shown="? F1",
        priority_on=_s("extend", "bulk"),
        command="Keys of this screen",
    ),
    Key(
        "escape",
        "back",
        "Back",
        "back: close this screen, cancel a dialog (the HIT list: clear the filters; a text "
        "box: clear it first)",
        ALL,
        footer=ALL - {"main"},
        actions=_BACK,
        labels={
            "extend": "Cancel",
            "bulk": "Cancel",
            "review": "Cancel",
            "confirm": "Cancel",
        },
        shown="Esc",
        command="Back",
        commands={"main": "Clear filters"},
    ),
    # -- moving -------------------------------------------------------------------------------
    Key(
        "down,j",
        "cursor_down",
        "Down",
        "move down (a list: the next row; a view: scroll)",
        NAVIGABLE,
        shown="\u2193 j",
        navigation=True,
    ),
    Key(
        "up,k",
        "cursor_up",
        "Up",
        "move up",
        NAVIGABLE,
        shown="\u2191 k",
        navigation=True,
    ),
    Key(
        "pagedown,ctrl+f",
        "page_down",
        "Page down",
        "one page down",
        NAVIGABLE,
        shown="PgDn ctrl+f",
        navigation=True,
    ),
    Key(
        "pageup,ctrl+b",
        "page_up",
        "Page up",
        "one page up",
        NAVIGABLE,
        shown="PgUp ctrl+b",
        navigation=True,
    ),
    Key(
        "home,g",
        "first",
        "First",
        "to the first row / the top",
        NAVIGABLE,
        shown="Home g",
        navigation=True,
    ),
    Key(
        "end,G",
        "last",
        "Last",
        "to the last row / the bottom",
        NAVIGABLE,
        shown="End G",
        navigation=True,
    ),
    # -- finding ------------------------------------------------------------------------------
    Key(
        "slash",
        "filter",
        "Find",
        "filter by text (HIT list: id or title; history: HIT id, title, token, state, "
        "error); keys typed right after / go into the box; Enter keeps it, Esc clears it",
        _s("main", "history"),
        footer=_s("main", "history"),
        shown="/",
        command="Filter",
    ),
    Key(
        "x",
        "toggle_extendable",
        "Headroom",
        "only HITs that can be extended (toggle)",
        _s("main"),
        footer=_s("main"),
        command="Toggle extendable only",
    ),
    Key(
        "o",
        "toggle_expired",
        "Expired",
        "only expired HITs (toggle)",
        _s("main"),
        footer=_s("main"),
        command="Toggle expired only",
    ),
    Key(
        "U",
        "toggle_unsettled",
        "Unsettled",
        "only unsettled requests: planned, sending or unknown (toggle)",
        _s("history"),
        footer=_s("history"),
        command="Toggle unsettled only",
    ),
    Key(
        "E",
        "cycle_env",
        "Env",
        "only one environment; again: the next (all, production, sandbox, custom, demo)",
        _s("history"),
        footer=_s("history"),
        command="Next environment",
    ),
    Key(
        "O",
        "filter_operator",
        "Operator",
        "only the requests of the selected record's operator (again: every operator)",
        _s("history"),
        command="Only this operator",
    ),
    Key(
        "m",
        "filter_batch",
        "Batch",
        "only the members of this record's batch (again: everything)",
        _s("history"),
        command="Only this batch",
    ),
    Key(
        "s",
        "sort_next",
        "Sort",
        "sort by the next column (a click on a header sorts too)",
        _s("main", "assignments"),
        footer=_s("main", "assignments"),
        command="Sort by the next column",
    ),
    Key(
        "S",
        "sort_reverse",
        "Reverse",
        "reverse the sort order",
        _s("main", "assignments"),
        command="Reverse sort",
    ),
    Key(
        "r",
        "reload",
        "Reload",
        "reload: read the list again (the cursor stays on the same row)",
        _s("main", "history", "assignments"),
        footer=_s("main", "assignments"),
        command="Reload",
    ),
    # -- the selected row ---------------------------------------------------------------------
    Key(
        "enter",
        "detail",
        "Info",
        "details of the selected row (the extend dialog: Add)",
        _s("main", "history", "extend"),
        footer=_s("main", "history", "extend"),
        actions={"extend": "submit"},
        labels={"extend": "Add"},
        shown="Enter",
    ),
    Key(
        "d",
        "detail",
        "Info",
        "details of the selected row (as Enter)",
        _s("main", "history"),
        command="Details",
    ),
    Key(
        "c",
        "copy_id",
        "Copy",
        "copy the selected row's id to the clipboard (OSC 52, works over SSH): the HIT id; "
        "in Assignments the assignment id",
        _s("main", "detail", "history", "record", "assignments", "batch"),
        footer=_s("detail", "assignments"),
        command="Copy id",
    ),
    Key(
        "w",
        "copy_worker",
        "Worker",
        "copy the selected assignment's worker id",
        _s("assignments"),
        footer=_s("assignments"),
        command="Copy worker id",
    ),
    Key(
        "t",
        "copy_title",
        "Title",
        "copy the HIT's full title",
        _s("detail"),
        command="Copy title",
    ),
    Key(
        "D",
        "copy_description",
        "Description",
        "copy the HIT's full description",
        _s("detail"),
        command="Copy description",
    ),
    Key(
        "e",
        "app.extend",
        "Extend",
        "extend the HIT: add assignments, time or both",
        _s("main", "detail"),
        footer=_s("main", "detail"),
        write=True,
        what="extending",
        command="Extend HIT",
    ),
    Key(
        "X",
        "expire",
        "Expire",
        "expire the HIT now: workers can no longer accept it (asked first but on demo)",
        _s("main", "detail"),
        write=True,
        what="expiring",
        command="Expire HIT now",
    ),
    Key(
        "A",
        "assignments",
        "Assignments",
        "the HIT's assignments: review them (approve, reject) and pay bonuses",
        _s("main", "detail"),
        footer=_s("detail"),
        command="Assignments",
    ),
    Key(
        "h",
        "app.history",
        "History",
        "the history of requests",
        _s("main", "detail"),
        footer=_s("main", "detail"),
        command="Request history",
    ),
    # -- marks (the HIT list: bulk; Assignments: review and bonus) ----------------------------
    Key(
        "space",
        "toggle_mark",
        "Mark",
        "mark / unmark the row (a HIT, an assignment) and move down",
        _s("main", "assignments"),
        command="Mark / unmark",
    ),
    Key(
        "a",
        "mark_all",
        "All",
        "mark every row shown (the HIT list: after filters)",
        _s("main", "assignments"),
        command="Mark all shown",
    ),
    Key(
        "u",
        "clear_marks",
        "Unmark",
        "clear all marks",
        _s("main", "assignments"),
        command="Clear marks",
    ),
    # -- review and pay (Assignments: the marked rows, else the cursor row) --------------------
    Key(
        "Y",
        "approve",
        "Approve",
        "approve the marked assignments (none marked: the selected one); feedback optional",
        _s("assignments"),
        footer=_s("assignments"),
        write=True,
        what="approving",
        command="Approve assignments",
    ),
    Key(
        "P",
        "approve_all",
        "Approve all",
        "approve every Submitted assignment of the HIT, with the total approval charges",
        _s("assignments"),
        write=True,
        what="approving",
        command="Approve all submitted",
    ),
    Key(
        "N",
        "reject",
        "Reject",
        "reject the marked assignments (none marked: the selected one), with feedback",
        _s("assignments"),
        footer=_s("assignments"),
        write=True,
        what="rejecting",
        command="Reject assignments",
    ),
    Key(
        "dollar_sign",
        "bonus",
        "Bonus",
        "pay a bonus to the worker of each marked assignment (none marked: the selected "
        "one): amount, reason, fee and total shown first",
        _s("assignments"),
        footer=_s("assignments"),
        write=True,
        what="paying bonuses",
        shown="$",
        command="Pay a bonus",
    ),
    Key(
        "b",
        "app.bulk",
        "Bulk",
        "bulk: extend the marked HITs",
        _s("main"),
        footer=_s("main"),
        write=True,
        what="bulk extension",
        command="Bulk extend marked HITs",
    ),
    Key(
        "ctrl+s",
        "submit",
        "Send",
        "send as previewed (the bulk and review dialogs)",
        _s("bulk", "review"),
        footer=_s("bulk", "review"),
        write=True,
        what="sending",
        shown="ctrl+s",
        command="Send the batch",
    ),
    Key(
        "C",
        "cancel_batch",
        "Cancel rest",
        "cancel the rest of the batch (requests in flight finish)",
        _s("batch"),
        footer=_s("batch"),
        write=True,
        what="cancelling",
        command="Cancel the rest of the batch",
    ),
    Key(
        "F",
        "retry",
        "Retry failed",
        "retry what did not succeed (same tokens)",
        _s("batch"),
        footer=_s("batch"),
        write=True,
        what="retrying",
        command="Retry failed",
    ),
    # -- history ------------------------------------------------------------------------------
    Key(
        "R",
        "resolve",
        "Resolve",
        "resolve the unsettled request: ask MTurk, re-send within the token window",
        _s("history", "record"),
        footer=_s("history", "record"),
        write=True,
        what="resolving",
        command="Resolve request",
    ),
    Key(
        "B",
        "resolve_batch",
        "Resolve batch",
        "resolve every unsettled member of this record's batch",
        _s("history"),
        write=True,
        what="resolving",
        command="Resolve batch",
    ),
    Key(
        "T",
        "take_over",
        "Take over",
        "take over the unsettled request another host's process holds (asked first: who, "
        "where, since when); it is then resolved here, and the take-over recorded",
        _s("history", "record"),
        write=True,
        what="taking over",
        command="Take over request",
    ),
    # -- confirmation -------------------------------------------------------------------------
    Key(
        "y",
        "yes",
        "Yes",
        "yes: send as shown",
        _s("confirm"),
        footer=_s("confirm"),
        command="Yes, send",
    ),
    Key(
        "n",
        "no",
        "No",
        "no: cancel, nothing is sent",
        _s("confirm"),
        footer=_s("confirm"),
        command="No, cancel",
    ),
    # -- leaving -----------------------------------------------------------------------------
    Key(
        "q",
        "app.quit",
        "Quit",
        "quit (from the HIT list; on any other screen q says that Esc goes back)",
        _s("main"),
        footer=_s("main"),
        elsewhere="app.quit_hint",
        command="Quit",
    ),
    Key(
        "ctrl+c,ctrl+q",
        "app.quit",
        "Quit",
        "quit from anywhere (as q: a request in flight is waited for, or recorded unknown)",
        ALL,
        shown="ctrl+c ctrl+q",
        app_level=True,
    ),
    Key(
        "ctrl+p",
        "app.command_palette",
        "Commands",
        "command palette: every action of this screen by name",
        ALL,
        shown="ctrl+p",
        builtin=True,
    ),
)


def entries(screen: str) -> list[Key]:
    """The entries that apply on `screen`, in map order."""
    return [k for k in KEYMAP if k.applies(screen)]


def entry_for(key: str, screen: str) -> Key | None:
    """The entry of Textual key `key` on `screen` (None: not bound there)."""
    for k in KEYMAP:
        if k.applies(screen) and key in k.key_list:
            return k
    return None


def bindings(screen: str) -> list[Binding]:
    """The `BINDINGS` of `screen`: its keys in map order (navigation keys only on scroll
    views: lists bind their own), the `q` notice where q does not quit, and for each write
    key a hidden fallback that says why a read-only session refuses it."""
    assert screen in SCREENS, screen
    out: list[Binding] = []
    fallbacks: list[Binding] = []
    for k in KEYMAP:
        if k.builtin or k.app_level:
            continue
        if not k.applies(screen):
            if k.elsewhere:
                out.append(Binding(k.keys, k.elsewhere, k.label, show=False))
            continue
        out.append(
            Binding(
                k.keys,
                k.action_on(screen),
                k.labels.get(screen, k.label),
                show=screen in k.footer,
                priority=screen in k.priority_on,
                tooltip=k.help,
            )
        )
        if k.write:
            fallbacks.append(Binding(k.keys, f"app.read_only({k.what!r})", show=False))
    return out + fallbacks


def app_bindings() -> list[Binding]:
    """The app's `BINDINGS`: the entries bound once for every screen (`app_level`)."""
    return [
        Binding(k.keys, k.action.removeprefix("app."), k.label, show=False, priority=True)
        for k in KEYMAP
        if k.app_level
    ]


@functools.cache
def write_actions(screen: str) -> frozenset[str]:
    """The actions of `screen` a read-only session refuses (bare names, no namespace)."""
    return frozenset(k.action_on(screen).removeprefix("app.") for k in entries(screen) if k.write)


def display(k: Key) -> str:
    if k.shown:
        return k.shown
    return " ".join(k.key_list)


@functools.cache
def key(action: str, screen: str) -> str:
    """The key that runs `action` on `screen`, as the help shows it ("h", "R", "Esc"): for
    hints in messages ("history: h, then R"), so they follow the map and cannot go stale."""
    bare = action.removeprefix("app.")
    for k in entries(screen):
        if k.action_on(screen).removeprefix("app.") == bare:
            return display(k).split(" ")[0]
    raise KeyError(f"no key runs {action!r} on {screen!r}")


def help_rows(screen: str, read_only: bool = False) -> list[tuple[str, str]]:
    """(keys, what) for the help of `screen`; a read-only session leaves out write keys."""
    rows = [(display(k), k.help) for k in entries(screen) if not (read_only and k.write)]
    if not any(k.applies(screen) for k in KEYMAP if k.key_list == ["q"]):
        rows.append(("q", Q_HINT))
    return rows


def read_only_note(screen: str) -> str:
    """Why write keys are missing from a read-only help ('' when the screen has none)."""
    off = [display(k) for k in entries(screen) if k.write]
    if not off:
        return ""
    return f"Off in this {READ_ONLY_WHY}: {', '.join(off)}."


def commands(screen: str) -> list[Key]:
    """The entries the command palette offers on `screen` (not those bound by the app or
    by Textual)."""
    return [k for k in entries(screen) if k.command and not (k.builtin or k.app_level)]


def _md(text: str) -> str:
    return text.replace("|", "\\|")


def _code(shown: str) -> str:
    return " ".join(f"`{part}`" for part in shown.split(" "))


def markdown_table(screens: Iterable[str] = SCREENS) -> str:
    """The table of every key (docs/terminal.md): one row per key, with the screens where
    it applies."""
    order = list(screens)
    lines = ["| key | action | where |", "|---|---|---|"]
    for k in KEYMAP:
        where = (
            "every list and scrollable view"
            if k.navigation
            else "everywhere"
            if k.screens == ALL
            else ", ".join(SCREENS[s] for s in order if s in k.screens)
        )
        extra = " (refused when read-only)" if k.write else ""
        lines.append(f"| {_code(display(k))} | {_md(k.help)}{extra} | {where} |")
    return "\n".join(lines) + "\n"


def _labelled(keys: Iterable[Key], screen: str = "") -> str:
    return " · ".join(f"{_code(display(k))} {_md(k.labels.get(screen, k.label))}" for k in keys)


def markdown_summary(screens: Iterable[str] = SCREENS) -> str:
    """The README's short key table: the keys of every screen, then each screen's own, with
    their footer labels (what each does in full: `markdown_table()`)."""
    common = [k for k in KEYMAP if k.screens == ALL and not k.navigation]
    lines = ["| where | keys |", "|---|---|", f"| everywhere | {_labelled(common)} |"]
    lines.append(f"| every list and view | {_labelled(k for k in KEYMAP if k.navigation)} |")
    for screen in screens:
        own = [k for k in entries(screen) if k.screens != ALL]
        if own:
            lines.append(f"| {SCREENS[screen]} | {_labelled(own, screen)} |")
    return "\n".join(lines) + "\n"


if __name__ == "__main__":  # docs/terminal.md's table; with --short, the README's
    import sys

    print(markdown_summary() if sys.argv[1:] == ["--short"] else markdown_table(), end="")
