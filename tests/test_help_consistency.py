"""`turktui --help` and every command's help agree with the user documentation: each option
a help lists is documented in the README or docs/cli.md (the command-line reference), each
exit code is in a table there, and each command the README names has a working help."""

from __future__ import annotations

import argparse
import re
from pathlib import Path

import pytest

from tests.runcli import run_cli
from turktui.cli import build_parser

ROOT = Path(__file__).resolve().parents[1]
README = (ROOT / "README.md").read_text("utf-8")
#: where options and exit codes are documented: the README and the command-line reference
DOCUMENTED = README + (ROOT / "docs" / "cli.md").read_text("utf-8")


def _command_names() -> list[str]:
    """Every command the real parser accepts (a new one is checked here without a word)."""
    [sub] = [a for a in build_parser()._actions if isinstance(a, argparse._SubParsersAction)]
    return list(sub.choices)


NAMES = _command_names()
COMMANDS = [[], *([name] for name in NAMES)]


def _help(env: dict[str, str], args: list[str]) -> str:
    result = run_cli(env, *args, "--help")
    assert result.returncode == 0, result.stderr
    assert "Traceback" not in result.stderr
    return result.stdout


@pytest.mark.parametrize("args", COMMANDS, ids=lambda a: " ".join(a) or "turktui")
def test_every_option_in_help_is_documented(cli_env: dict[str, str], args: list[str]) -> None:
    text = _help(cli_env, args)
    options = set(re.findall(r"(?<![\w-])(--[a-z][a-z0-9-]+)", text)) - {"--help"}
    assert options or args == ["paths"], f"a help with no options? {text!r}"
    missing = sorted(o for o in options if o not in DOCUMENTED)
    assert not missing, (
        f"`turktui {' '.join(args)} --help` lists options README.md and docs/cli.md lack: {missing}"
    )


def test_the_commands_are_the_ones_we_think() -> None:
    """The parser is read correctly: a list that came back empty would check nothing."""
    assert {"extend", "expire", "history", "list", "resolve", "emulator", "paths"} <= set(NAMES)


def test_every_command_is_in_the_readme_and_the_help_and_nothing_else(
    cli_env: dict[str, str],
) -> None:
    named = set(re.findall(r"`turktui ([a-z][a-z-]*)\b", README))
    assert named == set(NAMES), "the README and the parser name different commands"
    top = _help(cli_env, [])
    listed = set(re.findall(r"^  turktui ([a-z][a-z-]*)\b", top, re.M))  # the epilog
    assert listed == set(NAMES), "`turktui --help` lists different commands than it parses"


def test_exit_codes_in_help_are_documented(cli_env: dict[str, str]) -> None:
    text = _help(cli_env, ["extend"])
    for code in range(7):
        assert re.search(rf"^\s*{code}\s+\S", text, re.M), f"exit code {code} not in help"
        assert re.search(rf"^\| {code} \|", DOCUMENTED, re.M), f"exit code {code} not documented"
