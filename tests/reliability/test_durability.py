"""Category 2 at a small scale: SIGKILLed and concurrent writers, hostile history files,
and the app starting (and saying why) with each of them."""

from __future__ import annotations

import hashlib
import random
from pathlib import Path
from typing import Any

import pytest

from tests.reliability import durability
from tests.reliability.common import OP_EXTEND
from tests.reliability.hostile_data import make_ctx
from tests.ui.helpers import notifications, wait_for
from turktui.adapters.history import HistoryError, HistoryStore, OutcomeNotRecorded
from turktui.adapters.mturk import MTurkService
from turktui.domain.environment import Environment, EnvKind
from turktui.domain.records import State
from turktui.emulator import EmulatorServer
from turktui.pipeline.engine import Backoff, Engine

pytestmark = pytest.mark.timeout(120)


def test_sigkilled_writers_lose_nothing_acknowledged(tmp_path: Path) -> None:
    result = durability.Durability()
    durability.kill_trials(3, seed=3, workdir=tmp_path, result=result)
    assert result.kills == 3 and result.acknowledged > 0
    assert result.lost == 0 and result.lost_updates == 0 and result.integrity_failures == 0
    assert not result.failures


@pytest.mark.parametrize("writers", [2, 4])
def test_concurrent_writers(tmp_path: Path, writers: int) -> None:
    result = durability.Durability()
    durability.concurrent_writers(writers, 40, tmp_path, result)
    assert result.concurrent[writers] == (writers * 40, writers * 40)
    assert not result.failures


def test_hostile_files_clear_message_and_untouched(tmp_path: Path) -> None:
    result = durability.Durability()
    durability.hostile_files(tmp_path, seed=5, result=result)
    assert not result.failures
    assert {case for case, *_ in result.files} >= {"corrupt", "truncated", "newer"}
    assert all(ok and same for _, _, ok, same in result.files), result.files


def test_outcome_not_recorded_stays_unsettled_then_resolves(
    emu: EmulatorServer, tmp_path: Path
) -> None:
    """The history fails right after the request went out (a full disk, simulated by a
    failing finish_attempt): the engine says "may have been sent", never "not sent", and
    resolve settles it with the HIT extended exactly once."""
    env = Environment(EnvKind.DEMO, emu.url)
    service = MTurkService(env, read_timeout=1)
    store = HistoryStore(tmp_path / "h.sqlite3")
    engine = Engine(service, store, env, backoff=Backoff(base=0.01, total=0.5))
    hit = service.get_hit(emu.state.add_hit(MaxAssignments=12, Reward="0.10"))
    original = store.finish_attempt

    def full(*args: Any, **kwargs: Any) -> None:
        raise HistoryError("cannot write the history file: the disk is full (simulated)")

    store.finish_attempt = full  # type: ignore[method-assign]
    with pytest.raises(OutcomeNotRecorded) as caught:
        engine.extend(hit, 3)
    assert caught.value.maybe_sent and "may have been sent" in str(caught.value)
    store.finish_attempt = original  # type: ignore[method-assign]
    record = store.get(caught.value.record_id)
    assert record is not None and record.state is State.SENDING
    outcome = engine.resolve(record)
    assert outcome.record.state is State.RESOLVED_SUCCEEDED
    assert emu.state.get_hit_raw(hit.hit_id)["MaxAssignments"] == 15
    store.close()


def _digest(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest() if path.is_file() else ""


@pytest.mark.parametrize("case", ["corrupt", "truncated", "newer", "unwritable", "full"])
async def test_app_starts_and_says_why(case: str, emu: EmulatorServer, tmp_path: Path) -> None:
    from turktui.ui.app import TurkTuiApp
    from turktui.ui.screens.extend import ExtendScreen

    hit_id = emu.state.add_hit(MaxAssignments=12, Reward="0.10", Title="DURABILITY")
    ctx = make_ctx(emu.url, tmp_path / "ctx")
    if case == "unwritable":
        path, _how = durability.unwritable_history_path(tmp_path)
    elif case == "full":
        path = tmp_path / "full" / "history.sqlite3"
        ctx.history = HistoryStore(path)
        assert "full" in durability.fill_history(ctx.history)
    else:
        path = durability.make_hostile_file(case, tmp_path, random.Random(1))
    ctx.paths = type(ctx.paths)(
        config_file=ctx.paths.config_file,
        data_dir=path.parent,
        history_db=path,
        log_dir=ctx.paths.log_dir,
    )
    before = _digest(path)
    sent = emu.state.request_count(OP_EXTEND)
    app = TurkTuiApp(ctx)
    async with app.run_test(size=(120, 36)) as pilot:
        main = app.main_screen
        await wait_for(
            pilot, lambda: main.generation > 0 and not main.is_loading, what="the HIT list to load"
        )
        assert main.load_error is None  # the HIT list does not depend on the history
        await wait_for(pilot, lambda: app.selected_hit is not None, what="a HIT to be selected")
        await pilot.press("h")
        await pilot.pause()
        if case != "full":
            await wait_for(
                pilot,
                lambda: any("history unavailable" in n.message.lower() for n in notifications(app)),
                what="the 'history unavailable' notice",
            )
        while app.screen is not main:
            await pilot.press("escape")
            await pilot.pause()
        while app.selected_hit is not None and app.selected_hit.hit_id != hit_id:
            await pilot.press("down")
        await pilot.press("e")
        try:
            await wait_for(
                pilot, lambda: isinstance(app.screen, ExtendScreen), what="the extend dialog"
            )
            shown = len(notifications(app))  # only a note about this extension counts
            await pilot.press("1", "enter")
            await wait_for(
                pilot,
                lambda: any(
                    "not sent" in n.message.lower() or "unavailable" in n.message.lower()
                    for n in notifications(app)[shown:]
                ),
                what="a notice that nothing was sent",
            )
        finally:
            messages = " | ".join(n.message for n in notifications(app))
            print(f"screens {app.screen_stack}; notifications: {messages}")
    assert emu.state.request_count(OP_EXTEND) == sent, messages  # nothing was sent
    assert emu.state.get_hit_raw(hit_id)["MaxAssignments"] == 12
    if case != "full":
        assert _digest(path) == before  # nothing overwritten
    if case == "full":
        assert "full" in messages
    else:
        assert str(path) in messages
