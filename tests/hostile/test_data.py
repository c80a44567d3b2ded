"""Hostile data in the app: values that do not validate make a HIT unreadable (shown,
never extended) instead of crashing; huge text opens fast and is copied whole."""

from __future__ import annotations

import asyncio
import time
from pathlib import Path
from typing import Any

import pytest

from tests.hostile.servers import HostileServer, hit_json, json_answer
from tests.reliability.hostile_data import make_ctx
from tests.ui.helpers import notifications, wait_for


def listing(*hits: dict[str, Any]) -> Any:
    def responder(op: str, request: dict[str, Any], handler: Any) -> Any:
        if op == "ListHITs":
            return json_answer({"NumResults": len(hits), "HITs": list(hits)})
        if op == "GetAccountBalance":
            return json_answer({"AvailableBalance": "10.00"})
        if op == "GetHIT":
            wanted = request.get("HITId")
            return json_answer({"HIT": next(h for h in hits if h["HITId"] == wanted)})
        return json_answer({})

    return responder


def screen_text(app: Any) -> str:
    strips = app.screen._compositor.render_strips()
    return "\n".join("".join(seg.text for seg in strip) for strip in strips)


def test_a_huge_reward_and_a_null_max_are_shown_unreadable_and_never_extended(
    tmp_path: Path,
) -> None:
    from turktui.ui.app import TurkTuiApp
    from turktui.ui.screens.detail import DetailScreen
    from turktui.ui.screens.extend import ExtendScreen

    hits = [
        hit_json("HUGEREWARD", Reward="1e26", Title="huge reward"),
        hit_json("NULLMAX", MaxAssignments=None, Title="null max"),
        hit_json("NANMAX", MaxAssignments="nan", Title="nan max"),
    ]
    with HostileServer(listing(*hits)) as server:
        ctx = make_ctx(server.url, tmp_path, credentials=("AKIDHOSTILE000000000", "s"))

        async def drive() -> list[str]:
            app = TurkTuiApp(ctx)
            seen = []
            async with app.run_test(size=(140, 40)) as pilot:
                main = app.main_screen
                await wait_for(
                    pilot,
                    lambda: main.generation > 0 and not main.is_loading,
                    timeout=20,
                    what="the HIT list to load",
                )
                for index in range(len(hits)):
                    await pilot.press("home" if index == 0 else "down")
                    hit = app.selected_hit
                    assert hit is not None and hit.problem
                    await pilot.press("e")
                    await pilot.pause()
                    assert not isinstance(app.screen, ExtendScreen)
                    await pilot.press("enter")
                    await wait_for(
                        pilot,
                        lambda: isinstance(app.screen, DetailScreen),
                        what="the detail screen",
                    )
                    seen.append(screen_text(app))
                    await pilot.press("escape")
                    await wait_for(pilot, lambda: app.screen is main, what="the main screen")
                notes = " ".join(str(n.message) for n in notifications(app))
                assert "cannot be extended" in notes
            return seen

        seen = asyncio.run(drive())
    assert not [op for op, _ in server.calls if op == "CreateAdditionalAssignmentsForHIT"]
    assert all("Unreadable" in text for text in seen)


@pytest.mark.timing  # was 48 s
def test_a_five_megabyte_title_opens_fast_and_is_copied_whole(tmp_path: Path) -> None:
    from turktui.ui.app import TurkTuiApp
    from turktui.ui.screens.detail import DetailScreen

    title = "T" * 5_000_000
    with HostileServer(
        listing(hit_json("BIGTITLE", Title=title, Description="D" * 1_000_000))
    ) as server:
        ctx = make_ctx(server.url, tmp_path, credentials=("AKIDHOSTILE000000000", "s"))

        async def drive() -> tuple[float, str, str]:
            app = TurkTuiApp(ctx)
            copied: list[str] = []
            app.copy_to_clipboard = copied.append  # type: ignore[method-assign]
            async with app.run_test(size=(140, 40)) as pilot:
                main = app.main_screen
                await wait_for(
                    pilot,
                    lambda: main.generation > 0 and not main.is_loading,
                    timeout=20,
                    what="the HIT list to load",
                )
                t0 = time.perf_counter()
                await pilot.press("enter")
                await wait_for(
                    pilot, lambda: isinstance(app.screen, DetailScreen), what="the detail screen"
                )
                await pilot.pause()
                elapsed = time.perf_counter() - t0
                shown = screen_text(app)
                await pilot.press("t")
                await pilot.pause()
            return elapsed, shown, copied[-1]

        elapsed, shown, copied = asyncio.run(drive())
    assert elapsed < 2.0, elapsed  # was 48 s
    assert "Title" in shown and "TTTT" in shown
    assert copied == title


def test_a_bulk_preview_refuses_an_unreadable_hit_and_keeps_the_others() -> None:
    from turktui.domain.bulk import AddEach, LineStatus, plan_bulk
    from turktui.domain.models import Hit

    good = Hit.from_api(hit_json("GOOD", MaxAssignments=3))
    bad = Hit.from_api(hit_json("BAD", MaxAssignments="nan"))
    preview = plan_bulk([good, bad], AddEach(1))
    status = {line.hit.hit_id: line.status for line in preview.lines}
    assert status["BAD"] is LineStatus.REFUSED and status["GOOD"] is LineStatus.SEND
