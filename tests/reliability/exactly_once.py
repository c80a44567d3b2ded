"""Exactly-once under faults: randomized, seeded trials over the engine and the CLI.

Each trial makes a fresh HIT, picks n within the rules and a fault, runs the engine (or
`turktui extend`: in-process, or a child process that is SIGKILLed), resolves until settled,
and then checks the emulator against the history:

* MaxAssignments grew by exactly n or exactly 0 (never 2n: a *double extension*);
* n only when the record says applied, 0 only when it says not applied (else *wrong record*);
* the balance moved by exactly the cost once (or not at all);
* exactly one record for the intent (none only if the process died before recording and
  nothing was applied: otherwise a *lost record*); no record left unsettled.
"""

from __future__ import annotations

import contextlib
import itertools
import random
import signal
import time
from dataclasses import dataclass
from datetime import datetime, timedelta, timezone
from decimal import Decimal
from pathlib import Path
from typing import Any

from tests.reliability.common import FAKE_KEYS, OP_EXTEND, Figures, json_out
from tests.runcli import (
    cli_environment,
    history_path,
    run_cli,
    run_process,
    start_process,
    write_config,
)
from tests.seams import crash_after_send
from turktui.adapters.history import HistoryStore
from turktui.adapters.mturk import MTurkService
from turktui.adapters.stores import open_store
from turktui.domain.environment import Environment, EnvKind
from turktui.domain.records import Record, State
from turktui.domain.rules import extension_cost, extension_range
from turktui.emulator import EmulatorServer
from turktui.pipeline.engine import Backoff, Engine, PlanRefused, new_token

UTC = timezone.utc
ENGINE_FAULTS = ("none", "drop", "throttle", "error", "latency", "mixed", "stale", "beyond")
CLI_FAULTS = ("none", "drop", "throttle", "error", "latency", "crash_after_send", "sigkill")
#: The engine's client read timeout in trials, and a latency that always exceeds it.
READ_TIMEOUT = 0.25
LATENCY = 0.4
CLI_READ_TIMEOUT = 1
CLI_LATENCY = 1.3
OP_EXPIRE = "UpdateExpirationForHIT"


@dataclass
class Tally(Figures):
    """Figures of a batch of trials (summed across batches by the campaign)."""

    applied: int = 0
    not_applied: int = 0
    double: int = 0
    lost_or_wrong: int = 0
    unresolved: int = 0
    wrong_balance: int = 0
    resolved: int = 0
    killed: int = 0
    invalid_sent: int = 0

    @property
    def violations(self) -> int:
        return (
            self.double
            + self.lost_or_wrong
            + self.unresolved
            + self.wrong_balance
            + self.invalid_sent
        )


def new_emulator() -> EmulatorServer:
    """Real clock (token windows are real), a deep balance, no seeded HITs."""
    return EmulatorServer(host="127.0.0.1", port=0, hits=0, seed=1, balance="1000000000.00").start()


def random_hit_fields(rng: random.Random, now: float) -> dict[str, Any]:
    """A HIT that can be extended: ≥ 10 (any size) or < 10 with room, created recently."""
    if rng.random() < 0.35:
        max_a = rng.randint(1, 8)
    else:
        max_a = rng.choice([10, 11, 50, 999, rng.randint(10, 5000), 999_990])
    reward = rng.choice(["0.01", "0.05", "0.50", "1.25", "3.00"])
    return {
        "MaxAssignments": max_a,
        "Reward": reward,
        "CreationTime": now - rng.uniform(60, 30 * 86400),
        "Title": f"trial {rng.randrange(10**9)}",
    }


def random_n(rng: random.Random, max_a: int, created: datetime) -> int:
    r = extension_range(max_a, created)
    assert r.extendable
    if rng.random() < 0.3:
        return r.high if rng.random() < 0.5 else r.low
    return rng.randint(r.low, min(r.high, r.low + rng.choice([0, 3, 20, 500])))


def _expected_cost(raw: dict[str, Any], n: int, max_before: int) -> Decimal:
    return extension_cost(Decimal(raw["Reward"]), n, max_before + n).total


def check_trial(
    tally: Tally,
    kind: str,
    *,
    n: int,
    max_before: int,
    max_after: int,
    paid: Decimal,
    cost: Decimal,
    records: list[Record],
    allow_missing: bool = False,
    planned_before: int | None = None,
) -> None:
    """Compare reality (the emulator) with what the history says; count violations."""
    delta = max_after - max_before
    if delta not in (0, n):
        if delta > n:
            tally.double += 1
            tally.fail(kind, f"double extension: +{delta} for n={n}")
        else:
            tally.lost_or_wrong += 1
            tally.fail(kind, f"partial extension: +{delta} for n={n}")
        return
    applied = delta == n
    tally.applied += applied
    tally.not_applied += not applied
    if paid != (cost if applied else Decimal(0)):
        tally.wrong_balance += 1
        tally.fail(kind, f"balance moved by {paid}, expected {cost if applied else 0}")
    if not records:
        if applied or not allow_missing:
            tally.lost_or_wrong += 1
            tally.fail(kind, f"no history record (applied={applied})")
        else:
            tally.states["(never recorded)"] += 1
        return
    if len(records) > 1:
        tally.lost_or_wrong += 1
        tally.fail(kind, f"{len(records)} records for one intent")
    rec = records[0]
    tally.states[rec.state.value] += 1
    if not rec.settled:
        tally.unresolved += 1
        tally.fail(kind, f"record #{rec.id} left {rec.state.value}")
        return
    seen = max_before if planned_before is None else planned_before
    if rec.n != n or rec.max_before != seen or rec.expected_after != seen + n:
        tally.lost_or_wrong += 1
        tally.fail(
            kind,
            f"record #{rec.id} says n={rec.n} {rec.max_before}→"
            f"{rec.expected_after}, asked n={n} from {max_before}",
        )
    if rec.state.applied is not applied:
        tally.lost_or_wrong += 1
        tally.fail(kind, f"record #{rec.id} is {rec.state.value} but applied={applied}")


