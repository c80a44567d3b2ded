"""The one exit-code table (`turktui.pipeline.policy.EXIT_TABLE`): every `--help` prints it,
the README's block is `markdown_table()`, and each code a row lists for a command is produced
by a real scenario of that command (table-driven: a row without a scenario fails)."""

from __future__ import annotations

import re
import signal
import sqlite3
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from tests.runcli import Ran, cli_environment, run_cli
from turktui.pipeline import policy

README = Path(__file__).resolve().parents[2] / "README.md"
CREATE = "CreateAdditionalAssignmentsForHIT"
EXPIRE = "UpdateExpirationForHIT"


@dataclass
class World:
    """One scenario's surroundings: a hermetic environment and a seeded emulator."""

    env: dict[str, str]
    emulator: Any
    make_emulator: Callable[..., Any]
    home: Path
    monkeypatch: pytest.MonkeyPatch

    def run(self, *args: str, env: dict[str, str] | None = None) -> Ran:
        return run_cli(env or self.env, *args)

    def url(self, *args: str) -> Ran:
        """`turktui ARGS --endpoint-url <the emulator>`."""
        return self.run(*args, "--endpoint-url", self.emulator.url)

    def hit(self, **fields: Any) -> str:
        fields.setdefault("MaxAssignments", 3)
        fields.setdefault("Expiration", time.time() + 3 * 86_400)  # open by the real clock
        return str(self.emulator.state.add_hit(**fields))

    def answers(self, answer: bool) -> None:
        """The operator answers every confirmation with `answer` (as if on a terminal)."""
        from turktui.cli import prompts
        from turktui.cli.commands import resolve

        for module in (prompts, resolve):
            self.monkeypatch.setattr(module, "ask", lambda question: answer)

    def unknown_record(self, hit: str) -> None:
        """An extension applied whose every answer was lost: recorded as unknown."""
        self.emulator.faults.add(op=CREATE, drop=1.0)
        try:
            assert self.url("extend", hit, "2").returncode == policy.EXIT_UNKNOWN
        finally:
            self.emulator.faults.clear()

    def locked(self) -> sqlite3.Connection:
        """Another process holds the history's write lock (and turktui waits 0.2 s)."""
        from turktui.adapters import history

        self.run("history")  # creates the file
        self.monkeypatch.setattr(history, "BUSY_TIMEOUT", 0.2)
        path = Path(self.env["XDG_DATA_HOME"]) / "turktui" / "history.sqlite3"
        holder = sqlite3.connect(path, isolation_level=None)
        holder.execute("BEGIN IMMEDIATE")
        return holder


def _broken(exc: BaseException) -> Callable[[World], None]:
    def install(w: World) -> None:
        from turktui.adapters.config import Paths

        def fail(cls: Any) -> Any:
            raise exc

        w.monkeypatch.setattr(Paths, "default", classmethod(fail))

    return install


def _every(code: int, prepare: Callable[[World], None]) -> dict[tuple[int, str], Any]:
    """The same scenario for every command (`paths` without connection options)."""
    argv = {
        "extend": ("extend", "HIT", "1"),
        "expire": ("expire", "HIT", "--yes"),
        "list": ("list",),
        "history": ("history",),
        "resolve": ("resolve", "--yes"),
        "paths": ("paths",),
        "approve": ("approve", "ASSIGNMENT"),
        "reject": ("reject", "ASSIGNMENT", "--feedback", "no", "--yes"),
        "bonus": ("bonus", "ASSIGNMENT", "1.00", "--reason", "r", "--yes"),
        "bonuses": ("bonuses", "--hit", "HIT"),
    }

    def scenario(command: str) -> Callable[[World], Ran]:
        def run(w: World) -> Ran:
            prepare(w)
            return w.run(*argv[command])

        return run

    return {(code, c): scenario(c) for c in argv}


def _conflict_extend(w: World) -> Ran:
    a, b = w.hit(MaxAssignments=5000), w.hit(MaxAssignments=5000)
    assert w.url("extend", a, "1", "--token", "T-shared").returncode == 0
    other = cli_environment(w.home / "other")  # another machine's history
    return w.run(
        "extend", b, "1", "--token", "T-shared", "--endpoint-url", w.emulator.url, env=other
    )


