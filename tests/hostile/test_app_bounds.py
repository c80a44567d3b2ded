"""The app in a real pty: it never spins, hangs or breaks the terminal."""

from __future__ import annotations

import signal
import sqlite3
import subprocess
import sys
import threading
from pathlib import Path
from typing import Any

import pytest

from tests.hostile.common import demo_history_path, records
from tests.hostile.pty import Session
from tests.hostile.servers import HostileServer, hit_json, json_answer, trickle
from tests.runcli import write_config
from tests.terminal.driver import terminal_env
from tests.ui.helpers import read_line, wait_until


def app_env(home: Path, **extra: str) -> dict[str, str]:
    return terminal_env(
        home,
        AWS_ACCESS_KEY_ID="AKIDHOSTILETEST00000",
        AWS_SECRET_ACCESS_KEY="not-a-secret",
        **extra,
    )


def one_hit_server(stop: threading.Event, *, trickle_create: bool = True) -> HostileServer:
    def responder(op: str, request: dict[str, Any], handler: Any) -> Any:
        if op == "ListHITs":
            return json_answer({"NumResults": 1, "HITs": [hit_json("HOSTILE1")]})
        if op == "GetHIT":
            return json_answer({"HIT": hit_json("HOSTILE1")})
        if op == "GetAccountBalance":
            return json_answer({"AvailableBalance": "100.00"})
        if op == "CreateAdditionalAssignmentsForHIT" and trickle_create:
            trickle(handler, b"{}" + b" " * 10_000, 0.5, stop)
            return None
        return json_answer({})

    return HostileServer(responder)


@pytest.mark.parametrize("term", [pytest.param("dumb", marks=pytest.mark.timing), "unknown"])
def test_an_undrivable_terminal_gets_one_line_and_a_non_zero_exit(
    tmp_path: Path, term: str, alone: bool
) -> None:
    session = Session(["--demo", "--demo-hits", "5"], app_env(tmp_path, TERM=term))
    try:
        status, elapsed = session.exit_status(30)
    finally:
        session.close()
    assert status == 2
    if alone:
        assert elapsed < 20, elapsed  # never a spin
    out = bytes(session.raw)
    assert f"this terminal (TERM={term}) cannot run the app".encode() in out
    assert b"\x1b[?1049h" not in out and b"Traceback" not in out


@pytest.mark.parametrize(
    "sig", [pytest.param(signal.SIGTERM, marks=pytest.mark.timing), signal.SIGINT]
)
def test_a_signal_ends_the_app_and_restores_the_terminal(
    tmp_path: Path, sig: signal.Signals, alone: bool
) -> None:
    session = Session(["--demo", "--demo-hits", "5"], app_env(tmp_path))
    try:
        session.wait(lambda: "Quit" in session.text(), 40, "the app")
        session.kill(sig)
        status, elapsed = session.exit_status(30)
    finally:
        session.close()
    assert status == 128 + sig
    if alone:
        assert elapsed < 5, elapsed
    assert session.terminal_problems() == []
    assert b"Traceback" not in bytes(session.raw)


def test_quitting_with_a_request_in_flight_says_so_and_ctrl_c_leaves_it_unknown(
    tmp_path: Path,
) -> None:
    # A deadline far away: an exit within the waits below is Ctrl-C's doing, not the deadline's.
    write_config(tmp_path, "request_deadline = 600\n")
    stop = threading.Event()
    with one_hit_server(stop) as server:
        session = Session(["--endpoint-url", server.url], app_env(tmp_path))
        try:
            session.wait(lambda: "HOSTILE1" in session.text(), 40, "the HIT list")
            session.send("e")
            session.wait(lambda: "Assignments to add" in session.text(), 10, "the dialog")
            session.send("1")
            session.send("\r")
            wait_until(
                lambda: "CreateAdditionalAssignmentsForHIT" in server.ops(),
                20,
                "the extension to be sent",
            )
            session.send("q")
            says = b"waiting for the request to HIT HOSTILE1 to finish (Ctrl-C to leave it unknown)"
            session.wait_raw(says, 30)
            session.send("\x03")
            status, _ = session.exit_status(30)
        finally:
            stop.set()
            session.close()
    assert status == 5
    assert b"recorded as unknown" in bytes(session.raw)
    assert session.terminal_problems() == []
    [record] = records(tmp_path)
    assert record.state.value == "unknown" and "closed before MTurk answered" in record.note


@pytest.mark.timing
def test_sigterm_with_a_trickling_request_ends_within_the_deadline(tmp_path: Path) -> None:
    write_config(tmp_path, "request_deadline = 3\n")
    stop = threading.Event()
    with one_hit_server(stop) as server:
        session = Session(["--endpoint-url", server.url], app_env(tmp_path))
        try:
            session.wait(lambda: "HOSTILE1" in session.text(), 40, "the HIT list")
            session.send("e")
            session.wait(lambda: "Assignments to add" in session.text(), 10, "the dialog")
            session.send("1")
            session.send("\r")
            wait_until(
                lambda: "CreateAdditionalAssignmentsForHIT" in server.ops(),
                20,
                "the extension to be sent",
            )
            session.kill(signal.SIGTERM)
            status, elapsed = session.exit_status(15)
        finally:
            stop.set()
            session.close()
    assert status == 143 and elapsed < 10
    assert session.terminal_problems() == []
    [record] = records(tmp_path)
    assert record.state.value == "unknown"  # the deadline passed: recorded, not "sending"


@pytest.mark.timing  # a frozen app would answer after the lock's busy timeout (15 s)
def test_a_history_locked_by_another_process_never_freezes_the_app(tmp_path: Path) -> None:
    from turktui.adapters.history import open_history

    path = demo_history_path(tmp_path)
    open_history(path).close()
    locker = subprocess.Popen(
        [
            sys.executable,
            "-c",
            "import sqlite3, sys\n"
            f"db = sqlite3.connect({str(path)!r}, isolation_level=None)\n"
            "db.execute('PRAGMA locking_mode=EXCLUSIVE')\n"
            "db.execute('BEGIN EXCLUSIVE')\n"
            "print('locked', flush=True)\n"
            "sys.stdin.read()\n",
        ],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        text=True,
    )
    try:
        assert locker.stdout is not None
        assert read_line(locker.stdout, what="the lock").strip() == "locked"
        with pytest.raises(sqlite3.OperationalError):  # the lock really holds
            sqlite3.connect(path, timeout=0.1).execute("SELECT 1 FROM requests").fetchall()
        session = Session(["--demo", "--demo-hits", "5"], app_env(tmp_path))
        try:
            session.wait(lambda: "Quit" in session.text(), 40, "the app")
            session.send("h")  # the start-up check is still opening the history
            session.wait(lambda: "being opened" in session.text(), 10, "a notification")
            session.send("q")
            status, elapsed = session.exit_status(8)
        finally:
            session.close()
    finally:
        if locker.stdin is not None:
            locker.stdin.close()
        locker.wait(10)
    assert status == 0 and elapsed < 6
    assert session.terminal_problems() == []


def test_quitting_the_app_checkpoints_the_history_wal(tmp_path: Path) -> None:
    session = Session(["--demo", "--demo-hits", "5"], app_env(tmp_path))
    path = demo_history_path(tmp_path)
    try:
        session.wait(lambda: "Quit" in session.text(), 40, "the app")
        wait_until(path.exists, 20, "the history to be opened")
        session.send("q")
        status, _ = session.exit_status(10)
    finally:
        session.close()
    wal = Path(str(path) + "-wal")
    assert status == 0
    assert not wal.exists() or wal.stat().st_size == 0
