"""Commands in a hostile world: a trickling server is bounded by the request deadline,
signals end a command with the in-flight record marked unknown, output never fails after a
change was applied, and every numeric argument has a range."""

from __future__ import annotations

import json
import signal
import threading
import time
from pathlib import Path
from typing import Any

import pytest

from tests.hostile.common import records
from tests.hostile.servers import HostileServer, hit_json, json_answer, trickle
from tests.runcli import run_cli, start_process, write_config
from tests.ui.helpers import wait_until

CREATE = "CreateAdditionalAssignmentsForHIT"


def hanging_create(stop: threading.Event) -> Any:
    """GetHIT answers; the extension's answer trickles in, one byte every 0.5 s."""

    def responder(op: str, request: dict[str, Any], handler: Any) -> Any:
        if op == "GetHIT":
            return json_answer({"HIT": hit_json(request.get("HITId", "A"))})
        if op == CREATE:
            trickle(handler, b"{}" + b" " * 10_000, 0.5, stop)
            return None
        return json_answer({})

    return responder


@pytest.mark.timing  # the deadline is the subject: it holds with nothing else running
def test_extend_against_a_trickling_server_ends_at_the_deadline(
    tmp_path: Path, cli_env: dict[str, str]
) -> None:
    write_config(tmp_path, "request_deadline = 2\n")
    stop = threading.Event()
    with HostileServer(hanging_create(stop)) as server:
        started = time.monotonic()
        try:
            result = run_cli(
                cli_env, "extend", "HOSTILE1", "1", "--json", "--endpoint-url", server.url
            )
        finally:
            stop.set()
        elapsed = time.monotonic() - started
    assert elapsed < 15, elapsed  # was: still waiting after 130 s
    assert result.returncode == 5, result.stderr
    payload = json.loads(result.stdout)
    assert payload["state"] == "unknown" and "within 2 s" in payload["error_message"]
    assert [r.state.value for r in records(tmp_path)] == ["unknown"]
    assert "Traceback" not in result.stderr


@pytest.mark.parametrize(
    "sig", [pytest.param(signal.SIGTERM, marks=pytest.mark.timing), signal.SIGINT, signal.SIGHUP]
)
def test_a_signal_during_extend_records_the_request_as_unknown(
    tmp_path: Path, cli_env: dict[str, str], sig: signal.Signals, alone: bool
) -> None:
    # A deadline far away: ending before it (within the wait below) is the signal's doing.
    write_config(tmp_path, "request_deadline = 600\n")
    stop = threading.Event()
    with HostileServer(hanging_create(stop)) as server:
        proc = start_process(cli_env, "extend", "HOSTILE1", "1", "--endpoint-url", server.url)
        try:
            wait_until(lambda: CREATE in server.ops(), 30, "the extension to be sent")
            time.sleep(0.2)  # inside the wait for the answer
            sent = time.monotonic()
            proc.send_signal(sig)
            _out, err = proc.communicate(timeout=60)
            elapsed = time.monotonic() - sent
        finally:
            stop.set()
            if proc.poll() is None:
                proc.kill()
    assert proc.returncode == 128 + sig, err
    if alone:
        assert elapsed < 5, elapsed  # at once, not at the request's deadline
    assert f"interrupted ({sig.name})" in err and "Traceback" not in err
    assert "recorded as unknown" in err and "turktui resolve" in err
    [record] = records(tmp_path)
    assert record.state.value == "unknown" and sig.name in record.note


def test_json_output_survives_an_ascii_only_stdout(
    cli_env: dict[str, str], make_emulator: Any
) -> None:
    emulator = make_emulator(0)
    hit_id = emulator.state.add_hit(
        Title="Umfrage \u00fcber K\u00e4se \u2014 \U0001f9c0",
        MaxAssignments=3,
        Reward="0.10",
        CreationTime=emulator.state.now() - 60,
    )
    ascii_only = {"PYTHONIOENCODING": "ascii", "LC_ALL": "C"}
    result = run_cli(
        cli_env, "extend", hit_id, "2", "--json", "--endpoint-url", emulator.url, extra=ascii_only
    )
    assert result.returncode == 0, result.stderr
    assert result.stdout.isascii()
    payload = json.loads(result.stdout)  # ASCII, escapes: valid JSON
    assert payload["hit_title"].endswith("\U0001f9c0") and payload["state"] == "succeeded"
    assert emulator.state.get_hit_raw(hit_id)["MaxAssignments"] == 5
    text = run_cli(cli_env, "history", extra=ascii_only)
    assert text.returncode == 0 and "Umfrage \\xfcber" in text.stdout


@pytest.mark.parametrize(
    "args",
    [
        ["history", "--limit", "99999999999999999999999"],
        ["history", "--limit", "0"],
        ["--auto-refresh", "nan"],
        ["--auto-refresh", "1e308"],
        ["--demo-hits", "99999999999"],
        ["extend", "A", "B", "--add", "1", "--workers", "99999999999999999999"],
    ],
)
def test_numeric_arguments_have_ranges(cli_env: dict[str, str], args: list[str]) -> None:
    result = run_cli(cli_env, *args)
    assert result.returncode == 2, (result.returncode, result.stderr)
    assert "Traceback" not in result.stderr and "internal error" not in result.stderr


def test_ctrl_c_during_a_bulk_batch_ends_cleanly_with_nothing_left_sending(
    tmp_path: Path, cli_env: dict[str, str]
) -> None:
    write_config(tmp_path, "request_deadline = 2\n")
    stop = threading.Event()
    with HostileServer(hanging_create(stop)) as server:
        proc = start_process(
            cli_env,
            "extend",
            "BULK1",
            "BULK2",
            "BULK3",
            "--add",
            "1",
            "--workers",
            "1",
            "--yes",
            "--json",
            "--endpoint-url",
            server.url,
        )
        try:
            wait_until(lambda: CREATE in server.ops(), 30, "the first extension to be sent")
            proc.send_signal(signal.SIGINT)
            out, err = proc.communicate(timeout=30)
        finally:
            stop.set()
            if proc.poll() is None:
                proc.kill()
    assert "KeyError" not in err and "internal error" not in err and "Traceback" not in err
    assert proc.returncode == 128 + signal.SIGINT, err  # 130, whatever was left unknown
    states = sorted(r.state.value for r in records(tmp_path))
    assert "sending" not in states and states.count("unknown") == 1, states
    assert server.ops().count(CREATE) == 1
    data = json.loads(out)
    assert data["unknown"] == 1 and data["exit_code"] == 130
    assert "interrupted (SIGINT)" in data["message"] and "turktui resolve" in data["message"]


def test_a_nan_request_deadline_in_the_config_is_one_line(
    tmp_path: Path, cli_env: dict[str, str]
) -> None:
    write_config(tmp_path, "request_deadline = nan\n")
    result = run_cli(cli_env, "history")
    assert result.returncode == 2 and "request_deadline" in result.stderr
