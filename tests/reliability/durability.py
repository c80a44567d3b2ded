"""History durability: SIGKILLed writers, concurrent writers, and hostile history files.

Writers are subprocesses (`python -m tests.reliability.durability DB TAG [LIMIT]`) that
write records in a loop through `HistoryStore` and print each acknowledged id *after* the
commit returned (flushed), so the parent knows exactly which writes were promised.
"""

from __future__ import annotations

import hashlib
import os
import random
import signal
import sqlite3
import subprocess
import sys
import threading
import time
from dataclasses import dataclass, field
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

from tests.reliability.common import REPO_ROOT
from turktui.adapters.history import (
    SCHEMA_VERSION,
    HistoryCorrupt,
    HistoryError,
    HistoryStore,
    HistoryTooNew,
    open_history,
)
from turktui.domain.records import State

UTC = timezone.utc


# -- the writer (child side) ---------------------------------------------------------------
def writer_main(db: str, tag: str, limit: int) -> None:
    """Insert records (each with an attempt and an update, as the engine does) forever or
    `limit` times; print "c ID" after the create commit and "u ID" after the update."""
    store = HistoryStore(db)
    out = sys.stdout
    i = 0
    while limit <= 0 or i < limit:
        i += 1
        rid = store.create(
            env_kind="demo",
            endpoint="http://x",
            profile=None,
            hit_id=f"{tag}-{i}",
            hit_title="durability " * (i % 7),
            n=1,
            token=f"{tag}-{i}",
            max_before=10,
            expected_after=11,
        )
        out.write(f"c {rid}\n")
        out.flush()
        num = store.add_attempt(
            rid,
            operation="CreateAdditionalAssignmentsForHIT",
            outcome="started",
            at=datetime.now(UTC),
            state=State.SENDING,
        )
        store.finish_attempt(rid, num, outcome="ok", duration=0.01, state=State.SUCCEEDED)
        out.write(f"u {rid}\n")
        out.flush()
    store.close()


def _spawn(db: Path, tag: str, limit: int) -> subprocess.Popen[str]:
    return subprocess.Popen(
        [sys.executable, "-m", "tests.reliability.durability", str(db), tag, str(limit)],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        cwd=REPO_ROOT,
        env={**os.environ, "PYTHONPATH": REPO_ROOT},
    )


class _Reader(threading.Thread):
    """Collects the acknowledged ids a writer prints, as they come."""

    def __init__(self, proc: subprocess.Popen[str]) -> None:
        super().__init__(daemon=True)
        self.proc = proc
        self.created: set[int] = set()
        self.updated: set[int] = set()
        self.first = threading.Event()  # set at the first acknowledgement

    def run(self) -> None:
        assert self.proc.stdout is not None
        for line in self.proc.stdout:
            self.first.set()
            kind, _, value = line.strip().partition(" ")
            if kind == "c":
                self.created.add(int(value))
            elif kind == "u":
                self.updated.add(int(value))


@dataclass
class Durability:
    kills: int = 0
    acknowledged: int = 0
    records_found: int = 0
    lost: int = 0
    lost_updates: int = 0
    integrity_failures: int = 0
    concurrent: dict[int, tuple[int, int]] = field(default_factory=dict)  # writers → (want, got)
    files: list[tuple[str, str, bool, bool]] = field(default_factory=list)  # case, msg, ok, same
    failures: list[str] = field(default_factory=list)


def integrity(db: Path) -> str:
    con = sqlite3.connect(str(db))
    try:
        return str(con.execute("PRAGMA integrity_check").fetchone()[0])
    finally:
        con.close()


