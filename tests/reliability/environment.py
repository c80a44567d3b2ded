"""Hostile environment: each problem gives one clear line (CLI) or an in-app message.

CLI criteria: a non-zero exit, no "Traceback" anywhere, at most two non-empty lines on
stderr (the message and at most one hint), the first one starting with "turktui:".
"""

from __future__ import annotations

import asyncio
import subprocess
import sys
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from tests.reliability.common import FAKE_KEYS, StaticResponder, closed_port
from tests.runcli import Ran, cli_environment, run_cli, run_process, write_config
from tests.seams import crash_after_send

INVALID_TOKEN = (
    400,
    {
        "__type": "UnrecognizedClientException",
        "message": "The security token included in the request is invalid.",
    },
)
EXPIRED_TOKEN = (
    400,
    {
        "__type": "ExpiredTokenException",
        "message": "The security token included in the request is expired",
    },
)
#: Runs turktui with no HOME, no XDG variables and no passwd entry for the user (an
#: arbitrary container uid): nothing can be placed, and the user must be told.
NO_HOME_RUNNER = (
    "import pwd, sys\n"
    "def _missing(*a):\n"
    "    raise KeyError('no passwd entry')\n"
    "pwd.getpwuid = _missing\n"
    "from turktui.cli import main\n"
    "sys.exit(main(sys.argv[1:]))\n"
)


@dataclass
class Case:
    name: str
    rc: int
    lines: list[str]
    ok: bool
    why: str = ""


@dataclass
class EnvReport:
    cases: list[Case] = field(default_factory=list)
    app: list[tuple[str, str, bool]] = field(default_factory=list)

    @property
    def failures(self) -> list[str]:
        out = [f"CLI {c.name}: {c.why} (rc={c.rc}) {c.lines[:3]}" for c in self.cases if not c.ok]
        out += [f"app {name}: {text!r}" for name, text, ok in self.app if not ok]
        return out


def judge(
    name: str, res: Ran | subprocess.CompletedProcess[str], want_rc: int | None = None
) -> Case:
    lines = [line for line in res.stderr.splitlines() if line.strip()]
    why = ""
    if res.returncode == 0:
        why = "exit 0"
    elif want_rc is not None and res.returncode != want_rc:
        why = f"exit {res.returncode}, expected {want_rc}"
    elif "Traceback" in res.stderr + res.stdout:
        why = "traceback"
    elif not lines or len(lines) > 2:
        why = f"{len(lines)} stderr lines"
    elif not lines[0].startswith("turktui:"):
        why = "first line is not a turktui message"
    elif "internal error" in lines[0]:
        why = "internal error"
    return Case(name, res.returncode, lines, not why, why)


#: The CLI cases in groups (pytest runs a group per test, in parallel), with their counts.
CLI_GROUPS = {"credentials": 8, "resolve": 2, "config": 5, "home": 4}


def cli_cases(
    workdir: Path, emulator_url: str, hit_id: str, groups: tuple[str, ...] = tuple(CLI_GROUPS)
) -> EnvReport:
    report = EnvReport()
    home = workdir / "home"
    keys = cli_environment(home, **FAKE_KEYS)
    nokeys = cli_environment(home, keys=False)
    dead = f"http://127.0.0.1:{closed_port()}"
    nowhere = "http://no-such-host.invalid"  # a name that never resolves
    bad_token = StaticResponder({}, default=INVALID_TOKEN).start()
    expired = StaticResponder({}, default=EXPIRED_TOKEN).start()
    try:
        if "credentials" in groups:
            cases: list[tuple[str, dict[str, str], list[str], int | None]] = [
                (
                    "no credentials: extend",
                    nokeys,
                    ["extend", hit_id, "1", "--yes", "--endpoint-url", emulator_url],
                    2,
                ),
                (
                    "unknown profile: extend",
                    keys,
                    ["--profile", "nope", "extend", hit_id, "1", "--yes"],
                    2,
                ),
                (
                    "unknown profile (after the command): extend",
                    nokeys,
                    ["extend", hit_id, "1", "--yes", "--profile", "nope"],
                    2,
                ),
                (
                    "unreachable endpoint: extend",
                    keys,
                    ["extend", hit_id, "1", "--yes", "--endpoint-url", dead],
                    4,
                ),
                (
                    "DNS failure: extend",
                    keys,
                    ["extend", hit_id, "1", "--yes", "--endpoint-url", nowhere],
                    4,
                ),
                (
                    "invalid endpoint URL: extend",
                    keys,
                    ["extend", hit_id, "1", "--yes", "--endpoint-url", "not a url"],
                    2,
                ),
                (
                    "access denied: extend",
                    keys,
                    ["extend", hit_id, "1", "--yes", "--endpoint-url", bad_token.url],
                    2,
                ),
                (
                    "expired credentials: extend",
                    keys,
                    ["extend", hit_id, "1", "--yes", "--endpoint-url", expired.url],
                    2,
                ),
            ]
            for name, env, args, rc in cases:
                report.cases.append(judge(name, run_cli(env, *args), rc))
        if "resolve" in groups:
            # An unsettled record (the CLI was killed after sending), then resolve can't reach.
            crashed = run_process(
                keys,
                "extend",
                hit_id,
                "1",
                "--yes",
                "--endpoint-url",
                emulator_url,
                extra=crash_after_send(),
            )
            assert crashed.returncode < 0, crashed.stderr
            for name, env, args in (
                (
                    "no credentials: resolve",
                    nokeys,
                    ["resolve", "--yes", "--endpoint-url", emulator_url],
                ),
                (
                    "unknown profile: resolve",
                    nokeys,
                    ["resolve", "--yes", "--profile", "nope", "--endpoint-url", emulator_url],
                ),
            ):
                res = run_cli(env, *args)
                # resolve reports per record on stdout; the reason must be given, no traceback.
                ok = (
                    res.returncode == 5
                    and "Traceback" not in res.stdout + res.stderr
                    and ("credentials" in res.stdout.lower() or "profile" in res.stdout.lower())
                )
                report.cases.append(
                    Case(
                        name,
                        res.returncode,
                        res.stdout.splitlines()[-2:],
                        ok,
                        "" if ok else "no reason given",
                    )
                )
            # Settle it for real, so the emulator's HIT is consistent for later users.
            run_cli(keys, "resolve", "--yes", "--endpoint-url", emulator_url)
        if "config" in groups:
            # Broken config file: every command, and the app itself, refuse with one line.
            broken = workdir / "broken"
            write_config(broken, "profile = [\n")
            benv = cli_environment(broken, **FAKE_KEYS)
            for name, args in (
                ("broken config: extend", ["extend", hit_id, "1", "--yes"]),
                ("broken config: history", ["history"]),
                ("broken config: resolve", ["resolve", "--yes"]),
                ("broken config: app", []),
            ):
                report.cases.append(judge(name, run_cli(benv, *args), 2))
            wrong = workdir / "wrongtype"
            write_config(wrong, 'read_timeout = "soon"\n')
            report.cases.append(
                judge(
                    "config with a wrong type: app",
                    run_cli(cli_environment(wrong, **FAKE_KEYS), "--demo"),
                    2,
                )
            )
        if "home" in groups:
            # No HOME, no XDG, no passwd entry.
            bare = {k: v for k, v in keys.items() if k != "HOME" and not k.startswith("XDG_")}
            for name, args in (
                (
                    "missing HOME: extend",
                    ["extend", hit_id, "1", "--yes", "--endpoint-url", emulator_url],
                ),
                ("missing HOME: history", ["history"]),
                ("missing HOME: paths", ["paths"]),
                ("missing HOME: app", ["--demo"]),
            ):
                res = subprocess.run(
                    [sys.executable, "-c", NO_HOME_RUNNER, *args],
                    env=bare,
                    capture_output=True,
                    text=True,
                    timeout=60,
                    stdin=subprocess.DEVNULL,
                    cwd=str(workdir),
                )
                case = judge(name, res, 2)
                if (workdir / "~").exists():
                    case.ok, case.why = False, "created a '~' directory in the working directory"
                report.cases.append(case)
    finally:
        bad_token.stop()
        expired.stop()
    return report


