"""The commands reach `options.open_connection` when they run, not as bound at import: a
replacement (tests point a production environment at an emulator) lasts only while it is in
place. Was: `session` re-exported the function, so whichever test first imported it under a
replacement left every later command connecting to that test's (stopped) emulator."""

from __future__ import annotations

import argparse

import pytest

from turktui.cli import options, session
from turktui.cli.commands import expire, extend, extend_bulk


def test_a_replaced_open_connection_is_used_then_forgotten(monkeypatch: pytest.MonkeyPatch) -> None:
    seen: list[str] = []

    def replacement(args: argparse.Namespace, **kw: object) -> object:
        seen.append("replacement")
        raise RuntimeError("stop here")

    with monkeypatch.context() as patch:
        patch.setattr(options, "open_connection", replacement)
        for module in (session, extend, expire, extend_bulk):
            with pytest.raises(RuntimeError):
                module.open_connection(argparse.Namespace())
    assert seen == ["replacement"] * 4
    for module in (session, extend, expire, extend_bulk):
        assert module.open_connection is session.open_connection
