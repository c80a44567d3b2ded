"""Category 8, a hostile world in bounded time: trickling servers, endless pagination,
signals, hostile answers and damaged history records.

Every case has a bound and an expected record; the figures count cases, hangs past the
bound, tracebacks, broken terminals (alternate screen, mouse reporting, echo left on/off)
and wrong records (a bogus answer recorded as success, a request left "sending", a HIT
whose GetHIT was bogus extended anyway). All four must be 0.
"""

from __future__ import annotations

import random
import signal
import sqlite3
import subprocess
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from tests.hostile.pty import Session
from tests.hostile.servers import HostileServer, hit_json, html_answer, json_answer, trickle
from tests.reliability.common import FAKE_KEYS
from tests.runcli import (
    cli_environment,
    history_path,
    run_cli,
    run_process,
    start_process,
    write_config,
)

CREATE = "CreateAdditionalAssignmentsForHIT"
#: A case may take this long past its own deadline before it counts as a hang.
SLACK = 8.0


@dataclass
class WorldReport:
    cases: dict[str, int] = field(default_factory=dict)
    hangs: list[str] = field(default_factory=list)
    tracebacks: list[str] = field(default_factory=list)
    broken_terminals: list[str] = field(default_factory=list)
    wrong_records: list[str] = field(default_factory=list)
    slowest: dict[str, float] = field(default_factory=dict)

    def count(self, kind: str, elapsed: float) -> None:
        self.cases[kind] = self.cases.get(kind, 0) + 1
        self.slowest[kind] = max(self.slowest.get(kind, 0.0), elapsed)

    @property
    def failures(self) -> list[str]:
        return [*self.hangs, *self.tracebacks, *self.broken_terminals, *self.wrong_records]


def _records(home: Path) -> list[Any]:
    from turktui.adapters.history import open_history

    path = history_path(home)
    if not path.exists():
        return []
    store = open_history(path)
    try:
        return store.query(limit=1000)
    finally:
        store.close()


def _responder(trickle_op: str, stop: threading.Event, every: float) -> Any:
    def respond(op: str, request: dict[str, Any], handler: Any) -> Any:
        if op == trickle_op:
            body = (
                json_answer({"HIT": hit_json(request.get("HITId", "A"))})[2]
                if op == "GetHIT"
                else b"{}"
            ) + b" " * 50_000
            trickle(handler, body, every, stop)
            return None
        if op == "GetHIT":
            return json_answer({"HIT": hit_json(request.get("HITId", "A"))})
        return json_answer({})

    return respond


# -- trickling servers ---------------------------------------------------------------------
def trickling(
    workdir: Path,
    report: WorldReport,
    cases: int,
    rng: random.Random,
    deadlines: tuple[float, ...] = (1.0, 1.5, 2.0),
    *,
    bounds: bool = True,
) -> None:
    """`turktui extend` while GetHIT or the extension trickles in byte by byte (every third
    case GetHIT, from the first), each with a `request_deadline` drawn from `deadlines`.
    `bounds`: a case past its deadline + SLACK is a hang (the campaign); without, only a
    command that never exits is (pytest's parallel run: a loaded machine starts slowly)."""
    for i in range(cases):
        home = workdir / f"trickle{i}"
        op = "GetHIT" if i % 3 == 0 else CREATE
        deadline = rng.choice(deadlines)
        write_config(home, f"request_deadline = {deadline}\n")
        stop = threading.Event()
        with HostileServer(_responder(op, stop, rng.choice([0.1, 0.4, 1.0]))) as server:
            t0 = time.monotonic()
            try:
                # A child process: a hang shows as no exit (the campaign has no pytest-timeout).
                result = run_process(
                    cli_environment(home, **FAKE_KEYS),
                    "extend",
                    f"TRICKLE{i}",
                    "1",
                    "--json",
                    "--endpoint-url",
                    server.url,
                    timeout=deadline * 3 + SLACK + 30,
                )
            except subprocess.TimeoutExpired:
                report.hangs.append(f"trickle {i} ({op}): no exit")
                continue
            finally:
                stop.set()
            elapsed = time.monotonic() - t0
        report.count("trickling server (CLI extend)", elapsed)
        # GetHIT may be retried by botocore within the one deadline; the CLI adds startup.
        if bounds and elapsed > deadline + SLACK:
            report.hangs.append(f"trickle {i} ({op}): {elapsed:.1f} s for a {deadline} s bound")
        if "Traceback" in result.stderr:
            report.tracebacks.append(f"trickle {i}: {result.stderr[-300:]}")
        states = [r.state.value for r in _records(home)]
        want = ([], 4) if op == "GetHIT" else (["unknown"], 5)
        if (states, result.returncode) != want:
            report.wrong_records.append(
                f"trickle {i} ({op}): {states} exit {result.returncode}, expected {want}"
            )


