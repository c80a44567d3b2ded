"""``turktui emulator`` as a foreground process."""

from __future__ import annotations

import re
import signal
import subprocess
import sys

import pytest

from tests.emulator.helpers import raw_call
from tests.runcli import default_sigint
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
        first = proc.stdout.readline()
        hint = proc.stdout.readline()
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
