"""The history file in a hostile filesystem, and records damaged behind turktui's back."""

from __future__ import annotations

import json
import os
import sqlite3
import stat
from pathlib import Path

import pytest

from tests.runcli import history_path, run_cli
from turktui.adapters.history import HistoryError, HistoryStore, open_history
from turktui.domain.records import State


def foreign_db(path: Path) -> bytes:
    path.parent.mkdir(parents=True, exist_ok=True)
    db = sqlite3.connect(path)
    db.execute("CREATE TABLE bookmarks (url TEXT)")
    db.execute("INSERT INTO bookmarks VALUES ('https://example.com')")
    db.commit()
    db.close()
    return path.read_bytes()


def test_a_symlinked_data_directory_keeps_its_targets_mode(tmp_path: Path) -> None:
    target = tmp_path / "elsewhere"
    target.mkdir(mode=0o755)
    os.chmod(target, 0o755)
    link = tmp_path / "data"
    link.symlink_to(target)
    open_history(link / "history.sqlite3").close()
    assert stat.S_IMODE(target.stat().st_mode) == 0o755
    assert (target / "history.sqlite3").exists()


@pytest.mark.parametrize("symlinked", [True, False])
def test_another_programs_database_is_never_adopted(tmp_path: Path, symlinked: bool) -> None:
    other = tmp_path / "other" / "places.sqlite"
    before = foreign_db(other)
    path = tmp_path / "data" / "history.sqlite3"
    path.parent.mkdir(parents=True)
    if symlinked:
        path.symlink_to(other)
    else:
        path.write_bytes(before)
        other = path
    with pytest.raises(HistoryError, match="symbolic link" if symlinked else "another program"):
        open_history(path)
    assert other.read_bytes() == before  # no tables added, not switched to WAL
    assert not Path(str(other) + "-wal").exists()


def test_the_cli_refuses_a_symlinked_history_in_one_line(
    tmp_path: Path, cli_env: dict[str, str]
) -> None:
    other = tmp_path / "other.sqlite"
    before = foreign_db(other)
    path = history_path(tmp_path)
    path.parent.mkdir(parents=True)
    path.symlink_to(other)
    result = run_cli(cli_env, "history")
    assert result.returncode == 2 and "symbolic link" in result.stderr
    assert len(result.stderr.strip().splitlines()) == 1 and other.read_bytes() == before


def test_an_existing_0644_history_is_brought_to_0600(tmp_path: Path) -> None:
    path = tmp_path / "history.sqlite3"
    open_history(path).close()
    os.chmod(path, 0o644)
    open_history(path).close()
    assert stat.S_IMODE(path.stat().st_mode) == 0o600


def test_the_wal_is_checkpointed_on_close(tmp_path: Path) -> None:
    path = tmp_path / "history.sqlite3"
    store = HistoryStore(path)
    store.import_many(
        {"hit_id": f"H{i}", "n": 1, "token": f"t{i}", "hit_title": "x" * 500} for i in range(3000)
    )
    wal = Path(str(path) + "-wal")
    assert wal.stat().st_size > 0
    store.close()
    assert not wal.exists() or wal.stat().st_size == 0


def damage(path: Path) -> None:
    """Rows written by hand or by a disk error: text in numbers, absurd timestamps, a state
    no version knows, NULLs where there must be values."""
    store = open_history(path)
    for i in range(3):
        store.create(
            env_kind="demo",
            endpoint="http://127.0.0.1:1",
            profile=None,
            hit_id=f"HIT{i}",
            hit_title="t",
            n=1,
            token=f"tok{i}",
            max_before=1,
            expected_after=2,
        )
    store.close()
    db = sqlite3.connect(path)
    db.execute(
        "UPDATE requests SET n = 'many', created = 1e300, max_before = x'00ff' "
        "WHERE hit_id = 'HIT0'"
    )
    db.execute(
        "UPDATE requests SET state = 'exploded', updated = 'yesterday', "
        "first_sent = -1e308 WHERE hit_id = 'HIT1'"
    )
    db.execute("PRAGMA ignore_check_constraints = ON")
    db.execute(
        "UPDATE requests SET hit_title = 12345, duration = 'slow', expire_at = 'soon' "
        "WHERE hit_id = 'HIT2'"
    )
    db.execute(
        "INSERT INTO attempts (request_id, number, at, operation, outcome) "
        "SELECT id, 'one', 1e300, 'extend', 'started' FROM requests WHERE hit_id='HIT2'"
    )
    db.commit()
    db.close()


