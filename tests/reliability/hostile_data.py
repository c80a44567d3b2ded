"""Hostile service data: what MTurk (or a proxy, or a compromised account) may send back.

Rich markup, ANSI CSI/OSC/DCS sequences, C0/C1 controls, bidi overrides, zero-width
characters, 10,000-character titles — stored in the emulator — and malformed timestamps,
missing fields and numbers as strings — served by a static responder, since the emulator
keeps its own data well-formed. The app is driven through the table, the detail view, the
extend dialog, an extension, the history and a record's detail; every rendered segment is
checked for characters a terminal would act on, and markup must show literally.
"""

from __future__ import annotations

import asyncio
import re
from dataclasses import dataclass, field
from decimal import Decimal
from pathlib import Path
from typing import Any

from tests.ui.helpers import wait_for

# Unique payloads: if one of these reaches the terminal as bytes, data became an escape.
OSC52 = "\x1b]52;c;SE9TVElMRQ==\x07"  # "set the clipboard" (base64 of HOSTILE)
OSC_TITLE = "\x1b]0;PWNED\x07"  # set the window title
DSR = "\x1b[6n"  # "report the cursor position": injects input into the app
FORBIDDEN_BYTES = (
    OSC52.encode(),
    OSC_TITLE.encode(),
    b"PWNED\x07",
    b"\x1b]52;c;SE9TVElMRQ",
    DSR.encode(),
    b"\x1b[31mRED",
    b"\x1bP+q",
)
C0 = "".join(chr(i) for i in range(0x20)) + "\x7f"
C1 = "".join(chr(i) for i in range(0x80, 0xA0))
BIDI = "\u202a\u202b\u202c\u202d\u202e\u2066\u2067\u2068\u2069\u200e\u200f\u061c"
ZERO_WIDTH = "\u200b\u200c\u200d\u2060\ufeff\u00ad"
#: Characters that must never appear in anything the app renders.
UNSAFE = re.compile(f"[{re.escape(C0 + C1 + BIDI + ZERO_WIDTH)}]")

HOSTILE_TITLE = (
    f"[bold]MARKUP[/bold] [link=https://evil.example]click[/link] {OSC52}"
    f"{OSC_TITLE}{DSR}\x1b[31mRED\x1b[0m \u202eevil\u202c zero\u200bwidth"
)
HOSTILE_FIELDS: list[dict[str, Any]] = [
    {
        "Title": HOSTILE_TITLE,
        "Description": f"C0 {C0} C1 {C1} bidi {BIDI} zw {ZERO_WIDTH}",
        "Keywords": "\x9b31m C1 CSI, \x9d0;PWNED\x9c C1 OSC, [red]kw[/red]",
        "RequesterAnnotation": "\x1bP+q544e\x1b\\ DCS \x1b[2J\x1b[H clear",
        "MaxAssignments": 12,
        "Reward": "0.25",
    },
    {"Title": "[b]long[/b] " + "W" * 10_000, "Description": "x" * 10_000, "MaxAssignments": 3},
    {
        "Title": "\u0645\u0631\u062d\u0628\u0627 \u202e\u0634\u0643\u0631\u0627 \u65e5\u672c\u8a9e "
        "\U0001f600 e\u0301",
        "Description": "[/]",
        "MaxAssignments": 20,
    },
]


def add_hostile_hits(state: Any) -> list[str]:
    now = state.now()
    return [state.add_hit(CreationTime=now - 3600, **fields) for fields in HOSTILE_FIELDS]


