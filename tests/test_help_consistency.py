"""`turktui --help` and every command's help agree with the user documentation: each option
a help lists is documented in the README or docs/cli.md (the command-line reference), each
exit code is in a table there, and each command the README names has a working help."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from tests.runcli import run_cli

ROOT = Path(__file__).resolve().parents[1]
README = (ROOT / "README.md").read_text("utf-8")
#: where options and exit codes are documented: the README and the command-line reference
DOCUMENTED = README + (ROOT / "docs" / "cli.md").read_text("utf-8")
COMMANDS = [[], ["extend"], ["expire"], ["history"], ["list"], ["resolve"], ["emulator"], ["paths"]]
NAMED = {"extend", "expire", "history", "list", "resolve", "emulator", "paths"}


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


def test_every_command_in_the_readme_exists(cli_env: dict[str, str]) -> None:
    named = set(re.findall(rf"`turktui ({'|'.join(sorted(NAMED))})\b", README))
    assert named == NAMED
    top = _help(cli_env, [])
    for command in named:
        assert command in top


def test_exit_codes_in_help_are_documented(cli_env: dict[str, str]) -> None:
    text = _help(cli_env, ["extend"])
    for code in range(7):
        assert re.search(rf"^\s*{code}\s+\S", text, re.M), f"exit code {code} not in help"
        assert re.search(rf"^\| {code} \|", DOCUMENTED, re.M), f"exit code {code} not documented"
