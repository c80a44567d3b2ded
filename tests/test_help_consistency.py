"""`turktui --help` and every command's help agree with the README: each option a help
lists is documented there, and each command the README names has a working help."""

from __future__ import annotations

import argparse
import re
import subprocess
import sys
from pathlib import Path

import pytest

from turktui.cli import build_parser

README = (Path(__file__).resolve().parents[1] / "README.md").read_text("utf-8")


def _command_names() -> list[str]:
    """Every command the real parser accepts (a new one is checked here without a word)."""
    [sub] = [a for a in build_parser()._actions if isinstance(a, argparse._SubParsersAction)]
    return list(sub.choices)


NAMES = _command_names()
COMMANDS = [[], *([name] for name in NAMES)]


def _help(args: list[str]) -> str:
    result = subprocess.run(
        [sys.executable, "-m", "turktui", *args, "--help"],
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert result.returncode == 0, result.stderr
    assert "Traceback" not in result.stderr
    return result.stdout


@pytest.mark.parametrize("args", COMMANDS, ids=lambda a: " ".join(a) or "turktui")
def test_every_option_in_help_is_in_the_readme(args: list[str]) -> None:
    text = _help(args)
    options = set(re.findall(r"(?<![\w-])(--[a-z][a-z0-9-]+)", text)) - {"--help"}
    assert options or args == ["paths"], f"a help with no options? {text!r}"
    missing = sorted(o for o in options if o not in README)
    assert not missing, (
        f"`turktui {' '.join(args)} --help` lists options the README lacks: {missing}"
    )


def test_the_commands_are_the_ones_we_think() -> None:
    """The parser is read correctly: a list that came back empty would check nothing."""
    assert {"extend", "expire", "history", "list", "resolve", "emulator", "paths"} <= set(NAMES)


def test_every_command_is_in_the_readme_and_the_help_and_nothing_else() -> None:
    named = set(re.findall(r"`turktui ([a-z][a-z-]*)\b", README))
    assert named == set(NAMES), "the README and the parser name different commands"
    top = _help([])
    listed = set(re.findall(r"^  turktui ([a-z][a-z-]*)\b", top, re.M))  # the epilog
    assert listed == set(NAMES), "`turktui --help` lists different commands than it parses"


def test_exit_codes_in_help_match_the_readme() -> None:
    text = _help(["extend"])
    for code in range(7):
        assert re.search(rf"^\s*{code}\s+\S", text, re.M), f"exit code {code} not in help"
        assert re.search(rf"^\| {code} \|", README, re.M), f"exit code {code} not in README"
