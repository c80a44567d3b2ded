"""The log directory `turktui paths` lists is really written: requests and outcomes, 0600,
rotated, never a secret."""

from __future__ import annotations

import json
import stat
from pathlib import Path

from tests.edges.conftest import SECRET
from tests.runcli import run_cli


def log_dir(env: dict[str, str]) -> Path:
    return Path(env["XDG_STATE_HOME"]) / "turktui" / "log"


def test_requests_and_outcomes_are_logged_without_secrets(emulator, make_emulator, cli_env) -> None:
    hit_id = emulator.state.add_hit(MaxAssignments=3, Reward="0.10")
    url = emulator.url.replace("http://", f"http://ops:{SECRET}@")
    res = run_cli(cli_env, "extend", hit_id, "2", "--json", "--endpoint-url", url)
    assert res.returncode == 0, res.stderr
    token = json.loads(res.stdout)["token"]
    refused = emulator.state.add_hit(MaxAssignments=3, Reward="100.00")
    emulator.state.set_balance("1.00")
    try:
        assert (
            run_cli(cli_env, "extend", refused, "1", "--endpoint-url", emulator.url).returncode == 3
        )
    finally:
        emulator.state.set_balance("100000000.00")
    paths = run_cli(cli_env, "paths").stdout
    assert f"logs:    {log_dir(cli_env)}" in paths
    log = log_dir(cli_env) / "requests.log"
    assert stat.S_IMODE(log.stat().st_mode) == 0o600
    assert stat.S_IMODE(log.parent.stat().st_mode) == 0o700
    text = log.read_text()
    assert (
        f"CUSTOM {emulator.url} CreateAdditionalAssignmentsForHIT HIT {hit_id} +2 "
        f"token {token} -> ok"
    ) in text
    assert f"HIT {refused} +1" in text and "InsufficientFunds" in text
    for secret in (SECRET, "ops:", "test-secret", "AKIDTESTTESTTEST0000"):
        assert secret not in text


def test_log_rotates_and_every_file_is_private(tmp_path) -> None:
    from turktui.adapters import requestlog
    from turktui.domain.environment import Environment, EnvKind

    env = Environment(EnvKind.PRODUCTION, "https://mturk-requester.us-east-1.amazonaws.com")
    where = requestlog.setup(tmp_path / "log", max_bytes=500, backups=2)
    try:
        assert where == tmp_path / "log" / "requests.log"
        for i in range(40):
            requestlog.note(env, f"line {i} http://u:{SECRET}@host:1/")
    finally:
        requestlog.teardown()
    files = sorted((tmp_path / "log").iterdir())
    assert [f.name for f in files] == ["requests.log", "requests.log.1", "requests.log.2"]
    for f in files:
        assert stat.S_IMODE(f.stat().st_mode) == 0o600
        assert SECRET not in f.read_text()
    assert "line 39 http://host:1/" in files[0].read_text()


def test_unwritable_log_directory_never_stops_the_program(tmp_path) -> None:
    from turktui.adapters import requestlog

    blocker = tmp_path / "file"
    blocker.write_text("not a directory")
    assert requestlog.setup(blocker / "log") is None


def test_the_log_is_opened_and_checked_once_not_per_line(tmp_path, monkeypatch) -> None:
    """A thousand approvals write a thousand lines: the file is opened (O_NOFOLLOW) and
    checked once, then each line is one write: no lookup of the file's name per line (the
    standard handler stats it twice and formats each line twice)."""
    import os

    from turktui.adapters import requestlog
    from turktui.domain.environment import Environment, EnvKind

    env = Environment(EnvKind.PRODUCTION, "https://mturk-requester.us-east-1.amazonaws.com")
    path = requestlog.setup(tmp_path / "log")
    assert path is not None
    by_name: list[str] = []
    real_open, real_stat = os.open, os.stat

    def counted_open(name, *args, **kwargs):  # type: ignore[no-untyped-def]
        by_name.append(f"open {name}")
        return real_open(name, *args, **kwargs)

    def counted_stat(name, *args, **kwargs):  # type: ignore[no-untyped-def]
        if str(name).startswith(str(path)):
            by_name.append(f"stat {name}")
        return real_stat(name, *args, **kwargs)

    monkeypatch.setattr(os, "open", counted_open)
    monkeypatch.setattr(os, "stat", counted_stat)
    try:
        for i in range(50):
            requestlog.note(env, f"ApproveAssignment assignment A{i} -> ok")
    finally:
        requestlog.teardown()
    assert by_name == [f"open {path}"]
    lines = path.read_text().splitlines()
    assert len(lines) == 50 and lines[-1].endswith("ApproveAssignment assignment A49 -> ok")
