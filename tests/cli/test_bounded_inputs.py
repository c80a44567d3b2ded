"""Inputs refused cleanly or bounded: one line, non-zero, nothing changed; and every
unsettled record reached by `resolve`, however many."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from tests.runcli import run_cli


def _history_file(env: dict[str, str]) -> Path:
    return Path(env["XDG_DATA_HOME"]) / "turktui" / "history.sqlite3"


def _unsettled(path: Path, endpoint: str, hit: str, count: int) -> None:
    from turktui.adapters.history import open_history

    with open_history(path) as store:
        store.insert(
            [
                {
                    "env_kind": "custom",
                    "endpoint": endpoint,
                    "hit_id": hit,
                    "n": 1,
                    "token": f"T-{i}",
                    "max_before": 3,
                    "expected_after": 4,
                }
                for i in range(count)
            ]
        )


def test_the_unsettled_pages_reach_the_oldest_past_ten_thousand(tmp_path: Path) -> None:
    """Was: `unsettled()` kept the newest 10,000, so the oldest were never resolved."""
    from turktui.adapters.history import open_history

    path = tmp_path / "history.sqlite3"
    _unsettled(path, "http://127.0.0.1:1", "HIT", 10_050)
    with open_history(path) as store:
        pages = [[r.id for r in page] for page in store.unsettled_pages(1000)]
    assert [len(p) for p in pages] == [1000] * 10 + [50]
    every = [i for page in pages for i in page]
    assert every == list(range(1, 10_051))


def test_resolve_settles_every_page(
    cli_env: dict[str, str], emulator: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    from turktui.cli.commands import resolve

    monkeypatch.setattr(resolve, "PAGE", 10)
    hit = emulator.state.add_hit(MaxAssignments=3)
    _unsettled(_history_file(cli_env), emulator.url, hit, 25)
    ran = run_cli(cli_env, "resolve", "--yes", "--json", "--endpoint-url", emulator.url)
    assert ran.returncode == 0, ran.stderr
    data = json.loads(ran.stdout)  # one JSON object for the three pages
    ids = [r["id"] for r in data["records"]]
    assert ids == list(range(1, 26)) and data["message"] == "25 settled"
    again = run_cli(cli_env, "resolve", "--yes", "--endpoint-url", emulator.url)
    assert again.returncode == 0 and "Nothing to resolve" in again.stdout
