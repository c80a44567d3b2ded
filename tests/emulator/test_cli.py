"""``turktui emulator`` as a foreground process."""

from __future__ import annotations

import re
import signal
import subprocess
import sys

import pytest

from tests.emulator.helpers import raw_call
from tests.runcli import default_sigint
from tests.ui.helpers import read_line
from turktui.emulator import cli_main

CMD = [
    sys.executable,
    "-c",
    "import sys; from turktui.emulator import cli_main; sys.exit(cli_main(sys.argv[1:]))",
]


@pytest.mark.parametrize("sig", [signal.SIGINT, signal.SIGTERM])
def test_serves_and_stops_cleanly(subprocess_env: dict[str, str], sig: int) -> None:
    proc = subprocess.Popen(
        [*CMD, "--port", "0", "--hits", "25", "--seed", "3"],
        env=subprocess_env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        preexec_fn=default_sigint,  # a runner in the background hands SIGINT down ignored
    )
    try:
        assert proc.stdout is not None
        first = read_line(proc.stdout, what="the emulator's address")
        hint = read_line(proc.stdout, what="the emulator's hint")
        m = re.match(
            r"MTurk-compatible service at (http://127\.0\.0\.1:\d+) "
            r"\(HITs: 25, seed: 3\)",
            first,
        )
        assert m, first
        url = m.group(1)
        assert "aws mturk list-hits --endpoint-url " + url in hint
        assert "--region us-east-1" in hint
        status, _, data = raw_call(url, "ListHITs", {"MaxResults": 100})
        assert status == 200 and data["NumResults"] == 25
        proc.send_signal(sig)
        out, err = proc.communicate(timeout=10)
    finally:
        if proc.poll() is None:
            proc.kill()
    assert proc.returncode == 0
    assert "Traceback" not in err and "Traceback" not in out


@pytest.mark.parametrize(
    "args",
    [
        ["--port", "abc"],
        ["--hits", "-1"],
        ["--faults", "ListHITs:speed=1"],
        ["--balance", "lots"],
        ["--port", "70000"],
        ["--nope"],
    ],
)
def test_bad_arguments(args: list[str], capsys: pytest.CaptureFixture[str]) -> None:
    assert cli_main(args) == 2
    err = capsys.readouterr().err
    assert err.startswith("turktui emulator: error:")
    assert len(err.strip().splitlines()) == 1


def test_world_and_listing_flags(subprocess_env: dict[str, str]) -> None:
    # `--activity`, `--assignment-lag`, `--short-last-page` reach the service
    proc = subprocess.Popen(
        [*CMD, "--hits", "30", "--activity", "6", "--assignment-lag", "7m", "--short-last-page"],
        env=subprocess_env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        preexec_fn=default_sigint,
    )
    try:
        assert proc.stdout is not None
        url = re.match(r"MTurk-compatible service at (\S+) ", proc.stdout.readline())
        assert url
        proc.stdout.readline()
        assert proc.stdout.readline().strip().endswith("assignments 420s after submission")
        assert proc.stdout.readline().startswith("Workers: 6 arrivals an hour")
        status, _, data = raw_call(url.group(1), "ListHITs", {"MaxResults": 30})
        assert status == 200 and data["NumResults"] == 30 and "NextToken" not in data
        proc.send_signal(signal.SIGTERM)
        proc.communicate(timeout=10)
    finally:
        if proc.poll() is None:
            proc.kill()
    assert proc.returncode == 0
