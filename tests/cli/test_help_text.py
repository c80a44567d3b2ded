"""Every command's --help says what it does and describes every option it lists."""

from __future__ import annotations

import argparse

import pytest

from tests.runcli import run_cli
from turktui.cli import build_parser
from turktui.pipeline.policy import COMMANDS


def _subparsers() -> dict[str, argparse.ArgumentParser]:
    parser = build_parser()
    action = next(a for a in parser._actions if isinstance(a, argparse._SubParsersAction))
    return dict(action.choices)


@pytest.mark.parametrize("command", COMMANDS)
def test_every_option_is_described(command: str) -> None:
    """Was: `history --help` left --limit undescribed."""
    parser = _subparsers()[command]
    bare = [a.option_strings or [a.dest] for a in parser._actions if not a.help]
    assert bare == []


def test_expire_help_speaks_of_expiring() -> None:
    """Was: `expire --help` said "the assignments were added"."""
    text = run_cli(None, "expire", "--help").stdout
    assert "the assignments were added" not in text
    assert "expire: the HITs expired" in " ".join(text.split())


def test_history_limit_says_what_it_limits() -> None:
    text = " ".join(run_cli(None, "history", "--help").stdout.split())
    assert "--limit N show the N newest matching records" in text


def test_extend_says_it_also_adds_time_and_works_on_several_hits() -> None:
    text = " ".join(run_cli(None, "extend", "--help").stdout.split())
    assert "assignments and/or time" in text and "several HITs" in text


def test_read_only_says_what_the_commands_do() -> None:
    text = " ".join(run_cli(None, "expire", "--help").stdout.split())
    assert "extend, expire and resolve refuse (exit 2)" in text