# -- endless pagination --------------------------------------------------------------------
def pagination(report: WorldReport, cases: int, rng: random.Random) -> None:
    from turktui.adapters.mturk import MTurkService
    from turktui.domain.environment import Environment, EnvKind
    from turktui.domain.errors import UnexpectedResponse

    for i in range(cases):
        cycle = rng.randint(1, 6)
        same_hits = i % 4 == 3
        counter = iter(range(10**9))

        def respond(
            op: str,
            request: dict[str, Any],
            handler: Any,
            cycle: int = cycle,
            same: bool = same_hits,
            counter: Any = counter,
        ) -> Any:
            n = next(counter)
            token = f"T{n}" if same else f"T{n % cycle}"
            hits = [hit_json("SAME")] if same else [hit_json(f"H{n:06d}")]
            return json_answer({"HITs": hits, "NextToken": token})

        with HostileServer(respond) as server:
            service = MTurkService(
                Environment(EnvKind.CUSTOM, server.url, None, False),
                credentials=("AKIDHOSTILE000000000", "s"),
                max_attempts=1,
                request_deadline=5,
            )
            t0 = time.monotonic()
            outcome = "ended"
            try:
                for _ in service.iter_hit_pages():
                    if time.monotonic() - t0 > 30:
                        outcome = "endless"
                        break
            except UnexpectedResponse as exc:
                outcome = "stopped" if "repeat" in exc.message else f"other: {exc.message}"
            except Exception as exc:
                report.tracebacks.append(f"pagination {i}: {type(exc).__name__}: {exc}")
                continue
            elapsed = time.monotonic() - t0
        report.count("endless pagination", elapsed)
        if outcome != "stopped":
            report.hangs.append(f"pagination {i} (cycle {cycle}, same HITs {same_hits}): {outcome}")


# -- signals -------------------------------------------------------------------------------
def signals_cli(workdir: Path, report: WorldReport, cases: int) -> None:
    sigs = [signal.SIGTERM, signal.SIGINT, signal.SIGHUP]
    for i in range(cases):
        sig = sigs[i % 3]
        home = workdir / f"signal{i}"
        stop = threading.Event()
        with HostileServer(_responder(CREATE, stop, 0.5)) as server:
            proc = start_process(
                cli_environment(home, **FAKE_KEYS),
                "extend",
                f"SIG{i}",
                "1",
                "--endpoint-url",
                server.url,
            )
            try:
                t_end = time.monotonic() + 30
                while CREATE not in server.ops() and time.monotonic() < t_end:
                    time.sleep(0.02)
                t0 = time.monotonic()
                proc.send_signal(sig)
                try:
                    _, err = proc.communicate(timeout=SLACK)
                except subprocess.TimeoutExpired:
                    proc.kill()
                    report.hangs.append(f"signal {i} ({sig.name}): no exit")
                    continue
                elapsed = time.monotonic() - t0
            finally:
                stop.set()
                if proc.poll() is None:
                    proc.kill()
        report.count("signals to a CLI extend", elapsed)
        if "Traceback" in err:
            report.tracebacks.append(f"signal {i}: {err[-300:]}")
        states = [r.state.value for r in _records(home)]
        if proc.returncode != 128 + sig or states != ["unknown"]:
            report.wrong_records.append(
                f"signal {i} ({sig.name}): exit {proc.returncode}, records {states}"
            )


