"""Everything about one HIT, wrapped, service text shown literally.

Text fields longer than `DISPLAY_LIMIT` characters (a 1 MB title from a hostile or broken
service) are cut for display, with a note; the full value stays in the model and is copied
whole with `t` (title) / `D` (description)."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, ClassVar

from rich.cells import cell_len
from rich.style import Style
from rich.table import Table
from rich.text import Text
from textual.app import ComposeResult
from textual.binding import BindingType
from textual.containers import VerticalScroll
from textual.geometry import Size
from textual.screen import Screen
from textual.strip import Strip
from textual.widget import Widget

from turktui.domain.models import Hit, display_text
from turktui.domain.rules import extension_range, format_money, range_text
from turktui.domain.text import sanitize
from turktui.domain.timefmt import ago_label, expires_label, iso
from turktui.ui import keymap
from turktui.ui.context import AppContext
from turktui.ui.keys import KeyScreen
from turktui.ui.messages import ExpireWanted
from turktui.ui.widgets.env_banner import EnvBanner
from turktui.ui.widgets.key_line import KeyLine

if TYPE_CHECKING:
    from turktui.ui.host import TurkHost

#: Well-known system qualification type ids, named for people.
KNOWN_QUALS = {
    "000000000000000000L0": "Percent assignments approved",
    "00000000000000000040": "Number of HITs approved",
    "00000000000000000071": "Worker locale",
    "00000000000000000060": "Adult content",
    "2F1QJWKUDD8XADTFD2Q0G6UTO95ALH": "Masters (production)",
    "2ARFPLSP75KLA8M8DH1HTEQFJT3SY6": "Masters (sandbox)",
}


def duration_words(seconds: int) -> str:
    if seconds <= 0:
        return "?"
    parts = []
    for unit, size in (("d", 86400), ("h", 3600), ("min", 60), ("s", 1)):
        if seconds >= size:
            parts.append(f"{seconds // size} {unit}")
            seconds %= size
    return " ".join(parts[:2])


def qual_text(q: dict[str, Any]) -> str:
    qid = sanitize(q.get("QualificationTypeId", "?"))
    name = KNOWN_QUALS.get(str(q.get("QualificationTypeId")), "")
    out = f"{name} ({qid})" if name else qid
    comparator = sanitize(q.get("Comparator", ""))
    values: list[str] = []
    ints = q.get("IntegerValues")
    if isinstance(ints, list):
        values += [sanitize(v) for v in ints]
    locales = q.get("LocaleValues")
    if isinstance(locales, list):
        for loc in locales:
            if isinstance(loc, dict):
                country = sanitize(loc.get("Country", "?"))
                sub = loc.get("Subdivision")
                values.append(f"{country}-{sanitize(sub)}" if sub else country)
    out += f" {comparator}"
    if values:
        out += " " + ", ".join(values)
    guard = q.get("ActionsGuarded")
    if guard:
        out += f" [guards {sanitize(guard)}]"
    elif q.get("RequiredToPreview"):
        out += " [required to preview]"
    return out


def detail_rows(hit: Hit, ctx: AppContext) -> list[tuple[str, Text]]:
    """(label, value) for every field of `hit`; values are sanitized `Text`."""
    now = ctx.clock()
    rng = extension_range(hit.max_assignments, hit.created)

    def lit(value: object) -> Text:
        # Cut before sanitising and laying out: both cost time per character.
        text = display_text(value) if isinstance(value, str) else value
        return Text(sanitize(text, keep_newlines=True) or "\u2014", overflow="fold")

    rows: list[tuple[str, Text]] = []
    if hit.problem:
        rows.append(
            (
                "\u26a0 Unreadable",
                Text(
                    f"MTurk sent data turktui cannot trust ({hit.problem}); shown as received, "
                    "never extended.",
                    style="bold",
                    overflow="fold",
                ),
            )
        )
    rows += [
        ("HIT id", lit(hit.hit_id)),
        ("Title", lit(hit.title)),
        ("Status", lit(hit.status)),
        ("Review status", lit(hit.review_status)),
        (
            "Assignments",
            Text(
                f"max {hit.max_assignments:,} \u00b7 available {hit.available:,} \u00b7 "
                f"pending {hit.pending:,} \u00b7 completed {hit.completed:,}"
            ),
        ),
        ("Reward", Text(format_money(hit.reward))),
        ("Created", Text(f"{iso(hit.created)} ({ago_label(hit.created, now)})")),
        ("Expires", Text(f"{iso(hit.expiration)} ({expires_label(hit.expiration, now)})")),
        ("Headroom", Text(f"{rng.label} \u2014 {range_text(rng)}", overflow="fold")),
        ("Assignment duration", Text(duration_words(hit.assignment_duration))),
        ("Auto-approval delay", Text(duration_words(hit.auto_approval_delay))),
        ("HIT type id", lit(hit.hit_type_id)),
        ("HIT group id", lit(hit.hit_group_id)),
        ("Layout id", lit(hit.layout_id)),
        ("Keywords", lit(hit.keywords)),
        ("Annotation", lit(hit.annotation)),
    ]
    quals = Text(
        display_text("\n".join(qual_text(q) for q in hit.qualification_requirements)) or "none",
        overflow="fold",
    )
    rows.append(("Qualifications", quals))
    rows.append(("Description", lit(hit.description)))
    return rows


def detail_renderable(hit: Hit, ctx: AppContext) -> Table:
    """The same rows as a Rich table (for printing; the screen uses `DetailBody`)."""
    grid = Table.grid(padding=(0, GAP), expand=True)
    grid.add_column(style="bold", no_wrap=True)
    grid.add_column(ratio=1, overflow="fold")
    for label, value in detail_rows(hit, ctx):
        grid.add_row(label, value)
    return grid


#: cells between the label column and the values
GAP = 2


class DetailBody(Widget):
    """Labels in a column, values wrapped beside them (folding long words), drawn line by
    line. A Rich table in a Static laid the whole table out twice per frame (height, then
    lines): a third of the time from `Enter` to the detail on screen. Here each width is
    wrapped once and kept."""

    DEFAULT_CSS = "DetailBody { height: auto; }"

    def __init__(self, rows: list[tuple[str, Text]], **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self._rows = rows
        self._wrapped: tuple[int, list[Text]] | None = None
        self._strips: tuple[int, Style, list[Strip]] | None = None

    def set_rows(self, rows: list[tuple[str, Text]]) -> None:
        self._rows = rows
        self._wrapped = self._strips = None
        self.refresh(layout=True)

    @property
    def text(self) -> str:
        """Every line as plain text (at the current width)."""
        return "\n".join(line.plain for line in self._lines(max(1, self.size.width)))

    def _lines(self, width: int) -> list[Text]:
        if self._wrapped is not None and self._wrapped[0] == width:
            return self._wrapped[1]
        console = self.app.console
        label_width = max((cell_len(label) for label, _ in self._rows), default=0)
        value_width = max(1, width - label_width - GAP)
        indent = " " * (label_width + GAP)
        lines: list[Text] = []
        for label, value in self._rows:
            head = Text(label.ljust(label_width), style="bold") + " " * GAP
            for i, part in enumerate(value.wrap(console, value_width, overflow="fold")):
                part.rstrip_end(value_width)
                lines.append((head if i == 0 else Text(indent)) + part)
        self._wrapped = (width, lines)
        return lines

    def get_content_height(self, container: Size, viewport: Size, width: int) -> int:
        return len(self._lines(width))

    def render_line(self, y: int) -> Strip:
        width = self.size.width
        base = self.rich_style
        if self._strips is None or self._strips[:2] != (width, base):
            console = self.app.console
            strips = [
                Strip(list(line.render(console))).adjust_cell_length(width).apply_style(base)
                for line in self._lines(width)
            ]
            self._strips = (width, base, strips)
        strips = self._strips[2]
        return strips[y] if 0 <= y < len(strips) else Strip.blank(width, base)


class DetailScreen(KeyScreen, Screen[None]):
    KEYMAP_SCREEN = "detail"
    BINDINGS: ClassVar[list[BindingType]] = keymap.bindings("detail")

    def __init__(self, ctx: AppContext, hit: Hit) -> None:
        super().__init__()
        self.ctx = ctx
        self.hit = hit

    def compose(self) -> ComposeResult:
        yield EnvBanner(self.ctx, id="banner")
        with VerticalScroll(id="detail-scroll"):
            yield DetailBody(detail_rows(self.hit, self.ctx), id="detail")
        yield KeyLine()  # one widget, not one per key: opening this screen is frequent

    def on_mount(self) -> None:
        self.query_one("#detail-scroll").focus()

    def show_hit(self, hit: Hit) -> None:
        """Called by the app when this HIT changes (e.g. after an extension)."""
        self.hit = hit
        self.query_one(DetailBody).set_rows(detail_rows(hit, self.ctx))

    def action_back(self) -> None:
        self.dismiss()

    def action_close(self) -> None:
        self.action_back()

    def action_assignments(self) -> None:
        from turktui.ui.screens.assignments import open_assignments

        open_assignments(self.app, self.hit)

    def action_copy_id(self) -> None:
        app: TurkHost = self.app  # type: ignore[assignment]
        app.copy_hit_id(self.hit)

    def action_copy_field(self, name: str) -> None:
        """The full value (never the cut one shown), e.g. a huge title."""
        value = str(getattr(self.hit, name, ""))
        self.copied(value, f"the {name} ({len(value):,} characters)")

    def action_copy_title(self) -> None:
        self.action_copy_field("title")

    def action_copy_description(self) -> None:
        self.action_copy_field("description")

    def action_expire(self) -> None:
        """`X`: expire this HIT now (the controller confirms and runs it)."""
        self.post_message(ExpireWanted(self.hit))
