"""`turktui history` lists before it counts (a shared history counts 100,000 records slower
than it reads a page): the count only when there may be more records than were listed,
and never for --csv."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from tests.runcli import history_path, run_cli
from turktui.adapters.history import HistoryStore


def test_history_counts_only_when_there_may_be_more(
    cli_env: dict[str, str], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    store = HistoryStore(history_path(tmp_path))
    store.import_many({"hit_id": f"HIT{i}", "n": 1, "token": f"t{i}"} for i in range(3))
    store.close()
    counted: list[Any] = []
    count = HistoryStore.count

    def counting(self: HistoryStore, **filters: Any) -> int:
        counted.append(filters)
        return count(self, **filters)

    monkeypatch.setattr(HistoryStore, "count", counting)
    listed = run_cli(cli_env, "history")
    assert listed.returncode == 0 and "3 of 3 records" in listed.stdout, listed
    assert counted == []  # fewer than the limit: what was listed is the count
    assert run_cli(cli_env, "history", "--csv").stdout.count("\n") == 4
    assert counted == []
    limited = run_cli(cli_env, "history", "--limit", "2")
    assert "2 of 3 records" in limited.stdout and len(counted) == 1, limited