def signals_app(workdir: Path, report: WorldReport, cases: int) -> None:
    from tests.terminal.driver import terminal_env

    sigs = [signal.SIGTERM, signal.SIGINT, signal.SIGHUP]
    for i in range(cases):
        sig = sigs[i % 3]
        home = workdir / f"app{i}"
        session = Session(["--demo", "--demo-hits", "20"], terminal_env(home))
        try:
            session.wait(lambda s=session: "Quit" in s.text(), 60, "the app")
            t0 = time.monotonic()
            session.kill(sig)
            try:
                status, _ = session.exit_status(SLACK)
            except AssertionError:
                report.hangs.append(f"app signal {i} ({sig.name}): no exit")
                continue
            elapsed = time.monotonic() - t0
        finally:
            session.close()
        report.count("signals to the app (pty)", elapsed)
        if status != 128 + sig:
            report.wrong_records.append(f"app signal {i}: exit {status}")
        if b"Traceback" in bytes(session.raw):
            report.tracebacks.append(f"app signal {i}")
        problems = session.terminal_problems() if sig != signal.SIGHUP else []
        if problems:  # (a hung-up terminal is gone: nothing to restore)
            report.broken_terminals.append(f"app signal {i} ({sig.name}): {problems}")
    # TERM=dumb: one line and a non-zero exit, never a spin.
    session = Session(["--demo", "--demo-hits", "5"], terminal_env(workdir / "dumb", TERM="dumb"))
    try:
        try:
            status, elapsed = session.exit_status(20)
        except AssertionError:
            report.hangs.append("TERM=dumb: no exit")
            return
    finally:
        session.close()
    report.count("TERM=dumb", elapsed)
    if status != 2 or b"cannot run the app" not in bytes(session.raw):
        report.broken_terminals.append(f"TERM=dumb: exit {status}")


# -- hostile answers -----------------------------------------------------------------------
HOSTILE_CREATE = {
    "200 ServiceFault body": json_answer({"__type": "ServiceFault", "Message": "x"}),
    "200 HTML": json_answer(b"<html>proxy</html>"),
    "200 truncated JSON": json_answer(b'{"HIT'),
    "200 JSON array": json_answer([]),
    "HTML 429": html_answer(429),
    "HTML 503": html_answer(503),
    "HTML 400": html_answer(400),
}
HOSTILE_GETHIT = {
    "GetHIT for another HIT": lambda hid: {"HIT": hit_json("SOMEONEELSE")},
    "MaxAssignments null": lambda hid: {"HIT": hit_json(hid, MaxAssignments=None)},
    "MaxAssignments 'nan'": lambda hid: {"HIT": hit_json(hid, MaxAssignments="nan")},
    "MaxAssignments 1e308": lambda hid: {"HIT": hit_json(hid, MaxAssignments=1e308)},
    "Reward 1e26": lambda hid: {"HIT": hit_json(hid, Reward="1e26")},
    "CreationTime 1e300": lambda hid: {"HIT": hit_json(hid, CreationTime=1e300)},
    "no HIT": lambda hid: {"NotAHIT": 1},
}


def hostile_answers(workdir: Path, report: WorldReport, rounds: int) -> None:
    """The engine (as the app and CLI use it) against each answer: a bogus extension answer
    is never recorded as success; a bogus GetHIT is never extended."""
    from turktui.adapters.history import HistoryStore
    from turktui.adapters.mturk import MTurkService
    from turktui.domain.environment import Environment, EnvKind
    from turktui.domain.errors import TurkError
    from turktui.pipeline.engine import Backoff, Engine, PlanRefused

    store = HistoryStore(workdir / "answers.sqlite3")
    try:
        for r in range(rounds):
            for name, answer in HOSTILE_CREATE.items():

                def respond(op: str, req: dict[str, Any], h: Any, answer: Any = answer) -> Any:
                    if op == "GetHIT":
                        return json_answer({"HIT": hit_json(req["HITId"])})
                    return answer

                with HostileServer(respond) as server:
                    env = Environment(EnvKind.CUSTOM, server.url, None, False)
                    service = MTurkService(
                        env,
                        credentials=("AKIDHOSTILE000000000", "s"),
                        max_attempts=1,
                        request_deadline=5,
                    )
                    engine = Engine(
                        service, store, env, sleep=lambda s: None, backoff=Backoff(attempts=2)
                    )
                    t0 = time.monotonic()
                    try:
                        hit = service.get_hit(f"ANS{r}")
                        outcome = engine.execute(engine.plan(hit, 1))
                    except Exception as exc:
                        report.tracebacks.append(f"{name}: {type(exc).__name__}: {exc}")
                        continue
                report.count("hostile extension answers", time.monotonic() - t0)
                if outcome.record.state.value in ("succeeded", "sending", "planned"):
                    report.wrong_records.append(f"{name}: recorded {outcome.record.state.value}")
            for name, make in HOSTILE_GETHIT.items():

                def respond2(op: str, req: dict[str, Any], h: Any, make: Any = make) -> Any:
                    if op == "GetHIT":
                        return json_answer(make(req["HITId"]))
                    return json_answer({})

                with HostileServer(respond2) as server:
                    env = Environment(EnvKind.CUSTOM, server.url, None, False)
                    service = MTurkService(
                        env,
                        credentials=("AKIDHOSTILE000000000", "s"),
                        max_attempts=1,
                        request_deadline=5,
                    )
                    engine = Engine(service, store, env)
                    t0 = time.monotonic()
                    try:
                        hit = service.get_hit(f"GET{r}")
                        engine.execute(engine.plan(hit, 1))
                    except (TurkError, PlanRefused):
                        pass
                    except Exception as exc:
                        report.tracebacks.append(f"{name}: {type(exc).__name__}: {exc}")
                    if CREATE in server.ops():
                        report.wrong_records.append(f"{name}: the HIT was extended")
                report.count("hostile GetHIT answers", time.monotonic() - t0)
    finally:
        store.close()


