"""Team-mode budgets (issue 23): the shared PostgreSQL history against the SQLite file, in
the same run, on this machine (the throw-away server of tests/pg.py on a Unix socket).

    python -m tests.bench.bench_history_pg [--records N] [--rounds N]

* open: the history screen's open at N records (100,000), as the screen does it: the store's
  kept reader (made as the app starts) lists the first page (newest first), then counts
  for the line under it — median over 2×rounds to the first page listed; budget ≤ 1.5×
  SQLite (the session's first open and the count are reported beside it).
* submit: extension submit → outcome recorded (Engine.extend against a local emulator:
  record, send, confirm, record the outcome) — median over rounds; budget ≤ SQLite + 10 ms.
  In both, the two histories take turns round by round: the same machine load for each.
* operators: 10 operators' processes (each its own emulator and store) extend different
  HITs at once on one shared history; every lock wait over 1 ms is logged by the server
  (log_lock_waits with deadlock_timeout at its finest, 1 ms) and pg_locks is sampled for
  ungranted locks throughout. Budget: no request waits on another's lock longer than one
  round trip (SELECT 1, median) — nothing logged, nothing sampled longer.
  `--only open,submit,operators` picks parts.

Caveat, said with the figures: the test server runs with fsync off, the file with
synchronous=FULL; a production server's commit costs its own fsync (or a replica's).
"""

from __future__ import annotations

import argparse
import re
import statistics
import tempfile
import time
from pathlib import Path
from typing import Any

from tests.pg import PgServer, driver, remove_template
from turktui.adapters.history_reader import HistoryQuery
from turktui.adapters.stores import open_store, reader_of


def _fill_sqlite(path: Path, n: int) -> None:
    store = open_store(path)
    store.import_many(
        {"hit_id": f"HIT{i:06d}", "n": 1, "token": f"t{i}", "hit_title": f"Survey {i}"}
        for i in range(n)
    )
    store.close()


def _fill_pg(url: str, n: int) -> None:
    open_store(url).close()  # the schema
    with driver().connect(url, autocommit=True) as conn:
        conn.execute(
            "INSERT INTO turktui.requests (created, updated, env_kind, endpoint, hit_id, "
            "hit_title, n, token, max_before, expected_after, state, attempt_count, subject, "
            "operation) SELECT 1.7e9 + i, 1.7e9 + i, 'demo', '', 'HIT' || lpad(i::text, 6, "
            "'0'), 'Survey ' || i, 1, 't' || i, 0, 0, 'succeeded', 1, 'HIT' || lpad(i::text, "
            "6, '0'), 'add_assignments' FROM generate_series(0, %s - 1) AS i",
            (n,),
        )
        conn.execute("ANALYZE turktui.requests")


def _open_ms(places: dict[str, Any], rounds: int) -> dict[str, dict[str, float]]:
    """What the history screen does when it opens (turktui/ui/screens/history.py): the
    store's kept reader (made when the app starts), the first page listed, then the count
    shown under it. The histories take turns, round by round (the same machine load for
    both). Medians over `rounds` opens; `first`: the session's first open."""
    from turktui.ui.screens.history import PAGE

    stores = {name: open_store(where) for name, where in places.items()}
    times: dict[str, dict[str, list[float]]] = {n: {"listed": [], "counted": []} for n in places}
    try:
        for store in stores.values():
            reader_of(store)  # as the app does at start in team mode (ui/shared_history.py)
        for _ in range(rounds):
            for name, store in stores.items():
                t0 = time.perf_counter()
                reader = reader_of(store)
                page = reader.page(HistoryQuery(), 0, PAGE)
                t1 = time.perf_counter()
                total = reader.count(HistoryQuery())
                times[name]["listed"].append((t1 - t0) * 1000)
                times[name]["counted"].append((time.perf_counter() - t0) * 1000)
                assert total > 0 and len(page) == PAGE
    finally:
        for store in stores.values():
            store.close()
    return {
        name: {
            "first": got["listed"][0],
            "listed": statistics.median(got["listed"]),
            "counted": statistics.median(got["counted"]),
        }
        for name, got in times.items()
    }