def kill_trials(kills: int, seed: int, workdir: Path, result: Durability) -> None:
    """Start a writer, SIGKILL it at a random moment, check the file; `kills` times on one
    growing file (every earlier kill's leftovers must survive the next writer too)."""
    rng = random.Random(seed)
    workdir.mkdir(parents=True, exist_ok=True)
    db = workdir / "kill.sqlite3"
    created: set[int] = set()
    updated: set[int] = set()
    for k in range(kills):
        proc = _spawn(db, f"k{k}", 0)
        reader = _Reader(proc)
        reader.start()
        if k % 2:
            # From its first acknowledgement: some records are in, however slowly a loaded
            # machine started it (counted from the start, every kill could come before).
            if not reader.first.wait(30):
                result.failures.append(f"kill {k}: the writer acknowledged nothing in 30 s")
            time.sleep(rng.uniform(0.0, 0.45))
        else:
            # From its start (~0.15 s): before the first write, or some way in.
            time.sleep(rng.uniform(0.05, 0.6))
        proc.send_signal(signal.SIGKILL)
        proc.wait(timeout=30)
        reader.join(5)
        result.kills += 1
        created |= reader.created
        updated |= reader.updated
        check = integrity(db)
        if check != "ok":
            result.integrity_failures += 1
            result.failures.append(f"kill {k}: integrity_check = {check}")
    result.acknowledged += len(created)
    try:
        with HistoryStore(db) as store:
            present = {r.id: r for r in store.query(limit=10**7)}
    except HistoryError as exc:
        result.failures.append(f"history does not open after kills: {exc}")
        result.lost += len(created)
        return
    result.records_found += len(present)
    missing = created - set(present)
    result.lost += len(missing)
    if missing:
        result.failures.append(f"{len(missing)} acknowledged records lost: {sorted(missing)[:5]}")
    stale = [i for i in updated if i in present and present[i].state is not State.SUCCEEDED]
    result.lost_updates += len(stale)
    if stale:
        result.failures.append(f"{len(stale)} acknowledged updates lost: {stale[:5]}")


def concurrent_writers(writers: int, per: int, workdir: Path, result: Durability) -> None:
    """`writers` processes × `per` records on one new file: every one of them is there."""
    workdir.mkdir(parents=True, exist_ok=True)
    db = workdir / f"concurrent-{writers}.sqlite3"
    procs = [_spawn(db, f"w{w}", per) for w in range(writers)]
    readers = [_Reader(p) for p in procs]
    for r in readers:
        r.start()
    for p in procs:
        p.wait(timeout=300)
    for r in readers:
        r.join(5)
    errors = [p.stderr.read() if p.stderr else "" for p in procs if p.returncode]
    acked = set().union(*(r.created for r in readers))
    with HistoryStore(db) as store:
        total = store.count()
        ids = {r.id for r in store.query(limit=10**7)}
    want = writers * per
    result.concurrent[writers] = (want, total)
    if errors:
        result.failures.append(f"{writers} writers: a writer failed: {errors[0][-300:]}")
    if total != want or not acked <= ids:
        result.failures.append(f"{writers} writers: {total} records, expected {want}")
    if integrity(db) != "ok":
        result.failures.append(f"{writers} writers: integrity_check failed")


