"""Categories 5 and 6: no credential anywhere turktui writes, private file modes under a
permissive umask, and a dropped SSH session ends the app with the request recorded."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.reliability import secrets_perms
from turktui.emulator import EmulatorServer

pytestmark = pytest.mark.timeout(120)


def test_fake_key_never_written(emu: EmulatorServer, tmp_path: Path) -> None:
    report = secrets_perms.secrets_check(tmp_path, emu)
    assert report.leaks == []
    assert len(report.scanned) >= 10 and "screenshot.svg" in report.scanned
    assert report.bad_modes == []


def test_history_private_under_umask_000(tmp_path: Path) -> None:
    report = secrets_perms.SecretReport()
    secrets_perms.permissions_check(tmp_path, report)
    assert report.bad_modes == []
    assert report.modes == {
        "history file": "0o600",
        "data directory": "0o700",
        "WAL file": "0o600",
        "SHM file": "0o600",
    }


def test_dropped_ssh_session(emu: EmulatorServer, tmp_path: Path) -> None:
    # The answer comes 1 s after the hang-up; how fast the app exits is the campaign's figure
    # (a hang still fails here, at the waits' bounds).
    report = secrets_perms.hangup_check(tmp_path, emu, latency=1.0, bounds=False)
    assert report.failures == []
    assert report.exit_code == 129  # 128 + SIGHUP, after the request's outcome was recorded
    assert report.record_state == "succeeded" and report.max_delta == 2