# -- engine trials -------------------------------------------------------------------------
def _add_faults(server: EmulatorServer, kind: str, rng: random.Random) -> float:
    """Configure this trial's faults; return how long a late request may still be in the
    emulator (latency), so verification waits for it."""
    k = rng.randint(1, 6)  # ≥ 5 exhausts the engine's 5 attempts: unknown/failed → resolve
    seed = rng.randrange(2**31)
    if kind == "drop":
        server.faults.add(op=OP_EXTEND, drop=1.0, count=k, seed=seed)
    elif kind == "throttle":
        server.faults.add(op=OP_EXTEND, throttle=1.0, count=k, seed=seed)
    elif kind == "error":
        server.faults.add(op=OP_EXTEND, error=1.0, count=k, seed=seed)
    elif kind == "latency":
        server.faults.add(op=OP_EXTEND, latency=LATENCY, count=min(k, 3), seed=seed)
        return LATENCY
    elif kind == "mixed":
        # Rates, not certainties: any order of drop / 5xx / throttle / slow answers.
        server.faults.add(
            op=OP_EXTEND, drop=0.3, error=0.2, throttle=0.2, count=rng.randint(2, 8), seed=seed
        )
        if rng.random() < 0.3:
            server.faults.add(op=OP_EXTEND, latency=LATENCY, count=1, seed=seed)
            return LATENCY
        if rng.random() < 0.3:
            server.faults.add(op="GetHIT", throttle=0.5, error=0.3, count=3, seed=seed)
    return 0.0


def engine_trial(
    server: EmulatorServer,
    engine: Engine,
    history: HistoryStore,
    rng: random.Random,
    tally: Tally,
    kind: str,
) -> None:
    state = server.state
    now = time.time()
    fields = random_hit_fields(rng, now)
    hit_id = state.add_hit(**fields)
    hit = engine.service.get_hit(hit_id)
    before_requests = state.request_count(OP_EXTEND)
    if kind == "beyond":
        tally.trials[kind] += 1
        # Hostile intent: n outside the rules must never reach MTurk.
        r = extension_range(hit.max_assignments, hit.created)
        n = rng.choice([0, -1, r.high + 1, r.high + rng.randint(2, 10**6), 10**18])
        try:
            engine.plan(hit, n)
        except PlanRefused:
            pass
        else:
            tally.invalid_sent += 1
            tally.fail(kind, f"plan accepted n={n} for max {hit.max_assignments}")
        if state.request_count(OP_EXTEND) != before_requests:
            tally.invalid_sent += 1
            tally.fail(kind, "a request was sent for a refused plan")
        tally.not_applied += 1
        return
    n = random_n(rng, hit.max_assignments, hit.created or datetime.now(UTC))
    if kind == "stale":
        # Someone else changed the HIT after we read it: MTurk refuses, nothing changes.
        if hit.max_assignments < 9 and hit.max_assignments + n < 10:
            state.update_hit(hit_id, MaxAssignments=9)
        else:
            kind = "none"  # this HIT cannot be made stale that way
    tally.trials[kind] += 1
    raw_before = state.get_hit_raw(hit_id)
    max_before = raw_before["MaxAssignments"]
    balance_before = state.balance
    linger = _add_faults(server, kind, rng)
    plan = engine.plan(hit, n)
    outcome = engine.execute(plan)
    time.sleep(linger)  # a timed-out request may still be applied by the emulator
    rounds = 0
    record = outcome.record
    while not record.settled and rounds < 4:
        if rounds:
            server.faults.clear()
        full = history.get(record.id)
        assert full is not None
        record = engine.resolve(full).record
        time.sleep(linger)
        rounds += 1
    server.faults.clear()
    tally.resolved += rounds > 0
    check_trial(
        tally,
        kind,
        n=n,
        max_before=max_before,
        max_after=state.get_hit_raw(hit_id)["MaxAssignments"],
        paid=balance_before - state.balance,
        cost=_expected_cost(raw_before, n, max_before),
        records=history.find_by_token(plan.token),
    )  # the record holds fresh numbers


def run_engine_trials(
    count: int,
    seed: int,
    workdir: Path,
    server: EmulatorServer | None = None,
    history_at: Path | str | None = None,
) -> Tally:
    """`count` engine trials against one long-lived emulator (faults set per trial), on a
    history file in `workdir` or the store at `history_at` (a file or a PostgreSQL URL)."""
    own = server is None
    server = server or new_emulator()
    rng = random.Random(seed)
    tally = Tally()
    env = Environment(EnvKind.DEMO, server.url)
    service = MTurkService(env, read_timeout=READ_TIMEOUT, connect_timeout=0.5, max_attempts=2)
    workdir.mkdir(parents=True, exist_ok=True)
    history = open_store(history_at or workdir / f"engine-{seed}.sqlite3")
    engine = Engine(
        service,
        history,
        env,
        backoff=Backoff(attempts=5, base=0.003, cap=0.02, total=1.0),
        seed=seed,
    )
    try:
        for i in range(count):
            kind = (
                ENGINE_FAULTS[i % len(ENGINE_FAULTS)]
                if i < len(ENGINE_FAULTS)
                else rng.choice(ENGINE_FAULTS)
            )
            server.faults.clear()
            try:
                engine_trial(server, engine, history, rng, tally, kind)
            except Exception as exc:  # a crash of the engine is a finding, not a test error
                tally.lost_or_wrong += 1
                tally.fail(kind, f"trial raised {type(exc).__name__}: {exc}")
    finally:
        server.faults.clear()
        history.close()
        if own:
            server.stop()
    return tally


