"""Choosing the history: --history-url > TURKTUI_HISTORY_URL > the config's history_url > the
local file; the shared PostgreSQL history through the CLI; passwords never shown."""

from __future__ import annotations

import json
import sys
from pathlib import Path

import pytest

from tests.runcli import run_cli

SECRET = "s3cretpw"


def _config(env: dict[str, str], text: str) -> None:
    path = Path(env["XDG_CONFIG_HOME"]) / "turktui" / "config.toml"
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text, encoding="utf-8")


def _history_line(env: dict[str, str], *args: str) -> str:
    result = run_cli(env, "paths", *args)
    assert result.returncode == 0, result.stderr
    return next(line for line in result.stdout.splitlines() if line.startswith("history:"))


def test_flag_beats_variable_beats_config_beats_the_file(cli_env: dict[str, str]) -> None:
    assert _history_line(cli_env).endswith("history.sqlite3")
    _config(cli_env, 'history_url = "postgresql://config-host/turk"\n')
    assert "config-host" in _history_line(cli_env)
    env = {**cli_env, "TURKTUI_HISTORY_URL": "postgresql://env-host/turk"}
    assert "env-host" in _history_line(env)
    line = _history_line(env, "--history-url", "postgres://flag-host:6543/turk")
    assert line == "history: shared PostgreSQL history postgres://flag-host:6543/turk"
    # An empty variable is unset: the config's URL again.
    assert "config-host" in _history_line({**cli_env, "TURKTUI_HISTORY_URL": " "})


def test_a_password_is_never_shown(cli_env: dict[str, str]) -> None:
    url = f"postgresql://ops:{SECRET}@db.example/turk?sslmode=require&password={SECRET}"
    env = {**cli_env, "TURKTUI_HISTORY_URL": url}
    result = run_cli(env, "paths")
    assert result.returncode == 0
    assert "shared PostgreSQL history postgresql://db.example/turk?sslmode=require" in result.stdout
    # Unreachable (nothing listens there): one line, exit 2, still no password.
    env["TURKTUI_HISTORY_URL"] = f"postgresql://ops:{SECRET}@127.0.0.1:1/turk?connect_timeout=2"
    result = run_cli(env, "history")
    assert result.returncode == 2
    assert "shared history unreachable" in result.stdout + result.stderr
    for text in (result.stdout, result.stderr):
        assert SECRET not in text and "Traceback" not in text


@pytest.mark.parametrize(
    ("args", "variable", "config", "names"),
    [
        (["--history-url", "mysql://db/turk"], "", "", "--history-url"),
        (["--history-url", ""], "", "", "--history-url is empty"),
        ([], "postgresql://db:99999999/turk", "", "TURKTUI_HISTORY_URL"),
        ([], "", 'history_url = "/var/lib/turk.sqlite3"\n', "history_url"),
        ([], "", "history_url = 5\n", "history_url must be a str"),
    ],
)
def test_a_bad_url_is_one_line_and_exit_2(
    cli_env: dict[str, str], args: list[str], variable: str, config: str, names: str
) -> None:
    if config:
        _config(cli_env, config)
    env = {**cli_env, "TURKTUI_HISTORY_URL": variable} if variable else cli_env
    for command in (["history", *args], ["paths", *args]):
        result = run_cli(env, *command)
        assert result.returncode == 2, (command, result.stdout, result.stderr)
        errors = [line for line in result.stderr.splitlines() if line]
        assert len(errors) == 1 and names in errors[0], result.stderr
        assert "Traceback" not in result.stderr


