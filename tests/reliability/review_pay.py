"""Review and pay exactly once (issue 22): bonus, approve and reject trials under faults.

Each trial makes a fresh HIT with one Submitted assignment on the emulator, picks an
operation (bonus, approve, reject) and a fault, runs it — through the engine, or as
`turktui bonus|approve|reject … --yes --json` in a child process that is SIGKILLed at a
random moment, or as two of them at once — resolves until settled, and then reads MTurk's
truth over the wire (GetAssignment, ListBonusPayments: every page, a plain boto3 client, not
turktui's adapter) and the emulator's balance against the history:

* bonus: at most one payment for the assignment (else a *double payment*); a record says
  paid exactly when ListBonusPayments shows its reference (else a *wrong record*); the
  available balance moved by amount + fee once per payment;
* approve / reject: a record says approved/rejected exactly when GetAssignment shows that
  status; the funds moved by one approval's cost (approve) or not at all (reject);
* no record left unsettled (*unknown left*), and a record for every change MTurk shows (else
  a *lost record*; none is allowed only when the process died before recording and nothing
  changed).

Faults (the emulator's fault injection, on the operation's MTurk call): `drop` (applied,
then the connection is closed before the answer: a dropped answer), `throttle`, `error`
(5xx), `mixed` (rates of all three, sometimes on the fresh reads too), `crash` (the process
"dies" right after MTurk applied the request, before the outcome is recorded: in-process),
`second` (a second run checked "nothing paid yet", then the first ran to the end, then the
second recorded and sent: the race of two processes, interleaved on purpose), and with
child processes `sigkill` and `race` (two processes at once).
"""

from __future__ import annotations

import contextlib
import random
import signal
import time
from collections.abc import Callable
from dataclasses import dataclass
from decimal import Decimal
from pathlib import Path
from typing import Any, NamedTuple

from tests.reliability.common import FAKE_KEYS, Figures
from tests.reliability.exactly_once import READ_TIMEOUT, new_emulator
from tests.runcli import cli_environment, history_path, run_cli, start_process, write_config
from turktui.adapters.history import HistoryStore
from turktui.adapters.mturk import MTurkService
from turktui.adapters.stores import open_store
from turktui.domain.environment import Environment, EnvKind
from turktui.domain.records import Record
from turktui.domain.rules import bonus_fee, extension_cost
from turktui.emulator import EmulatorServer
from turktui.emulator.assignments import assignment_id
from turktui.pipeline.engine import Backoff, Engine, PlanRefused
from turktui.pipeline.operations import APPROVE, BONUS, REJECT, Operation
from turktui.pipeline.operations.bonus import bonus_subject, reference

DAY = 86400.0
OPS: dict[str, Operation] = {"bonus": BONUS, "approve": APPROVE, "reject": REJECT}
ENGINE_FAULTS = ("none", "drop", "throttle", "error", "mixed", "crash", "second")
PROCESS_FAULTS = ("sigkill", "race")
FEEDBACK = "The answer did not follow the instructions."
REASON = "thank you for the careful work"
TARGET = {"approve": "Approved", "reject": "Rejected"}


@dataclass
class ReviewTally(Figures):
    """Figures of review-and-pay trials (summed over batches by the campaign)."""

    applied: int = 0
    not_applied: int = 0
    resolved: int = 0
    killed: int = 0
    refused_second: int = 0
    double: int = 0
    lost: int = 0
    wrong: int = 0
    wrong_balance: int = 0
    unknown_left: int = 0

    @property
    def violations(self) -> int:
        return self.double + self.lost + self.wrong + self.wrong_balance + self.unknown_left


