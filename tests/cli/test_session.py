"""The one session every command runs in (`turktui.cli.session.run`) and the one judgement of
how an error ends a command (`turktui.cli.output.failure`, from `policy`'s table).

- A new command is a parser with the connection options and a `body(session)` handed to `run`:
  it gets the connection, the MTurk service, the history and the engine, each opened once when
  first asked for and all closed at the end, and every error a command expects ends it with the
  table's exit code and one line (a bug is re-raised: exit 70 with a crash log).
- Every command goes through it: none opens a connection, a history or an engine of its own,
  and every module of `cli/commands` is in the import contract that keeps them independent.
- The commands reach `options.open_connection` when they run, not as bound at import: a
  replacement (tests point a production environment at an emulator) lasts only while it is in
  place."""

from __future__ import annotations

import argparse
import ast
import json
import sqlite3
from pathlib import Path
from typing import Any

import pytest
import tomllib

from tests.runcli import TEST_KEYS
from turktui.adapters.history import HistoryBusy, HistoryError, OutcomeNotRecorded
from turktui.cli import options, session
from turktui.cli.options import add_connection_options
from turktui.cli.output import StopCommand
from turktui.cli.session import Session, run
from turktui.domain.errors import CredentialsMissing, HitNotFound, ServiceFault
from turktui.pipeline import policy
from turktui.pipeline.model import PlanRefused

ROOT = Path(__file__).resolve().parents[2]
COMMANDS = ROOT / "turktui" / "cli" / "commands"


def new_command(*argv: str, name: str = "peek") -> argparse.Namespace:
    """The arguments of a command that exists only in this file: connection options, --json."""
    parser = argparse.ArgumentParser(prog=f"turktui {name}")
    add_connection_options(parser)
    parser.add_argument("hit", nargs="?")
    parser.add_argument("--json", action="store_true")
    args = parser.parse_args(list(argv))
    args.command = name
    return args


