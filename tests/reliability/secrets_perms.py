"""Secrets and permissions, and the dropped SSH session.

Secrets: the recognisable fake key must not appear in the history (file, WAL), the logs
(crash.log included), any CLI output, nor an SVG screenshot of the app.
Permissions: the history file (and WAL/SHM) 0600 and its directory 0700 even when created
under umask 000 (in a subprocess: the test process's umask is left alone).
Hang-up: the console script in a pty, an extension in flight, the pty closed: the app
must exit promptly (not spin) and the request must be in the history.
"""

from __future__ import annotations

import asyncio
import os
import signal
import stat
import subprocess
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from tests.reliability.common import (
    FAKE_KEY_ID,
    FAKE_KEYS,
    FAKE_SECRET,
    OP_EXTEND,
    REPO_ROOT,
)
from tests.runcli import cli_environment, history_path, run_cli, run_process
from tests.seams import crash_after_send
from tests.ui.helpers import read_line

SECRETS = (FAKE_KEY_ID.encode(), FAKE_SECRET.encode())
CRASH_RUNNER = (
    "import sys\n"
    "from turktui.cli.commands import history\n"
    "def boom(args):\n"
    "    raise RuntimeError('simulated internal error')\n"
    "history.cmd_history = boom\n"
    "from turktui.cli import main\n"
    "sys.exit(main(sys.argv[1:]))\n"
)


@dataclass
class SecretReport:
    scanned: list[str] = field(default_factory=list)
    leaks: list[str] = field(default_factory=list)
    modes: dict[str, str] = field(default_factory=dict)
    bad_modes: list[str] = field(default_factory=list)


def _scan_bytes(report: SecretReport, name: str, data: bytes) -> None:
    report.scanned.append(name)
    for secret in SECRETS:
        if secret in data:
            report.leaks.append(f"{name} contains {secret.decode()[:8]}…")


def _scan_tree(report: SecretReport, root: Path) -> None:
    if not root.exists():
        return
    for path in sorted(root.rglob("*")):
        if path.is_file():
            _scan_bytes(report, str(path.relative_to(root.parent)), path.read_bytes())


def secrets_check(workdir: Path, server: Any) -> SecretReport:
    """Extensions, faults, a crash, resolve and an internal error with the fake key in the
    environment; then grep everything turktui wrote."""
    report = SecretReport()
    home = workdir / "home"
    env = cli_environment(home, **FAKE_KEYS)
    state = server.state
    hit_id = state.add_hit(MaxAssignments=4, Reward="0.10", Title="secrets")
    outputs: list[tuple[str, str]] = []
    for name, args, extra in (
        ("extend", ["extend", hit_id, "1", "--yes", "--json"], None),
        ("extend crash", ["extend", hit_id, "1", "--yes", "--json"], crash_after_send()),
        ("resolve", ["resolve", "--yes", "--json"], None),
        ("extend refused", ["extend", hit_id, "50", "--yes", "--json"], None),
        ("history", ["history", "--json"], None),
    ):
        run = run_process if extra else run_cli  # the crash seam lives in a child only
        res = run(env, *args, "--endpoint-url", server.url, extra=extra)
        outputs.append((name, res.stdout + res.stderr))
    server.faults.add(op=OP_EXTEND, drop=1.0, count=1)
    res = run_cli(env, "extend", hit_id, "1", "--yes", "--json", "--endpoint-url", server.url)
    outputs.append(("extend dropped", res.stdout + res.stderr))
    server.faults.clear()
    crash = subprocess.run(
        [sys.executable, "-c", CRASH_RUNNER, "history"],
        env={**env, "TURKTUI_DEBUG": ""},
        capture_output=True,
        text=True,
        timeout=60,
        cwd=REPO_ROOT,
    )
    outputs.append(("internal error", crash.stdout + crash.stderr))
    for name, text in outputs:
        _scan_bytes(report, f"output: {name}", text.encode())
    _scan_tree(report, home / "data")
    _scan_tree(report, home / "state")
    log = home / "state" / "turktui" / "log" / "crash.log"
    if not log.exists():
        report.leaks.append("crash.log was not written (the internal error test did not run)")
    else:
        mode = stat.S_IMODE(log.stat().st_mode)
        report.modes["crash.log"] = oct(mode)
        if mode & 0o077:
            report.bad_modes.append(f"crash.log {oct(mode)}")
    # The app, with the fake key, screenshot after an extension.
    from tests.reliability.hostile_data import RenderReport, drive_app, make_ctx

    ctx = make_ctx(server.url, workdir / "app", credentials=(FAKE_KEY_ID, FAKE_SECRET))
    shot = workdir / "screenshot.svg"
    asyncio.run(drive_app(ctx, [hit_id], RenderReport(), screenshot=shot))
    _scan_bytes(report, "screenshot.svg", shot.read_bytes())
    _scan_tree(report, workdir / "app")
    return report