def test_without_psycopg_a_postgresql_url_names_the_install(
    cli_env: dict[str, str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setitem(sys.modules, "psycopg", None)  # import psycopg → ImportError
    monkeypatch.delitem(sys.modules, "turktui.adapters.history_pg", raising=False)
    result = run_cli(cli_env, "history", "--history-url", "postgresql://db.example/turk")
    assert result.returncode == 2
    assert "pip install 'turktui[postgres]'" in result.stderr
    assert len(result.stderr.strip().splitlines()) == 1


def test_commands_share_the_postgresql_history(
    cli_env: dict[str, str], pg_db_url: str, emulator
) -> None:
    """extend records in the shared database; history (and --json) reads it there; demo
    records stay in the local demo file; the local file is never created."""
    hit = emulator.state.add_hit(MaxAssignments=2, Reward="1.00")
    env = {**cli_env, "TURKTUI_HISTORY_URL": pg_db_url}
    result = run_cli(env, "extend", hit, "2", "--endpoint-url", emulator.url, "--json")
    assert result.returncode == 0, result.stderr
    listed = json.loads(run_cli(env, "history", "--json").stdout)
    assert [r["hit_id"] for r in listed["records"]] == [hit]
    assert listed["records"][0]["state"] == "succeeded"
    assert listed["file"].startswith("shared PostgreSQL history postgresql://")
    text = run_cli(env, "history").stdout
    assert hit in text and "shared PostgreSQL history" in text
    local = Path(cli_env["XDG_DATA_HOME"]) / "turktui" / "history.sqlite3"
    assert not local.exists()
    # The same HIT from "another operator" with the local file: not the shared history.
    assert json.loads(run_cli(cli_env, "history", "--json").stdout)["count"] == 0


@pytest.mark.parametrize("size", [(80, 24), (160, 48)])
async def test_the_banner_names_the_shared_history(
    make_emulator, make_context, pg_db_url: str, size: tuple[int, int]
) -> None:
    """On screen at both sizes, without the password; the default file is not named."""
    from dataclasses import replace

    from tests.ui.helpers import screen_text, wait_loaded
    from turktui.ui.app import TurkTuiApp

    server = make_emulator(3)
    ctx = make_context(server.url)
    url = pg_db_url.replace("postgresql://turktui_test@", f"postgresql://turktui_test:{SECRET}@")
    ctx.paths = replace(ctx.paths, history_url=url)
    app = TurkTuiApp(ctx)
    async with app.run_test(size=size) as pilot:
        await wait_loaded(pilot)
        text = screen_text(app)
        assert "shared PostgreSQL history" in text and "postgresql:///t_" in text
        assert SECRET not in text
    ctx = make_context(server.url)
    app = TurkTuiApp(ctx)
    async with app.run_test(size=size) as pilot:
        await wait_loaded(pilot)
        assert "history" not in screen_text(app).split("\n", 3)[0]


def test_history_exports_csv_for_an_audit(
    cli_env: dict[str, str], history_at: Path | str, emulator
) -> None:
    """Both stores: the same columns as --json (but the attempts), one row per record."""
    import csv
    import io

    from turktui.cli.commands.history import CSV_FIELDS

    env = dict(cli_env)
    if isinstance(history_at, str):
        env["TURKTUI_HISTORY_URL"] = history_at
    hits = [emulator.state.add_hit(MaxAssignments=2, Reward="1.00") for _ in range(2)]
    for hit in hits:
        assert run_cli(env, "extend", hit, "1", "--endpoint-url", emulator.url).returncode == 0
    result = run_cli(env, "history", "--csv", "--limit", "1000")
    assert result.returncode == 0, result.stderr
    rows = list(csv.DictReader(io.StringIO(result.stdout)))
    assert [r["hit_id"] for r in rows] == hits[::-1]
    assert {r["state"] for r in rows} == {"succeeded"} and rows[0]["attempt_count"] == "1"
    listed = json.loads(run_cli(env, "history", "--json").stdout)["records"][0]
    assert tuple(listed) == (*CSV_FIELDS, "attempts")
    both = run_cli(env, "history", "--csv", "--json")
    assert both.returncode == 2 and "not allowed with" in both.stderr


def test_history_import_moves_a_local_history_in_once(
    cli_env: dict[str, str], pg_db_url: str, emulator
) -> None:
    """Tokens, states, times and attempts kept; a second run imports nothing; the records
    keep their order; a PATH other than the default file works too."""
    hits = [emulator.state.add_hit(MaxAssignments=2, Reward="1.00") for _ in range(3)]
    for hit in hits:  # recorded in this machine's local file
        assert run_cli(cli_env, "extend", hit, "1", "--endpoint-url", emulator.url).returncode == 0
    local = json.loads(run_cli(cli_env, "history", "--json").stdout)["records"]
    env = {**cli_env, "TURKTUI_HISTORY_URL": pg_db_url}
    first = run_cli(env, "history", "import", "--json")
    assert first.returncode == 0, first.stderr
    assert json.loads(first.stdout)["imported"] == 3
    again = run_cli(env, "history", "import")
    assert again.returncode == 0 and "imported 0 records" in again.stdout
    assert "(3 already there)" in again.stdout
    shared = json.loads(run_cli(env, "history", "--json").stdout)["records"]
    keep = ("hit_id", "token", "state", "created", "updated", "first_sent", "owner", "n")
    assert [{k: r[k] for k in keep} for r in shared] == [{k: r[k] for k in keep} for r in local]
    assert [len(r["attempts"]) for r in shared] == [len(r["attempts"]) for r in local]
    # Another file by PATH; without a shared history, or without the file: one line, exit 2.
    path = Path(cli_env["XDG_DATA_HOME"]) / "turktui" / "history.sqlite3"
    assert "imported 0 records" in run_cli(env, "history", "import", str(path)).stdout
    for bad_env, args in ((cli_env, []), (env, ["/no/such/file.sqlite3"])):
        bad = run_cli(bad_env, "history", "import", *args)
        assert bad.returncode == 2 and len(bad.stderr.strip().splitlines()) == 1, bad.stderr


def test_the_configured_operator_is_recorded_and_filters(
    cli_env: dict[str, str], history_at: Path | str, emulator
) -> None:
    env = dict(cli_env)
    if isinstance(history_at, str):
        env["TURKTUI_HISTORY_URL"] = history_at
    _config(env, 'operator = "alice@ops-2"\n')
    hit = emulator.state.add_hit(MaxAssignments=2, Reward="1.00")
    assert run_cli(env, "extend", hit, "1", "--endpoint-url", emulator.url).returncode == 0
    mine = json.loads(run_cli(env, "history", "--json", "--operator", "alice@ops-2").stdout)
    assert [r["operator"] for r in mine["records"]] == ["alice@ops-2"]
    assert json.loads(run_cli(env, "history", "--json", "--operator", "bob").stdout)["count"] == 0
    _config(env, "lease_seconds = 1\n")
    bad = run_cli(env, "history")
    assert bad.returncode == 2 and "lease_seconds must be 5 to 86400" in bad.stderr
