"""The HIT loader process: typed errors cross the pipe, and no child outlives its load."""

from __future__ import annotations

from typing import Any

import pytest

from tests.ui.helpers import wait_loaded
from turktui.adapters.loader import HitLoader, error_from_tuple, error_to_tuple
from turktui.adapters.mturk import MTurkService
from turktui.domain import errors
from turktui.domain.environment import Environment, EnvKind
from turktui.ui.app import TurkTuiApp

pytestmark = pytest.mark.timeout(60)


@pytest.mark.parametrize(
    "exc",
    [
        errors.Throttled("slow down"),
        errors.CredentialsMissing("No AWS credentials were found"),
        errors.HitNotFound("no such HIT", "AWS.MechanicalTurk.HITDoesNotExist"),
        errors.ConfigurationError("bad profile", hint="try another"),
    ],
)
def test_errors_round_trip_typed(exc: errors.TurkError) -> None:
    back = error_from_tuple(error_to_tuple(exc))
    assert type(back) is type(exc)
    assert str(back) == str(exc) and back.hint == exc.hint
    assert getattr(back, "code", None) == getattr(exc, "code", None)


def test_unknown_errors_stay_turk_errors() -> None:
    assert type(error_from_tuple(("NoSuchClass", "m", "", ""))) is errors.TurkError
    name, message, _, _ = error_to_tuple(KeyError("x"))
    assert name == "UnexpectedResponse" and "KeyError" in message


@pytest.mark.parametrize("empty_last_page", [True, False], ids=["mturk-shape", "short-shape"])
def test_loader_streams_pages_then_balance(make_emulator: Any, empty_last_page: bool) -> None:
    # Both ends of a listing (an empty page after the last NextToken, as MTurk answers, or a
    # last page without one): four pages of 50, never an empty fifth.
    emulator = make_emulator(200, empty_last_page=empty_last_page)
    service = MTurkService(Environment(EnvKind.DEMO, emulator.url))
    with HitLoader(service.spec(), page_size=50, balance=True) as loader:
        events = list(loader.events())
    kinds = [kind for kind, _ in events]
    assert kinds == ["page", "balance", "page", "page", "page", "done"]
    assert events[-1][1] == 4
    assert loader.proc.poll() is not None


@pytest.mark.loader_process
async def test_rapid_refreshes_leave_no_child(
    demo_context: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    started: list[HitLoader] = []
    original = HitLoader.__init__

    def record(self: HitLoader, *args: Any, **kwargs: Any) -> None:
        original(self, *args, **kwargs)
        started.append(self)

    monkeypatch.setattr(HitLoader, "__init__", record)
    app = TurkTuiApp(demo_context)
    async with app.run_test(size=(80, 24)) as pilot:
        await wait_loaded(pilot)
        for _ in range(4):
            await pilot.press("r")
        await wait_loaded(pilot)
        assert len(app.main_screen.table.rows) == 200
    assert started
    assert all(loader.proc.poll() is not None for loader in started)
