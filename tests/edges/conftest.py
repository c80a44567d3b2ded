"""Fixtures for the safety-at-the-edges tests: subprocess CLI runs against the emulator."""

from __future__ import annotations

import socket
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.conftest import subprocess_env

OP = "CreateAdditionalAssignmentsForHIT"
SECRET = "S3cretPassw0rd"


@pytest.fixture
def cli_env(tmp_path: Path) -> dict[str, str]:
    return subprocess_env(
        tmp_path / "home",
        AWS_ACCESS_KEY_ID="AKIDTESTTESTTEST0000",
        AWS_SECRET_ACCESS_KEY="test-secret",
        NO_PROXY="*",
        no_proxy="*",
    )


def run(
    env: dict[str, str], *args: str, extra: dict[str, str] | None = None, stdin: str | None = ""
) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "turktui", *args],
        env={**env, **(extra or {})},
        capture_output=True,
        text=True,
        timeout=90,
        input=stdin,
    )


def local_non_loopback_ip() -> str | None:
    """An address of this machine that is not loopback (for a 'remote' custom endpoint)."""
    sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    try:
        sock.connect(("192.0.2.1", 9))  # no packet is sent: this only picks a route
        ip = sock.getsockname()[0]
    except OSError:
        return None
    finally:
        sock.close()
    return None if ip.startswith("127.") or ip == "0.0.0.0" else ip


@pytest.fixture
def remote_emulator() -> Iterator[tuple[Any, str]]:
    """An emulator listening on every interface, with its URL on a non-loopback address."""
    from turktui.emulator import EmulatorServer

    ip = local_non_loopback_ip()
    if ip is None:
        pytest.skip("this machine has no non-loopback IPv4 address")
    server = EmulatorServer(host="0.0.0.0", port=0, hits=0, seed=1).start()
    try:
        yield server, f"http://{ip}:{server.port}"
    finally:
        server.stop()