PERMS_RUNNER = (
    "import os, sys\n"
    "os.umask(0)\n"
    "from turktui.adapters.history import HistoryStore\n"
    "s = HistoryStore(sys.argv[1])\n"
    "s.create(env_kind='demo', endpoint='e', profile=None, hit_id='H', hit_title='', n=1,\n"
    "         token='t', max_before=1, expected_after=2)\n"
    "import sqlite3\n"
    "c = sqlite3.connect(sys.argv[1]); c.execute('SELECT count(*) FROM requests').fetchone()\n"
    "print(oct(os.umask(0)), flush=True)\n"
    # Keep the connections (so the WAL/SHM files) open while the parent looks.
    "sys.stdin.read()\n"
)


def permissions_check(workdir: Path, report: SecretReport) -> None:
    """Create the history under umask 000 in a child; check the modes while it is open."""
    db = workdir / "perm" / "deep" / "turktui" / "history.sqlite3"
    proc = subprocess.Popen(
        [sys.executable, "-c", PERMS_RUNNER, str(db)],
        cwd=REPO_ROOT,
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        text=True,
    )
    assert proc.stdout is not None and proc.stdin is not None
    umask = read_line(proc.stdout, what="the child's umask").strip()
    try:
        checks = {
            "history file": (db, 0o600),
            "data directory": (db.parent, 0o700),
            "WAL file": (Path(str(db) + "-wal"), 0o600),
            "SHM file": (Path(str(db) + "-shm"), 0o600),
        }
        for name, (path, want) in checks.items():
            if not path.exists():
                report.bad_modes.append(f"{name} missing")
                continue
            mode = stat.S_IMODE(path.stat().st_mode)
            report.modes[name] = oct(mode)
            if mode != want:
                report.bad_modes.append(
                    f"{name} is {oct(mode)}, expected {oct(want)} (umask in the child: {umask})"
                )
    finally:
        proc.stdin.close()
        proc.wait(timeout=10)


# -- the dropped SSH session ---------------------------------------------------------------
@dataclass
class HangupReport:
    exit_seconds: float = -1.0
    exit_code: int | None = None
    cpu_seconds_while_waiting: float = -1.0
    record_state: str = ""
    settled_state: str = ""
    max_delta: int = -1
    idle_exit_seconds: float = -1.0
    failures: list[str] = field(default_factory=list)


def _cpu(pid: int) -> float:
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def _hang_up(term: Any, timeout: float) -> tuple[float, int | None, float]:
    """Close the pty master (what sshd does when the connection drops); wait for the exit.
    Returns (seconds to exit, exit code, CPU seconds used during the first second)."""
    pid = term.child.pid
    cpu0 = _cpu(pid)
    t0 = time.monotonic()
    term.child.ptyproc.fileobj.close()  # the kernel sends SIGHUP to the session
    cpu_used = -1.0
    while True:
        done, status = os.waitpid(pid, os.WNOHANG)
        elapsed = time.monotonic() - t0
        if done:
            return elapsed, os.waitstatus_to_exitcode(status), max(cpu_used, 0.0)
        if cpu_used < 0 and elapsed >= 1.0:
            cpu_used = _cpu(pid) - cpu0
        if elapsed > timeout:
            os.kill(pid, signal.SIGKILL)
            os.waitpid(pid, 0)
            return elapsed, None, cpu_used
        time.sleep(0.05)


