"""Fixtures for the emulator tests: isolated AWS env, a fresh server and boto3 clients."""

from __future__ import annotations

import os
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.emulator.helpers import make_client
from turktui.emulator import EmulatorServer


@pytest.fixture(scope="session", autouse=True)
def aws_isolation(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Path]:
    """Never read the real ~/.aws: point config/credentials at files that do not exist."""
    home = tmp_path_factory.mktemp("home")
    mp = pytest.MonkeyPatch()
    mp.setenv("AWS_CONFIG_FILE", str(home / "nonexistent-config"))
    mp.setenv("AWS_SHARED_CREDENTIALS_FILE", str(home / "nonexistent-credentials"))
    mp.setenv("AWS_ACCESS_KEY_ID", "AKIDEXAMPLE")
    mp.setenv("AWS_SECRET_ACCESS_KEY", "x")
    mp.setenv("AWS_DEFAULT_REGION", "us-east-1")
    for name in ("AWS_PROFILE", "AWS_SESSION_TOKEN", "AWS_ENDPOINT_URL",
                 "AWS_ENDPOINT_URL_MTURK"):
        mp.delenv(name, raising=False)
    yield home
    mp.undo()


@pytest.fixture(scope="session")
def home_dir(aws_isolation: Path) -> Path:
    return aws_isolation


@pytest.fixture
def srv() -> Iterator[EmulatorServer]:
    """A fresh, empty service (each test adds the HITs it needs)."""
    with EmulatorServer(hits=0) as server:
        yield server


@pytest.fixture
def client(srv: EmulatorServer) -> Any:
    return make_client(srv.url)


@pytest.fixture
def client_factory() -> Callable[..., Any]:
    return make_client


@pytest.fixture
def subprocess_env(home_dir: Path) -> dict[str, str]:
    env = dict(os.environ)
    env.update({
        "HOME": str(home_dir),
        "AWS_ACCESS_KEY_ID": "AKIDEXAMPLE",
        "AWS_SECRET_ACCESS_KEY": "x",
        "AWS_DEFAULT_REGION": "us-east-1",
        "AWS_CONFIG_FILE": str(home_dir / "nonexistent-config"),
        "AWS_SHARED_CREDENTIALS_FILE": str(home_dir / "nonexistent-credentials"),
        "AWS_PAGER": "",
    })
    return env