# -- MTurk's truth -----------------------------------------------------------------------
class Truth:
    """What MTurk shows, read over the wire with a plain boto3 client (no retries, no
    turktui code in between), plus the emulator's balance."""

    def __init__(self, server: EmulatorServer) -> None:
        import boto3
        from botocore.config import Config

        self.server = server
        self.client = boto3.session.Session(
            aws_access_key_id="AKIDTRUTH", aws_secret_access_key="x", region_name="us-east-1"
        ).client(
            "mturk",
            endpoint_url=server.url,
            config=Config(retries={"max_attempts": 1, "mode": "standard"}),
        )

    def status(self, aid: str) -> str:
        return str(self.client.get_assignment(AssignmentId=aid)["Assignment"]["AssignmentStatus"])

    def _every(self, call: Callable[..., Any], items: str, **kwargs: Any) -> list[Any]:
        """Every page of a listing (`items` of each page)."""
        out: list[Any] = []
        token: str | None = None
        for _ in range(10_000):
            page = call(**kwargs, **({"NextToken": token} if token else {}))
            out += page.get(items, [])
            token = page.get("NextToken")
            if not token:
                return out
        raise AssertionError(f"{items}: the listing never ended")

    def payments(self, aid: str) -> list[dict[str, Any]]:
        """ListBonusPayments for the assignment, every page (MaxResults 1: pages exercised)."""
        return self._every(
            self.client.list_bonus_payments, "BonusPayments", AssignmentId=aid, MaxResults=1
        )

    def statuses(self, hit_id: str) -> dict[str, str]:
        """ListAssignmentsForHIT, every page: each assignment's status, by id."""
        listed = self._every(
            self.client.list_assignments_for_hit, "Assignments", HITId=hit_id, MaxResults=100
        )
        return {str(a["AssignmentId"]): str(a["AssignmentStatus"]) for a in listed}

    def money(self) -> tuple[Decimal, Decimal]:
        """(available, available + on hold)."""
        state = self.server.state
        available, held = state.balance, state.on_hold
        return available, available + held


@dataclass
class Subject:
    """One trial's assignment and what MTurk showed before."""

    op: str
    hit_id: str
    aid: str
    worker: str
    reward: Decimal
    amount: Decimal
    before: tuple[Decimal, Decimal]

    @property
    def record_subject(self) -> str:
        return bonus_subject(self.aid) if self.op == "bonus" else self.aid


def new_hit(server: EmulatorServer, rng: random.Random, n: int) -> tuple[str, Decimal]:
    """A fresh HIT (created a day ago, open 30 days) with `n` Submitted assignments (ids
    `assignment_id(hit, j)`, j < n); its id and reward (each approval's cost a whole number
    of cents at either fee rate)."""
    now = server.state.now()
    reward = Decimal(rng.choice(["0.01", "0.05", "0.50", "1.25", "3.00"]))
    hit_id = server.state.add_hit(
        CreationTime=now - DAY,
        Expiration=now + 30 * DAY,
        MaxAssignments=n,
        NumberOfAssignmentsSubmitted=n,
        Reward=str(reward),
        Title=f"review trial {rng.randrange(10**9)}",
    )
    return str(hit_id), reward


def new_subject(server: EmulatorServer, truth: Truth, rng: random.Random, op: str) -> Subject:
    """A fresh HIT with one Submitted assignment (`new_hit`)."""
    hit_id, reward = new_hit(server, rng, 1)
    aid = assignment_id(hit_id, 0)
    worker = truth.client.get_assignment(AssignmentId=aid)["Assignment"]["WorkerId"]
    cents = rng.choice([1, 50, 125, 300, rng.randint(1, 5000)])
    return Subject(op, hit_id, aid, str(worker), reward, Decimal(cents) / 100, truth.money())


class Trial(NamedTuple):
    """One trial's world: the emulator, MTurk's truth, the seeded draws, the figures and
    what it works on (a `Subject` here; a group of assignments in group_send)."""

    server: EmulatorServer
    truth: Truth
    rng: random.Random
    tally: Any
    subject: Any


def check_settled(tally: ReviewTally, kind: str, op: str, records: list[Record]) -> None:
    """Count the records' final states; one left unsettled is a violation."""
    for rec in records:
        tally.states[f"{op} {rec.state.value}"] += 1
        if not rec.settled:
            tally.unknown_left += 1
            tally.fail(kind, f"{op} #{rec.id} left {rec.state.value}: {rec.note[:200]}")


def check_review(
    tally: ReviewTally, kind: str, op: str, aid: str, status: str, records: list[Record]
) -> bool:
    """An approval's or rejection's records (`op`) against the status MTurk shows for the
    assignment: a record applied that MTurk contradicts, or MTurk's change with every record
    settled and none saying so, is a wrong record. Whether MTurk shows the change."""
    target = TARGET[op]
    changed = status == target
    if status not in ("Submitted", target):
        tally.wrong += 1
        tally.fail(kind, f"{op} {aid}: the assignment is {status}")
    for rec in records:
        if rec.state.applied is True and not changed:
            tally.wrong += 1
            tally.fail(kind, f"{op} #{rec.id} {rec.state.value}, MTurk shows {status}")
    settled = records and all(r.settled for r in records)
    if changed and settled and not any(r.state.applied for r in records):
        tally.wrong += 1
        tally.fail(kind, f"{op} {aid}: MTurk shows {status}, no record says so")
    return changed


