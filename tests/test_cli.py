"""The command line as a user meets it: version, help, paths and one-line errors."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from tests.conftest import subprocess_env
from turktui import __version__


def run(
    *args: str, env: dict[str, str] | None = None, timeout: float = 60
) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-m", "turktui", *args],
        capture_output=True,
        text=True,
        timeout=timeout,
        env=env,
        stdin=subprocess.DEVNULL,
    )


@pytest.fixture
def user_env(tmp_path: Path) -> dict[str, str]:
    return subprocess_env(
        tmp_path, XDG_CONFIG_HOME=str(tmp_path / "cfg"), XDG_DATA_HOME=str(tmp_path / "data")
    )


def test_version(user_env: dict[str, str]) -> None:
    result = run("--version", env=user_env)
    assert result.returncode == 0 and result.stdout.strip() == f"turktui {__version__}"


def test_help_lists_commands_and_connection_options(user_env: dict[str, str]) -> None:
    result = run("--help", env=user_env)
    assert result.returncode == 0
    for word in (
        "--demo",
        "--profile",
        "--sandbox",
        "--production",
        "--endpoint-url",
        "--read-only",
        "emulator",
        "paths",
        "SANDBOX",
    ):
        assert word in result.stdout


def test_paths_prints_platformdirs_locations(user_env: dict[str, str], tmp_path: Path) -> None:
    result = run("paths", env=user_env)
    assert result.returncode == 0
    assert f"config:  {tmp_path / 'cfg' / 'turktui' / 'config.toml'}" in result.stdout
    assert f"history: {tmp_path / 'data' / 'turktui'}" in result.stdout


def test_wrong_option_is_a_usage_error(user_env: dict[str, str]) -> None:
    result = run("--no-such-option", env=user_env)
    assert result.returncode == 2 and "Traceback" not in result.stderr
    assert "unrecognized arguments" in result.stderr


def test_sandbox_and_production_conflict(user_env: dict[str, str]) -> None:
    result = run("--sandbox", "--production", env=user_env)
    assert result.returncode == 2 and "not allowed with" in result.stderr


def test_broken_config_is_one_line_and_nonzero(user_env: dict[str, str], tmp_path: Path) -> None:
    config = tmp_path / "cfg" / "turktui" / "config.toml"
    config.parent.mkdir(parents=True)
    config.write_text("profile = [\n")
    result = run("--sandbox", env=user_env)
    assert result.returncode != 0 and "Traceback" not in result.stderr
    lines = [line for line in result.stderr.splitlines() if line.strip()]
    assert lines and lines[0].startswith("turktui: error: config file") and len(lines) <= 2


def test_emulator_help(user_env: dict[str, str]) -> None:
    result = run("emulator", "--help", env=user_env)
    assert result.returncode == 0 and "--faults" in result.stdout and "--hits" in result.stdout