# -- CLI trials ----------------------------------------------------------------------------
def _cli_faults(server: EmulatorServer, kind: str, rng: random.Random) -> float:
    k = rng.randint(1, 3)  # the CLI's real backoff (0.25 s, doubling) keeps k small
    seed = rng.randrange(2**31)
    if kind == "drop":
        server.faults.add(op=OP_EXTEND, drop=1.0, count=k, seed=seed)
    elif kind == "throttle":
        server.faults.add(op=OP_EXTEND, throttle=1.0, count=k, seed=seed)
    elif kind == "error":
        server.faults.add(op=OP_EXTEND, error=1.0, count=k, seed=seed)
    elif kind == "latency":
        server.faults.add(op=OP_EXTEND, latency=CLI_LATENCY, count=1, seed=seed)
        return CLI_LATENCY
    elif kind == "sigkill" and rng.random() < 0.5:
        # Make the request slow so the kill often lands while it is in flight.
        server.faults.add(op=OP_EXTEND, latency=0.5, count=1, seed=seed)
        return 0.5
    return 0.0


def cli_trial(
    server: EmulatorServer,
    home: Path,
    rng: random.Random,
    tally: Tally,
    kind: str,
    where: Path | str | None = None,
) -> None:
    """One CLI trial; `where`: the history the CLI uses (the config's history_url), else
    the home's file."""
    state = server.state
    hit_id = state.add_hit(**random_hit_fields(rng, time.time()))
    raw_before = state.get_hit_raw(hit_id)
    max_before = raw_before["MaxAssignments"]
    created = datetime.fromtimestamp(raw_before["CreationTime"], UTC)
    n = random_n(rng, max_before, created)
    balance_before = state.balance
    tally.trials[f"cli:{kind}"] += 1
    env = cli_environment(home, **FAKE_KEYS)
    linger = _cli_faults(server, kind, rng)
    args = ["extend", hit_id, str(n), "--endpoint-url", server.url, "--yes", "--json"]
    killed = False
    if kind == "sigkill":
        proc = start_process(env, *args)
        time.sleep(rng.uniform(0.0, 1.6))  # start-up is ~0.6 s: before, during or after
        proc.send_signal(signal.SIGKILL)
        proc.communicate(timeout=30)
        killed = proc.returncode == -signal.SIGKILL
    else:
        if kind == "crash_after_send":  # the seam SIGKILLs a child process
            res = run_process(env, *args, extra=crash_after_send())
        else:
            res = run_cli(env, *args)
        killed = res.returncode == -signal.SIGKILL
        data = json_out(res)
        if not killed and (data is None or "exit_code" not in data):
            tally.lost_or_wrong += 1
            tally.fail(kind, f"no JSON result (rc={res.returncode}): {res.stderr[-300:]}")
        elif not killed and data is not None and data["exit_code"] != res.returncode:
            tally.lost_or_wrong += 1
            tally.fail(kind, f"JSON exit_code {data['exit_code']} != rc {res.returncode}")
    tally.killed += killed
    time.sleep(linger)
    server.faults.clear()
    for attempt in range(4):
        res = run_cli(env, "resolve", "--yes", "--json", "--endpoint-url", server.url)
        if res.returncode == 0:
            break
        tally.resolved += attempt == 0
    with open_store(where or history_path(home)) as history:
        records = [r for r in history.query(text=hit_id, limit=10) if r.hit_id == hit_id]
        if any(r.attempt_count for r in records) and records[0].state.value.startswith("resolved"):
            tally.resolved += 1
    check_trial(
        tally,
        f"cli:{kind}",
        n=n,
        max_before=max_before,
        max_after=state.get_hit_raw(hit_id)["MaxAssignments"],
        paid=balance_before - state.balance,
        cost=_expected_cost(raw_before, n, max_before),
        records=records,
        allow_missing=killed,
    )


def run_cli_trials(
    count: int,
    seed: int,
    home: Path,
    server: EmulatorServer | None = None,
    kinds: tuple[str, ...] = CLI_FAULTS,
    history_url: str | None = None,
) -> Tally:
    """`count` CLI trials sharing one history (as an operator's machine would): each of
    `kinds` once, then kinds drawn at random; the home's file, or the shared PostgreSQL
    history at `history_url`."""
    own = server is None
    server = server or new_emulator()
    rng = random.Random(seed)
    tally = Tally()
    home.mkdir(parents=True, exist_ok=True)
    shared = f'history_url = "{history_url}"\n' if history_url else ""
    write_config(home, f"read_timeout = {CLI_READ_TIMEOUT}\nconnect_timeout = 1\n{shared}")
    try:
        for i in range(count):
            kind = kinds[i] if i < len(kinds) else rng.choice(kinds)
            server.faults.clear()
            try:
                cli_trial(server, home, rng, tally, kind, history_url)
            except Exception as exc:
                tally.lost_or_wrong += 1
                tally.fail(kind, f"trial raised {type(exc).__name__}: {exc}")
    finally:
        server.faults.clear()
        if own:
            server.stop()
    return tally


