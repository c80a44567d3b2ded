"""Team-mode budgets (issue 23): the shared PostgreSQL history against the SQLite file, in
the same run, on this machine (the throw-away server of tests/pg.py on a Unix socket).

    python -m tests.bench.bench_history_pg [--records N] [--rounds N]

* open: the history screen's open at N records (100,000), as the screen does it: the store's
  kept reader (connected as the app starts) lists the first page (newest
  first), then counts for the line under it — median over rounds to the first page listed;
  budget ≤ 1.5× SQLite (the first open and the count are reported beside it).
* submit: extension submit → outcome recorded (Engine.extend against a local emulator:
  record, send, confirm, record the outcome) — median over rounds; budget ≤ SQLite + 10 ms.

Caveat, said with the figures: the test server runs with fsync off, the file with
synchronous=FULL; a production server's commit costs its own fsync (or a replica's).
"""

from __future__ import annotations

import argparse
import statistics
import tempfile
import time
from pathlib import Path
from typing import Any

from tests.pg import PgServer, driver, remove_template
from turktui.adapters.history_reader import HistoryQuery
from turktui.adapters.stores import open_store


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


def _open_ms(where: Any, rounds: int) -> dict[str, float]:
    """What the history screen does when it opens (turktui/ui/screens/history.py): the
    store's kept reader (connected when the app starts), the first page listed, then the
    count shown under it. Medians over `rounds` opens; `first`: the session's first open."""
    from turktui.ui.screens.history import PAGE

    store = open_store(where)
    store.reader()  # as the app does at start in team mode (ui/shared_history.py)
    listed, counted = [], []
    try:
        for _ in range(rounds):
            t0 = time.perf_counter()
            reader = store.reader()
            page = reader.page(HistoryQuery(), 0, PAGE)
            t1 = time.perf_counter()
            total = reader.count(HistoryQuery())
            listed.append((t1 - t0) * 1000)
            counted.append((time.perf_counter() - t0) * 1000)
            assert total > 0 and len(page) == PAGE
    finally:
        store.close()
    return {
        "first": listed[0],
        "listed": statistics.median(listed),
        "counted": statistics.median(counted),
    }


def _submit_ms(where: Any, rounds: int) -> float:
    from turktui.adapters.mturk import MTurkService
    from turktui.domain.environment import Environment, EnvKind
    from turktui.emulator import EmulatorServer
    from turktui.pipeline.engine import Engine

    server = EmulatorServer(host="127.0.0.1", port=0, hits=0, seed=1).start()
    store = open_store(where)
    try:
        env = Environment(EnvKind.DEMO, server.url)
        service = MTurkService(env)
        engine = Engine(service, store, env)
        times = []
        for _ in range(rounds):
            hit = service.get_hit(server.state.add_hit(MaxAssignments=2, Reward="0.10"))
            t0 = time.perf_counter()
            outcome = engine.extend(hit, 1)
            times.append((time.perf_counter() - t0) * 1000)
            assert outcome.succeeded
    finally:
        store.close()
        server.stop()
    return statistics.median(times)


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--records", type=int, default=100_000)
    parser.add_argument("--rounds", type=int, default=20)
    args = parser.parse_args()
    server = PgServer().start()
    try:
        with tempfile.TemporaryDirectory() as tmp:
            lite = Path(tmp) / "h.sqlite3"
            _fill_sqlite(lite, args.records)
            big = server.url_for(server.create_database())
            _fill_pg(big, args.records)
            open_lite, open_pg = _open_ms(lite, args.rounds), _open_ms(big, args.rounds)
            sub_lite = _submit_ms(Path(tmp) / "s.sqlite3", args.rounds)
            sub_pg = _submit_ms(server.url_for(server.create_database()), args.rounds)
    finally:
        server.stop()
        remove_template()
    ratio = open_pg["listed"] / open_lite["listed"]
    print(
        f"history open at {args.records:,} records, first page listed: SQLite "
        f"{open_lite['listed']:.1f} ms, PostgreSQL {open_pg['listed']:.1f} ms ({ratio:.2f}x; "
        f"budget 1.5x) {'PASS' if ratio <= 1.5 else 'FAIL'}"
    )
    print(
        f"  the session's first open: SQLite {open_lite['first']:.1f} ms, "
        f"PostgreSQL {open_pg['first']:.1f} ms; counted (the line under the list): SQLite "
        f"{open_lite['counted']:.1f} ms, PostgreSQL {open_pg['counted']:.1f} ms"
    )
    extra = sub_pg - sub_lite
    print(
        f"extension submit -> outcome recorded: SQLite {sub_lite:.1f} ms, PostgreSQL "
        f"{sub_pg:.1f} ms ({extra:+.1f} ms; budget +10 ms) {'PASS' if extra <= 10 else 'FAIL'}"
    )


if __name__ == "__main__":
    main()
