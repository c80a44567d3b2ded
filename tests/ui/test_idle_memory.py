"""Memory at rest is flat over refreshes (issue 24).

Every page of a listing froze the heap (`gc.freeze()`, so that full collections skip the
rows), and with it whatever was cyclic garbage then or became garbage later (finished
workers, replaced rendered lines): never collected again, the app grew by ~1,400 objects
per auto-refresh at 50,000 HITs (about 2.4 MB a minute). Now each load ends with one
collection of what the freezes kept (turktui/ui/heap.py). Counts, not wall time:
`python -m tests.bench.bench_idle` measures RSS and CPU at 50,000 HITs.
"""

from __future__ import annotations

from itertools import pairwise
from typing import Any

import pytest

from tests.bench.bench_idle import sample_refreshes, slope
from tests.ui.helpers import wait_ready
from turktui.ui.app import TurkTuiApp

pytestmark = [pytest.mark.timeout(120), pytest.mark.real_heap]

WARMUP = 3


async def test_the_objects_the_app_retains_do_not_grow_per_refresh(
    make_emulator: Any, make_context: Any
) -> None:
    server = make_emulator(2_000)
    app = TurkTuiApp(make_context(server.url))
    async with app.run_test(size=(80, 24)) as pilot:
        await wait_ready(pilot)
        # What the auto-refresh timer does (TurkTuiApp._auto_reload_tick), back to back.
        samples = await sample_refreshes(pilot, WARMUP + 11, trigger=app.reload_hits)
        assert len(app.main_screen.table.rows) == 2_000
    objects = [s.objects for s in samples[WARMUP:]]
    # Growth, not a transient: each load's collection runs while its loader thread is still
    # ending, so what that thread holds then (under load, once in a while, a listing's
    # worth: +26,000 here) is frozen and freed by the next load's collection. Each count is
    # judged with the next one (the least of the two): a leak raises both, a transient one.
    retained = [min(pair) for pair in pairwise(objects)]
    assert slope(retained) < 5, objects
    assert max(retained) - retained[0] < 100, objects
