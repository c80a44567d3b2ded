"""The review dialog of the assignments view: approve, reject or pay a bonus for the marked
assignments (none marked: the selected one), or approve every Submitted one.

It only collects and checks the operator's intent, and shows — before anything is sent —
what will happen: each assignment that can go, each that cannot and why (not Submitted,
already approved/rejected, past its AutoApprovalTime by MTurk's clock for a rejection, a
rejected one without the override), the feedback's rules, and the money (approval: reward
+ fee each; a bonus: amount, fee, total and the balance, and any earlier bonus of that
worker for that assignment). The words are the operations' own (`turktui.pipeline.
operations`); `AssignmentsScreen` runs the flow and the controller sends through the engine.
Service text is shown through `one_line` in `Text` objects, never as markup.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from decimal import Decimal
from typing import Any, ClassVar

from rich.text import Text
from textual import on
from textual.app import ComposeResult
from textual.binding import BindingType
from textual.containers import Horizontal, Vertical, VerticalScroll
from textual.screen import ModalScreen
from textual.widgets import Button, Checkbox, Input, Static

from turktui.domain.environment import Environment
from turktui.domain.models import Assignment, Hit
from turktui.domain.rules import InputProblem, check_bonus_amount, check_feedback, format_money
from turktui.domain.text import one_line
from turktui.domain.timefmt import until_label
from turktui.pipeline.operations import APPROVE, BONUS
from turktui.pipeline.operations.bonus import Bonus
from turktui.pipeline.operations.review import ReviewOperation
from turktui.pipeline.reviewing import BonusQuote
from turktui.ui import keymap
from turktui.ui.keys import KeyScreen, status_line
from turktui.ui.screens.dialog import dialog_title
from turktui.ui.widgets.key_line import StableFooter

#: rows listed in the dialog before "… and N more" (the body scrolls to them)
SHOWN_ROWS = 50


@dataclass(frozen=True)
class ReviewDecision:
    """What the operator asked for, checked: the assignments to send (each with its quote
    for a bonus), the operation's fields (feedback, override, amount, reason) and whether a
    second bonus was confirmed."""

    op: ReviewOperation | Bonus
    hit: Hit
    rows: tuple[Assignment, ...]
    payload: Mapping[str, Any] = field(default_factory=dict)
    quotes: tuple[BonusQuote, ...] = ()
    allow_second: bool = False

    @property
    def words(self) -> str:
        """The one line a confirmation restates, in the operation's words ('Approve 3
        assignments (about $1.80 with MTurk's fee, …)', 'Pay 2 bonuses of $1.00: …')."""
        if isinstance(self.op, Bonus):
            return self.op.ask(self.quotes)
        override = bool(self.payload.get("override_rejection"))
        pairs = ((a, self.hit) for a in self.rows)
        charge = self.op.charge(pairs, override_rejection=override)
        return self.op.ask(len(self.rows), charge)


class ReviewScreen(KeyScreen, ModalScreen[ReviewDecision | None]):
    """Dismisses with a ReviewDecision (Send) or None (Esc, Cancel)."""

    DEFAULT_CSS = """
    ReviewScreen { align: center middle; }
    ReviewScreen .field-label { margin-top: 1; }
    ReviewScreen Input { width: 100%; }
    ReviewScreen #review-rows { height: auto; }
    """

    #: the first box (a bonus's amount, else the text) has the focus as the dialog mounts
    AUTO_FOCUS = "#review-amount, #review-text"
    KEYMAP_SCREEN = "review"
    STATUS_LINE = True
    BINDINGS: ClassVar[list[BindingType]] = keymap.bindings("review")

    def __init__(
        self,
        op: ReviewOperation | Bonus,
        rows: Sequence[Assignment],
        hit: Hit,
        env: Environment,
        server: datetime | None,
        *,
        title: str,
        quotes: Sequence[BonusQuote] = (),
    ) -> None:
        """`server`: MTurk's time now (None: unknown), for the AutoApprovalTime rules;
        `quotes`: a bonus's readings per assignment (worker, earlier bonuses, balance)."""
        super().__init__()
        self.op = op
        self.rows = list(rows)
        self.hit = hit
        self.env = env
        self.server = server
        self.quotes = {q.assignment.assignment_id: q for q in quotes}
        self.title_text = title
        self.bonus = isinstance(op, Bonus)
        #: the decision as the form stands (None: nothing may be sent); `problem` says why
        self.decision: ReviewDecision | None = None
        self.problem = ""
        self.add_class("-danger")

    # -- layout ----------------------------------------------------------------------------
    def compose(self) -> ComposeResult:
        op = self.op
        with Vertical(id="review-dialog", classes="dialog") as dialog:
            dialog.border_title = dialog_title(self.title_text, self.env)
            with VerticalScroll(id="review-body", classes="dialog-body"):
                yield Static(Text(""), id="review-rows")
                if self.bonus:
                    yield Static(
                        Text.assemble(("Amount", "bold"), " in dollars, e.g. 1.50"),
                        classes="field-label",
                    )
                    yield Input(placeholder="e.g. 1.50", compact=True, id="review-amount")
                    label = Text.assemble(("Reason", "bold"), " (required; the worker reads it)")
                else:
                    label = Text.assemble(
                        ("Feedback", "bold"),
                        " to the worker" + (" (required)" if self._required else " (optional)"),
                    )
                yield Static(label, classes="field-label")
                yield Input(placeholder="at most 1,024 characters", compact=True, id="review-text")
                if op is APPROVE and any(a.status == "Rejected" for a in self.rows):
                    yield Checkbox(
                        "Approve the rejected ones too (OverrideRejection)",
                        id="review-override",
                        compact=True,
                    )
                if self.bonus and any(q.second for q in self.quotes.values()):
                    yield Checkbox(
                        "Pay although the worker already has a bonus for it (second bonus)",
                        id="review-second",
                        compact=True,
                    )
            with Vertical(id="review-decision", classes="dialog-decision"):
                yield status_line()
                yield Static(Text(""), id="review-summary", classes="decision")
                with Horizontal(classes="dialog-buttons"):
                    yield Button("Send (ctrl+s)", id="review-send", variant="error")
                    yield Button("Cancel (Esc)", id="review-cancel")
        yield StableFooter()

    def on_mount(self) -> None:
        self._update()

    @property
    def _required(self) -> bool:
        """Is the text required (a bonus's reason, a rejection's feedback)?"""
        return isinstance(self.op, Bonus) or self.op.feedback_required

    # -- the form, judged on every change -----------------------------------------------------
    def _checked(self, selector: str) -> bool:
        found = self.query(selector)
        return bool(found) and found.first(Checkbox).value

    def _value(self, selector: str) -> str:
        found = self.query(selector)
        return found.first(Input).value if found else ""

    def refusals(self, data: Mapping[str, Any]) -> dict[str, str]:
        """assignment id → why it is not sent (its status, the operation's rules, a second
        bonus not confirmed), judged on the rows as listed and MTurk's time."""
        out: dict[str, str] = {}
        for a in self.rows:
            aid = a.assignment_id
            if isinstance(self.op, Bonus):
                quote = self.quotes.get(aid)
                if quote is None:
                    out[aid] = "its worker and bonuses could not be read"
                elif quote.second and not data.get("allow_second"):
                    out[aid] = quote.second + "; tick the second-bonus box to pay another"
                continue
            refused = self.op.status_refusal(a, data, self.server)
            if refused is not None:
                out[aid] = refused.message or str(refused.values.get("note", ""))
        return out

    def _update(self) -> None:
        data: dict[str, Any] = {
            "override_rejection": self._checked("#review-override"),
            "allow_second": self._checked("#review-second"),
        }
        text = self._value("#review-text")
        refused = self.refusals(data)
        sendable = [a for a in self.rows if a.assignment_id not in refused]
        problem = ""
        amount: Decimal | None = None
        if self.bonus:
            try:
                amount = check_bonus_amount(self._value("#review-amount"))
            except InputProblem as exc:
                problem = str(exc) if self._value("#review-amount") else "enter an amount"
        try:
            feedback = check_feedback(
                text,
                required=self._required,
                what="reason" if self.bonus else "feedback",
                why="say what it is for" if self.bonus else "the worker reads it",
            )
        except InputProblem as exc:
            feedback = None
            problem = problem or str(exc)
        # A bonus is previewed (amount, fee, total) once its amount is valid, never as $0.00.
        quotes = tuple(
            self.quotes[a.assignment_id].at(amount) for a in sendable if amount is not None
        )
        total = sum((q.total for q in quotes), Decimal(0))
        if self.bonus and not problem and quotes:
            problem = BONUS.too_much(total, quotes[0].available)
        if not sendable:
            problem = "nothing can be sent (see above)"
        self.query_one("#review-rows", Static).update(self._rows_text(refused, quotes))
        self.problem = problem
        if problem:
            self.decision = None
        else:
            payload: dict[str, Any] = (
                {"amount": str(amount), "reason": feedback}
                if self.bonus
                else {"feedback": feedback}
            )
            if self.op is APPROVE:
                payload["override_rejection"] = bool(data["override_rejection"])
            self.decision = ReviewDecision(
                self.op, self.hit, tuple(sendable), payload, quotes, bool(data["allow_second"])
            )
        self.query_one("#review-summary", Static).update(
            self._summary(sendable, refused, quotes, total)
        )
        send = self.query_one("#review-send", Button)
        send.disabled = self.decision is None
        send.label = f"{self.op.send_word} {len(sendable):,} (ctrl+s)"

    def _rows_text(self, refused: Mapping[str, str], quotes: Sequence[BonusQuote]) -> Text:
        text = Text()
        by_id = {q.assignment.assignment_id: q for q in quotes}
        for i, a in enumerate(self.rows[:SHOWN_ROWS]):
            if i:
                text.append("\n")
            aid = a.assignment_id
            why = refused.get(aid)
            if why:
                text.append("\u2717 ", style="bold")
                text.append(one_line(f"{aid}: {why}"))
                continue
            text.append("\u2713 ", style="bold")
            quote = by_id.get(aid)
            if quote is not None:
                text.append(
                    one_line(
                        BONUS.preview(quote.worker, aid, quote.amount, quote.fee, quote.available)
                    )
                )
                continue
            auto = (
                f", auto-approval {until_label(a.auto_approval_time, self.server)}"
                if a.status == "Submitted" and self.server is not None
                else ""
            )
            text.append(one_line(f"{aid} \u00b7 worker {a.worker_id} \u00b7 {a.status}{auto}"))
        if len(self.rows) > SHOWN_ROWS:
            text.append(f"\n\u2026 and {len(self.rows) - SHOWN_ROWS:,} more")
        return text

    def _summary(
        self,
        sendable: Sequence[Assignment],
        refused: Mapping[str, str],
        quotes: Sequence[BonusQuote],
        total: Decimal,
    ) -> Text:
        text = Text()
        if self.decision is not None:
            text.append(one_line(self.decision.words), style="bold")
        elif self.bonus and quotes:
            text.append(f"{len(quotes):,} bonus(es): {format_money(total)} with MTurk's fee")
        else:
            n = len(sendable)
            text.append(f"{n:,} of {len(self.rows):,} can be sent")
        if refused:
            text.append(f" \u00b7 {len(refused):,} not sent (listed above)")
        if self.bonus and quotes:
            text.append(f" \u00b7 available {format_money(quotes[0].available)}")
        text.append("\n" + self.op.consequence)
        if self.problem:
            text.append("\nNot yet: " + one_line(self.problem), style="bold")
        return text

    @on(Input.Changed)
    @on(Checkbox.Changed)
    def _changed(self) -> None:
        self._update()

    @on(Input.Submitted)
    def _next_field(self) -> None:
        """Enter in a box moves on (a stray Enter never sends)."""
        self.focus_next()

    @on(Button.Pressed, "#review-send")
    def _pressed_send(self) -> None:
        self.action_submit()

    @on(Button.Pressed, "#review-cancel")
    def _pressed_cancel(self) -> None:
        self.dismiss(None)

    def action_submit(self) -> None:
        """ctrl+s / Send: the decision as shown, or (nothing may be sent) why not."""
        if self.decision is None:
            self.notify(f"Not sent: {self.problem}", severity="warning", markup=False)
            return
        self.dismiss(self.decision)

    def action_cancel(self) -> None:
        """Esc: first clear the focused box if it has text; Esc on an empty one closes."""
        if not self.clear_focused_box():
            self.dismiss(None)
