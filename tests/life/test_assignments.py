"""Assignments of a HIT: ListAssignmentsForHIT over loopback (every page, validated), and the
read-only assignments screen opened with `A` from the list and from the detail view."""

from __future__ import annotations

from typing import Any

import pytest

from tests.hostile.servers import HostileServer, json_answer
from tests.ui.helpers import screen_text, wait_for, wait_loaded
from turktui.adapters.mturk import MTurkService
from turktui.domain.environment import Environment, EnvKind
from turktui.domain.errors import UnexpectedResponse
from turktui.domain.models import count_by_status
from turktui.emulator import EmulatorServer
from turktui.ui.app import TurkTuiApp
from turktui.ui.screens.assignments import AssignmentsScreen
from turktui.ui.screens.detail import DetailScreen

pytestmark = pytest.mark.timeout(60)
OP = "ListAssignmentsForHIT"


@pytest.fixture(scope="module")
def busy() -> EmulatorServer:
    with EmulatorServer(hits=120, seed=4) as srv:
        yield srv


def demo_service(url: str) -> MTurkService:
    return MTurkService(Environment(EnvKind.DEMO, url), read_timeout=5, connect_timeout=1)


def with_work(srv: EmulatorServer, least: int = 150) -> str:
    """A seeded HIT with more than one page of work, some of it still Submitted."""
    for hit_id in srv.state.hit_ids():
        raw = srv.state.get_hit_raw(hit_id)
        listed = (
            raw["MaxAssignments"]
            - raw["NumberOfAssignmentsPending"]
            - raw["NumberOfAssignmentsAvailable"]
        )
        if listed >= least and listed > raw["NumberOfAssignmentsCompleted"]:
            return hit_id
    raise AssertionError("no seeded HIT has that much work")


