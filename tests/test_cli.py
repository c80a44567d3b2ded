"""The command line as a user meets it: version, help, paths and one-line errors."""

from __future__ import annotations

from pathlib import Path

from tests.runcli import config_path, run_cli, run_process, write_config
from turktui import __version__


def test_version_through_the_real_entry_point(cli_env: dict[str, str]) -> None:
    """The one test of `python -m turktui` end to end (the rest run `main()` in-process)."""
    result = run_process(cli_env, "--version")
    assert result.returncode == 0 and result.stdout.strip() == f"turktui {__version__}"


def test_help_lists_commands_and_connection_options(cli_env: dict[str, str]) -> None:
    result = run_cli(cli_env, "--help")
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


def test_paths_prints_platformdirs_locations(cli_env: dict[str, str], tmp_path: Path) -> None:
    result = run_cli(cli_env, "paths")
    assert result.returncode == 0
    assert f"config:  {config_path(tmp_path)}" in result.stdout
    assert f"history: {Path(cli_env['XDG_DATA_HOME']) / 'turktui'}" in result.stdout


def test_wrong_option_is_a_usage_error(cli_env: dict[str, str]) -> None:
    result = run_cli(cli_env, "--no-such-option")
    assert result.returncode == 2 and "Traceback" not in result.stderr
    assert "unrecognized arguments" in result.stderr


def test_sandbox_and_production_conflict(cli_env: dict[str, str]) -> None:
    result = run_cli(cli_env, "--sandbox", "--production")
    assert result.returncode == 2 and "not allowed with" in result.stderr


def test_broken_config_is_one_line_and_nonzero(cli_env: dict[str, str], tmp_path: Path) -> None:
    write_config(tmp_path, "profile = [\n")
    result = run_cli(cli_env, "--sandbox")
    assert result.returncode != 0 and "Traceback" not in result.stderr
    lines = [line for line in result.stderr.splitlines() if line.strip()]
    assert lines and lines[0].startswith("turktui: error: config file") and len(lines) <= 2


def test_emulator_help(cli_env: dict[str, str]) -> None:
    result = run_cli(cli_env, "emulator", "--help")
    assert result.returncode == 0 and "--faults" in result.stdout and "--hits" in result.stdout


def test_the_app_refusing_to_start_leaves_no_hangup_watcher(cli_env: dict[str, str]) -> None:
    """`main()` returns with the process as it found it: the app's SIGHUP watcher (SIGHUP
    blocked, a thread in sigwait that ends the process) goes once the app has not started.
    Old code: SIGHUP stayed blocked (inherited by every later child) and the watcher stayed."""
    import signal
    import threading

    before = {t for t in threading.enumerate() if t.name == "hangup"}
    result = run_cli(cli_env, "--sandbox")  # output is not a terminal: the app refuses
    assert result.returncode == 2 and "needs a terminal" in result.stderr
    assert signal.SIGHUP not in signal.pthread_sigmask(signal.SIG_BLOCK, [])
    assert {t for t in threading.enumerate() if t.name == "hangup"} == before