def _conflict_expire(w: World) -> Ran:
    """MTurk: "already processed"; the HIT disagrees. Since issue 21 a second `expire` sends
    a past time of its own (the re-opened HIT is expired again, exit 0), so only a retry of
    the same request meets its own implicit token: the first attempt is applied and its
    answer lost, the HIT is re-extended while turktui waits to retry, and the retry (same
    ExpireAt) is answered "already processed" while the HIT accepts work."""
    from turktui.pipeline.model import Backoff

    hit = w.hit()

    def re_extended_meanwhile(backoff: Backoff, retry: int, rng: Any) -> float:
        w.emulator.state.update_hit(hit, Expiration=time.time() + 3 * 3600, HITStatus="Assignable")
        return 0.0

    w.monkeypatch.setattr(Backoff, "delay", re_extended_meanwhile)
    w.emulator.faults.add(op=EXPIRE, drop=1.0, count=1)  # applied, answer lost
    return w.url("expire", hit, "--yes")


def _conflict_resolve(w: World) -> Ran:
    hit = w.hit()
    w.unknown_record(hit)  # 3 → 5 applied, unknown
    # Changed by someone else meanwhile (+1). Re-planned on this read, the re-send is valid
    # (6 + 2 < 10: issue 21 sends none that MTurk's rules refuse, e.g. from 9), so it is sent
    # with its token: MTurk says "already processed"; the HIT disagrees (6, expected 5).
    w.emulator.state.update_hit(hit, MaxAssignments=6)
    return w.run("resolve", "--yes")


def _unreachable_resolve(w: World) -> Ran:
    hit = w.hit()
    w.unknown_record(hit)
    w.emulator.stop()
    return w.run("resolve", "--yes")


def _faulty(op: str, *args: str, drop: bool = False) -> Callable[[World], Ran]:
    def run(w: World) -> Ran:
        hit = w.hit()
        w.emulator.faults.add(op=op, **({"drop": 1.0} if drop else {"error": 1.0}))
        try:
            return w.url(*(a.replace("HIT", hit) for a in args))
        finally:
            w.emulator.faults.clear()

    return run


def _locked(*args: str, unknown_first: bool = False) -> Callable[[World], Ran]:
    def run(w: World) -> Ran:
        hit = w.hit()
        if unknown_first:
            w.unknown_record(hit)
        holder = w.locked()
        try:
            return w.url(*(a.replace("HIT", hit) for a in args))
        finally:
            holder.rollback()
            holder.close()

    return run


def _with(prepare: Callable[[World], None], *args: str) -> Callable[[World], Ran]:
    def run(w: World) -> Ran:
        hit = w.hit()
        prepare(w)
        return w.url(*(a.replace("HIT", hit) for a in args))

    return run


def _cancel_resolve(w: World) -> Ran:
    w.unknown_record(w.hit())
    w.answers(False)
    return w.run("resolve")


def _no_keys(*args: str) -> Callable[[World], Ran]:
    def run(w: World) -> Ran:
        bare = cli_environment(w.home / "nokeys", keys=False)
        return w.run(*args, "--sandbox", env=bare)

    return run


def _asg(prepare: Callable[[World], None], *args: str) -> Callable[[World], Ran]:
    """`turktui ARGS --endpoint-url …` with ASG replaced by a Submitted assignment."""

    def run(w: World) -> Ran:
        from tests.conftest import FIXED_NOW
        from turktui.emulator.assignments import assignment_id

        now = FIXED_NOW.timestamp()
        hit = w.hit(
            CreationTime=now - 86_400, Expiration=now + 30 * 86_400, NumberOfAssignmentsSubmitted=1
        )
        prepare(w)
        return w.url(*(a.replace("ASG", assignment_id(hit, 0)) for a in args))

    return run


def _fault(op: str) -> Callable[[World], None]:
    return lambda w: w.emulator.faults.add(op=op, error=1.0)


def _fault_drop(op: str) -> Callable[[World], None]:
    return lambda w: w.emulator.faults.add(op=op, drop=1.0)


def _not_visible(w: World) -> None:
    w.emulator.state.assignment_lag = 1e9  # "status of: null"


def _accepted_not_applied(op: str) -> Callable[[World], None]:
    """MTurk answers 200 and the assignment stays Submitted: a conflict, never a success."""
    from turktui.emulator import server

    return lambda w: w.monkeypatch.setitem(server.OPERATIONS, op, lambda state, p: {})


def _locked_asg(*args: str) -> Callable[[World], Ran]:
    def run(w: World) -> Ran:
        holder: list[sqlite3.Connection] = []
        try:
            return _asg(lambda w: holder.append(w.locked()), *args)(w)
        finally:
            for h in holder:
                h.rollback()
                h.close()

    return run