# -- damaged records -----------------------------------------------------------------------
GARBAGE: list[Any] = [
    "many",
    b"\x00\xff",
    1e300,
    -1e308,
    float("nan"),
    None,
    -1,
    2**62,
    "1970-01-01",
    "",
    "\x1b[31m",
    12345,
]
COLUMNS = [
    "created",
    "updated",
    "n",
    "max_before",
    "expected_after",
    "expire_at",
    "state",
    "attempt_count",
    "first_sent",
    "duration",
    "hit_title",
    "error_code",
    "note",
    "token",
    "hit_id",
    "endpoint",
    "env_kind",
    "batch_id",
    "expiry_state",
]


def damaged_records(workdir: Path, report: WorldReport, cases: int, rng: random.Random) -> None:
    from turktui.adapters.history import open_history

    home = workdir / "damaged"
    path = history_path(home)
    path.parent.mkdir(parents=True, exist_ok=True)
    store = open_history(path)
    for i in range(cases):
        store.create(
            env_kind="demo",
            endpoint="http://127.0.0.1:9",
            profile=None,
            hit_id=f"DMG{i}",
            hit_title="t",
            n=1,
            token=f"dmg{i}",
            max_before=1,
            expected_after=2,
        )
    store.close()
    db = sqlite3.connect(path)
    for i in range(cases):
        for column in rng.sample(COLUMNS, rng.randint(1, 4)):
            value = rng.choice(GARBAGE)
            try:
                db.execute(f"UPDATE requests SET {column} = ? WHERE hit_id = ?", (value, f"DMG{i}"))
            except sqlite3.IntegrityError:  # NOT NULL: try a text value instead
                db.execute(
                    f"UPDATE requests SET {column} = 'garbage' WHERE hit_id = ?", (f"DMG{i}",)
                )
    db.commit()
    db.close()
    t0 = time.monotonic()
    try:
        store = open_history(path)
        try:
            rows = store.query(limit=cases + 10)
            for record in rows:
                store.get(record.id)
            store.unsettled()
        finally:
            store.close()
    except Exception as exc:
        report.tracebacks.append(f"damaged records (store): {type(exc).__name__}: {exc}")
        rows = []
    for _ in rows:  # one case per damaged record: listed, opened, offered to resolve
        report.count("damaged records read by the store", (time.monotonic() - t0) / cases)
    if len(rows) != cases:
        report.wrong_records.append(f"damaged records: {len(rows)} of {cases} listed")
    for args in (
        ["history", "--limit", "1000"],
        ["history", "--json", "--limit", "1000"],
        ["resolve", "--json", "--endpoint-url", "http://127.0.0.1:9"],
    ):
        t0 = time.monotonic()
        result = run_cli(cli_environment(home, **FAKE_KEYS), *args)
        report.count("damaged records: history/resolve commands", time.monotonic() - t0)
        if "Traceback" in result.stderr or result.returncode == 70:
            report.tracebacks.append(f"{args[0]}: exit {result.returncode} {result.stderr[-200:]}")


def run(workdir: Path, *, scale: int = 1, seed: int = 1) -> WorldReport:
    """Every kind of case; `scale` multiplies the base counts (the campaign's size; pytest
    runs each kind on its own, smaller: tests/reliability/test_hostile_world.py)."""
    rng = random.Random(seed)
    workdir.mkdir(parents=True, exist_ok=True)
    report = WorldReport()
    trickling(workdir, report, 3 * scale, rng)
    pagination(report, 8 * scale, rng)
    signals_cli(workdir, report, 3 * scale)
    signals_app(workdir, report, 3 * scale)
    hostile_answers(workdir, report, scale)
    damaged_records(workdir, report, 30 * scale, rng)
    return report