def _submit_ms(places: dict[str, Any], rounds: int) -> dict[str, float]:
    """Extension submit -> outcome recorded (Engine.extend against one local emulator),
    the histories taking turns round by round; medians."""
    from turktui.adapters.mturk import MTurkService
    from turktui.domain.environment import Environment, EnvKind
    from turktui.emulator import EmulatorServer
    from turktui.pipeline.engine import Engine

    server = EmulatorServer(host="127.0.0.1", port=0, hits=0, seed=1).start()
    stores = {name: open_store(where) for name, where in places.items()}
    try:
        env = Environment(EnvKind.DEMO, server.url)
        service = MTurkService(env)
        engines = {name: Engine(service, store, env) for name, store in stores.items()}
        times: dict[str, list[float]] = {name: [] for name in places}
        for turn in range(rounds + 1):
            for name, engine in engines.items():
                hit = service.get_hit(server.state.add_hit(MaxAssignments=2, Reward="0.10"))
                t0 = time.perf_counter()
                outcome = engine.extend(hit, 1)
                if turn:  # the first: connections and caches warm
                    times[name].append((time.perf_counter() - t0) * 1000)
                assert outcome.succeeded
    finally:
        for store in stores.values():
            store.close()
        server.stop()
    return {name: statistics.median(got) for name, got in times.items()}


def _operator(
    number: int, url: str, extensions: int, start: Any, answers: Any
) -> None:  # pragma: no cover - a process of its own
    """One operator's process: its own MTurk (an emulator), its own store on the shared
    history, `extensions` extensions of HITs no one else touches, timed once all start."""
    from turktui.adapters.mturk import MTurkService
    from turktui.domain.environment import Environment, EnvKind
    from turktui.emulator import EmulatorServer
    from turktui.pipeline.engine import Engine

    server = EmulatorServer(host="127.0.0.1", port=0, hits=0, seed=number).start()
    store = open_store(url, operator=f"op{number}@bench")
    try:
        env = Environment(EnvKind.DEMO, server.url)
        service = MTurkService(env)
        engine = Engine(service, store, env)
        hits = [
            service.get_hit(server.state.add_hit(MaxAssignments=2, Reward="0.10"))
            for _ in range(extensions + 1)
        ]
        assert engine.extend(hits.pop(), 1).succeeded  # connections and caches warm
        start.wait()
        times = []
        for hit in hits:
            t0 = time.perf_counter()
            assert engine.extend(hit, 1).succeeded
            times.append(time.perf_counter() - t0)
        answers.put(times)
    finally:
        store.close()
        server.stop()


def _server_log(server: PgServer) -> str:
    return (server.base / "server.log").read_text(errors="replace")


