"""Messages: what workers post to the main screen (thread-safe by design), what screens ask
the controller for, and what the controller's workers report back to the app."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from textual.message import Message

from turktui.domain.models import Assignment, Balance, Hit

if TYPE_CHECKING:
    from datetime import datetime

    from turktui.domain.records import Record
    from turktui.pipeline.batch import BatchReport
    from turktui.pipeline.engine import Outcome


class HitsPage(Message):
    """One ListHITs page arrived. `generation` tells a stale load from the current one."""

    def __init__(self, generation: int, page: int, hits: list[Hit]) -> None:
        super().__init__()
        self.generation = generation
        self.page = page
        self.hits = hits


class HitsLoaded(Message):
    def __init__(self, generation: int, pages: int) -> None:
        super().__init__()
        self.generation = generation
        self.pages = pages


class HitsFailed(Message):
    def __init__(self, generation: int, error: BaseException) -> None:
        super().__init__()
        self.generation = generation
        self.error = error


class BalanceLoaded(Message):
    """A balance read; `asked`: the number of the request it answers (a later request's
    answer may come first: the app shows the latest asked, never an earlier one after it)."""

    def __init__(self, balance: Balance, asked: int = 0) -> None:
        super().__init__()
        self.balance = balance
        self.asked = asked


class BalanceFailed(Message):
    def __init__(self, error: BaseException, asked: int = 0) -> None:
        super().__init__()
        self.error = error
        self.asked = asked


class BalanceWanted(Message):
    """The loader could not fetch the balance: fetch it on its own."""


# -- the controller's requests (screens → app → Controller) and results (workers → app) -------
class ExtendWanted(Message):
    """`e`: open the extend dialog for this HIT."""

    def __init__(self, hit: Hit) -> None:
        super().__init__()
        self.hit = hit


class ExpireWanted(Message):
    """`X`: expire this HIT now (confirmed on every environment but demo)."""

    def __init__(self, hit: Hit | None) -> None:
        super().__init__()
        self.hit = hit


class BulkWanted(Message):
    """`b`: open the bulk dialog for these HITs (the marked ones)."""

    def __init__(self, hits: list[Hit]) -> None:
        super().__init__()
        self.hits = hits


class ResolveWanted(Message):
    """Settle these records (history `R`); `confirmed`: the operator already said yes;
    `take_over`: take the one record over from another host's process (history `T`: asked
    first), then settle it."""

    def __init__(
        self, records: list[Record], confirmed: bool = False, *, take_over: bool = False
    ) -> None:
        super().__init__()
        self.records = records
        self.confirmed = confirmed
        self.take_over = take_over


class ResolveBatchWanted(Message):
    """Settle a batch's unsettled members (history `B`)."""

    def __init__(self, batch_id: str) -> None:
        super().__init__()
        self.batch_id = batch_id


class ReviewWanted(Message):
    """Approve, reject or pay a bonus on these assignments of `hit` (the assignments view's
    Y / N / $ / P): `op` the operation, `title` the dialog's, `now` MTurk's time as that
    view knows it (None: its answers carried none)."""

    def __init__(
        self, op: Any, rows: list[Assignment], hit: Hit, title: str, now: datetime | None
    ) -> None:
        super().__init__()
        self.op = op
        self.rows = rows
        self.hit = hit
        self.title = title
        self.now = now


class OutcomeArrived(Message):
    """One extension or resolution has an outcome (a single request, or a record resolved)."""

    def __init__(self, outcome: Outcome) -> None:
        super().__init__()
        self.outcome = outcome


class HitChanged(Message):
    """MTurk's current view of a HIT (after a change): its row and detail view follow."""

    def __init__(self, hit: Hit) -> None:
        super().__init__()
        self.hit = hit


class BatchDone(Message):
    """A batch (or its retry, or its resolution) ended; `report` None: nothing was sent."""

    def __init__(self, report: BatchReport | None) -> None:
        super().__init__()
        self.report = report


class ReviewsDone(Message):
    """Reviews or bonuses of the assignments view were sent and settled: per assignment its
    final record (None: nothing was recorded) and the one line that says what happened."""

    def __init__(self, op: Any, results: list[tuple[str, Record | None, str]]) -> None:
        super().__init__()
        #: the operation (its words say the tally)
        self.op = op
        self.results = results

    @property
    def records(self) -> list[Record]:
        return [record for _aid, record, _text in self.results if record is not None]