def malformed_hits() -> list[dict[str, Any]]:
    """Wire HITs the emulator would never produce (served by StaticResponder)."""
    return [
        {
            "HITId": "MALFORMED1",
            "Title": HOSTILE_TITLE,
            "CreationTime": "not a date",
            "Expiration": "2026-13-45T99:99:99Z",
            "MaxAssignments": "12",
            "Reward": 5,
            "NumberOfAssignmentsAvailable": "many",
            "HITStatus": 7,
        },
        {"HITId": "MALFORMED2"},  # everything else missing
        {
            "HITId": "MALFORMED3",
            "Title": 12345,
            "MaxAssignments": 1e308,
            "Reward": "NaN",
            "CreationTime": 1e300,
            "Expiration": -1e300,
            "Description": None,
            "QualificationRequirements": "not a list",
            "Keywords": ["a", "list"],
        },
        {
            "HITId": "MALFORMED4",
            "Title": "ok",
            "MaxAssignments": "3",
            "Reward": "0.10",
            "CreationTime": "2026-06-01T00:00:00Z",
            "Expiration": "1780000000",
            "QualificationRequirements": [
                {
                    "QualificationTypeId": OSC52,
                    "Comparator": DSR,
                    "IntegerValues": ["x", 3],
                    "LocaleValues": [7],
                }
            ],
        },
        "not a HIT at all",
    ]


def responder_answers() -> dict[str, tuple[int, Any]]:
    hits = malformed_hits()
    return {
        "ListHITs": (200, {"NumResults": "five", "HITs": hits}),
        "GetHIT": (200, {"HIT": hits[3]}),
        "GetAccountBalance": (200, {"AvailableBalance": "lots", "OnHoldBalance": None}),
        "CreateAdditionalAssignmentsForHIT": (200, {}),
        "UpdateExpirationForHIT": (200, {}),
    }


@dataclass
class RenderReport:
    screens: list[str] = field(default_factory=list)
    unsafe: list[str] = field(default_factory=list)
    literal_markup: bool = False
    crashed: str = ""
    extended: bool = False


def _scan(app: Any, report: RenderReport, name: str) -> str:
    strips = app.screen._compositor.render_strips()
    lines = ["".join(seg.text for seg in strip) for strip in strips]
    text = "\n".join(lines)
    bad = [c for line in lines for c in UNSAFE.findall(line)]
    if bad:
        report.unsafe.append(f"{name}: {sorted({hex(ord(c)) for c in bad})}")
    if "[bold]" in text or "[b]" in text:
        report.literal_markup = True
    report.screens.append(name)
    return text


def make_ctx(
    url: str, tmp: Path, *, credentials: tuple[str, str] | None = None, read_timeout: float = 5.0
) -> Any:
    from turktui.adapters.config import Paths, Settings
    from turktui.adapters.mturk import MTurkService
    from turktui.domain.environment import Environment, EnvKind
    from turktui.ui.context import AppContext

    kind = EnvKind.CUSTOM if credentials else EnvKind.DEMO
    env = Environment(kind, url, None, False)
    service = MTurkService(
        env, credentials=credentials, connect_timeout=1.0, read_timeout=read_timeout, max_attempts=1
    )
    paths = Paths(
        config_file=tmp / "config.toml",
        data_dir=tmp / "data",
        history_db=tmp / "data" / "history.sqlite3",
        log_dir=tmp / "logs",
    )
    return AppContext(env=env, service=service, settings=Settings(), paths=paths)