def merge(a: Tally, b: Tally) -> Tally:
    out = Tally()
    out.merge(a)
    out.merge(b)
    return out


# -- truthful outcomes (issue 11) -------------------------------------------------------------
#: Trial kinds where the answer, the clock or another process could fool the history.
TRUTH_KINDS = (
    "expire_drop",
    "token_reuse",
    "two_processes",
    "resolve_vs_batch",
    "overlap_topup",
    "second_intent",
    "skewed_clock",
    # issue 21
    "stale_resend",
    "no_mturk_time",
    "token_rerun",
    "crash_between_parts",
)


@dataclass
class TruthTally(Figures):
    """Figures of the truth trials. A violation is a record that claims what MTurk
    contradicts (or a double extension); "cannot tell" with the numbers is honest."""

    double: int = 0
    false_success: int = 0  # recorded applied/succeeded, reality says otherwise
    false_failure: int = 0  # recorded not applied/failed, reality says it was
    live_overwritten: int = 0  # another process's live record settled by resolve
    unresolved: int = 0  # left planned/sending after everything finished
    conflicts: int = 0  # conflicts reported (with numbers): honest, not violations
    cannot_tell: int = 0  # comparison refused to conclude (with numbers): honest
    refused_second: int = 0  # second intents refused (one per HIT at a time)

    @property
    def violations(self) -> int:
        return (
            self.double
            + self.false_success
            + self.false_failure
            + self.live_overwritten
            + self.unresolved
        )


class _Offset:
    """A clock: real time plus an offset (seconds), as epoch or aware datetime."""

    def __init__(self) -> None:
        self.offset = 0.0

    def epoch(self) -> float:
        return time.time() + self.offset

    def now(self) -> datetime:
        return datetime.fromtimestamp(self.epoch(), UTC)


def _judge_records(
    tally: TruthTally, kind: str, hit_id: str, before: int, after: int, records: list[Record]
) -> None:
    """Reality (before → after) against every record on the HIT."""
    for rec in records:
        tally.states[rec.state.value] += 1
        if rec.state.value in ("planned", "sending"):
            tally.unresolved += 1
            tally.fail(kind, f"#{rec.id} left {rec.state.value}")
        if rec.state.value == "conflict":
            tally.conflicts += 1
        if rec.state.value == "unknown" and "Cannot tell" in rec.note:
            tally.cannot_tell += 1
    applied = [r for r in records if r.state.applied is True]
    claimed = sum(r.n for r in applied)
    unknown = [r for r in records if r.state.applied is None]
    delta = after - before
    if not unknown and claimed != delta:
        bad = "false_success" if claimed > delta else "false_failure"
        setattr(tally, bad, getattr(tally, bad) + 1)
        tally.fail(kind, f"HIT {hit_id}: records claim +{claimed}, reality +{delta}")
    elif unknown and claimed > delta:
        tally.false_success += 1
        tally.fail(kind, f"HIT {hit_id}: records claim at least +{claimed}, reality +{delta}")
    # Fresh numbers: applied records on one HIT form a chain (no two from the same read).
    chain = sorted(applied, key=lambda r: r.max_before)
    for prev, nxt in itertools.pairwise(chain):
        if nxt.max_before != prev.expected_after:
            tally.false_success += 1
            tally.fail(
                kind,
                f"HIT {hit_id}: #{prev.id} {prev.max_before}→{prev.expected_after}"
                f" and #{nxt.id} {nxt.max_before}→{nxt.expected_after}",
            )


def _records_for(history: HistoryStore, hit_id: str) -> list[Record]:
    return [r for r in history.query(text=hit_id, limit=100) if r.hit_id == hit_id]


def _hit(state: Any, rng: random.Random, **extra: Any) -> str:
    fields = random_hit_fields(rng, time.time())
    fields.update(extra)
    return str(state.add_hit(**fields))


def _truth_engine(
    server: EmulatorServer, history: HistoryStore, seed: int, clock: Any = None
) -> Engine:
    env = Environment(EnvKind.DEMO, server.url)
    service = MTurkService(env, read_timeout=READ_TIMEOUT, connect_timeout=0.5, max_attempts=2)
    return Engine(
        service,
        history,
        env,
        clock=clock,
        backoff=Backoff(attempts=3, base=0.003, cap=0.02, total=1.0),
        seed=seed,
    )


def _settle(engine: Engine, history: HistoryStore, hit_id: str) -> None:
    for _ in range(3):
        pending = [r for r in _records_for(history, hit_id) if not r.settled]
        if not pending:
            return
        for rec in pending:
            full = history.get(rec.id)
            assert full is not None
            with contextlib.suppress(PlanRefused):
                engine.resolve(full)


