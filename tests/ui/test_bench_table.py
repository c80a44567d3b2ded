"""The table benchmarks' harness works (no timing assertions: benchmarks are not tests)."""

from __future__ import annotations

import pytest

from tests.bench import bench_table, suite

pytestmark = pytest.mark.timeout(120)


def test_bulk_dialog_bench_runs_both_paths(monkeypatch: pytest.MonkeyPatch) -> None:
    from turktui.ui.screens.bulk import BulkScreen

    monkeypatch.setattr(BulkScreen, "SYNC_LIMIT", 20)  # 30 marks: the worker path
    result = bench_table.bench_bulk_dialog(30, 1)
    assert result["marks"] == 30 and result["open_ms"] > 0
    assert 0 < result["keystroke_visible_ms"] <= result["keystroke_planned_ms"]


def test_table_rows_render() -> None:
    tab = {
        "bulk": {
            "marks": 10_000,
            "open_ms": 200.0,
            "keystroke_visible_ms": 9.0,
            "keystroke_planned_ms": 70.0,
            "ui_stall_max_ms": 50.0,
        },
        "rows": {
            "batch": 500,
            "rows": 50_000,
            "alone_s": 4.0,
            "with_app_s": 4.1,
            "slowdown": 1.025,
            "ui_ms_per_update": 0.2,
            "worker_handover_max_ms": 5.0,
            "ui_cpu_s": 0.2,
        },
    }
    table = suite.build_table(
        {"cold": {"app_s": 1.0, "bare_s": 0.5}, "engine": None, "table": tab}, 1
    )
    assert "| Bulk dialog open, 10,000 marked HITs | 200 ms |" in table
    assert (
        "| … batch wall time with the app | 4.10 s | 4.00 s (same batch, no app) | 1.02× |" in table
    )
    ui = "| … the app's UI thread: CPU during the batch | 0.20 s |  | 5% of the batch alone |"
    assert ui in table
