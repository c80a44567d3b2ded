"""Review a large group exactly once with the second sender (issue 22, adapters/offload.py).

From `offload.OFFLOAD_AT` approvals or rejections a command shares the sending with a child
process it forks for the group (the "second sender", on by default: `second_sender`). Each
trial makes a fresh HIT with N Submitted assignments (N drawn from `SIZES`, every one at least
OFFLOAD_AT, so the child is forked), runs the real command in a child process —
`turktui approve --hit H --all-submitted --yes --json`, or `turktui reject ID… --feedback …
--yes --json` (reject takes explicit ids) — under one fault, resolves until nothing is
unsettled, and judges every assignment by what MTurk shows (ListAssignmentsForHIT, every page,
a plain boto3 client) and the emulator's funds against the history, with review_pay's checks:

* a record says approved/rejected exactly when the assignment shows that status (else a
  *wrong record*), a change MTurk shows has a record (else a *lost record*; a command killed
  or interrupted may leave assignments unrecorded only when MTurk shows them unchanged), no
  record left unsettled (*unknown left*);
* the funds (available + on hold) moved by exactly one approval's cost per Approved
  assignment (approve), not at all (reject): a double application would show here (the
  emulator, like MTurk, never approves an assignment twice);
* no process left behind: the second sender has left once the command ended or was killed
  (its /proc entry gone or a zombie; checked against its start time, never a reused pid);
  no command past `RUN_WITHIN` (a *hang*); no traceback and no internal error (exit 70).

Faults: `none`; `drop` / `throttle` / `error` at a rate (`RATES`) on the operation's MTurk
call, for the parent's and the child's requests alike; `sigkill` (the command SIGKILLed at a
random moment while it sends: once the emulator received a random number of the group's
requests); `sigkill_sender` (the second sender SIGKILLed likewise: the command goes on, its
lost answers settled by what MTurk shows); `sigint` (Ctrl-C: SIGINT to the command and its
child, as a terminal sends it to the foreground process group).
"""

from __future__ import annotations

import contextlib
import os
import random
import select
import signal
import subprocess
import time
from collections import Counter, defaultdict
from dataclasses import dataclass, field
from decimal import Decimal
from pathlib import Path

from tests.reliability.common import FAKE_KEYS
from tests.reliability.review_pay import (
    FEEDBACK,
    OPS,
    ReviewTally,
    Trial,
    Truth,
    check_found,
    check_funds,
    check_review,
    check_settled,
    cli_resolve,
    hit_records,
    new_hit,
    run_trials,
)
from tests.runcli import cli_environment, start_process, write_config
from turktui.adapters.offload import OFFLOAD_AT
from turktui.domain.records import Record
from turktui.emulator import EmulatorServer
from turktui.emulator.assignments import assignment_id

GROUP_OPS = ("approve", "reject")
RATE_FAULTS = ("drop", "throttle", "error")
SIGNALS = ("sigkill", "sigkill_sender", "sigint")
GROUP_FAULTS = ("none", *RATE_FAULTS, *SIGNALS)
#: a group's size: drawn from this range (both ends included), never below OFFLOAD_AT
SIZES = (OFFLOAD_AT + 20, OFFLOAD_AT + 100)
#: the rates of a drop / throttle / error trial
RATES = (0.02, 0.05, 0.1)
#: how long a command may take (far beyond a group's few seconds): past it, a hang
RUN_WITHIN = 180.0
#: how long the second sender may take to leave once its command ended or was killed (it
#: sends what its pipe holds, at most offload.DEPTH requests, each bounded by read_timeout)
LEAVE_WITHIN = 15.0
#: how often the command's processes and the emulator's count are looked at while it runs
POLL = 0.005


@dataclass
class GroupTally(ReviewTally):
    """Figures of large-group trials: review_pay's (applied / not applied counted per
    assignment) and the processes'."""

    assignments: int = 0
    senders_seen: int = 0
    senders_killed: int = 0
    interrupted: int = 0
    exits: Counter[str] = field(default_factory=Counter)
    left_behind: int = 0
    hangs: int = 0
    crashes: int = 0

    @property
    def violations(self) -> int:
        return super().violations + self.left_behind + self.hangs + self.crashes


