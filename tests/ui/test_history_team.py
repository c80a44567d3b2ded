"""Team mode in the history screen (issues 23 and 21): `O` shows one operator's requests, a
record another host's process holds says until when it counts as live, and `T` takes it
over — asked first (who, where, since when), then settled through the pipeline's one
resolve path (as `turktui resolve --take-over ID`), the take-over recorded. Opened again,
the screen lists through the store's kept reader."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import pytest

from tests.engine.conftest import record_row
from tests.ui.helpers import screen_text, show_history, wait_for, wait_loaded
from turktui.adapters.stores import open_store, reader_of
from turktui.domain.records import State
from turktui.ui.app import TurkTuiApp
from turktui.ui.screens.confirm import ConfirmScreen
from turktui.ui.screens.history import HistoryScreen, RecordList, RecordScreen

pytestmark = pytest.mark.timeout(60)

BOB = "bob@ops-2"
BOBS_PROCESS = "ops-2|77|1"  # another host (this machine is not called ops-2)


def _flat(app: TurkTuiApp) -> str:
    return " ".join(screen_text(app).split())


@pytest.mark.parametrize("size", [(80, 24), (160, 48)], ids=["80x24", "160x48"])
async def test_operator_filter_and_taking_over_another_hosts_record(
    make_emulator: Any, make_context: Any, size: tuple[int, int]
) -> None:
    server = make_emulator(0)
    ctx = make_context(server.url)
    store = open_store(ctx.paths.history_db)
    try:
        store.import_many(
            {
                "hit_id": f"HIT{i:03d}",
                "n": 1,
                "token": f"turktui-{i:08x}",
                "operator": "alice@ops-1" if i % 2 else BOB,
                "created": ctx.clock() - timedelta(hours=i + 1),
            }
            for i in range(6)
        )
        (held,) = store.insert(
            [
                {
                    **record_row(endpoint=server.url, hit_id="HITHELD"),
                    "owner": BOBS_PROCESS,
                    "operator": BOB,
                }
            ],
            now=ctx.clock(),
        )
    finally:
        store.close()
    app = TurkTuiApp(ctx)
    async with app.run_test(size=size) as pilot:
        await wait_loaded(pilot)
        history = await show_history(pilot)
        assert isinstance(history, HistoryScreen) and history.total == 7
        assert history.current is not None and history.current.id == held  # newest first

        # O: only the selected record's operator; again: everyone's
        await pilot.press("O")
        await wait_for(pilot, lambda: not history.reading and history.total == 4, what="bob's")
        assert {r.operator for r in history.records} == {BOB}
        assert f"4 records by {BOB}" in _flat(app)
        await pilot.press("O")
        await wait_for(pilot, lambda: not history.reading and history.total == 7, what="all")
        assert f"by {BOB}" not in _flat(app)

        # the detail: who holds it, and until when that counts as live (an hour on)
        await pilot.press("enter")
        await wait_for(pilot, lambda: isinstance(app.screen, RecordScreen), what="the detail")
        text = _flat(app)
        assert "Held by pid 77 on ops-2 (another host)" in text, text
        assert "Live until" in text and "(an hour after its last change)" in text, text
        await pilot.press("escape")
        await wait_for(pilot, lambda: app.screen is history, what="back to the list")

        # T: asked first, naming owner, host and since when; yes settles it, recorded
        await pilot.press("T")
        await wait_for(pilot, lambda: isinstance(app.screen, ConfirmScreen), what="the dialog")
        text = _flat(app)
        for words in (f"Take over request #{held}?", BOB, "pid 77 on ops-2", "Since"):
            assert words in text, (words, text)
        await pilot.press("y")

        def settled() -> bool:
            rec = app.ctx.history.get(held)
            return rec is not None and rec.state is State.RESOLVED_NOT_APPLIED

        await wait_for(pilot, settled, what="the record taken over and settled")
        rec = app.ctx.history.get(held)
        assert rec.owner != BOBS_PROCESS
        assert rec.data["taken_over"].startswith("pid 77 on ops-2 at ")
        await wait_for(
            pilot,
            lambda: (
                history.query_one(RecordList).current is not None
                and history.query_one(RecordList).current.settled
            ),
            what="the list read again",
        )

        # opened again, the history lists through the store's kept reader (no new connection)
        await pilot.press("escape")
        await wait_for(pilot, lambda: app.screen is app.main_screen, what="the HIT list")
        again = await show_history(pilot)
        assert again is not history and again._reader is reader_of(app.ctx.history)
