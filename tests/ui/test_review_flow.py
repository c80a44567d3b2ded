"""Issue 22, the app: the assignments view reviews and pays (approve, reject, bonus, approve
all submitted) on the marked rows or the cursor row, through the review dialog, the
engine (the command line's functions) and the history; refusals are shown before anything
is sent; every dialog fits. One app per test, several checks each."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

from textual.widgets import Checkbox, Input, Static

from tests.fit import fit_problems
from tests.reviewkit import hit_with_work
from tests.ui.helpers import screen_text, wait_for, wait_loaded, wait_screen
from turktui.domain.environment import EnvKind
from turktui.domain.models import Balance
from turktui.ui import extend_flow
from turktui.ui.app import TurkTuiApp
from turktui.ui.screens.assignments import AssignmentsScreen
from turktui.ui.screens.confirm import ConfirmScreen
from turktui.ui.screens.history import record_cells, record_text
from turktui.ui.screens.review import ReviewScreen

KEYS = ("AKIDTEST", "secret")


async def _open(pilot: Any, hit_id: str) -> AssignmentsScreen:
    app = pilot.app
    await wait_loaded(pilot)
    assert app.main_screen.table.move_to_hit(hit_id)
    await pilot.press("A")
    await wait_screen(pilot, "AssignmentsScreen")
    screen = app.screen
    await wait_for(pilot, lambda: screen.loads > 0, what="the assignments")
    return screen  # type: ignore[no-any-return]


def _text(screen: Any, selector: str) -> str:
    return str(screen.query_one(selector, Static).render())


def _status(screen: AssignmentsScreen) -> str:
    line = screen.query_one("#asg-status", Static)
    return str(line.render()) if line.display else ""


async def _type(pilot: Any, box: Input, text: str) -> None:
    box.focus()
    box.value = text
    await pilot.pause()


def _records(app: TurkTuiApp, operation: str) -> list[Any]:
    store = extend_flow.get_history(app)
    assert store is not None
    return [r for r in store.query(limit=100) if r.operation == operation]


async def test_approve_marked_refusal_shown_then_approve_all_total(
    make_emulator: Any, make_context: Any
) -> None:
    server = make_emulator(0)
    hit_id = hit_with_work(server, 3, NumberOfAssignmentsCompleted=2, Title="Review me")
    app = TurkTuiApp(make_context(server.url))
    async with app.run_test(size=(80, 24)) as pilot:
        screen = await _open(pilot, hit_id)
        rows = screen.loaded
        assert rows is not None and len(rows) == 5
        text = screen_text(app)
        # status, worker, submit time, time to auto-approval (MTurk's clock), the answer
        for word in ("Status", "Worker id", "Submitted", "Auto-appr", "Answer", "in 2d"):
            assert word in text, word
        first = screen.table.cursor_row
        assert first is not None and first.answer
        assert f"Answer of {first.assignment_id}: {first.answer}" in _text(screen, "#asg-answer")
        assert fit_problems(app) == []

        # Mark the two Submitted rows and an Approved one (the main list's mark key).
        submitted = [a for a in rows if a.status == "Submitted"]
        approved = next(a for a in rows if a.status == "Approved")
        model = screen.table.model
        for a in (*submitted[:2], approved):
            assert screen.table.move_to_key(a.assignment_id)
            await pilot.press("space")
        assert len(model.marked) == 3 and "3 marked" in _text(screen, "#asg-counts")
        await pilot.press("Y")
        await wait_screen(pilot, "ReviewScreen")
        dialog = app.screen
        body = _text(dialog, "#review-rows")
        # the refusal, before anything is sent
        assert f"\u2717 {approved.assignment_id}: Already approved" in body
        summary = _text(dialog, "#review-summary")
        assert "Approve 2 assignments (about $2.40 with MTurk's fee" in summary
        assert "1 not sent" in summary
        assert fit_problems(app) == []
        await pilot.press("ctrl+s")
        await wait_for(pilot, lambda: "Approved 2 of 2 assignments." in _status(screen))
        await wait_for(pilot, lambda: screen.loaded is not None and screen.loads > 1)
        assert model.marked == {approved.assignment_id}  # what went through is unmarked
        recorded = {r.subject: r for r in _records(app, "approve")}
        assert set(recorded) == {a.assignment_id for a in submitted[:2]}
        for a in submitted[:2]:
            record = recorded[a.assignment_id]
            assert record.state.value == "succeeded"
            assert record.data["worker_id"] == a.worker_id and record.data["amount"] == "1.00"
            # the history shows what it did, to whom, for how much
            cells = record_cells(record, wide=True)
            assert (cells[4], cells[5]) == ("approve", "\u2014")
            shown = str(record_text(record))
            for line in ("Operation", a.assignment_id, a.worker_id, "$1.00"):
                assert line in shown, line
        statuses = {a.assignment_id: a.status for a in app.ctx.service.list_assignments(hit_id)}
        assert [statuses[a.assignment_id] for a in submitted[:2]] == ["Approved", "Approved"]

        # Approve all submitted: the one left, with what approval charges.
        await wait_for(pilot, lambda: screen.loaded is not None)
        await pilot.press("P")
        await wait_screen(pilot, "ReviewScreen")
        dialog = app.screen
        assert "Approve all 1 submitted" in screen_text(app)
        assert "Approve 1 assignment (about $1.20" in _text(dialog, "#review-summary")
        await pilot.press("escape")
        await wait_for(pilot, lambda: "Cancelled: nothing was sent." in _status(screen))
        assert len(_records(app, "approve")) == 2


async def test_reject_needs_feedback_and_a_confirmation(
    make_emulator: Any, make_context: Any
) -> None:
    server = make_emulator(0)
    hit_id = hit_with_work(server, 2, Title="Reject me")
    app = TurkTuiApp(make_context(server.url, EnvKind.SANDBOX, credentials=KEYS))
    async with app.run_test(size=(160, 48)) as pilot:
        screen = await _open(pilot, hit_id)
        target = screen.table.cursor_row
        assert target is not None and target.status == "Submitted"
        await pilot.press("N")
        await wait_screen(pilot, "ReviewScreen")
        dialog = app.screen
        assert isinstance(dialog, ReviewScreen)
        assert "Feedback to the worker (required)" in screen_text(app)
        # refused without feedback: said on the dialog's line, nothing recorded
        await pilot.press("ctrl+s")
        await wait_for(pilot, lambda: "feedback" in screen_text(app).split("Not sent:")[-1])
        assert app.screen is dialog and _records(app, "reject") == []
        assert "Not yet:" in _text(dialog, "#review-summary")
        await _type(pilot, dialog.query_one("#review-text", Input), "Did not follow the task.")
        assert "Reject 1 assignment" in _text(dialog, "#review-summary")
        assert fit_problems(app) == []
        await pilot.press("ctrl+s")
        # sandbox: a rejection is confirmed once more
        await wait_screen(pilot, "ConfirmScreen")
        assert isinstance(app.screen, ConfirmScreen)
        assert "Workers are not paid for rejected work" in screen_text(app)
        await pilot.press("y")
        await wait_for(pilot, lambda: "Rejected 1 of 1 assignment." in _status(screen))
        [record] = _records(app, "reject")
        assert record.subject == target.assignment_id
        assert record.data["feedback"] == "Did not follow the task."
        assert record.data["worker_id"] == target.worker_id
        assert app.ctx.service.get_assignment(target.assignment_id)[0].status == "Rejected"


async def test_bonus_preview_then_a_second_names_the_first(
    make_emulator: Any, make_context: Any
) -> None:
    server = make_emulator(0)
    hit_id = hit_with_work(server, 1, Title="Pay me")
    app = TurkTuiApp(make_context(server.url))
    async with app.run_test(size=(80, 24)) as pilot:
        screen = await _open(pilot, hit_id)
        target = screen.table.cursor_row
        assert target is not None
        # The preview reads the app's balance (its one owner), not a copy of its own.
        await wait_for(pilot, lambda: app.balance is not None, what="the balance")
        app.balance = Balance(Decimal("123.45"))
        flights: list[tuple[str, ...]] = []
        app.watch(app, "in_flight", lambda now: flights.append(now), init=False)
        await pilot.press("dollar_sign")
        await wait_screen(pilot, "ReviewScreen")
        dialog = app.screen
        await pilot.pause()
        # No amount yet: nothing previewed as a $0.00 bonus, and it says what is missing.
        assert "$0.00" not in _text(dialog, "#review-rows")
        assert "Not yet: enter an amount" in _text(dialog, "#review-summary")
        await _type(pilot, dialog.query_one("#review-amount", Input), "1.50")
        await _type(pilot, dialog.query_one("#review-text", Input), "Great work")
        body = _text(dialog, "#review-rows")
        for figure in ("Bonus $1.50", "fee $0.30", "total $1.80", "available $123.45"):
            assert figure in body, figure
        assert "Pay 1 bonus of $1.50: $1.80 with MTurk's fee" in _text(dialog, "#review-summary")
        assert fit_problems(app) == []
        await pilot.press("ctrl+s")
        await wait_for(pilot, lambda: "Paid 1 of 1 bonus." in _status(screen))
        # in flight while it was sent: the app's requests in flight (the status line's)
        assert any("Pay 1 bonus" in label for now in flights for label in now), flights
        assert app.in_flight == ()
        [record] = _records(app, "bonus")
        assert record.data["amount"] == "1.50" and record.data["worker_id"] == target.worker_id
        assert record.data["assignment_id"] == target.assignment_id
        shown = str(record_text(record))
        assert "Reason" in shown and "Great work" in shown and "$1.50" in shown

        # Again: the dialog names the earlier bonus; nothing goes without the tick.
        await wait_for(pilot, lambda: screen.loaded is not None)
        await pilot.press("dollar_sign")
        await wait_screen(pilot, "ReviewScreen")
        dialog = app.screen
        await _type(pilot, dialog.query_one("#review-amount", Input), "1.50")
        await _type(pilot, dialog.query_one("#review-text", Input), "Great work")
        assert "already has 1 bonus(es) for this assignment" in _text(dialog, "#review-rows")
        assert dialog.decision is None
        dialog.query_one("#review-second", Checkbox).value = True
        await pilot.pause()
        assert dialog.decision is not None and dialog.decision.allow_second
        await pilot.press("escape", "escape")  # the first clears the focused box
        await wait_for(pilot, lambda: app.screen is screen)
        assert len(_records(app, "bonus")) == 1
