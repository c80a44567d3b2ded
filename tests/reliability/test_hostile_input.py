"""Category 3a at a small scale: hypothesis over everything the operator types, plus the
real dialog (Pilot) and the real emulator counting what reaches it."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.reliability import hostile_input
from tests.reliability.common import OP_EXTEND
from tests.reliability.hostile_data import make_ctx
from tests.ui.helpers import wait_for
from turktui.adapters.history import HistoryStore
from turktui.emulator import EmulatorServer

pytestmark = pytest.mark.timeout(120)
EXAMPLES = 300


def test_parse_count_property() -> None:
    assert hostile_input.check_parse_count(EXAMPLES) == EXAMPLES


def test_dialog_path_to_engine_sends_nothing_invalid(tmp_path: Path) -> None:
    with HistoryStore(tmp_path / "h.sqlite3") as store:
        ran, sent, invalid = hostile_input.check_dialog_to_engine(EXAMPLES, store)
    assert ran == EXAMPLES and sent > 0 and invalid == 0


def test_cli_argument_property() -> None:
    assert hostile_input.check_cli_argument(EXAMPLES) == EXAMPLES


def test_token_and_duration_properties() -> None:
    assert hostile_input.check_tokens_and_durations(EXAMPLES) == EXAMPLES


HOSTILE_TYPING = [
    "",
    "0",
    "-1",
    "+3",
    " 2",
    "2 ",
    "1e2",
    "１",
    "٣",
    "3.0",
    "1,000",
    "1_0",
    "99999999999999999999",
    "\x1b[6n",
    "[bold]5[/bold]",
    "2\u200b",
    "8",
    "1",
    "7",
    "6",
]


async def test_the_real_dialog_only_submits_what_the_rules_allow(
    emu: EmulatorServer, tmp_path: Path
) -> None:
    """Type hostile text into the extend dialog of the real app against the emulator: the
    Submit button is enabled only for valid counts, and only they reach MTurk."""
    from turktui.domain.rules import InputProblem, extension_range, parse_count
    from turktui.ui.app import TurkTuiApp
    from turktui.ui.screens.extend import ExtendScreen

    hit_id = emu.state.add_hit(MaxAssignments=2, Reward="0.10", Title="TYPING")
    ctx = make_ctx(emu.url, tmp_path)
    app = TurkTuiApp(ctx)
    sent_before = emu.state.request_count(OP_EXTEND)
    accepted = 0
    async with app.run_test(size=(120, 36)) as pilot:
        await wait_for(pilot, lambda: app.selected_hit is not None, what="a HIT to be selected")
        while app.selected_hit.hit_id != hit_id:
            await pilot.press("down")
        for text in HOSTILE_TYPING:
            hit = app.selected_hit
            rng = extension_range(hit.max_assignments, hit.created)
            try:
                parse_count(text, rng)
                valid = True
            except InputProblem:
                valid = False
            if not isinstance(app.screen, ExtendScreen):
                await pilot.press("e")
                await wait_for(
                    pilot, lambda: isinstance(app.screen, ExtendScreen), what="the extend dialog"
                )
            dialog = app.screen
            dialog.query_one("#extend-count").value = text  # pasted, not typed key by key
            await pilot.pause()
            assert dialog.can_submit is valid, text
            await pilot.press("enter")
            await pilot.pause()
            if not valid:
                assert app.screen is dialog  # still open: nothing submitted
                continue
            accepted += 1
            await wait_for(pilot, lambda: ctx.state.last_outcome is not None, what="the outcome")
            ctx.state.last_outcome = None
            before = hit.max_assignments
            await wait_for(
                pilot,
                lambda b=before: app.selected_hit.max_assignments != b,
                what="the HIT's new maximum",
            )
    assert emu.state.request_count(OP_EXTEND) - sent_before == accepted
    # 2 → "8" refused (it would reach 10) → "1" → 3 → "7" refused → "6" → 9.
    assert accepted == 2 and emu.state.get_hit_raw(hit_id)["MaxAssignments"] == 9
