"""The extend dialog: add assignments, add time, or both, for any HIT — live range, new
maximum, cost and balance, and the resulting expiration (UTC and relative) on every keystroke.

"Add time" is a duration added to the current expiration (from now for an expired HIT), under
MTurk's rules: never shorter, 60 seconds to 365 days per change. Each part is optional; the
whole intent is one confirmation and one history record (both outcomes recorded).

It only collects and validates the operator's intent; the app's extend flow
(`ControllerApp.extend_hit`) plans, confirms (production) and runs it. Service text is
shown through `one_line` in `Text` objects, never as markup.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import ClassVar

from rich.text import Text
from textual import on
from textual.app import ComposeResult
from textual.binding import BindingType
from textual.containers import Horizontal, Vertical, VerticalScroll
from textual.screen import ModalScreen
from textual.validation import ValidationResult, Validator
from textual.widgets import Button, Input, Static

from turktui.domain.models import Hit
from turktui.domain.rules import (
    ExtensionRange,
    InputProblem,
    extension_cost,
    extension_range,
    format_money,
    new_expiration,
    parse_count,
    range_text,
)
from turktui.domain.text import one_line
from turktui.domain.timefmt import expires_label, iso, parse_duration
from turktui.ui import keymap
from turktui.ui.context import AppContext
from turktui.ui.keys import KeyScreen, available_balance, read_only, status_line
from turktui.ui.screens.dialog import dialog_title
from turktui.ui.widgets.key_line import KeyLine

DEFAULT_EXPIRE_IN = "1d"
NOTHING_YET = "Enter the number of assignments to add, a time to add, or both."


@dataclass(frozen=True, slots=True)
class ExtendRequest:
    """What the operator asked for (validated by the rules, not yet planned)."""

    hit: Hit
    n: int
    expire_at: datetime | None = None


@dataclass(frozen=True, slots=True)
class Decision:
    """What the decision lines and the submit button show for the dialog's state."""

    preview: Text
    #: why it cannot be sent yet (None: it can)
    problem: str | None
    label: str

    @property
    def problem_text(self) -> Text:
        return Text(one_line(self.problem or ""))


class CountValidator(Validator):
    """Textual validator wrapping `parse_count` so the Input shows the same message."""

    def __init__(self, rng: ExtensionRange) -> None:
        super().__init__()
        self.rng = rng

    def validate(self, value: str) -> ValidationResult:
        if value == "":  # optional: no assignments (time only)
            return self.success()
        try:
            parse_count(value, self.rng)
        except InputProblem as exc:
            return self.failure(str(exc))
        return self.success()


def plural(n: int, word: str) -> str:
    return f"{n:,} {word}{'' if n == 1 else 's'}"


