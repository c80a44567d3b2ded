"""The performance suite's harness works (no timing assertions: benchmarks are not tests)."""

from __future__ import annotations

import pytest

from tests.bench import suite

pytestmark = pytest.mark.timeout(120)


def test_smallest_list_scenario_runs() -> None:
    result = suite.scenario_list(200, 1, with_cli=False)
    assert result["paginator_s"] and result["navigable_s"]
    assert result["first_page_s"] is not None and result["rss_mb"]
    table = suite.build_table({"cold": {"app_s": 1.0, "bare_s": 0.5}, "l1k": result}, 1)
    assert "| Launch → 1,000 HITs navigable |" in table