def check_found(
    tally: ReviewTally, kind: str, op: str, changed: int, records: list[Record], allow_missing: bool
) -> None:
    """Count the change; a change MTurk shows with no record of it is a lost record (none at
    all is allowed only with `allow_missing`: the process died before recording)."""
    tally.applied += changed > 0
    tally.not_applied += changed == 0
    if not records and (changed or not allow_missing):
        tally.lost += 1
        tally.fail(kind, f"{op}: no record (MTurk changed: {bool(changed)})")


def check_funds(
    tally: ReviewTally,
    kind: str,
    op: str,
    before: Decimal,
    after: Decimal,
    changed: int,
    *,
    reward: Decimal,
    max_assignments: int,
) -> None:
    """The funds (available + on hold, `before` and `after`) moved by one approval's cost
    (the reward and MTurk's fee for the HIT's size) per approval MTurk shows (`changed`),
    by nothing for rejections: else a violation (a double charge shows here)."""
    one = extension_cost(reward, 1, max_assignments).total if op == "approve" else Decimal(0)
    spent = before - after
    if spent != one * changed:
        tally.wrong_balance += 1
        tally.fail(kind, f"{op}: funds moved by {spent}, expected {one * changed} ({changed})")


def judge(
    tally: ReviewTally,
    kind: str,
    s: Subject,
    truth: Truth,
    records: list[Record],
    *,
    allow_missing: bool = False,
) -> None:
    """MTurk's truth against every record of the trial's HIT; count violations."""
    available, total = truth.money()
    check_settled(tally, kind, s.op, records)
    if s.op == "bonus":
        paid = truth.payments(s.aid)
        changed = len(paid)
        if changed > 1:
            tally.double += 1
            tally.fail(kind, f"bonus: {changed} payments for one assignment ({s.aid})")
        for rec in records:
            shows = any(f"[{reference(rec.token)}]" in p["Reason"] for p in paid)
            if rec.state.applied is True and not shows:
                tally.wrong += 1
                tally.fail(kind, f"bonus #{rec.id} {rec.state.value}, no payment shows it")
            elif rec.state.applied is False and shows:
                tally.wrong += 1
                tally.fail(kind, f"bonus #{rec.id} {rec.state.value}, but it was paid")
        for p in paid:
            if Decimal(p["BonusAmount"]) != s.amount or p["WorkerId"] != s.worker:
                tally.wrong += 1
                tally.fail(kind, f"bonus paid {p['BonusAmount']} to {p['WorkerId']}")
        spent = s.before[0] - available
        if spent != (s.amount + bonus_fee(s.amount)) * changed:
            tally.wrong_balance += 1
            tally.fail(kind, f"bonus: available moved by {spent} for {changed} payment(s)")
    else:
        changed = int(check_review(tally, kind, s.op, s.aid, truth.status(s.aid), records))
        check_funds(
            tally, kind, s.op, s.before[1], total, changed, reward=s.reward, max_assignments=1
        )
    check_found(tally, kind, s.op, changed, records, allow_missing)


# -- engine trials -----------------------------------------------------------------------
class _DiesAfterSend:
    """The service, but the process "dies" (SystemExit) right after MTurk applied the
    operation's request: the outcome is never recorded."""

    def __init__(self, inner: Any, method: str) -> None:
        self.inner, self.method = inner, method

    def __getattr__(self, name: str) -> Any:
        value = getattr(self.inner, name)
        if name != self.method:
            return value

        def dying(*args: Any, **kwargs: Any) -> Any:
            value(*args, **kwargs)
            raise SystemExit("killed right after sending")

        return dying


SEND_METHOD = {
    "bonus": "send_bonus",
    "approve": "approve_assignment",
    "reject": "reject_assignment",
}


def _service(server: EmulatorServer) -> MTurkService:
    """One client for a run's trials (a client costs ~0.1 s of CPU to make)."""
    env = Environment(EnvKind.DEMO, server.url)
    return MTurkService(env, read_timeout=READ_TIMEOUT, connect_timeout=0.5, max_attempts=2)


def _engine(service: Any, history: HistoryStore, seed: int) -> Engine:
    env = Environment(EnvKind.DEMO, service.env.endpoint_url)
    return Engine(
        service,
        history,
        env,
        backoff=Backoff(attempts=5, base=0.003, cap=0.02, total=1.0),
        seed=seed,
    )


def _payload(s: Subject) -> dict[str, Any]:
    data: dict[str, Any] = {"assignment_id": s.aid, "worker_id": s.worker}
    if s.op == "bonus":
        data.update(amount=str(s.amount), reason=REASON)
    elif s.op == "reject":
        data["feedback"] = FEEDBACK
    return data