def test_damaged_records_are_read_and_shown_as_damaged(tmp_path: Path) -> None:
    path = tmp_path / "history.sqlite3"
    damage(path)
    store = open_history(path)
    try:
        rows = {r.hit_id: r for r in store.query()}
        assert "n" in rows["HIT0"].damaged and "created" in rows["HIT0"].damaged
        assert rows["HIT0"].error_code == "damaged" and rows["HIT0"].n == 0
        assert rows["HIT1"].state is State.UNKNOWN  # unknown state: offered for resolution
        assert "HIT1" in [r.hit_id for r in store.unsettled()]
        full = store.get(rows["HIT2"].id)
        assert full is not None and full.attempts and "duration" in full.damaged
    finally:
        store.close()


def test_history_and_resolve_commands_survive_damaged_records(
    tmp_path: Path, cli_env: dict[str, str]
) -> None:
    damage(history_path(tmp_path))
    for args in (
        ["history"],
        ["history", "--json"],
        ["history", "--unsettled"],
        ["resolve", "--json", "--endpoint-url", "http://127.0.0.1:1"],
    ):
        result = run_cli(cli_env, *args)
        assert result.returncode in (0, 2), (args, result.returncode, result.stderr)
        assert "Traceback" not in result.stderr and "internal error" not in result.stderr
        if "--json" in args and args[0] == "history":
            assert len(json.loads(result.stdout)["records"]) == 3


def test_the_history_screen_survives_damaged_records(tmp_path: Path, emulator: object) -> None:
    import asyncio

    from tests.reliability.hostile_data import make_ctx
    from turktui.ui import extend_flow
    from turktui.ui.app import TurkTuiApp
    from turktui.ui.screens.history import HistoryScreen, RecordScreen

    ctx = make_ctx(emulator.url, tmp_path)  # type: ignore[attr-defined]
    damage(ctx.paths.history_db)

    async def drive() -> None:
        app = TurkTuiApp(ctx)
        async with app.run_test(size=(140, 40)) as pilot:
            await pilot.pause()
            extend_flow.open_history(app)
            screen = app.screen
            assert isinstance(screen, HistoryScreen)
            for _ in range(500):  # the list is read by a worker
                if not screen.reading:
                    break
                await pilot.pause(0.01)
            assert screen.total == 3
            for _ in range(3):
                await pilot.press("enter")
                for _ in range(500):
                    if isinstance(app.screen, RecordScreen):
                        break
                    await pilot.pause(0.01)
                assert isinstance(app.screen, RecordScreen)
                await pilot.press("escape")
                await pilot.pause()
                await pilot.press("down")

    asyncio.run(drive())


def test_a_symlinked_crash_log_is_never_followed(tmp_path: Path) -> None:
    from turktui.adapters.config import Paths
    from turktui.cli.lifecycle import log_crash as _log_crash

    log_dir = Paths.default().log_dir
    log_dir.mkdir(parents=True)
    target = tmp_path / "victim.txt"
    target.write_text("precious\n")
    (log_dir / "crash.log").symlink_to(target)
    assert _log_crash(RuntimeError("boom")) is None
    assert target.read_text() == "precious\n"
    (log_dir / "crash.log").unlink()
    where = _log_crash(RuntimeError("boom"))
    assert where and "boom" in Path(where).read_text()
    assert stat.S_IMODE(Path(where).stat().st_mode) == 0o600


def test_a_history_in_a_shared_sticky_directory_leaves_it_alone(tmp_path: Path) -> None:
    """A history (or request log) placed in /tmp-like directory: the file is private, the
    shared directory keeps its mode (tightening /tmp to 0700 locked other users out)."""
    from turktui.adapters import requestlog
    from turktui.adapters.history import HistoryStore

    shared = tmp_path / "shared"
    shared.mkdir()
    os.chmod(shared, 0o1777)
    store = HistoryStore(shared / "history.sqlite3")
    store.close()
    assert requestlog.setup(shared) is not None
    requestlog.teardown()
    assert stat.S_IMODE(os.stat(shared).st_mode) == 0o1777
    assert stat.S_IMODE(os.stat(shared / "history.sqlite3").st_mode) == 0o600