# -- hostile history files -----------------------------------------------------------------
def _digest(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def _good_file(path: Path, records: int = 200) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    with HistoryStore(path) as store:
        store.import_many({"hit_id": f"H{i}", "n": 1, "token": f"t{i}"} for i in range(records))
    # Fold the WAL into the file (as a clean close does), so the file stands alone.
    con = sqlite3.connect(str(path))
    con.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    con.close()
    for suffix in ("-wal", "-shm"):
        Path(str(path) + suffix).unlink(missing_ok=True)


def make_hostile_file(case: str, directory: Path, rng: random.Random) -> Path:
    """A history file for `case`: corrupt, truncated or newer (for app tests too)."""
    path = directory / case / "history.sqlite3"
    path.parent.mkdir(parents=True, exist_ok=True)
    if case == "corrupt":
        path.write_bytes(rng.randbytes(64 * 1024))
    elif case == "truncated":
        _good_file(path)
        data = path.read_bytes()
        path.write_bytes(data[: len(data) // 2])
    elif case == "newer":
        _good_file(path, 5)
        con = sqlite3.connect(str(path))
        con.execute(f"PRAGMA user_version = {SCHEMA_VERSION + 3}")
        con.close()
    elif case == "corrupt_header":
        _good_file(path)
        data = bytearray(path.read_bytes())
        data[0:16] = b"NOT SQLITE AT ALL"[:16]
        path.write_bytes(bytes(data))
    else:
        raise ValueError(case)
    return path


def unwritable_history_path(directory: Path) -> tuple[Path, str]:
    """A history path whose data directory cannot be created or written, and how.

    Tests run as root, where chmod 0500 does not stop writes: then the data directory's
    parent is made a regular file instead (mkdir fails whoever you are)."""
    base = directory / "unwritable"
    base.mkdir(parents=True, exist_ok=True)
    if os.geteuid() != 0:
        data = base / "data"
        data.mkdir(exist_ok=True)
        os.chmod(data, 0o500)
        return data / "turktui" / "history.sqlite3", "chmod 0500 data directory"
    blocker = base / "data"
    blocker.write_text("a regular file where the data directory should be\n")
    return blocker / "turktui" / "history.sqlite3", "parent is a regular file (running as root)"


def hostile_files(workdir: Path, seed: int, result: Durability) -> None:
    """Each case: open_history gives a clear HistoryError and leaves the bytes alone."""
    rng = random.Random(seed)
    expect: dict[str, type[HistoryError]] = {
        "corrupt": HistoryCorrupt,
        "truncated": HistoryCorrupt,
        "newer": HistoryTooNew,
        "corrupt_header": HistoryCorrupt,
    }
    for case, kind in expect.items():
        path = make_hostile_file(case, workdir, rng)
        before = _digest(path)
        message = ""
        try:
            open_history(path).close()
        except kind as exc:
            message = str(exc)
        except Exception as exc:  # the wrong kind of error is a finding
            message = f"{type(exc).__name__}: {exc}"
            result.failures.append(f"{case}: unexpected {message}")
        else:
            result.failures.append(f"{case}: opened without complaint")
        same = _digest(path) == before
        ok = bool(message) and "\n" not in message and str(path) in message
        result.files.append((case, message, ok, same))
        if not same:
            result.failures.append(f"{case}: the file was modified")
        if not ok:
            result.failures.append(f"{case}: unclear message {message!r}")
    # Unwritable data directory.
    path, how = unwritable_history_path(workdir)
    try:
        open_history(path).close()
        result.failures.append(f"unwritable ({how}): opened")
        message = ""
    except HistoryError as exc:
        message = str(exc)
    result.files.append((f"unwritable dir ({how})", message, bool(message), True))
    # Full disk: SQLite's page limit makes the next write fail with SQLITE_FULL.
    result.files.append(full_disk_case(workdir / "full"))
    if not result.files[-1][2]:
        result.failures.append(f"full disk: {result.files[-1][1]}")


def fill_history(store: HistoryStore) -> str:
    """Simulate a full disk: cap the file at its current pages (PRAGMA max_page_count) and
    write until SQLite answers SQLITE_FULL. Returns the HistoryError's message."""
    pages = store._db.execute("PRAGMA page_count").fetchone()[0]
    store._db.execute(f"PRAGMA max_page_count = {pages}")
    message = ""
    for size in (2000, 200, 0):  # big records first, then fill the last gaps
        for i in range(10_000):
            try:
                store.create(
                    env_kind="demo",
                    endpoint="e",
                    profile=None,
                    hit_id="FILLER",
                    hit_title="x" * size,
                    n=1,
                    token=f"fill{size}-{i}",
                    max_before=1,
                    expected_after=2,
                )
            except HistoryError as exc:
                message = str(exc)
                break
    return message


def full_disk_case(directory: Path) -> tuple[str, str, bool, bool]:
    """Fill the history (PRAGMA max_page_count): a HistoryError, earlier records intact."""
    directory.mkdir(parents=True, exist_ok=True)
    path = directory / "history.sqlite3"
    store = HistoryStore(path)
    try:
        first = store.create(
            env_kind="demo",
            endpoint="e",
            profile=None,
            hit_id="H",
            hit_title="",
            n=1,
            token="t0",
            max_before=1,
            expected_after=2,
        )
        message = fill_history(store)
        intact = store.get(first) is not None
    finally:
        store.close()
    ok = "full" in message and intact and integrity(path) == "ok"
    return ("full disk (PRAGMA max_page_count)", message or "no error raised", ok, intact)


def run_all(workdir: Path, seed: int, *, kills: int, per_writer: int) -> Durability:
    result = Durability()
    kill_trials(kills, seed, workdir / "kills", result)
    for writers in (2, 4):
        concurrent_writers(writers, per_writer, workdir / "concurrent", result)
    hostile_files(workdir / "files", seed, result)
    return result


def summary(result: Durability) -> dict[str, Any]:
    return {
        "kills": result.kills,
        "acknowledged": result.acknowledged,
        "found": result.records_found,
        "lost": result.lost,
    }


if __name__ == "__main__":
    writer_main(sys.argv[1], sys.argv[2], int(sys.argv[3]) if len(sys.argv) > 3 else 0)