def trial_expire_drop(
    server: EmulatorServer, work: Path, rng: random.Random, tally: TruthTally, kind: str
) -> None:
    """Extend an expired HIT and its expiration while the expiration's answers are lost:
    MTurk's implicit token refuses the repeat; the record must say what the HIT shows."""
    state = server.state
    now = state.now()
    hit_id = _hit(
        state,
        rng,
        MaxAssignments=rng.randint(1, 8),
        Expiration=now - 3600,
        HITStatus="Reviewable",
        CreationTime=now - 86400,
    )
    with HistoryStore(work / "expire.sqlite3") as history:
        engine = _truth_engine(server, history, rng.randrange(2**31))
        server.faults.add(
            op="UpdateExpirationForHIT",
            drop=1.0,
            count=rng.randint(1, 2),
            seed=rng.randrange(2**31),
        )
        before = state.get_hit_raw(hit_id)["MaxAssignments"]
        target = datetime.now(UTC) + timedelta(days=rng.randint(1, 30))
        outcome = engine.extend(engine.service.get_hit(hit_id), 1, target)
        server.faults.clear()
        _settle(engine, history, hit_id)
        # the time part is its own record (issue 21), settled on its own
        rec = history.get(outcome.records[-1].id)
        assert rec is not None and rec.operation == "update_expiration"
        raw = state.get_hit_raw(hit_id)
        shows = int(raw["Expiration"]) == int(target.timestamp())
        if rec.state.applied and not shows:
            tally.false_success += 1
            tally.fail(
                kind, f"#{rec.id} expiration succeeded but the HIT expires {raw['Expiration']}"
            )
        if rec.state.applied is False and shows:
            tally.false_failure += 1
            tally.fail(
                kind,
                f"#{rec.id} expiration {rec.state.label} but it was applied",
            )
        tally.states[f"expiry {rec.state.value}"] += 1
        add = history.get(outcome.record.id)
        assert add is not None
        _judge_records(tally, kind, hit_id, before, raw["MaxAssignments"], [add])


def trial_token_reuse(
    server: EmulatorServer, work: Path, rng: random.Random, tally: TruthTally, kind: str
) -> None:
    """A token used for HIT A, then (from another machine's history) for HIT B."""
    state = server.state
    a = _hit(state, rng, MaxAssignments=rng.randint(10, 5000))
    b = _hit(state, rng, MaxAssignments=rng.randint(10, 5000))
    token = new_token()
    before = state.get_hit_raw(b)["MaxAssignments"]
    with (
        HistoryStore(work / f"reuse-a-{token}.sqlite3") as ha,
        HistoryStore(work / f"reuse-b-{token}.sqlite3") as hb,
    ):
        ea = _truth_engine(server, ha, 1)
        eb = _truth_engine(server, hb, 2)
        ea.extend(ea.service.get_hit(a), 1, token=token)
        with contextlib.suppress(PlanRefused):
            eb.extend(eb.service.get_hit(b), 1, token=token)
        _settle(eb, hb, b)
        _judge_records(
            tally, kind, b, before, state.get_hit_raw(b)["MaxAssignments"], _records_for(hb, b)
        )


def _cli_home(work: Path, name: str) -> tuple[Path, dict[str, str]]:
    home = work / name
    home.mkdir(parents=True, exist_ok=True)
    write_config(home, f"read_timeout = {CLI_READ_TIMEOUT}\nconnect_timeout = 1\n")
    return home, cli_environment(home, **FAKE_KEYS)


def trial_two_processes(
    server: EmulatorServer, work: Path, rng: random.Random, tally: TruthTally, kind: str
) -> None:
    """Two `turktui extend` processes for one HIT at once (one history)."""
    state = server.state
    hit_id = _hit(state, rng, MaxAssignments=rng.randint(10, 500))
    before = state.get_hit_raw(hit_id)["MaxAssignments"]
    home, env = _cli_home(work, f"two-{hit_id}")
    if rng.random() < 0.7:
        server.faults.add(op=OP_EXTEND, latency=0.3, count=1)
    n = rng.randint(1, 5)
    args = ["extend", hit_id, str(n), "--endpoint-url", server.url, "--yes", "--json"]
    procs = [start_process(env, *args) for _ in range(2)]
    for p in procs:
        p.communicate(timeout=90)
    codes = [p.returncode for p in procs]
    server.faults.clear()
    tally.refused_second += codes.count(3)
    run_cli(env, "resolve", "--yes", "--json", "--endpoint-url", server.url)
    with HistoryStore(history_path(home)) as history:
        records = _records_for(history, hit_id)
    _judge_records(
        tally, kind, hit_id, before, state.get_hit_raw(hit_id)["MaxAssignments"], records
    )


def trial_resolve_vs_batch(
    server: EmulatorServer, work: Path, rng: random.Random, tally: TruthTally, kind: str
) -> None:
    """`turktui resolve` while a batch is sending in another process."""
    state = server.state
    hits = [_hit(state, rng, MaxAssignments=rng.randint(10, 100)) for _ in range(12)]
    before = {h: state.get_hit_raw(h)["MaxAssignments"] for h in hits}
    home, env = _cli_home(work, f"batch-{hits[0]}")
    ids = home / "ids.txt"
    ids.write_text("\n".join(hits) + "\n", encoding="utf-8")
    server.faults.add(op=OP_EXTEND, latency=0.15)
    batch = start_process(
        env,
        "extend",
        "--from-file",
        str(ids),
        "--add",
        "1",
        "--workers",
        "1",
        "--endpoint-url",
        server.url,
        "--yes",
        "--json",
    )
    deadline = time.monotonic() + 30
    path = history_path(home)
    while time.monotonic() < deadline and not path.exists():
        time.sleep(0.02)
    while time.monotonic() < deadline:  # until the batch is recorded and sending
        with HistoryStore(path) as history:
            if any(r.attempt_count for h in hits[:1] for r in _records_for(history, h)):
                break
        time.sleep(0.02)
    run_cli(env, "resolve", "--yes", "--json", "--endpoint-url", server.url)
    batch.communicate(timeout=120)
    server.faults.clear()
    with HistoryStore(path) as history:
        for h in hits:
            records = _records_for(history, h)
            for rec in records:
                if (
                    rec.state.value == "resolved_not_applied"
                    and "Never sent" in rec.note
                    and state.get_hit_raw(h)["MaxAssignments"] != before[h]
                ):
                    tally.live_overwritten += 1
                    tally.fail(kind, f"#{rec.id} marked never sent, but it was applied")
            if batch.returncode == 3:
                tally.live_overwritten += 1
                tally.fail(kind, "the batch exited 3: members were taken from it")
            _judge_records(
                tally, kind, h, before[h], state.get_hit_raw(h)["MaxAssignments"], records
            )