def hangup_check(
    workdir: Path, server: Any, latency: float = 2.0, *, bounds: bool = True
) -> HangupReport:
    """A dropped session, idle and with an extension in flight (answered after `latency`).
    `bounds`: also fail on the seconds to exit (5 s idle, latency + 5 s in flight), as the
    campaign does; without, a hang still fails at the waits' own bounds (15 s, latency + 20 s).
    """
    from tests.terminal.driver import Terminal, terminal_env
    from turktui.adapters.history import HistoryStore

    report = HangupReport()
    home = workdir / "hangup"
    env = terminal_env(home, AWS_ACCESS_KEY_ID=FAKE_KEY_ID, AWS_SECRET_ACCESS_KEY=FAKE_SECRET)
    # 1. Nothing in flight: the app ends at once.
    idle = Terminal(["--endpoint-url", server.url], env=env, columns=100, lines=30)
    idle.wait_for("HIT", timeout=30)
    report.idle_exit_seconds, code, _ = _hang_up(idle, 15)
    if code is None or (bounds and report.idle_exit_seconds > 5):
        report.failures.append(f"idle app did not exit after hang-up ({code})")
    # 2. An extension in flight (slow answer): it ends once the outcome is recorded.
    hit_id = server.state.add_hit(MaxAssignments=3, Reward="0.20", Title="HANGUP TARGET")
    before = server.state.get_hit_raw(hit_id)["MaxAssignments"]
    server.faults.add(op=OP_EXTEND, latency=latency, count=1)
    term = Terminal(["--endpoint-url", server.url], env=env, columns=100, lines=30)
    try:
        term.wait_for("HANGUP TARGET", timeout=30)
        term.send("G")  # the newest HIT is last in listing order
        term.pump(0.3)
        term.send("e")
        term.wait_for("Assignments to add", timeout=15)
        term.send("2")
        term.pump(0.2)
        term.send("\r")
        deadline = time.monotonic() + 10
        while server.state.request_count(OP_EXTEND) == 0 and time.monotonic() < deadline:
            time.sleep(0.02)  # hang up only once the request is really in flight
        time.sleep(0.2)
        report.exit_seconds, report.exit_code, report.cpu_seconds_while_waiting = _hang_up(
            term, latency + 20
        )
    finally:
        server.faults.clear()
    if report.exit_code is None:
        report.failures.append("the app did not exit after the hang-up")
    elif bounds and report.exit_seconds > latency + 5:
        report.failures.append(f"the app took {report.exit_seconds:.1f} s to exit")
    if report.cpu_seconds_while_waiting > 0.5:
        report.failures.append(f"spinning: {report.cpu_seconds_while_waiting:.2f} s CPU in 1 s")
    time.sleep(latency)
    with HistoryStore(history_path(home)) as history:
        records = [r for r in history.query(limit=50) if r.hit_id == hit_id]
        report.record_state = records[0].state.value if records else "(none)"
    if report.record_state not in ("sending", "unknown", "succeeded"):
        report.failures.append(f"the request in flight was recorded as {report.record_state}")
    res = run_cli(
        cli_environment(home, **FAKE_KEYS), "resolve", "--yes", "--endpoint-url", server.url
    )
    with HistoryStore(history_path(home)) as history:
        records = [r for r in history.query(limit=50) if r.hit_id == hit_id]
        report.settled_state = records[0].state.value if records else "(none)"
    report.max_delta = server.state.get_hit_raw(hit_id)["MaxAssignments"] - before
    if report.max_delta != 2 or report.settled_state not in ("succeeded", "resolved_succeeded"):
        report.failures.append(
            f"after resolve (rc {res.returncode}): {report.settled_state}, "
            f"MaxAssignments +{report.max_delta} (expected +2)"
        )
    return report