REJECT = ("reject", "ASG", "--feedback", "Answers were random", "--yes")
BONUS = ("bonus", "ASG", "1.00", "--reason", "well done")


def _bonus_twice(w: World) -> Ran:
    first = _asg(lambda w: None, *BONUS)(w)
    assert first.returncode == 0, first.stdout + first.stderr
    aid = first.args[1]
    return w.url("bonus", aid, "1.00", "--reason", "again")


OK, CANCEL, USAGE, REFUSED = policy.EXIT_OK, policy.EXIT_CANCELLED, policy.EXIT_USAGE, 3
SCENARIOS: dict[tuple[int, str], Callable[[World], Ran]] = {
    (OK, "extend"): _with(lambda w: None, "extend", "HIT", "1"),
    (OK, "expire"): _with(lambda w: None, "expire", "HIT", "--yes"),
    (OK, "list"): _with(lambda w: None, "list"),
    (OK, "history"): lambda w: w.run("history"),
    (OK, "resolve"): _with(lambda w: None, "resolve", "--yes"),
    (OK, "paths"): lambda w: w.run("paths"),
    (CANCEL, "extend"): _with(lambda w: w.answers(False), "extend", "HIT", "1", "--production"),
    (CANCEL, "expire"): _with(lambda w: w.answers(False), "expire", "HIT"),
    (CANCEL, "resolve"): _cancel_resolve,
    (USAGE, "extend"): _no_keys("extend", "HIT", "1", "--yes"),
    (USAGE, "expire"): _with(lambda w: None, "expire", "HIT", "--yes", "--read-only"),
    (USAGE, "list"): _no_keys("list"),  # was 4: the same problem, another code
    (USAGE, "history"): lambda w: w.run("history", "--env", "bogus"),
    (USAGE, "resolve"): lambda w: w.run("resolve", "--batch", "no-such-batch"),
    (USAGE, "paths"): lambda w: w.run("paths", "--bogus"),
    (REFUSED, "extend"): lambda w: w.url("extend", "NOSUCHHIT", "1"),
    (REFUSED, "expire"): lambda w: w.url("expire", "NOSUCHHIT", "--yes"),
    (policy.EXIT_SERVICE, "extend"): _faulty("GetHIT", "extend", "HIT", "1"),
    (policy.EXIT_SERVICE, "expire"): _faulty("GetHIT", "expire", "HIT", "--yes"),
    (policy.EXIT_SERVICE, "list"): _faulty("ListHITs", "list"),
    (policy.EXIT_UNKNOWN, "extend"): _faulty(CREATE, "extend", "HIT", "1", drop=True),
    (policy.EXIT_UNKNOWN, "expire"): _faulty(EXPIRE, "expire", "HIT", "--yes", drop=True),
    (policy.EXIT_UNKNOWN, "resolve"): _unreachable_resolve,
    (policy.EXIT_CONFLICT, "extend"): _conflict_extend,
    (policy.EXIT_CONFLICT, "expire"): _conflict_expire,
    (policy.EXIT_CONFLICT, "resolve"): _conflict_resolve,
    (policy.EXIT_BUSY, "extend"): _locked("extend", "HIT", "1"),
    (policy.EXIT_BUSY, "expire"): _locked("expire", "HIT", "--yes"),
    (policy.EXIT_BUSY, "resolve"): _locked("resolve", "--yes", unknown_first=True),
    (OK, "approve"): _asg(lambda w: None, "approve", "ASG"),
    (OK, "reject"): _asg(lambda w: None, *REJECT),
    (CANCEL, "approve"): _asg(lambda w: w.answers(False), "approve", "ASG", "--production"),
    (CANCEL, "reject"): _asg(lambda w: w.answers(False), *REJECT[:-1]),
    (USAGE, "approve"): _asg(lambda w: None, "approve", "ASG", "--read-only"),
    (USAGE, "reject"): _asg(lambda w: None, "reject", "ASG", "--feedback", "a\x01b", "--yes"),
    (REFUSED, "approve"): lambda w: w.url("approve", "NOSUCHASSIGNMENT"),
    (REFUSED, "reject"): lambda w: w.url("reject", "NOSUCHASSIGNMENT", *REJECT[2:]),
    (policy.EXIT_SERVICE, "approve"): _asg(_fault("GetAssignment"), "approve", "ASG"),
    (policy.EXIT_SERVICE, "reject"): _asg(_fault("GetAssignment"), *REJECT),
    (policy.EXIT_UNKNOWN, "approve"): _asg(_not_visible, "approve", "ASG"),
    (policy.EXIT_UNKNOWN, "reject"): _asg(_not_visible, *REJECT),
    (policy.EXIT_CONFLICT, "approve"): _asg(
        _accepted_not_applied("ApproveAssignment"), "approve", "ASG"
    ),
    (policy.EXIT_CONFLICT, "reject"): _asg(_accepted_not_applied("RejectAssignment"), *REJECT),
    (OK, "bonus"): _asg(lambda w: None, *BONUS),
    (OK, "bonuses"): _with(lambda w: None, "bonuses", "--hit", "HIT"),
    (CANCEL, "bonus"): _asg(lambda w: w.answers(False), *BONUS, "--production"),
    (USAGE, "bonus"): _asg(lambda w: None, "bonus", "ASG", "1e3", "--reason", "r"),
    (USAGE, "bonuses"): _no_keys("bonuses", "--hit", "HIT"),
    (REFUSED, "bonus"): _bonus_twice,
    (policy.EXIT_SERVICE, "bonus"): _asg(_fault("GetAssignment"), *BONUS),
    (policy.EXIT_SERVICE, "bonuses"): _faulty("ListBonusPayments", "bonuses", "--hit", "HIT"),
    (policy.EXIT_UNKNOWN, "bonus"): _asg(_fault_drop("SendBonus"), *BONUS),
    (policy.EXIT_BUSY, "bonus"): _locked_asg(*BONUS),
    (policy.EXIT_BUSY, "approve"): _locked_asg("approve", "ASG"),
    (policy.EXIT_BUSY, "reject"): _locked_asg(*REJECT),
    **_every(policy.EXIT_INTERNAL, _broken(RuntimeError("a bug"))),
    **_every(128 + signal.SIGINT, _broken(KeyboardInterrupt())),
    **_every(
        128 + signal.SIGHUP,
        _broken(__import__("turktui.cli.lifecycle").cli.lifecycle.Interrupted(signal.SIGHUP)),
    ),
    **_every(
        128 + signal.SIGTERM,
        _broken(__import__("turktui.cli.lifecycle").cli.lifecycle.Interrupted(signal.SIGTERM)),
    ),
}

