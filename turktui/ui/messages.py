"""Messages the background workers post to the main screen (thread-safe by design)."""

from __future__ import annotations

from textual.message import Message

from turktui.domain.models import Balance, Hit


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
    def __init__(self, balance: Balance) -> None:
        super().__init__()
        self.balance = balance


class BalanceFailed(Message):
    def __init__(self, error: BaseException) -> None:
        super().__init__()
        self.error = error


class BalanceWanted(Message):
    """The loader could not fetch the balance: fetch it on its own."""
