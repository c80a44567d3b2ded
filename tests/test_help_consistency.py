"""`turktui --help` and every command's help agree with the README: each option a help
lists is documented there, and each command the README names has a working help."""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

import pytest

README = (Path(__file__).resolve().parents[1] / "README.md").read_text("utf-8")
COMMANDS = [[], ["extend"], ["history"], ["resolve"], ["emulator"], ["paths"]]


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


def test_every_command_in_the_readme_exists() -> None:
    named = set(re.findall(r"`turktui (extend|history|resolve|emulator|paths)\b", README))
    assert named == {"extend", "history", "resolve", "emulator", "paths"}
    top = _help([])
    for command in named:
        assert command in top


def test_exit_codes_in_help_match_the_readme() -> None:
    text = _help(["extend"])
    for code in range(7):
        assert re.search(rf"^\s*{code}\s+\S", text, re.M), f"exit code {code} not in help"
        assert re.search(rf"^\| {code} \|", README, re.M), f"exit code {code} not in README"