def _faults(server: EmulatorServer, op: str, kind: str, rng: random.Random) -> None:
    mturk = OPS[op].mturk_name
    k = rng.randint(1, 6)  # ≥ 5 exhausts the engine's 5 attempts: unknown → resolve
    seed = rng.randrange(2**31)
    if kind in ("drop", "throttle", "error"):
        server.faults.add(op=mturk, count=k, seed=seed, **{kind: 1.0})
    elif kind == "mixed":
        server.faults.add(
            op=mturk, drop=0.3, error=0.2, throttle=0.2, count=rng.randint(2, 8), seed=seed
        )
        if rng.random() < 0.4:
            read = "ListBonusPayments" if op == "bonus" else "GetAssignment"
            server.faults.add(op=read, throttle=0.4, error=0.3, count=3, seed=seed)


def _record(engine: Engine, s: Subject) -> Record:
    _assignment, hit = engine.service.get_assignment(s.aid)
    return engine.request(OPS[s.op], hit, subject=s.record_subject, payload=_payload(s))


def _precheck_passes(engine: Engine, s: Subject) -> bool:
    """What `turktui bonus|approve|reject` checks before recording (nothing paid yet / the
    assignment Submitted): True when it would go on."""
    if s.op == "bonus":
        return not [
            p
            for p in engine.service.list_bonus_payments(assignment_id=s.aid)
            if p.worker_id == s.worker
        ]
    assignment, _hit = engine.service.get_assignment(s.aid)
    return assignment.status == "Submitted"


def _settle(engine: Engine, history: HistoryStore, ids: list[int], server: EmulatorServer) -> int:
    """Resolve until settled (faults cleared after the first round); rounds used."""
    rounds = 0
    while rounds < 4:
        pending = [r for r in (history.get(i) for i in ids) if r is not None and not r.settled]
        if not pending:
            break
        if rounds:
            server.faults.clear()
        for rec in pending:
            with contextlib.suppress(PlanRefused):
                engine.resolve(rec)
        rounds += 1
    return rounds


def engine_trial(trial: Trial, kind: str, service: MTurkService, history: HistoryStore) -> None:
    server, truth, rng, tally, s = trial
    op, label = s.op, f"{s.op}:{kind}"
    engine = _engine(service, history, rng.randrange(2**31))
    ids: list[int] = []
    if kind == "second":
        other = _engine(service, history, rng.randrange(2**31))
        go = _precheck_passes(other, s)  # the second run looks first …
        first = _record(engine, s)  # … then the first runs to the end …
        engine.dispatch([first])
        ids.append(first.id)
        if go:  # … then the second records and sends what it checked
            with contextlib.suppress(PlanRefused):
                second = _record(other, s)
                ids.append(second.id)
                other.dispatch([second])
    elif kind == "crash":
        dying = _engine(_DiesAfterSend(service, SEND_METHOD[op]), history, 0)
        record = _record(dying, s)
        ids.append(record.id)
        with contextlib.suppress(SystemExit):
            dying.dispatch([record])
    else:
        record = _record(engine, s)
        ids.append(record.id)
        _faults(server, op, kind, rng)
        engine.dispatch([record])
    rounds = _settle(engine, history, ids, server)
    server.faults.clear()
    tally.resolved += rounds > 0
    records = [r for r in (history.get(i) for i in ids) if r is not None]
    judge(tally, label, s, truth, records)


def _pairs(ops: tuple[str, ...], kinds: tuple[str, ...]) -> list[tuple[str, str]]:
    """Every (operation, kind) pair, ordered so that the first len(kinds) trials run each
    kind once, the operations taking turns."""
    return [(ops[(j + k) % len(ops)], kinds[k]) for j in range(len(ops)) for k in range(len(kinds))]


def run_trials(
    count: int,
    seed: int,
    server: EmulatorServer | None,
    ops: tuple[str, ...],
    kinds: tuple[str, ...],
    trial: Callable[[Trial, str], None],
    *,
    tally: ReviewTally | None = None,
    make: Callable[[EmulatorServer, Truth, random.Random, str], Any] = new_subject,
) -> ReviewTally:
    """`count` trials on one long-lived emulator: every (operation, kind) pair once in turn,
    then drawn at random, each on a fresh subject (`make`); faults cleared around each; a
    trial that raises is a finding. The figures are added to `tally` (a fresh ReviewTally)."""
    own = server is None
    server = server or new_emulator()
    rng = random.Random(seed)
    tally = ReviewTally() if tally is None else tally
    truth = Truth(server)
    pairs = _pairs(ops, kinds)
    try:
        for i in range(count):
            op, kind = pairs[i] if i < len(pairs) else rng.choice(pairs)
            server.faults.clear()
            try:
                tally.trials[f"{op}:{kind}"] += 1
                trial(Trial(server, truth, rng, tally, make(server, truth, rng, op)), kind)
            except Exception as exc:  # a crash of the pipeline is a finding
                tally.wrong += 1
                tally.fail(f"{op}:{kind}", f"trial raised {type(exc).__name__}: {exc}")
    finally:
        server.faults.clear()
        if own:
            server.stop()
    return tally