DOCUMENTED = [
    (code, command) for row in policy.EXIT_TABLE for code in row.codes for command in row.commands
]


def test_every_scenario_is_documented() -> None:
    assert sorted(set(SCENARIOS) - set(DOCUMENTED)) == []


@pytest.mark.parametrize(("code", "command"), DOCUMENTED, ids=lambda v: str(v))
def test_each_documented_code_is_produced(
    code: int,
    command: str,
    cli_env: dict[str, str],
    emulator: Any,
    make_emulator: Callable[..., Any],
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    scenario = SCENARIOS.get((code, command))
    assert scenario is not None, f"no scenario shows `turktui {command}` exiting {code}"
    world = World(cli_env, emulator, make_emulator, tmp_path, monkeypatch)
    ran = scenario(world)
    assert ran.returncode == code, f"{ran.args}\nstdout:\n{ran.stdout}\nstderr:\n{ran.stderr}"
    assert "Traceback" not in ran.stderr + ran.stdout


@pytest.mark.parametrize("command", [None, *policy.COMMANDS])
def test_every_help_prints_the_table(command: str | None, cli_env: dict[str, str]) -> None:
    ran = run_cli(cli_env, *([command] if command else []), "--help")
    assert ran.returncode == 0
    assert policy.EXIT_CODES in ran.stdout


def test_the_readme_table_is_the_exit_code_table() -> None:
    text = README.read_text("utf-8")
    found = re.search(r"<!-- exit-codes:begin[^>]*-->\n(.*?)<!-- exit-codes:end -->", text, re.S)
    assert found, "the README has no generated exit-code table (<!-- exit-codes:begin -->)"
    assert found.group(1) == policy.markdown_table()


def test_a_busy_history_names_the_file(
    cli_env: dict[str, str], emulator: Any, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    world = World(cli_env, emulator, lambda: None, tmp_path, monkeypatch)
    ran = _locked("extend", "HIT", "1", "--json")(world)
    assert ran.returncode == policy.EXIT_BUSY
    assert "history.sqlite3 is busy" in ran.stdout and "service error" not in ran.stdout