def test_every_page_is_listed_and_matches_the_hit(busy: EmulatorServer) -> None:
    hit_id = with_work(busy)
    raw = busy.state.get_hit_raw(hit_id)
    calls = busy.state.request_count(OP)
    rows = demo_service(busy.url).list_assignments(hit_id)
    expected = (
        raw["MaxAssignments"]
        - raw["NumberOfAssignmentsPending"]
        - raw["NumberOfAssignmentsAvailable"]
    )
    assert len(rows) == expected and len({a.assignment_id for a in rows}) == expected
    # every page, once, and the empty page that ends an MTurk listing (FIDELITY.md)
    assert busy.state.request_count(OP) - calls == -(-expected // 100) + 1
    counts = count_by_status(rows)
    assert counts["Approved"] + counts["Rejected"] == raw["NumberOfAssignmentsCompleted"]
    assert counts["Submitted"] > 0
    assert all(a.hit_id == hit_id and a.worker_id.startswith("A") and not a.problem for a in rows)
    assert all(
        a.accept_time is not None and a.submit_time is not None and a.accept_time <= a.submit_time
        for a in rows
    )
    assert len({a.worker_id for a in rows}) == len(rows)  # one assignment per worker


def _assignment(i: int, hit_id: str = "H1") -> dict[str, Any]:
    return {
        "AssignmentId": f"ASG{i:027d}",
        "WorkerId": f"AWORKER{i:07d}",
        "HITId": hit_id,
        "AssignmentStatus": "Submitted",
        "AcceptTime": 1.7e9,
        "SubmitTime": 1.7e9 + 60,
    }


@pytest.mark.parametrize(
    ("pages", "text"),
    [
        ([{"Assignments": [_assignment(1, "OTHER")]}], "another HIT"),
        (
            [
                {"Assignments": [_assignment(1)], "NextToken": "T"},
                {"Assignments": [_assignment(2)], "NextToken": "T"},
            ],
            "repeated the page token",
        ),
        (
            [
                {"Assignments": [_assignment(1)], "NextToken": "T1"},
                {"Assignments": [_assignment(1)]},
            ],
            "repeats assignment",
        ),
        ([{"Assignments": {"not": "a list"}}], "not a list"),
        ([{"Assignments": ["text"]}], "not an object"),
    ],
)
def test_a_hostile_listing_is_refused(pages: list[dict[str, Any]], text: str) -> None:
    answers = iter(pages)

    def responder(op: str, request: dict[str, Any], handler: Any) -> Any:
        return json_answer(next(answers, {"Assignments": []}))

    with HostileServer(responder) as server:
        svc = MTurkService(
            Environment(EnvKind.CUSTOM, server.url),
            credentials=("AKIDTESTTESTTEST0000", "secret"),
            read_timeout=5,
            connect_timeout=1,
            max_attempts=1,
        )
        with pytest.raises(UnexpectedResponse, match=text):
            svc.list_assignments("H1")


def test_an_unreadable_assignment_is_shown_not_trusted() -> None:
    bad = {**_assignment(1), "AssignmentStatus": "Teleported", "AcceptTime": "yesterday"}

    def responder(op: str, request: dict[str, Any], handler: Any) -> Any:
        return json_answer({"Assignments": [bad, _assignment(2)]})

    with HostileServer(responder) as server:
        svc = MTurkService(
            Environment(EnvKind.CUSTOM, server.url),
            credentials=("AKIDTESTTESTTEST0000", "secret"),
            read_timeout=5,
            connect_timeout=1,
            max_attempts=1,
        )
        rows = svc.list_assignments("H1")
    assert [bool(a.problem) for a in rows] == [True, False]
    assert "AssignmentStatus" in rows[0].problem


async def test_a_opens_the_assignments_from_the_list_and_the_detail(
    busy: EmulatorServer, make_context: Any
) -> None:
    hit_id = with_work(busy)
    raw = busy.state.get_hit_raw(hit_id)
    app = TurkTuiApp(make_context(busy.url, EnvKind.DEMO))
    async with app.run_test(size=(120, 36)) as pilot:
        await wait_loaded(pilot)
        assert app.main_screen.table.move_to_key(hit_id)
        await pilot.pause()
        await pilot.press("A")
        await wait_for(
            pilot, lambda: isinstance(app.screen, AssignmentsScreen) and app.screen.loads > 0
        )
        screen = app.screen
        assert screen.loaded is not None and not screen.error
        counts = count_by_status(screen.loaded)
        text = screen_text(app)
        assert f"{len(screen.loaded):,} listed" in text
        assert f"{counts['Submitted']:,} Submitted" in text
        assert counts["Approved"] + counts["Rejected"] == raw["NumberOfAssignmentsCompleted"]
        for label in (  # (the accept time is the first to go on narrower terminals)
            "Assignment id",
            "Worker id",
            "Status",
            "Submitted",
            "Auto-approval",
            "Answer",
        ):
            assert label in text
        first = screen.table.cursor_row
        assert first is not None and first.assignment_id in text and first.worker_id in text
        await pilot.press("escape")
        await wait_for(pilot, lambda: not isinstance(app.screen, AssignmentsScreen))
        # From the detail view.
        await pilot.press("enter")
        await wait_for(pilot, lambda: isinstance(app.screen, DetailScreen))
        await pilot.press("A")
        await wait_for(
            pilot, lambda: isinstance(app.screen, AssignmentsScreen) and app.screen.loads > 0
        )
        assert app.screen.hit.hit_id == hit_id
        await pilot.press("escape")
        await wait_for(pilot, lambda: isinstance(app.screen, DetailScreen))


async def test_a_failed_listing_says_so_in_one_line(make_context: Any) -> None:
    def responder(op: str, request: dict[str, Any], handler: Any) -> Any:
        if op == "ListAssignmentsForHIT":
            return json_answer({"Assignments": "broken"})
        if op == "ListHITs":
            from tests.hostile.servers import hit_json

            return json_answer({"HITs": [hit_json()], "NumResults": 1})
        return json_answer({"AvailableBalance": "10.00"})

    with HostileServer(responder) as server:
        app = TurkTuiApp(
            make_context(server.url, EnvKind.CUSTOM, credentials=("AKIDTESTTESTTEST0000", "secret"))
        )
        async with app.run_test(size=(120, 36)) as pilot:
            await wait_loaded(pilot)
            await pilot.press("A")
            await wait_for(
                pilot, lambda: isinstance(app.screen, AssignmentsScreen) and app.screen.loads > 0
            )
            assert "Could not list the assignments" in screen_text(app)
            assert app.screen.loaded is None