def _operators(server: PgServer, operators: int, extensions: int) -> dict[str, Any]:
    """`operators` processes extend different HITs at once on one shared history, while the
    server logs every lock wait over 1 ms (log_lock_waits, deadlock_timeout = 1 ms: its
    finest) and a watcher samples pg_locks for ungranted locks (with their wait start)."""
    import multiprocessing
    import threading

    database = server.create_database()
    url = server.url_for(database)
    open_store(url).close()  # the schema, as an owner would have made it
    psycopg = driver()
    with psycopg.connect(url, autocommit=True) as conn:
        conn.execute(f'ALTER DATABASE "{database}" SET log_lock_waits = on')
        conn.execute(f"ALTER DATABASE \"{database}\" SET deadlock_timeout = '1ms'")
        trips = []
        for _ in range(50):
            t0 = time.perf_counter()
            conn.execute("SELECT 1").fetchone()
            trips.append((time.perf_counter() - t0) * 1000)
    log_start = len(_server_log(server))
    waits: dict[str, float] = {}
    sessions: dict[int, str] = {}  # backend pid -> application_name
    samples = 0
    stop = threading.Event()

    def watch() -> None:
        nonlocal samples
        with psycopg.connect(url, autocommit=True) as conn:
            while not stop.is_set():
                for pid, name, kind, mode, objid, waited in conn.execute(
                    "SELECT l.pid, a.application_name, locktype, mode, objid, "
                    "extract(epoch FROM clock_timestamp() - waitstart) FROM pg_locks l "
                    "JOIN pg_stat_activity a USING (pid) WHERE NOT granted"
                ):
                    key = f"{name}: {kind} {mode} {objid}"
                    waits[key] = max(waits.get(key, 0.0), float(waited or 0) * 1000)
                    sessions[pid] = name
                if samples % 50 == 0:
                    for pid, name in conn.execute(
                        "SELECT pid, application_name FROM pg_stat_activity"
                    ):
                        sessions[pid] = name
                samples += 1

    spawn = multiprocessing.get_context("spawn")
    start, answers = spawn.Barrier(operators + 1), spawn.Queue()
    procs = [
        spawn.Process(target=_operator, args=(i, url, extensions, start, answers))
        for i in range(operators)
    ]
    for proc in procs:
        proc.start()
    watcher = threading.Thread(target=watch, daemon=True)
    watcher.start()
    start.wait()
    t0 = time.perf_counter()
    times = [t for _ in procs for t in answers.get(timeout=600)]
    wall = time.perf_counter() - t0
    for proc in procs:
        proc.join()
    stop.set()
    watcher.join()
    logged = []
    for line in _server_log(server)[log_start:].splitlines():
        found = re.search(r"process (\d+) (still waiting for|acquired) ", line)
        if found:
            logged.append(f"[{sessions.get(int(found[1]), '?')}] {line}")
    return {
        "requests": len(times),
        "wall": wall,
        "median": statistics.median(times) * 1000,
        "rtt": statistics.median(trips),
        "samples": samples,
        "sampled": waits,
        "logged": logged,
    }


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--records", type=int, default=100_000)
    parser.add_argument("--rounds", type=int, default=20)
    parser.add_argument("--operators", type=int, default=10)
    parser.add_argument("--extensions", type=int, default=20, help="per operator")
    parser.add_argument("--only", default="open,submit,operators")
    args = parser.parse_args()
    parts = set(args.only.split(","))
    server = PgServer().start()
    try:
        with tempfile.TemporaryDirectory() as tmp:
            if "open" in parts:
                lite = Path(tmp) / "h.sqlite3"
                _fill_sqlite(lite, args.records)
                big = server.url_for(server.create_database())
                _fill_pg(big, args.records)
                opened = _open_ms({"lite": lite, "pg": big}, args.rounds * 2)
                _report_open(args.records, opened["lite"], opened["pg"])
            if "submit" in parts:
                pg = server.url_for(server.create_database())
                submitted = _submit_ms({"lite": Path(tmp) / "s.sqlite3", "pg": pg}, args.rounds)
                sub_lite, sub_pg = submitted["lite"], submitted["pg"]
                extra = sub_pg - sub_lite
                print(
                    f"extension submit -> outcome recorded: SQLite {sub_lite:.1f} ms, "
                    f"PostgreSQL {sub_pg:.1f} ms ({extra:+.1f} ms; budget +10 ms) "
                    f"{'PASS' if extra <= 10 else 'FAIL'}"
                )
            if "operators" in parts:
                _report_operators(args, _operators(server, args.operators, args.extensions))
    finally:
        server.stop()
        remove_template()


def _report_open(records: int, lite: dict[str, float], pg: dict[str, float]) -> None:
    ratio = pg["listed"] / lite["listed"]
    print(
        f"history open at {records:,} records, first page listed: SQLite "
        f"{lite['listed']:.1f} ms, PostgreSQL {pg['listed']:.1f} ms ({ratio:.2f}x; "
        f"budget 1.5x) {'PASS' if ratio <= 1.5 else 'FAIL'}"
    )
    print(
        f"  the session's first open: SQLite {lite['first']:.1f} ms, PostgreSQL "
        f"{pg['first']:.1f} ms; counted (the line under the list): SQLite "
        f"{lite['counted']:.1f} ms, PostgreSQL {pg['counted']:.1f} ms"
    )


def _report_operators(args: argparse.Namespace, got: dict[str, Any]) -> None:
    """Waits of the requests' sessions ('turktui') decide; the announcers' (after the
    commit, off every request's path) are shown apart."""
    waited = [line for line in got["logged"] if "still waiting for" in line]
    requests = [line for line in waited if line.startswith("[turktui]")]
    sampled = [w for key, w in got["sampled"].items() if key.startswith("turktui:")]
    worst = max(sampled, default=0.0)
    ok = not requests and worst <= got["rtt"]
    print(
        f"{args.operators} operators x {args.extensions} extensions of different HITs: "
        f"{got['requests']} requests in {got['wall']:.1f} s (median {got['median']:.1f} ms); "
        f"requests' lock waits over 1 ms logged by the server: {len(requests)} (all "
        f"sessions: {len(waited)}); requests' ungranted locks in "
        f"{got['samples']:,} samples of pg_locks: {len(sampled)} (longest {worst:.2f} ms); "
        f"one round trip {got['rtt']:.3f} ms {'PASS' if ok else 'FAIL'}"
    )
    for key, longest in sorted(got["sampled"].items(), key=lambda kv: -kv[1]):
        print(f"  waited on {key}: {longest:.2f} ms")
    for line in got["logged"][:10]:
        print(f"  {line}")


if __name__ == "__main__":
    main()