async def _app_message(ctx: Any) -> str:
    """Start the app on `ctx`, wait for the first load to fail, return what it shows."""
    from tests.ui.helpers import wait_for
    from turktui.ui.app import TurkTuiApp

    app = TurkTuiApp(ctx)
    async with app.run_test(size=(120, 36)) as pilot:
        main = app.main_screen
        await wait_for(
            pilot,
            lambda: main.generation > 0 and not main.is_loading,
            30,
            what="the HIT list to load",
        )
        panel = str(app.main_screen.query_one("#error-panel").render())
        return panel if main.load_error is not None else ""


def app_cases(workdir: Path, report: EnvReport) -> None:
    """The app starts and says what is wrong (Pilot; the same app the console script runs)."""
    from tests.reliability.hostile_data import make_ctx
    from turktui.adapters.mturk import MTurkService
    from turktui.domain.environment import Environment, EnvKind

    bad_token = StaticResponder({}, default=INVALID_TOKEN).start()
    expired = StaticResponder({}, default=EXPIRED_TOKEN).start()
    try:
        dead = f"http://127.0.0.1:{closed_port()}"
        creds = ("AKIAFAKEKEYTURKTUI99", "x")
        cases: list[tuple[str, Any, str]] = [
            (
                "access denied",
                make_ctx(bad_token.url, workdir / "a1", credentials=creds),
                "Access denied",
            ),
            (
                "expired credentials",
                make_ctx(expired.url, workdir / "a2", credentials=creds),
                "Credentials expired",
            ),
            (
                "unreachable endpoint",
                make_ctx(dead, workdir / "a3", credentials=creds),
                "Endpoint unreachable",
            ),
            (
                "DNS failure",
                make_ctx("http://no-such-host.invalid", workdir / "a4", credentials=creds),
                "Endpoint unreachable",
            ),
        ]
        no_creds = make_ctx(dead, workdir / "a5")
        env = Environment(EnvKind.CUSTOM, dead, None, False)
        no_creds.env = env
        no_creds.service = MTurkService(env, connect_timeout=1, read_timeout=2, max_attempts=1)
        cases.append(("no credentials", no_creds, "No AWS credentials"))
        profile = make_ctx(dead, workdir / "a6")
        penv = Environment(EnvKind.CUSTOM, dead, "nope", False)
        profile.env = penv
        profile.service = MTurkService(penv, connect_timeout=1, read_timeout=2, max_attempts=1)
        cases.append(("unknown profile", profile, "Configuration problem"))
        for name, ctx, want in cases:
            try:
                shown = asyncio.run(_app_message(ctx))
            except Exception as exc:
                shown = f"crashed: {type(exc).__name__}: {exc}"
            report.app.append(
                (
                    name,
                    shown.splitlines()[0] if shown else "",
                    want in shown and "Traceback" not in shown,
                )
            )
    finally:
        bad_token.stop()
        expired.stop()
