"""Fixtures for the emulator tests: a fresh server, boto3 clients, and a subprocess environment
(the hermetic environment itself is the root conftest's autouse fixture)."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.conftest import subprocess_env as hermetic_subprocess_env
from tests.emulator.helpers import Clock, make_client
from turktui.emulator import EmulatorServer


@pytest.fixture
def clock() -> Clock | None:
    """The service's clock: None is the real time; a module overrides this fixture with a
    `Clock` to move time without sleeping."""
    return None


@pytest.fixture
def server_options() -> dict[str, Any]:
    """Extra `EmulatorServer` options (a module overrides this, e.g. with lags)."""
    return {}


@pytest.fixture
def srv(clock: Clock | None, server_options: dict[str, Any]) -> Iterator[EmulatorServer]:
    """A fresh, empty service (each test adds the HITs it needs)."""
    with EmulatorServer(hits=0, now=clock, **server_options) as server:
        yield server


@pytest.fixture
def client(srv: EmulatorServer) -> Any:
    return make_client(srv.url)


@pytest.fixture
def client_factory() -> Callable[..., Any]:
    return make_client


@pytest.fixture
def subprocess_env(hermetic_env: Path) -> dict[str, str]:
    """The hermetic environment (tests/conftest.py) plus dummy keys for the AWS CLI."""
    return hermetic_subprocess_env(
        hermetic_env,
        AWS_ACCESS_KEY_ID="AKIDEXAMPLE",
        AWS_SECRET_ACCESS_KEY="x",
        AWS_DEFAULT_REGION="us-east-1",
        AWS_PAGER="",
    )
