"""The bulk dialog's "add time" (issue 16): the extend dialog's rules for each marked HIT, a
preview of each new expiration, time only or alongside assignments, and over loopback one
request and one history record per HIT, the time added exactly once."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import pytest

from tests.conftest import FIXED_NOW
from tests.ui.helpers import screen_text, wait_for, wait_loaded
from turktui.domain.environment import EnvKind
from turktui.domain.rules import add_time
from turktui.ui.app import TurkTuiApp
from turktui.ui.screens.bulk import BatchScreen, BulkScreen
from turktui.ui.screens.confirm import ConfirmScreen

NOW = FIXED_NOW.timestamp()
DAY = 86400
UPDATE = "UpdateExpirationForHIT"
ADD = "CreateAdditionalAssignmentsForHIT"


def seed(server: Any) -> dict[str, str]:
    """live (expires in 2 d), expired 2 d ago, expired 400 d ago, and one at 9 of 9."""
    hits = {
        "live": dict(Expiration=NOW + 2 * DAY, MaxAssignments=12),
        "expired": dict(Expiration=NOW - 2 * DAY, MaxAssignments=12),
        "ancient": dict(Expiration=NOW - 400 * DAY, MaxAssignments=12),
        "full": dict(Expiration=NOW + 2 * DAY, MaxAssignments=9),
    }
    return {
        name: server.state.add_hit(
            Title=f"Survey {name}", Reward="0.10", CreationTime=NOW - 3 * DAY, **fields
        )
        for name, fields in hits.items()
    }


async def open_bulk(pilot: Any) -> BulkScreen:
    await wait_loaded(pilot)
    await pilot.press("a", "b")
    await wait_for(pilot, lambda: isinstance(pilot.app.screen, BulkScreen), what="the dialog")
    return pilot.app.screen  # type: ignore[return-value]


async def type_in(pilot: Any, screen: BulkScreen, number: str, time: str) -> None:
    screen.query_one("#bulk-number").value = number
    screen.query_one("#bulk-time").value = time
    await pilot.pause()


def lines(screen: BulkScreen, ids: dict[str, str]) -> dict[str, Any]:
    assert screen.preview is not None
    by_id = {line.hit.hit_id: line for line in screen.preview.lines}
    return {name: by_id[hid] for name, hid in ids.items()}


async def test_the_rules_per_hit(make_emulator, make_context) -> None:
    server = make_emulator(0)
    ids = seed(server)
    app = TurkTuiApp(make_context(server.url))
    async with app.run_test(size=(160, 48)) as pilot:
        screen = await open_bulk(pilot)
        # The mode and the environment read without colour.
        text = screen_text(app)
        assert "(\u2022) Add N to each HIT" in text and "( ) Top up to 9" in text
        assert "DEMO (local emulator, no money) \u00b7 Bulk" in text
        # Nothing typed: nothing to send, and it says what to type.
        assert screen.preview is None and "a time to add, or both" in screen.problem
        assert screen.query_one("#bulk-send").disabled

        await type_in(pilot, screen, "2", "1d")
        got = lines(screen, ids)
        # Added to the current expiration; from now once expired; refused past 365 days.
        assert got["live"].expire_at.timestamp() == NOW + 3 * DAY and got["live"].n == 2
        assert got["expired"].expire_at.timestamp() == NOW + DAY and got["expired"].n == 2
        assert not got["ancient"].sends and "365 days" in got["ancient"].reason
        assert not got["full"].sends  # 9 of 9: no assignments, so nothing (as the CLI)
        assert "2026-06-18 12:00:00" in screen_text(app)  # each new expiration is shown
        assert not screen.query_one("#bulk-send").disabled

        # Time only (no number): every HIT MTurk lets move gets time, the one at 9 of 9 too.
        await type_in(pilot, screen, "", "12h")
        got = lines(screen, ids)
        assert {name for name, line in got.items() if line.sends} == {"live", "expired", "full"}
        assert all(line.n == 0 for line in got.values() if line.sends)
        assert got["full"].change_text == "time only"
        assert "+12h on 3" in screen_text(app)

        # Under a minute, or not a duration: refused in words, nothing can be sent.
        await type_in(pilot, screen, "", "30s")
        assert screen.preview is not None and screen.preview.send_count == 0
        assert "60 seconds" in lines(screen, ids)["live"].reason
        assert screen.query_one("#bulk-send").disabled
        await type_in(pilot, screen, "2", "soon")
        assert screen.preview is None and screen.problem.startswith("Time: not a duration")
        assert screen.query_one("#bulk-send").disabled
        # Choosing a mode shows it in words.
        await pilot.click("#mode-nine")
        await pilot.pause()
        assert "(\u2022) Top up to 9" in screen_text(app)


@pytest.mark.parametrize("number", ["2", ""])
async def test_the_batch_adds_time_once_per_hit(make_emulator, make_context, number) -> None:
    """Over loopback: one request per HIT (time alone, or with the assignments), one history
    record each, each expiration moved once by exactly the time asked — even when MTurk's
    first answer to one of them is lost (resolved by GetHIT, never sent twice)."""
    server = make_emulator(0)
    ids = seed(server)
    server.faults.add(op=UPDATE if not number else ADD, drop=1, count=1)
    ctx = make_context(server.url)
    app = TurkTuiApp(ctx)
    async with app.run_test(size=(160, 48)) as pilot:
        screen = await open_bulk(pilot)
        await type_in(pilot, screen, number, "1d")
        await pilot.press("ctrl+s")
        await wait_for(pilot, lambda: isinstance(app.screen, BatchScreen), what="the batch")
        batch: BatchScreen = app.screen  # type: ignore[assignment]
        await wait_for(pilot, lambda: not batch.running, timeout=30, what="the batch to end")
        report = batch.report
        assert report is not None and report.succeeded == len(report.records), report.summary()
    sent = {"live", "expired"} | (set() if number else {"full"})
    records: dict[str, list] = {}
    for r in report.records:
        records.setdefault(r.hit_id, []).append(r)
    assert set(records) == {ids[name] for name in sent}  # one request per HIT
    for name in sent:  # issue 21: with assignments, two records (one group), time alone one
        ops = [r.operation for r in records[ids[name]]]
        assert ops == (["add_assignments"] if number else []) + ["update_expiration"]
        assert records[ids[name]][-1].expire_at is not None
    base = {"live": NOW + 2 * DAY, "expired": NOW, "full": NOW + 2 * DAY}
    for name in sent:
        raw = server.state.get_hit_raw(ids[name])
        assert int(raw["Expiration"]) == int(base[name] + DAY), name  # once, not twice
        assert int(raw["MaxAssignments"]) == (14 if number else {"full": 9}.get(name, 12))
    assert int(server.state.get_hit_raw(ids["ancient"])["Expiration"]) == int(NOW - 400 * DAY)
    # Time alone goes as UpdateExpirationForHIT only; with assignments, one intent per HIT.
    if not number:
        assert server.state.request_count(ADD) == 0
    else:
        assert server.state.request_count(ADD) >= 2


async def test_sandbox_confirms_the_totals_with_the_time(make_emulator, make_context) -> None:
    server = make_emulator(0)
    seed(server)
    app = TurkTuiApp(
        make_context(
            server.url, EnvKind.SANDBOX, credentials=("AKIDTESTTESTTEST0000", "test-secret")
        )
    )
    async with app.run_test(size=(80, 24)) as pilot:
        screen = await open_bulk(pilot)
        await type_in(pilot, screen, "2", "1d")
        await pilot.press("ctrl+s")
        await wait_for(pilot, lambda: isinstance(app.screen, ConfirmScreen), what="confirm")
        body = str(app.screen.query_one("#confirm-body").render())
        assert "add 2 to each, and 1d added to each expiration" in body
        assert "2 new expirations" in body
        details = str(app.screen.query_one("#confirm-details").render())
        assert "new expiration 2026-06-18 12:00:00 UTC" in details
        await pilot.press("n")
        await pilot.pause()
    assert server.state.request_count(UPDATE) == 0 and server.state.request_count(ADD) == 0


def test_add_time_is_the_extend_dialogs_rule() -> None:
    """The same function moves a live and an expired HIT in both dialogs."""
    live = FIXED_NOW + timedelta(days=2)
    assert add_time(live, DAY, FIXED_NOW) == live + timedelta(days=1)
    assert add_time(FIXED_NOW - timedelta(days=2), DAY, FIXED_NOW) == FIXED_NOW + timedelta(days=1)