@dataclass
class Group:
    """One trial's HIT, its Submitted assignments and the funds before."""

    op: str
    hit_id: str
    ids: list[str]
    reward: Decimal
    before: tuple[Decimal, Decimal]


def new_group(
    server: EmulatorServer, truth: Truth, rng: random.Random, op: str, size: int | None = None
) -> Group:
    n = size or rng.randint(*SIZES)
    hit_id, reward = new_hit(server, rng, n)
    return Group(op, hit_id, [assignment_id(hit_id, j) for j in range(n)], reward, truth.money())


# -- the command's processes ---------------------------------------------------------------
def _stat(pid: int) -> tuple[str, int, int] | None:
    """(state, parent pid, start time) of a process; None when it is gone."""
    try:
        text = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return None
    rest = text[text.rindex(")") + 2 :].split()
    return rest[0], int(rest[1]), int(rest[19])


@dataclass(frozen=True)
class Sender:
    """The second sender: a process known by its pid AND its start time (a pid may be
    reused once it is gone)."""

    pid: int
    start: int

    def alive(self) -> bool:
        """Still running: not gone, not a zombie (it exited; whoever reaps it does not
        matter), not another process with its pid."""
        stat = _stat(self.pid)
        return stat is not None and stat[2] == self.start and stat[0] not in "ZX"

    def left(self, within: float) -> bool:
        """Whether it leaves within `within` seconds: waits on its exit itself (a pidfd is
        readable once the process has ended), checked against its start time."""
        try:
            fd = os.pidfd_open(self.pid)
        except ProcessLookupError:
            return True  # gone already
        try:
            if not self.alive():  # ended, or the pid is another process's now
                return True
            readable, _, _ = select.select([fd], [], [], within)
            return bool(readable)
        finally:
            os.close(fd)


def find_sender(pid: int) -> Sender | None:
    """The child `pid` forked to send (same program, not exec'd: same command line)."""
    try:
        cmdline = Path(f"/proc/{pid}/cmdline").read_bytes()
    except OSError:
        return None
    for name in os.listdir("/proc"):
        if not name.isdigit():
            continue
        stat = _stat(int(name))
        if stat is None or stat[1] != pid or stat[0] in "ZX":
            continue
        with contextlib.suppress(OSError):
            if Path(f"/proc/{name}/cmdline").read_bytes() == cmdline:
                return Sender(int(name), stat[2])
    return None


def _argv(g: Group, url: str) -> list[str]:
    if g.op == "approve":
        head = ["approve", "--hit", g.hit_id, "--all-submitted"]
    else:
        head = ["reject", *g.ids, "--feedback", FEEDBACK]
    return [*head, "--endpoint-url", url, "--yes", "--json"]


def _act(kind: str, proc: subprocess.Popen[str], sender: Sender | None, tally: GroupTally) -> None:
    """The trial's signal, at its moment."""
    if kind == "sigkill":
        proc.send_signal(signal.SIGKILL)
        tally.killed += 1
    elif kind == "sigint":
        proc.send_signal(signal.SIGINT)
        if sender is not None and sender.alive():
            os.kill(sender.pid, signal.SIGINT)  # Ctrl-C reaches the process group
        tally.interrupted += 1
    elif sender is not None and sender.alive():
        os.kill(sender.pid, signal.SIGKILL)
        tally.senders_killed += 1