class ExtendScreen(KeyScreen, ModalScreen[ExtendRequest | None]):
    """Dismisses with an ExtendRequest (submit) or None (cancel)."""

    #: The box itself (width, border, docked decision part) is app.tcss's `.dialog`.
    DEFAULT_CSS = """
    ExtendScreen { align: center middle; }
    ExtendScreen #extend-env.-production { background: red; color: white; text-style: bold; }
    ExtendScreen #extend-problem { color: $error; }
    ExtendScreen #extend-blocked { color: $warning; }
    ExtendScreen #extend-expired { color: $warning; }
    ExtendScreen .field-label { margin-top: 1; }
    ExtendScreen .field-label.-tight { margin-top: 0; }
    ExtendScreen Input { width: 100%; }
    """

    #: The focus at once on the first box there is (else Cancel/Close), as the screen mounts:
    #: not first on the scrolling body (Textual's "*") and then moved (each move restyles).
    AUTO_FOCUS = "#extend-count, #extend-expire, #extend-cancel"
    KEYMAP_SCREEN = "extend"
    STATUS_LINE = True
    BINDINGS: ClassVar[list[BindingType]] = keymap.bindings("extend")

    def __init__(self, hit: Hit, ctx: AppContext) -> None:
        super().__init__()
        self.hit = hit
        self.ctx = ctx
        self.rng = extension_range(hit.max_assignments, hit.created)
        self.expired = hit.is_expired(ctx.clock())
        self.count: int | None = None
        #: The count box is empty (no assignments: time only, if a time is given).
        self.count_empty = True
        self.problem: str | None = None
        self.expire_at: datetime | None = None
        self.expire_problem: str | None = None
        #: Can any time be added at all? (a HIT that expired over a year ago cannot: MTurk
        #: moves an expiration by at most 365 days, measured from the current one)
        self.time_possible = self._time_possible()
        #: what the time box holds when the dialog opens
        self.expire_text = ""
        if self.expired and self.time_possible:
            # An expired HIT: time is offered at once (counted from now), when MTurk allows it.
            self._update_expiration(DEFAULT_EXPIRE_IN)
            if self.expire_problem is None:
                self.expire_text = DEFAULT_EXPIRE_IN
            else:
                self.expire_at, self.expire_problem = None, None
        if ctx.env.is_production:
            self.add_class("-production")

    # -- layout ----------------------------------------------------------------------------
    def compose(self) -> ComposeResult:
        env = self.ctx.env
        with Vertical(id="extend-dialog", classes="dialog") as dialog:
            # The environment in words on the border: it survives NO_COLOR and 16 colours.
            dialog.border_title = dialog_title("Add assignments and/or time", env)
            with VerticalScroll(id="extend-body", classes="dialog-body"):
                if env.is_production:
                    yield Static(
                        Text(env.kind.banner + " — real workers, real money"),
                        id="extend-env",
                        classes="-production",
                    )
                yield Static(self._hit_text(), id="extend-hit", markup=False)
                yield from self._compose_fields()
            with Vertical(id="extend-decision", classes="dialog-decision"):
                yield status_line()
                # Composed with their final content: the dialog is laid out and drawn once.
                decision = self._decision() if self._editable else None
                if self._editable and self.rng.extendable:
                    yield Static(Text(range_text(self.rng)), id="extend-range", classes="decision")
                if decision is not None:
                    yield Static(decision.preview, id="extend-preview", classes="decision")
                    yield Static(decision.problem_text, id="extend-problem", classes="decision")
                with Horizontal(id="extend-buttons", classes="dialog-buttons"):
                    if decision is not None:
                        yield Button(
                            decision.label,
                            id="extend-submit",
                            variant="primary",
                            disabled=decision.problem is not None,
                        )
                    yield Button(
                        "Cancel" if self.rng.extendable or self.time_possible else "Close",
                        id="extend-cancel",
                    )
        yield KeyLine()  # one widget, not one per key: the dialog opens at every `e`

    @property
    def _editable(self) -> bool:
        return not read_only(self) and (self.rng.extendable or self.time_possible)

    def _compose_fields(self) -> ComposeResult:
        if read_only(self):
            yield Static(Text(keymap.read_only_refusal("extending")), id="extend-blocked")
            return
        if not self.rng.extendable and not self.time_possible:
            yield Static(
                Text(
                    range_text(self.rng) + " No time can be added either: it "
                    "expired more than 365 days ago."
                ),
                id="extend-blocked",
            )
            return
        if not self.rng.extendable:
            yield Static(
                Text(range_text(self.rng) + " Time can still be added."), id="extend-blocked"
            )
        else:
            yield Static(Text("Assignments to add (optional)", style="bold"), classes="field-label")
            yield Input(
                placeholder=f"{self.rng.low:,}\u2013{self.rng.high:,} (empty: none)",
                validators=[CountValidator(self.rng)],
                validate_on=["changed", "submitted"],
                restrict=None,
                compact=True,
                id="extend-count",
            )
        if self.expired:
            yield Static(
                Text(
                    "This HIT has expired: added assignments will not reopen it "
                    "unless time is added too."
                ),
                id="extend-expired",
            )
        yield Static(
            Text.assemble(
                ("Time to add (optional)", "bold"),
                " e.g. 6h, 1d, 1w; "
                + ("from now (expired)" if self.expired else "added to the expiration"),
            ),
            classes="field-label -tight" if self.rng.extendable else "field-label",
        )
        with self.prevent(Input.Changed):  # its value is the state __init__ worked out
            expire = Input(
                self.expire_text,
                placeholder="empty: expiration unchanged",
                compact=True,
                id="extend-expire",
            )
        yield expire

    def on_mount(self) -> None:
        # The preview follows the balance (it may arrive, or change, while the dialog is open).
        self.watch(self.app, "balance", self._refresh, init=False)

    def _time_possible(self) -> bool:
        now = self.ctx.clock()
        try:
            new_expiration(self.hit.expiration, 3600, now)
        except InputProblem:
            return False
        return not self.hit.problem

    def _hit_text(self) -> Text:
        hit = self.hit
        now = self.ctx.clock()
        text = Text()
        text.append("HIT ", style="dim")
        text.append(one_line(hit.hit_id))
        text.append("\n")
        text.append(one_line(hit.title, max_length=78) or "(untitled)", style="bold")
        text.append("\n")
        text.append(
            f"Status {one_line(hit.status) or '?'} \u00b7 max {hit.max_assignments:,} "
            f"\u00b7 available {hit.available:,} \u00b7 pending {hit.pending:,} "
            f"\u00b7 completed {hit.completed:,}\n"
        )
        text.append(
            f"Created {iso(hit.created)} \u00b7 expires {iso(hit.expiration)} "
            f"({expires_label(hit.expiration, now)}) \u00b7 reward "
            f"{format_money(hit.reward)}"
        )
        return text

    # -- live updates ----------------------------------------------------------------------
    @on(Input.Changed, "#extend-count")
    def _count_changed(self, event: Input.Changed) -> None:
        self.count_empty = event.value == ""
        if self.count_empty:
            self.count, self.problem = None, None
            self._refresh()
            return
        try:
            self.count = parse_count(event.value, self.rng)
            self.problem = None
        except InputProblem as exc:
            self.count = None
            self.problem = str(exc)
        self._refresh()

    @on(Input.Changed, "#extend-expire")
    def _expire_changed(self, event: Input.Changed) -> None:
        self._update_expiration(event.value)
        self._refresh()

    def _update_expiration(self, value: str) -> None:
        if not value.strip():
            self.expire_at, self.expire_problem = None, None
            return
        try:
            seconds = parse_duration(value)
        except ValueError as exc:
            self.expire_at, self.expire_problem = None, str(exc)
            return
        # Added to the current expiration; from now once the HIT has expired; MTurk's
        # rules (no shortening, 60 s to 365 days later), naming the current one.
        try:
            self.expire_at = new_expiration(self.hit.expiration, seconds, self.ctx.clock())
        except InputProblem as exc:
            self.expire_at, self.expire_problem = None, str(exc)
            return
        self.expire_problem = None

    def preview_text(self) -> Text:
        """New maximum, cost with fee tier, balance and whether it suffices."""
        text = Text()
        balance = available_balance(self)
        if self.count is None:
            text.append(f"Balance available: {format_money(balance)}")
            text.append(self._expiration_line())
            return text
        n = self.count
        new_max = self.hit.max_assignments + n
        text.append(
            f"New maximum: {self.hit.max_assignments:,} \u2192 {new_max:,} "
            f"(+{plural(n, 'assignment')})\n"
        )
        if self.hit.reward is None:
            text.append("Estimated cost: unknown (the HIT's reward is unknown)\n")
        else:
            cost = extension_cost(self.hit.reward, n, new_max)
            text.append(
                f"Estimated cost: {format_money(cost.total)} = "
                f"{format_money(cost.rewards)} rewards + {format_money(cost.fee)} fee "
                f"({cost.tier})\n"
            )
            if balance is None:
                text.append("Balance available: unknown", style="")
            elif cost.total <= balance:
                text.append(f"Balance available: {format_money(balance)} \u2014 enough")
            else:
                text.append(
                    f"Balance available: {format_money(balance)} \u2014 NOT enough "
                    f"(short {format_money(cost.total - balance)})",
                    style="bold",
                )
        text.append(self._expiration_line())
        return text

    def _expiration_line(self) -> str:
        """'Expiration: A → B (in 3 d)', or what happens to it without a time."""
        now = self.ctx.clock()
        if self.expire_at is not None:
            return (
                f"\nExpiration: {iso(self.hit.expiration)} \u2192 {iso(self.expire_at)} "
                f"({expires_label(self.expire_at, now)})"
            )
        if self.expired:
            return "\nExpiration: unchanged (the HIT stays expired)"
        return (
            f"\nExpiration: unchanged ({iso(self.hit.expiration)}, "
            f"{expires_label(self.hit.expiration, now)})"
        )

    def insufficient(self) -> bool:
        balance = available_balance(self)
        if self.count is None or balance is None or self.hit.reward is None:
            return False
        new_max = self.hit.max_assignments + self.count
        return extension_cost(self.hit.reward, self.count, new_max).total > balance

    def _decision(self) -> Decision:
        """What the decision lines and the submit button say for what is typed now."""
        problem = self.problem
        if (
            problem is None
            and self.count is None
            and self.expire_at is None
            and not self.expire_problem
        ):
            problem = NOTHING_YET
        if problem is None and self.expire_problem:
            problem = f"Expiration: {self.expire_problem}"
        if problem is None and self.insufficient():
            problem = "The available balance does not cover this cost."
        if self.count is not None and self.expire_at is not None:
            label = "Add both"
        elif self.count is None and self.expire_at is not None:
            label = "Add time"
        else:
            label = "Add assignments"
        return Decision(self.preview_text(), problem, label)

    def _refresh(self) -> None:
        if read_only(self) or not self.query("#extend-preview"):
            return
        decision = self._decision()
        self.query_one("#extend-preview", Static).update(decision.preview)
        self.query_one("#extend-problem", Static).update(decision.problem_text)
        button = self.query_one("#extend-submit", Button)
        button.disabled = decision.problem is not None
        button.label = decision.label

    @property
    def can_submit(self) -> bool:
        buttons = self.query("#extend-submit")
        return bool(buttons) and not buttons.first(Button).disabled

    # -- actions ---------------------------------------------------------------------------
    @on(Input.Submitted)
    def _submitted(self, event: Input.Submitted) -> None:
        event.stop()
        self.action_submit()

    @on(Button.Pressed, "#extend-submit")
    def _pressed_submit(self) -> None:
        self.action_submit()

    @on(Button.Pressed, "#extend-cancel")
    def _pressed_cancel(self) -> None:
        self.dismiss(None)

    def action_submit(self) -> None:
        if not self.can_submit or (self.count is None and self.expire_at is None):
            self.app.bell()
            return
        self.dismiss(ExtendRequest(self.hit, self.count or 0, self.expire_at))

    def action_cancel(self) -> None:
        """Esc: first clear the focused box if it has text; Esc on an empty one closes."""
        if not self.clear_focused_box():
            self.dismiss(None)
