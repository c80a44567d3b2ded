"""Output other programs read: CSV safe for spreadsheets (formulas neutralised, a bare CR
quoted, booleans `true`/`false`), text with a header row and never cut into a pipe or a
file, unknown filter values refused naming the allowed ones, no raw control character."""

from __future__ import annotations

import csv
import io
import json
from typing import Any

import pytest

from tests.runcli import run_cli
from turktui.cli.output import csv_cell, fit

HOSTILE = {
    '=HYPERLINK("http://x")': '\'=HYPERLINK("http://x")',
    "+1+2": "'+1+2",
    "-2": "'-2",
    "@SUM(A1)": "'@SUM(A1)",
    "\tTab first": "'\tTab first",
    "\rCR first": "'\rCR first",
    "a bare\rcarriage return": "a bare\rcarriage return",
    "two\nlines": "two\nlines",
    "esc \x1b[31mred": "esc \u241b[31mred",
    "plain": "plain",
}
LONG = "A title long enough to be cut anywhere a column would end " * 2


def _list(cli_env: dict[str, str], emulator: Any, *args: str) -> Any:
    ran = run_cli(cli_env, "list", *args, "--endpoint-url", emulator.url)
    assert ran.returncode == 0, ran.stderr
    return ran


def test_csv_is_safe_for_spreadsheets_and_round_trips(
    cli_env: dict[str, str], make_emulator: Any
) -> None:
    emulator = make_emulator(0)
    for title in HOSTILE:
        emulator.state.add_hit(Title=title, MaxAssignments=3)
    out = _list(cli_env, emulator, "--csv").stdout
    rows = list(csv.DictReader(io.StringIO(out, newline="")))
    assert len(rows) == len(HOSTILE)  # a bare CR never split a row
    assert sorted(r["Title"] for r in rows) == sorted(HOSTILE.values())
    assert {r["Expired"] for r in rows} <= {"true", "false"}
    assert {r["Extendable"] for r in rows} <= {"true", "false"}
    assert "\x1b" not in out
    objects = [json.loads(line) for line in _list(cli_env, emulator, "--json").stdout.splitlines()]
    assert sorted(o["Title"] for o in objects) == sorted(HOSTILE)  # JSON: the data as it is
    assert all(isinstance(o["Expired"], bool) for o in objects)


@pytest.mark.parametrize(
    ("value", "cell"),
    [(True, "true"), (False, "false"), (None, ""), (3, 3), ("-x", "'-x"), ("x-", "x-")],
)
def test_one_csv_cell(value: object, cell: object) -> None:
    assert csv_cell(value) == cell


def test_text_has_a_header_and_is_not_cut_into_a_pipe(
    cli_env: dict[str, str], make_emulator: Any
) -> None:
    emulator = make_emulator(0)
    hit = emulator.state.add_hit(Title=LONG + "\x1b]0;owned\x07", MaxAssignments=3)
    lines = _list(cli_env, emulator).stdout.splitlines()
    assert lines[0].split() == ["HITId", "HITStatus", "Max", "Avail", "Expiration", "Title"]
    assert LONG.rstrip() in lines[1] and "\u2026" not in lines[1]
    assert "\x1b" not in lines[1] and "\x07" not in lines[1]
    ran = run_cli(cli_env, "extend", hit, "1", "--endpoint-url", emulator.url)
    assert ran.returncode == 0, ran.stderr
    history = run_cli(cli_env, "history").stdout.splitlines()
    assert history[0].startswith("#id") and "state" in history[0]
    assert LONG.rstrip() in history[1] and "\x1b" not in history[1]


def test_the_bulk_preview_is_not_cut_into_a_file(cli_env: dict[str, str], emulator: Any) -> None:
    hit = emulator.state.add_hit(MaxAssignments=3)
    ran = run_cli(
        cli_env,
        "extend",
        hit,
        "NOSUCHHITATALL",
        "--add",
        "1",
        "--yes",
        "--endpoint-url",
        emulator.url,
    )
    refused = next(line for line in ran.stdout.splitlines() if "NOSUCHHITATALL" in line)
    reason = refused.split("  ")[-1]
    assert len(reason) > 40 and "\u2026" not in refused, refused


def test_a_terminal_gets_lines_cut_to_its_width() -> None:
    assert fit("x" * 100, 40) == "x" * 39 + "\u2026"
    assert fit("x" * 100, None) == "x" * 100


@pytest.mark.parametrize(
    ("args", "allowed"),
    [
        (("list", "--status", "Bogus"), "Assignable"),
        (("history", "--env", "bogus"), "production"),
    ],
)
def test_unknown_filter_values_are_refused_naming_the_allowed_ones(
    cli_env: dict[str, str], args: tuple[str, ...], allowed: str
) -> None:
    ran = run_cli(cli_env, *args)
    assert ran.returncode == 2
    assert allowed in ran.stderr and "invalid choice" in ran.stderr


def test_status_is_accepted_in_any_case(cli_env: dict[str, str], emulator: Any) -> None:
    rows = _list(cli_env, emulator, "--json", "--status", "reviewable").stdout.splitlines()
    assert rows and {json.loads(r)["HITStatus"] for r in rows} == {"Reviewable"}


def test_no_control_character_from_the_service_reaches_the_terminal(
    cli_env: dict[str, str],
) -> None:
    """Was: a refusal's or a failure's message printed raw (ESC sequences acted on)."""
    from tests.hostile.servers import HostileServer, json_answer

    evil = "bad \x1b]0;owned\x07\x1b[2J\u202eevil"

    def responder(op: str, request: dict[str, Any], handler: Any) -> Any:
        if op == "ListHITs":
            return json_answer({"__type": "ServiceFault", "Message": evil}, status=400)
        return json_answer({"__type": "RequestError", "Message": evil}, status=400)

    with HostileServer(responder) as server:
        for args in (("list",), ("extend", "HOSTILE1", "1"), ("expire", "HOSTILE1", "--yes")):
            ran = run_cli(cli_env, *args, "--endpoint-url", server.url)
            seen = ran.stdout + ran.stderr
            assert ran.returncode != 0 and "bad " in seen, seen
            assert "\x1b" not in seen and "\x07" not in seen and "\u202e" not in seen, seen


def test_paths_from_the_environment_print_safely(cli_env: dict[str, str], tmp_path: Any) -> None:
    odd = tmp_path / "x\x1b[2Jy"
    ran = run_cli(cli_env, "paths", extra={"TURKTUI_CONFIG": str(odd / "c.toml")})
    assert ran.returncode == 0 and "\x1b" not in ran.stdout and "x\u241b[2Jy" in ran.stdout
    ran = run_cli(cli_env, "history", extra={"XDG_DATA_HOME": str(odd)})
    assert ran.returncode == 0 and "\x1b" not in ran.stdout and "x\u241b[2Jy" in ran.stdout