def test_a_new_command_gets_the_session_from_the_helper_alone(
    emulator: Any, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    for key, value in TEST_KEYS.items():
        monkeypatch.setenv(key, value)
    hit_id = str(emulator.state.add_hit(MaxAssignments=3, Title="Peek at me"))
    seen: list[Session] = []

    def peek(s: Session) -> int:
        seen.append(s)
        hit = s.service().get_hit(s.args.hit)
        assert s.service() is s.service() and s.history() is s.history()
        assert s.engine().history is s.history() and s.engine().env is s.env
        s.history().unsettled_for(s.env.endpoint_url, [hit.hit_id])
        return s.out.result(policy.EXIT_OK, {"title": hit.title}, f"{hit.title}")

    args = new_command(hit_id, "--json", "--endpoint-url", emulator.url)
    assert run(args, peek, changing=True) == policy.EXIT_OK
    assert json.loads(capsys.readouterr().out)["title"] == "Peek at me"
    (opened,) = seen
    assert opened._stores == {}  # closed: the history's lease ends with the command
    with pytest.raises(sqlite3.ProgrammingError):
        opened._engine.history._db.execute("SELECT 1")

    # A refusal from MTurk ends it with the table's code and one line, as for every command.
    args = new_command("NOSUCHHIT", "--json", "--endpoint-url", emulator.url)
    assert run(args, peek, payload={"hit_id": "NOSUCHHIT"}) == policy.EXIT_REFUSED
    data = json.loads(capsys.readouterr().out)
    assert data["state"] == "refused" and data["hit_id"] == "NOSUCHHIT"
    assert data["message"].startswith("turktui: refused: ")

    # Read-only: a changing command is refused before anything is opened but the connection.
    args = new_command(hit_id, "--endpoint-url", emulator.url, "--read-only")
    assert run(args, peek, changing=True) == policy.EXIT_USAGE
    assert capsys.readouterr().err.strip() == session.READ_ONLY
    assert len(seen) == 2  # the body never ran


#: (what the body raises, the command, the exit code, the line's start)
ENDINGS = [
    (CredentialsMissing("no keys"), "peek", 2, "turktui: error: no keys\nturktui: hint: "),
    (HitNotFound("gone", "AWS.MechanicalTurk.HitDoesNotExist"), "peek", 3, "turktui: refused:"),
    (ServiceFault("MTurk failed"), "peek", 4, "turktui: error: MTurk failed"),
    (PlanRefused("the rules say no"), "peek", 3, "turktui: refused (nothing sent): the rules"),
    (OutcomeNotRecorded("lost", 7, maybe_sent=True), "peek", 5, "turktui: lost"),
    (OutcomeNotRecorded("lost", 7, maybe_sent=False), "peek", 4, "turktui: lost"),
    (HistoryBusy("h.sqlite3", 15), "expire", 7, "turktui: not sent: the history file h.sqlite3"),
    (HistoryError("disk full"), "extend", 4, "turktui: not sent: disk full"),
    (StopCommand("turktui: stop here"), "peek", 2, "turktui: stop here"),
    # fitted to the table: `list` never ends "refused", `history` never "service error"
    (HitNotFound("gone"), "list", 4, "turktui: refused: gone"),
    (HistoryError("disk full"), "history", 2, "turktui: error: disk full"),
    (ServiceFault("MTurk failed"), "bonuses", 4, "turktui: error: MTurk failed"),
]


@pytest.mark.parametrize(("error", "command", "code", "line"), ENDINGS, ids=repr)
def test_every_error_a_command_expects_ends_it_as_the_table_says(
    error: Exception, command: str, code: int, line: str, capsys: pytest.CaptureFixture[str]
) -> None:
    def body(s: Session) -> int:
        raise error

    assert run(new_command(name=command), body) == code
    assert capsys.readouterr().err.startswith(line)
    if command in policy.COMMANDS:
        assert code in policy.codes_of(command)


def test_a_bug_is_not_judged_but_re_raised() -> None:
    """cli.main turns it into exit 70 and a crash log; the session is closed on the way."""
    closed: list[bool] = []

    def body(s: Session) -> int:
        s.close = lambda: closed.append(True)  # type: ignore[method-assign]
        raise RuntimeError("a bug")

    with pytest.raises(RuntimeError):
        run(new_command(), body)
    assert closed == [True]


def _imports(path: Path) -> set[str]:
    names = set()
    for node in ast.walk(ast.parse(path.read_text("utf-8"))):
        if isinstance(node, ast.ImportFrom):
            names |= {f"{node.module}.{a.name}" for a in node.names}
    return names


#: What only the session opens (or judges): a command importing one has a copy of its own.
SESSION_ONLY = {
    "turktui.cli.options.open_connection",
    "turktui.cli.options.load_config",
    "turktui.cli.session.open_connection",
    "turktui.adapters.stores.open_store",
    "turktui.adapters.history.open_history",
    "turktui.pipeline.engine.Engine",
    "turktui.pipeline.policy.error_exit_code",
}


#: How a command's handler runs its body: in the session, or in review's (itself in it).
RUNS = {"turktui.cli.session.run", "turktui.cli.review.run_review"}


@pytest.mark.parametrize("path", sorted(COMMANDS.glob("*.py")), ids=lambda p: p.stem)
def test_every_command_runs_in_the_one_session(path: Path) -> None:
    imported = _imports(path)
    assert sorted(imported & SESSION_ONLY) == []
    if "def cmd_" in path.read_text("utf-8"):
        assert imported & RUNS


def test_every_command_module_is_in_the_independence_contract() -> None:
    config = tomllib.loads((ROOT / "pyproject.toml").read_text("utf-8"))
    (contract,) = [
        c for c in config["tool"]["importlinter"]["contracts"] if c["type"] == "independence"
    ]
    modules = {f"turktui.cli.commands.{p.stem}" for p in COMMANDS.glob("*.py")}
    assert set(contract["modules"]) == modules - {"turktui.cli.commands.__init__"}


def test_a_replaced_open_connection_is_used_then_forgotten(monkeypatch: pytest.MonkeyPatch) -> None:
    seen: list[str] = []

    def replacement(args: argparse.Namespace, **kw: object) -> object:
        seen.append("replacement")
        raise RuntimeError("stop here")

    with monkeypatch.context() as patch:
        patch.setattr(options, "open_connection", replacement)
        with pytest.raises(RuntimeError):
            run(new_command(), lambda s: s.env and 0)
    assert seen == ["replacement"]
    assert session.options.open_connection is not replacement