def run_engine_trials(
    count: int,
    seed: int,
    workdir: Path,
    server: EmulatorServer | None = None,
    ops: tuple[str, ...] = tuple(OPS),
    kinds: tuple[str, ...] = ENGINE_FAULTS,
) -> ReviewTally:
    """`count` engine trials (see `_run`) on one history file in `workdir`."""
    workdir.mkdir(parents=True, exist_ok=True)
    services: dict[str, MTurkService] = {}
    with open_store(workdir / f"review-{seed}.sqlite3") as history:

        def one(trial: Trial, kind: str) -> None:
            service = services.get(trial.server.url) or _service(trial.server)
            services[trial.server.url] = service
            engine_trial(trial, kind, service, history)

        return run_trials(count, seed, server, ops, kinds, one)


# -- process trials: SIGKILL at a random moment, two processes at once ---------------------
def _argv(s: Subject, url: str) -> list[str]:
    if s.op == "bonus":
        head = ["bonus", s.aid, str(s.amount), "--reason", REASON]
    elif s.op == "approve":
        head = ["approve", s.aid]
    else:
        head = ["reject", s.aid, "--feedback", FEEDBACK]
    return [*head, "--endpoint-url", url, "--yes", "--json"]


def hit_records(home: Path, hit_id: str, op: str, limit: int = 10) -> list[Record]:
    """The history's records of `op` on the HIT (the history of commands run under `home`)."""
    with HistoryStore(history_path(home)) as history:
        return [
            r
            for r in history.query(text=hit_id, limit=limit)
            if r.hit_id == hit_id and r.operation == OPS[op].name
        ]


def cli_resolve(
    env: dict[str, str], url: str, *, until: Callable[[], bool] = lambda: True
) -> list[int]:
    """`turktui resolve --yes --json` (in this process) until it exits 0 and `until()` holds,
    at most 4 times; the exit codes."""
    codes: list[int] = []
    for _ in range(4):
        codes.append(run_cli(env, "resolve", "--yes", "--json", "--endpoint-url", url).returncode)
        if codes[-1] == 0 and until():
            break
    return codes


def process_trial(trial: Trial, kind: str, home: Path) -> None:
    server, truth, rng, tally, s = trial
    op, label = s.op, f"{s.op}:{kind}"
    env = cli_environment(home, **FAKE_KEYS)
    argv = _argv(s, server.url)
    killed = False
    if kind == "sigkill":
        if rng.random() < 0.5:  # a slow answer: the kill often lands while it is in flight
            server.faults.add(op=OPS[op].mturk_name, latency=0.5, count=1)
        proc = start_process(env, *argv)
        time.sleep(rng.uniform(0.0, 1.8))  # start-up is ~0.6 s: before, during or after
        proc.send_signal(signal.SIGKILL)
        proc.communicate(timeout=30)
        killed = proc.returncode == -signal.SIGKILL
        # a request the killed process sent (the slow one) lands before anything is settled
        assert server.faults.wait_idle(timeout=30), "the emulator is still handling requests"
    else:  # race: the same command twice at once
        if rng.random() < 0.5:
            server.faults.add(op=OPS[op].mturk_name, latency=0.2, count=1)
        procs = [start_process(env, *argv) for _ in range(2)]
        for p in procs:
            p.communicate(timeout=90)
            tally.refused_second += p.returncode == 3  # busy: the other one holds it
    tally.killed += killed
    server.faults.clear()
    tally.resolved += cli_resolve(env, server.url)[0] != 0
    records = hit_records(home, s.hit_id, op)
    judge(tally, label, s, truth, records, allow_missing=killed or kind == "race")


def run_process_trials(
    count: int,
    seed: int,
    home: Path,
    server: EmulatorServer | None = None,
    ops: tuple[str, ...] = tuple(OPS),
    kinds: tuple[str, ...] = PROCESS_FAULTS,
) -> ReviewTally:
    """`count` trials (see `_run`) with real `turktui` processes sharing one history (an
    operator's machine)."""
    home.mkdir(parents=True, exist_ok=True)
    write_config(home, "read_timeout = 1\nconnect_timeout = 1\n")

    return run_trials(
        count, seed, server, ops, kinds, lambda trial, kind: process_trial(trial, kind, home)
    )