def trial_overlap_topup(
    server: EmulatorServer, work: Path, rng: random.Random, tally: TruthTally, kind: str
) -> None:
    """Two `--top-up-to T` runs over the same HITs at the same time."""
    state = server.state
    target = rng.randint(30, 60)
    hits = [_hit(state, rng, MaxAssignments=rng.randint(10, target - 1)) for _ in range(6)]
    before = {h: state.get_hit_raw(h)["MaxAssignments"] for h in hits}
    home, env = _cli_home(work, f"topup-{hits[0]}")
    ids = home / "ids.txt"
    ids.write_text("\n".join(hits) + "\n", encoding="utf-8")
    args = [
        "extend",
        "--from-file",
        str(ids),
        "--top-up-to",
        str(target),
        "--endpoint-url",
        server.url,
        "--yes",
        "--json",
    ]
    procs = [start_process(env, *args) for _ in range(2)]
    for p in procs:
        p.communicate(timeout=120)
    tally.refused_second += sum(p.returncode == 3 for p in procs)
    run_cli(env, "resolve", "--yes", "--json", "--endpoint-url", server.url)
    with HistoryStore(history_path(home)) as history:
        for h in hits:
            after = state.get_hit_raw(h)["MaxAssignments"]
            if after > target:
                tally.double += 1
                tally.fail(kind, f"HIT {h} topped up to {after}, target {target}")
            _judge_records(tally, kind, h, before[h], after, _records_for(history, h))


def trial_second_intent(
    server: EmulatorServer, work: Path, rng: random.Random, tally: TruthTally, kind: str
) -> None:
    """A +n whose answers were 5xx (not applied, unknown), a second +n on the same HIT that
    succeeded, then resolve after the token window: comparison must not conclude."""
    state = server.state
    hit_id = _hit(state, rng, MaxAssignments=rng.randint(10, 500))
    before = state.get_hit_raw(hit_id)["MaxAssignments"]
    clock = _Offset()
    with HistoryStore(work / f"second-{hit_id}.sqlite3") as history:
        engine = _truth_engine(server, history, rng.randrange(2**31), clock.now)
        n = rng.randint(1, 5)
        server.faults.add(op=OP_EXTEND, error=1.0, count=3)
        first = engine.extend(engine.service.get_hit(hit_id), n)
        server.faults.clear()
        engine.execute(engine.plan(engine.service.get_hit(hit_id), n, allow_second=True))
        clock.offset += 25 * 3600  # past the window (by the local clock)
        rec = history.get(first.record.id)
        assert rec is not None
        if not rec.settled:
            with contextlib.suppress(PlanRefused):
                engine.resolve(rec)
        _judge_records(
            tally,
            kind,
            hit_id,
            before,
            state.get_hit_raw(hit_id)["MaxAssignments"],
            _records_for(history, hit_id),
        )


def trial_skewed_clock(
    server: EmulatorServer, work: Path, rng: random.Random, tally: TruthTally, kind: str
) -> None:
    """The local clock ahead while sending (answers lost), corrected later; MTurk forgot the
    token by then: resolve must not re-send. (The emulator's `Date` follows its clock.)"""
    mturk = _Offset()
    own = EmulatorServer(
        host="127.0.0.1",
        port=0,
        hits=0,
        seed=rng.randrange(2**31),
        balance="1000000.00",
        now=mturk.epoch,
    ).start()
    local = _Offset()
    try:
        state = own.state
        hit_id = _hit(state, rng, MaxAssignments=rng.randint(10, 500))
        before = state.get_hit_raw(hit_id)["MaxAssignments"]
        with HistoryStore(work / f"skew-{hit_id}.sqlite3") as history:
            engine = _truth_engine(own, history, rng.randrange(2**31), local.now)
            skew = rng.uniform(0.5, 6) * 3600
            local.offset = skew
            own.faults.add(op=OP_EXTEND, drop=1.0)  # applied, every answer lost
            engine.extend(engine.service.get_hit(hit_id), rng.randint(1, 5))
            own.faults.clear()
            later = rng.uniform(23.9, 30) * 3600
            mturk.offset = later
            local.offset = later  # corrected meanwhile
            _settle(engine, history, hit_id)
            after = state.get_hit_raw(hit_id)["MaxAssignments"]
            _judge_records(tally, kind, hit_id, before, after, _records_for(history, hit_id))
    finally:
        own.stop()


# -- issue 21: stale re-sends, clocks without MTurk's time, token re-runs, crashes between the
# two parts of a combined request ------------------------------------------------------------
def _judge_expiration(
    tally: TruthTally, kind: str, rec: Record | None, shows: bool, text: str
) -> None:
    """A time record against what the HIT shows (`shows`: the asked-for change is there)."""
    if rec is None:
        return
    tally.states[f"time {rec.state.value}"] += 1
    if rec.state.value in ("planned", "sending"):
        tally.unresolved += 1
        tally.fail(kind, f"#{rec.id} left {rec.state.value}")
    elif rec.state.applied is True and not shows:
        tally.false_success += 1
        tally.fail(kind, f"#{rec.id} time recorded applied, but {text}")
    elif rec.state.applied is False and shows:
        tally.false_failure += 1
        tally.fail(kind, f"#{rec.id} time recorded not applied, but {text}")


