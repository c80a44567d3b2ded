"""Issue 22: the adapter's review-and-pay calls over loopback — ListBonusPayments read to the
end in both shapes of a listing's end, and MTurk's review errors mapped to typed errors."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from tests.reviewkit import engine_on, hit_with_work
from turktui.domain.errors import AssignmentNotFound, AssignmentNotVisible, InvalidAssignmentState
from turktui.emulator.assignments import assignment_id


@pytest.mark.parametrize("empty_last_page", [True, False])
def test_every_page_of_bonus_payments(
    make_emulator: Any, tmp_path: Path, empty_last_page: bool
) -> None:
    server = make_emulator(0, empty_last_page=empty_last_page)
    engine = engine_on(server, tmp_path / "h.sqlite3")
    try:
        hit = hit_with_work(server, 1)
        aid = assignment_id(hit, 0)
        worker = engine.service.get_assignment(aid)[0].worker_id
        for i in range(5):
            engine.service.send_bonus(worker, aid, f"0.0{i + 1}", f"r{i}", f"T{i}")
        for by in ({"assignment_id": aid}, {"hit_id": hit}):
            payments = engine.service.list_bonus_payments(page_size=2, **by)
            assert [p.reason for p in payments] == [f"r{i}" for i in range(5)]
    finally:
        engine.history.close()


def test_review_errors_are_typed(make_emulator: Any, tmp_path: Path) -> None:
    server = make_emulator(0)
    engine = engine_on(server, tmp_path / "h.sqlite3")
    try:
        aid = assignment_id(hit_with_work(server, 1), 0)
        with pytest.raises(AssignmentNotFound):
            engine.service.approve_assignment("NOSUCHASSIGNMENT")
        server.state.assignment_lag = 1e9
        with pytest.raises(AssignmentNotVisible):
            engine.service.approve_assignment(aid)
        server.state.assignment_lag = 0.0
        engine.service.approve_assignment(aid)
        with pytest.raises(InvalidAssignmentState):
            engine.service.reject_assignment(aid, "late")
    finally:
        engine.history.close()


def test_mturks_date_is_read_as_a_time_only_when_asked(monkeypatch: pytest.MonkeyPatch) -> None:
    """A thousand approvals carry a thousand `Date` headers: each is kept as it came (the
    after-call hook), and read as a time only for the answer whose time is asked for."""
    from types import SimpleNamespace

    from turktui.adapters import mturk
    from turktui.domain.environment import Environment, EnvKind

    parsed: list[str] = []
    real = mturk.parsedate_to_datetime
    monkeypatch.setattr(mturk, "parsedate_to_datetime", lambda t: parsed.append(t) or real(t))
    service = mturk.MTurkService(Environment(EnvKind.DEMO, "http://127.0.0.1:1/"))
    for second in range(3):
        answer = SimpleNamespace(headers={"Date": f"Mon, 07 Dec 2026 20:00:0{second} GMT"})
        service._take_date(http_response=answer)
    assert parsed == []
    moment = service.server_date()
    assert parsed == ["Mon, 07 Dec 2026 20:00:02 GMT"] and moment is not None
    assert moment.second == 2 and moment.tzinfo is not None
    service._take_date(http_response=SimpleNamespace(headers={"Date": "not a date"}))
    assert service.server_date() is None
    service._take_date(http_response=None)
    assert service.server_date() is None
