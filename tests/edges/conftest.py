"""Fixtures for the safety-at-the-edges tests: the CLI against the emulator."""

from __future__ import annotations

import socket
from collections.abc import Iterator
from typing import Any

import pytest

OP = "CreateAdditionalAssignmentsForHIT"
SECRET = "S3cretPassw0rd"


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