#: How a planned time went stale before its re-send (issue 21): someone moved the HIT later
#: (the time would shorten it), the time passed (MTurk reads a past time as "expire now"), it
#: is less than 60 s ahead, or someone expired the HIT so that it lies more than 365 days
#: after the HIT's expiration; and sometimes the lost attempt went through after all.
STALE_HOW = ("moved", "passed", "too_soon", "too_far", "applied")


def trial_stale_resend(
    server: EmulatorServer, work: Path, rng: random.Random, tally: TruthTally, kind: str
) -> None:
    """An unknown expiration change whose planned time went stale (STALE_HOW): resolve must
    re-plan against a fresh read and never send the old time, and the record must say what
    the HIT shows."""
    state = server.state
    now = state.now()
    how = STALE_HOW[tally.trials[kind] % len(STALE_HOW)]
    tally.states[f"stale re-send: {how}"] += 1
    # the HIT as it was when the time was planned (only the stale part is wrong now)
    current = now + {"too_far": 30 * 86400, "passed": -7200, "too_soon": -600}.get(how, 3600)
    hit_id = _hit(state, rng, Expiration=current, HITStatus="Assignable")
    planned = datetime.fromtimestamp(
        int(now)
        + {
            "moved": 2 * 3600 + rng.randint(0, 3600),
            "applied": 2 * 3600 + rng.randint(0, 3600),
            "passed": -rng.randint(1, 3000),
            "too_soon": rng.randint(2, 50),
            "too_far": 30 * 86400 + 364 * 86400,
        }[how],
        UTC,
    )
    with HistoryStore(work / "stale.sqlite3") as history:
        engine = _truth_engine(server, history, rng.randrange(2**31))
        hit = engine.service.get_hit(hit_id)
        rid = history.create(
            env_kind="demo",
            endpoint=server.url,
            profile=None,
            hit_id=hit_id,
            hit_title="",
            n=0,
            token=new_token(),
            max_before=hit.max_assignments,
            expected_after=hit.max_assignments,
            expire_at=planned,
        )
        # sent an hour ago (MTurk's time was read then: a re-send would be allowed)
        sent = datetime.fromtimestamp(now - 3600, UTC)
        history.update(rid, read_at=sent, read_at_server=sent)
        history.add_attempt(
            rid,
            operation="UpdateExpirationForHIT",
            outcome="error",
            at=sent,
            state=State.UNKNOWN,
            first_sent=sent,
        )
        if how == "applied":
            state.update_hit(hit_id, Expiration=planned.timestamp())
        elif how == "moved":  # another program extends it to ten hours from now
            state.update_hit(hit_id, Expiration=now + 10 * 3600)
        elif how == "too_far":  # another program expired it
            state.update_hit(hit_id, Expiration=now - 5, HITStatus="Reviewable")
        moved = state.get_hit_raw(hit_id)["Expiration"]
        sent_before = state.request_count(OP_EXPIRE)
        _settle(engine, history, hit_id)
        rec = history.get(rid)
        shows = int(state.get_hit_raw(hit_id)["Expiration"]) == int(planned.timestamp())
        if state.get_hit_raw(hit_id)["Expiration"] != moved:
            tally.false_success += 1
            tally.fail(kind, f"#{rid} ({how}): the HIT's expiration was changed by a re-send")
        if how != "applied" and state.request_count(OP_EXPIRE) != sent_before:
            tally.false_success += 1
            tally.fail(kind, f"#{rid} ({how}): the stale time was re-sent")
        _judge_expiration(tally, kind, rec, shows, f"the HIT shows {shows=}")


def trial_no_mturk_time(
    server: EmulatorServer, work: Path, rng: random.Random, tally: TruthTally, kind: str
) -> None:
    """Every answer lost, and MTurk's time unknown: either no `Date` on any answer (so its
    time at sending is unknown), or GetHIT failing when resolve runs (its time now is
    unknown). Resolve never re-sends then: the record stays unknown and says why; once GetHIT
    answers again it is settled, applied exactly once and recorded as such."""
    state = server.state
    hit_id = _hit(state, rng, MaxAssignments=rng.randint(10, 500))
    n = rng.randint(1, 5)
    how = ("no_date", "gethit_fails")[tally.trials[kind] % 2]
    tally.states[f"MTurk's time unknown: {how}"] += 1
    with HistoryStore(work / "nodate.sqlite3") as history:
        engine = _truth_engine(server, history, rng.randrange(2**31))
        before = state.get_hit_raw(hit_id)["MaxAssignments"]
        server.date_header = how != "no_date"
        server.faults.add(op=OP_EXTEND, drop=1.0, seed=rng.randrange(2**31))
        try:
            with contextlib.suppress(PlanRefused):
                engine.extend(engine.service.get_hit(hit_id), n)
            if how == "gethit_fails":
                server.faults.add(op="GetHIT", error=1.0)
                sent = state.request_count(OP_EXTEND)
                for rec in _records_for(history, hit_id):
                    full = history.get(rec.id)
                    assert full is not None
                    with contextlib.suppress(PlanRefused):
                        engine.resolve(full)
                    after = history.get(rec.id)
                    assert after is not None
                    if state.request_count(OP_EXTEND) != sent:
                        tally.double += 1
                        tally.fail(kind, f"#{rec.id} re-sent while GetHIT was failing")
                    if after.settled or "not re-sent" not in after.note:
                        tally.false_success += 1
                        tally.fail(kind, f"#{rec.id} {after.state.value} while GetHIT failed")
        finally:
            server.faults.clear()
            server.date_header = True
        _settle(engine, history, hit_id)
        after = state.get_hit_raw(hit_id)["MaxAssignments"]
        if after - before > n:
            tally.double += 1
            tally.fail(kind, f"HIT {hit_id}: +{after - before} for one +{n}")
        _judge_records(tally, kind, hit_id, before, after, _records_for(history, hit_id))