def run_command(trial: Trial, kind: str, env: dict[str, str]) -> tuple[Sender | None, int]:
    """Run the group's command (one child process) under the trial's fault; the second
    sender it forked (None: not seen) and the command's exit code."""
    server, _truth, rng, tally, g = trial
    label = f"{g.op}:{kind}"
    mturk = OPS[g.op].mturk_name
    if kind in RATE_FAULTS:
        rate = rng.choice(RATES)
        server.faults.add(op=mturk, seed=rng.randrange(2**31), **{kind: rate})
    # the moment of the signal: once the emulator received this many of the group's requests
    at = server.state.request_count(mturk) + rng.randint(1, len(g.ids) * 3 // 4)
    acted = kind not in SIGNALS
    sender: Sender | None = None
    proc = start_process(env, *_argv(g, server.url))
    ends = time.monotonic() + RUN_WITHIN
    while True:
        try:  # reads its output meanwhile: a full pipe would stop the command
            _out, err = proc.communicate(timeout=POLL)
            break
        except subprocess.TimeoutExpired:
            pass
        if time.monotonic() >= ends:
            tally.hangs += 1
            tally.fail(label, f"the command ran past {RUN_WITHIN:g} s")
            proc.kill()
            _out, err = proc.communicate()
            break
        sender = sender or find_sender(proc.pid)
        if not acted and server.state.request_count(mturk) >= at:
            acted = True
            _act(kind, proc, sender, tally)
    code = proc.returncode
    tally.exits[f"{kind}: exit {code}"] += 1
    if code == 70 or "Traceback" in err:
        tally.crashes += 1
        tally.fail(label, f"exit {code}: {err.strip()[-300:]}")
    elif kind == "none" and code != 0:
        tally.wrong += 1
        tally.fail(label, f"no fault, exit {code}: {err.strip()[-300:]}")
    return sender, code


def group_trial(trial: Trial, kind: str, home: Path) -> None:
    server, truth, _rng, tally, g = trial
    label = f"{g.op}:{kind}"
    env = cli_environment(home, **FAKE_KEYS)
    sender, _code = run_command(trial, kind, env)
    if sender is None:
        tally.fail(label, "no second sender seen while the command ran")
    else:
        tally.senders_seen += 1
        if not sender.left(LEAVE_WITHIN):
            tally.left_behind += 1
            tally.fail(label, f"the second sender {sender.pid} still runs after its command")
            with contextlib.suppress(OSError):
                os.kill(sender.pid, signal.SIGKILL)
    # whatever a killed process sent lands before anything is settled
    assert server.faults.wait_idle(timeout=30), "the emulator is still handling requests"
    server.faults.clear()
    limit = 2 * len(g.ids)
    tally.resolved += sum(not r.settled for r in hit_records(home, g.hit_id, g.op, limit))
    cli_resolve(
        env,
        server.url,
        until=lambda: all(r.settled for r in hit_records(home, g.hit_id, g.op, limit)),
    )
    judge_group(
        tally,
        label,
        g,
        truth,
        hit_records(home, g.hit_id, g.op, limit),
        allow_missing=may_stop_early(kind),
    )


def may_stop_early(kind: str) -> bool:
    """Whether the command may have stopped before recording every assignment."""
    return kind in ("sigkill", "sigint")


def judge_group(
    tally: GroupTally,
    kind: str,
    g: Group,
    truth: Truth,
    records: list[Record],
    *,
    allow_missing: bool,
) -> None:
    """MTurk's truth for each assignment of the group against its records, and the funds."""
    statuses = truth.statuses(g.hit_id)
    _available, total = truth.money()
    check_settled(tally, kind, g.op, records)
    by_subject: dict[str, list[Record]] = defaultdict(list)
    for rec in records:
        by_subject[rec.subject].append(rec)
    stray = set(by_subject) - set(g.ids)
    if stray:
        tally.wrong += len(stray)
        tally.fail(kind, f"records on assignments not of the group: {sorted(stray)[:3]}")
    changed = 0
    for aid in g.ids:
        status = statuses.get(aid, "missing")
        mine = by_subject.get(aid, [])
        done = check_review(tally, kind, g.op, aid, status, mine)
        check_found(tally, kind, g.op, done, mine, allow_missing)
        changed += done
    tally.assignments += len(g.ids)
    check_funds(
        tally, kind, g.op, g.before[1], total, changed, reward=g.reward, max_assignments=len(g.ids)
    )


def run_group_trials(
    count: int,
    seed: int,
    home: Path,
    server: EmulatorServer | None = None,
    ops: tuple[str, ...] = GROUP_OPS,
    kinds: tuple[str, ...] = GROUP_FAULTS,
    size: int | None = None,
) -> GroupTally:
    """`count` trials (every (operation, fault) pair once in turn, then drawn at random) with
    real `turktui` processes sharing one history (an operator's machine); `size`: every
    group that large (default: drawn from SIZES)."""
    home.mkdir(parents=True, exist_ok=True)
    write_config(home, "read_timeout = 1\nconnect_timeout = 1\n")
    tally = GroupTally()
    run_trials(
        count,
        seed,
        server,
        ops,
        kinds,
        lambda trial, kind: group_trial(trial, kind, home),
        tally=tally,
        make=lambda server, truth, rng, op: new_group(server, truth, rng, op, size),
    )
    return tally