async def drive_app(
    ctx: Any,
    hit_ids: list[str],
    report: RenderReport,
    *,
    extend_n: str = "1",
    screenshot: Path | None = None,
) -> Any:
    """Table → each HIT's detail → dialog (→ extension) → history → record detail."""
    from turktui.ui.app import TurkTuiApp
    from turktui.ui.screens.detail import DetailScreen
    from turktui.ui.screens.extend import ExtendScreen
    from turktui.ui.screens.history import HistoryScreen, RecordScreen

    app = TurkTuiApp(ctx)
    async with app.run_test(size=(140, 45)) as pilot:
        main = app.main_screen
        await wait_for(
            pilot, lambda: main.generation > 0 and not main.is_loading, what="the HIT list to load"
        )
        _scan(app, report, "table")
        for index, _ in enumerate(hit_ids):
            await pilot.press("home" if index == 0 else "down")
            await pilot.press("enter")
            await wait_for(
                pilot, lambda: isinstance(app.screen, DetailScreen), what="the detail screen"
            )
            _scan(app, report, f"detail {index}")
            await pilot.press("escape")
            await wait_for(pilot, lambda: app.screen is main, what="the main screen")
            await pilot.press("e")
            await pilot.pause()
            if isinstance(app.screen, ExtendScreen):
                await pilot.press(*extend_n)
                await pilot.pause()
                _scan(app, report, f"dialog {index}")
                if app.screen.can_submit and not report.extended:
                    await pilot.press("enter")
                    await wait_for(
                        pilot, lambda: ctx.state.last_outcome is not None, what="the outcome"
                    )
                    report.extended = True
                else:
                    # The first Esc clears the box the count was typed in (the dialog stays);
                    # Esc on the empty box closes it.
                    box = app.screen.focused
                    await pilot.press("escape")
                    await wait_for(
                        pilot,
                        lambda box=box: isinstance(app.screen, ExtendScreen) and not box.value,
                        what="the dialog's box cleared",
                    )
                    await pilot.press("escape")
                await wait_for(pilot, lambda: app.screen is main, what="the main screen")
        _scan(app, report, "table after")
        await pilot.press("h")
        await wait_for(
            pilot,
            lambda: isinstance(app.screen, HistoryScreen) and not app.screen.reading,
            what="the history to be read",
        )
        await pilot.pause()
        _scan(app, report, "history")
        if app.screen.total:
            await pilot.press("enter")
            await wait_for(pilot, lambda: isinstance(app.screen, RecordScreen), what="the record")
            _scan(app, report, "record")
        if screenshot is not None:
            screenshot.write_text(app.export_screenshot(), encoding="utf-8")
        notes = [n.message for n in app._notifications]
        for message in notes:
            if UNSAFE.search(message):
                report.unsafe.append(f"notification: {message[:80]!r}")
    return app


def run_pilot(ctx: Any, hit_ids: list[str], **kw: Any) -> RenderReport:
    report = RenderReport()
    try:
        asyncio.run(drive_app(ctx, hit_ids, report, **kw))
    except Exception as exc:  # a crash is the finding
        report.crashed = f"{type(exc).__name__}: {exc}"
    return report


# -- the bytes a real terminal receives ----------------------------------------------------
def terminal_bytes(url: str, home: Path) -> tuple[bytes, list[str]]:
    """Run the console script in a pty against `url` (hostile HITs), open the detail,
    the dialog and the history; return the raw bytes and the forbidden sequences found."""
    from tests.reliability.common import FAKE_KEY_ID, FAKE_SECRET
    from tests.terminal.driver import Terminal, terminal_env

    env = terminal_env(home, AWS_ACCESS_KEY_ID=FAKE_KEY_ID, AWS_SECRET_ACCESS_KEY=FAKE_SECRET)
    term = Terminal(["--endpoint-url", url], env=env, columns=120, lines=36)
    try:
        term.wait_for("MARKUP", timeout=30)
        seen = []
        # detail, back, dialog (typing; Esc clears the box, Esc again closes), next HIT's
        # detail, back, history, its detail
        for keys in (
            "\r",
            "\x1b",
            "e",
            "1",
            "\x1b",
            "\x1b",
            "j",
            "\r",
            "\x1b",
            "j",
            "\r",
            "\x1b",
            "h",
            "\r",
        ):
            term.send(keys)
            term.pump(0.35)
            seen.append(term.text())
    finally:
        term.close()
    raw = bytes(term.raw)
    screens = "\n".join(seen)
    for expected in ("HIT id", "Assignments to add", "Request history"):
        if expected not in screens:
            raise AssertionError(f"the pty run never showed {expected!r}")
    found = [repr(seq) for seq in FORBIDDEN_BYTES if seq in raw]
    # C1 controls encoded as UTF-8 (U+0080..U+009F) act like ESC on many terminals.
    found += [
        f"C1 {raw[i : i + 2]!r}"
        for i in range(len(raw) - 1)
        if raw[i] == 0xC2 and 0x80 <= raw[i + 1] <= 0x9F
    ][:5]
    return raw, found


def money_ok(value: Any) -> bool:
    return value is None or isinstance(value, Decimal)