def trial_token_rerun(
    server: EmulatorServer, work: Path, rng: random.Random, tally: TruthTally, kind: str
) -> None:
    """A script re-runs its request with its own token (and --allow-second) after an unknown
    outcome: the re-run attaches to the unsettled record, never a second one."""
    state = server.state
    hit_id = _hit(state, rng, MaxAssignments=rng.randint(10, 500))
    n = rng.randint(1, 5)
    token = f"script-{rng.randrange(10**12)}"
    with HistoryStore(work / "rerun.sqlite3") as history:
        engine = _truth_engine(server, history, rng.randrange(2**31))
        before = state.get_hit_raw(hit_id)["MaxAssignments"]
        server.faults.add(
            op="CreateAdditionalAssignmentsForHIT",
            drop=1.0,
            count=rng.randint(1, 3),
            seed=rng.randrange(2**31),
        )
        try:
            for _ in range(2):
                with contextlib.suppress(PlanRefused):
                    hit = engine.service.get_hit(hit_id)
                    engine.execute(engine.plan(hit, n, token=token, allow_second=True))
        finally:
            server.faults.clear()
        _settle(engine, history, hit_id)
        if len(history.find_by_token(token)) != 1:
            tally.double += 1
            tally.fail(kind, f"{len(history.find_by_token(token))} records for one token")
        after = state.get_hit_raw(hit_id)["MaxAssignments"]
        _judge_records(tally, kind, hit_id, before, after, _records_for(history, hit_id))


class _CrashOnExpiration:
    """The service, but the process "dies" around the expiration part: before sending it, or
    right after MTurk applied it."""

    def __init__(self, inner: Any, after: bool) -> None:
        self.inner, self.after = inner, after

    def __getattr__(self, name: str) -> Any:
        return getattr(self.inner, name)

    def update_expiration(self, hit_id: str, expire_at: datetime) -> None:
        if self.after:
            self.inner.update_expiration(hit_id, expire_at)
        raise SystemExit("killed around the expiration part")


def trial_crash_between_parts(
    server: EmulatorServer, work: Path, rng: random.Random, tally: TruthTally, kind: str
) -> None:
    """ "+N and more time", killed between the two parts or right after the second: each
    part is its own record, recorded before it was sent; resolve settles each truthfully."""
    state = server.state
    now = state.now()
    hit_id = _hit(state, rng, MaxAssignments=rng.randint(10, 500), Expiration=now + 3600)
    n = rng.randint(1, 5)
    with HistoryStore(work / "parts.sqlite3") as history:
        engine = _truth_engine(server, history, rng.randrange(2**31))
        before = state.get_hit_raw(hit_id)["MaxAssignments"]
        target = datetime.fromtimestamp(int(now) + 86400 * rng.randint(1, 5), UTC)
        dying = Engine(
            _CrashOnExpiration(engine.service, rng.random() < 0.5),
            history,
            engine.env,
            backoff=engine.backoff,
        )
        with contextlib.suppress(SystemExit):
            dying.extend(engine.service.get_hit(hit_id), n, target)
        records = _records_for(history, hit_id)
        if len(records) != 2:
            tally.false_success += 1
            tally.fail(kind, f"HIT {hit_id}: {len(records)} records for two parts")
        _settle(engine, history, hit_id)
        records = _records_for(history, hit_id)
        after = state.get_hit_raw(hit_id)["MaxAssignments"]
        adds = [r for r in records if r.operation == "add_assignments"]
        times = [r for r in records if r.operation != "add_assignments"]
        _judge_records(tally, kind, hit_id, before, after, adds)
        shows = int(state.get_hit_raw(hit_id)["Expiration"]) == int(target.timestamp())
        for rec in times:
            _judge_expiration(tally, kind, rec, shows, f"the HIT shows {shows=}")


_TRUTH_TRIALS = {
    "expire_drop": trial_expire_drop,
    "token_reuse": trial_token_reuse,
    "two_processes": trial_two_processes,
    "resolve_vs_batch": trial_resolve_vs_batch,
    "overlap_topup": trial_overlap_topup,
    "second_intent": trial_second_intent,
    "skewed_clock": trial_skewed_clock,
    "stale_resend": trial_stale_resend,
    "no_mturk_time": trial_no_mturk_time,
    "token_rerun": trial_token_rerun,
    "crash_between_parts": trial_crash_between_parts,
}


def run_truth_trials(
    count: int,
    seed: int,
    workdir: Path,
    server: EmulatorServer | None = None,
    kinds: tuple[str, ...] = TRUTH_KINDS,
) -> TruthTally:
    """`count` trials cycling through `kinds` (each kind at least once when count allows)."""
    own = server is None
    server = server or new_emulator()
    rng = random.Random(seed)
    tally = TruthTally()
    workdir.mkdir(parents=True, exist_ok=True)
    try:
        for i in range(count):
            kind = kinds[i % len(kinds)]
            server.faults.clear()
            tally.trials[kind] += 1
            try:
                _TRUTH_TRIALS[kind](server, workdir, rng, tally, kind)
            except Exception as exc:  # a crash is a finding, not a test error
                tally.false_success += 1
                tally.fail(kind, f"trial raised {type(exc).__name__}: {exc}")
    finally:
        server.faults.clear()
        if own:
            server.stop()
    return tally
