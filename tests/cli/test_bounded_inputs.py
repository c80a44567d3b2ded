"""Inputs refused cleanly or bounded: one line, non-zero, nothing changed; and every
unsettled record reached by `resolve`, however many."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from tests.runcli import run_cli


def _history_file(env: dict[str, str]) -> Path:
    return Path(env["XDG_DATA_HOME"]) / "turktui" / "history.sqlite3"


def _unsettled(path: Path, endpoint: str, hit: str, count: int) -> None:
    from turktui.adapters.history import open_history

    with open_history(path) as store:
        store.insert(
            [
                {
                    "env_kind": "custom",
                    "endpoint": endpoint,
                    "hit_id": hit,
                    "n": 1,
                    "token": f"T-{i}",
                    "max_before": 3,
                    "expected_after": 4,
                }
                for i in range(count)
            ]
        )


def test_the_unsettled_pages_reach_the_oldest_past_ten_thousand(tmp_path: Path) -> None:
    """Was: `unsettled()` kept the newest 10,000, so the oldest were never resolved."""
    from turktui.adapters.history import open_history

    path = tmp_path / "history.sqlite3"
    _unsettled(path, "http://127.0.0.1:1", "HIT", 10_050)
    with open_history(path) as store:
        pages = [[r.id for r in page] for page in store.unsettled_pages(1000)]
    assert [len(p) for p in pages] == [1000] * 10 + [50]
    every = [i for page in pages for i in page]
    assert every == list(range(1, 10_051))


def test_resolve_settles_every_page(
    cli_env: dict[str, str], emulator: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    from turktui.cli.commands import resolve

    monkeypatch.setattr(resolve, "PAGE", 10)
    hit = emulator.state.add_hit(MaxAssignments=3)
    _unsettled(_history_file(cli_env), emulator.url, hit, 25)
    ran = run_cli(cli_env, "resolve", "--yes", "--json", "--endpoint-url", emulator.url)
    assert ran.returncode == 0, ran.stderr
    data = json.loads(ran.stdout)  # one JSON object for the three pages
    ids = [r["id"] for r in data["records"]]
    assert ids == list(range(1, 26)) and data["message"] == "25 settled"
    again = run_cli(cli_env, "resolve", "--yes", "--endpoint-url", emulator.url)
    assert again.returncode == 0 and "Nothing to resolve" in again.stdout


# -- the config file ----------------------------------------------------------------------
@pytest.mark.parametrize("kind", ["/dev/zero", "fifo", "directory"])
def test_a_config_that_is_not_a_regular_file_is_one_line(
    kind: str, cli_env: dict[str, str], tmp_path: Path
) -> None:
    """Was: TURKTUI_CONFIG=/dev/zero ate memory; a FIFO hung the command."""
    import os

    where = {"/dev/zero": Path("/dev/zero"), "fifo": tmp_path / "fifo", "directory": tmp_path}
    path = where[kind]
    if kind == "fifo":
        os.mkfifo(path)
    ran = run_cli(cli_env, "history", extra={"TURKTUI_CONFIG": str(path)})
    assert ran.returncode == 2
    assert ran.stderr.strip() == f"turktui: error: config file {path} is not a regular file"


def test_a_huge_config_and_too_many_demo_hits_are_refused(
    cli_env: dict[str, str], tmp_path: Path
) -> None:
    big = tmp_path / "big.toml"
    big.write_text("# " + "x" * 2_000_000 + "\n")
    ran = run_cli(cli_env, "history", extra={"TURKTUI_CONFIG": str(big)})
    assert ran.returncode == 2 and "larger than 1,000,000 bytes" in ran.stderr
    many = tmp_path / "many.toml"
    many.write_text("demo_hits = 1000000000\n")  # was accepted: gigabytes for --demo
    ran = run_cli(cli_env, "history", extra={"TURKTUI_CONFIG": str(many)})
    assert ran.returncode == 2 and "demo_hits must be 0 to 100,000" in ran.stderr
    assert run_cli(cli_env, "history", "--demo-hits", "100001").returncode == 2


def test_a_config_saved_with_a_bom_and_crlf_is_read(
    cli_env: dict[str, str], tmp_path: Path
) -> None:
    config = tmp_path / "bom.toml"
    config.write_bytes(b"\xef\xbb\xbfread_only = true\r\n")
    ran = run_cli(
        cli_env, "expire", "HIT", "--yes", "--demo", extra={"TURKTUI_CONFIG": str(config)}
    )
    assert ran.returncode == 2 and "read-only" in ran.stdout + ran.stderr


# -- --from-file ---------------------------------------------------------------------------
def _extend_from(cli_env: dict[str, str], emulator: Any, path: str, *extra: str) -> Any:
    """`turktui extend --from-file PATH --add 1 --yes EXTRA` against the emulator."""
    args = ("extend", "--from-file", path, "--add", "1", "--yes", *extra)
    return run_cli(cli_env, *args, "--endpoint-url", emulator.url)


def test_from_file_accepts_bom_crlf_and_quotes(
    cli_env: dict[str, str], emulator: Any, tmp_path: Path
) -> None:
    a, b, c = (emulator.state.add_hit(MaxAssignments=3) for _ in range(3))
    ids = tmp_path / "ids.txt"
    ids.write_bytes(f"\ufeff{a}\r\n\"{b}\"\r\n# a comment\r\n\r\n'{c}'  # the last\r\n".encode())
    ran = _extend_from(cli_env, emulator, str(ids), "--json")
    assert ran.returncode == 0, ran.stdout + ran.stderr
    assert sorted(m["hit_id"] for m in json.loads(ran.stdout)["members"]) == sorted([a, b, c])


@pytest.mark.parametrize(
    ("content", "says"),
    [
        (b"GOODHIT1\nGOODHIT2\nA,B\n", "line 3: not a HIT id: 'A,B'"),
        (b'GOODHIT1\n"unbalanced\n', "line 2: not a HIT id"),
        (b"\xff\xfe\x00", "codec can't decode"),
    ],
)
def test_from_file_refuses_junk_naming_the_line(
    content: bytes, says: str, cli_env: dict[str, str], emulator: Any, tmp_path: Path
) -> None:
    ids = tmp_path / "ids.txt"
    ids.write_bytes(content)
    sent = emulator.state.request_count("CreateAdditionalAssignmentsForHIT")
    ran = _extend_from(cli_env, emulator, str(ids))
    assert ran.returncode == 2 and says in ran.stdout + ran.stderr, ran.stdout + ran.stderr
    assert len((ran.stdout + ran.stderr).strip().splitlines()) == 1
    assert emulator.state.request_count("CreateAdditionalAssignmentsForHIT") == sent


def test_from_file_is_read_with_a_bound(cli_env: dict[str, str], emulator: Any) -> None:
    ran = _extend_from(cli_env, emulator, "/dev/zero")
    assert ran.returncode == 2 and "larger than 10,000,000 bytes" in ran.stdout + ran.stderr


# -- the request log ------------------------------------------------------------------------
def test_the_request_log_never_writes_through_a_link(
    cli_env: dict[str, str], emulator: Any, tmp_path: Path
) -> None:
    log_dir = Path(cli_env["XDG_STATE_HOME"]) / "turktui" / "log"
    log_dir.mkdir(parents=True)
    target = tmp_path / "someone-elses-file"
    target.write_text("precious\n")
    (log_dir / "requests.log").symlink_to(target)
    hit = emulator.state.add_hit(MaxAssignments=3)
    ran = run_cli(cli_env, "extend", hit, "1", "--endpoint-url", emulator.url)
    assert ran.returncode == 0, ran.stderr
    assert target.read_text() == "precious\n"
    assert (log_dir / "requests.log").is_symlink()


def test_a_huge_title_in_the_history_prints_bounded(cli_env: dict[str, str]) -> None:
    """A hand-edited record with a megabyte title (and ESC) prints as one bounded line."""
    from turktui.adapters.history import open_history

    with open_history(_history_file(cli_env)) as store:
        store.insert(
            [
                {
                    "env_kind": "sandbox",
                    "endpoint": "https://mturk-requester-sandbox.us-east-1.amazonaws.com",
                    "hit_id": "HUGE",
                    "hit_title": "\x1b[2J" + "t" * 1_000_000,
                    "n": 1,
                    "token": "T-huge",
                    "max_before": 3,
                    "expected_after": 4,
                }
            ]
        )
    ran = run_cli(cli_env, "history")
    assert ran.returncode == 0, ran.stderr
    line = next(x for x in ran.stdout.splitlines() if "HUGE" in x)
    assert len(line) < 2_200 and line.count("t") > 1_900 and "\x1b" not in line


def test_history_reads_a_page_at_a_time(
    cli_env: dict[str, str], emulator: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    """`--limit 1000000 --json` held every record in memory at once; now a page at a time,
    the output the same one JSON object."""
    from turktui.cli.commands import history

    monkeypatch.setattr(history, "PAGE", 2)
    _unsettled(_history_file(cli_env), emulator.url, "HIT", 5)
    data = json.loads(run_cli(cli_env, "history", "--json", "--limit", "4").stdout)
    assert [r["id"] for r in data["records"]] == [5, 4, 3, 2]
    assert (data["exit_code"], data["count"], data["message"]) == (0, 5, "4 of 5 records")
    text = run_cli(cli_env, "history", "--limit", "1000000").stdout.splitlines()
    assert [line.split()[0] for line in text[1:6]] == ["#5", "#4", "#3", "#2", "#1"]
    assert text[6].startswith("5 of 5 records")


@pytest.mark.parametrize(
    "args",
    [
        ("extend", "A,B", "1"),
        ("extend", "A,B", "--add-time", "1d"),
        ("extend", "GOODHIT1", "A,B", "--add", "1"),
        ("extend", "GOODHIT1", "A B", "--add-time", "1d"),
        ("expire", "GOODHIT1", "\x1b[2J", "--yes"),
    ],
)
def test_hit_ids_that_cannot_be_one_are_refused_before_sending(
    args: tuple[str, ...], cli_env: dict[str, str], emulator: Any
) -> None:
    """Was: sent; MTurk's validation error was reported as a service error (exit 4)."""
    reads = emulator.state.request_count("GetHIT")
    ran = run_cli(cli_env, *args, "--yes", "--endpoint-url", emulator.url)
    seen = ran.stdout + ran.stderr
    assert ran.returncode == 2 and "not a HIT id: " in seen and "\x1b" not in seen, seen
    assert emulator.state.request_count("GetHIT") == reads
