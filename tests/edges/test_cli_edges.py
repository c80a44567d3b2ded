"""Production is where the request goes; endpoints are parsed; secrets never leak; history
knows environments; resolve goes where the record went. All through the real CLI."""

from __future__ import annotations

import json
import signal
from pathlib import Path

import pytest

from tests.edges.conftest import OP, SECRET
from tests.runcli import run_cli, run_process
from tests.seams import crash_after_send


def data_dir(env: dict[str, str]) -> Path:
    return Path(env["XDG_DATA_HOME"]) / "turktui"


# -- --production with --endpoint-url is PRODUCTION in every respect ---------------------------
def test_production_with_endpoint_url_needs_confirmation(emulator, cli_env) -> None:
    hit_id = emulator.state.add_hit(MaxAssignments=3, Reward="0.10")
    sent = emulator.state.request_count(OP)
    res = run_cli(cli_env, "extend", hit_id, "1", "--production", "--endpoint-url", emulator.url)
    assert res.returncode == 2, res.stdout + res.stderr
    assert "production needs confirmation" in res.stderr and "--yes" in res.stderr
    assert res.stdout.startswith("PRODUCTION:")
    assert emulator.state.request_count(OP) == sent  # nothing was sent
    res = run_cli(
        cli_env,
        "extend",
        hit_id,
        "1",
        "--json",
        "--yes",
        "--production",
        "--endpoint-url",
        emulator.url,
    )
    assert res.returncode == 0, res.stderr
    assert json.loads(res.stdout)["environment"] == "production"
    listing = json.loads(run_cli(cli_env, "history", "--json", "--production").stdout)
    assert [r["environment"] for r in listing["records"]] == ["production"]


def test_bulk_production_with_endpoint_url_needs_confirmation(emulator, cli_env) -> None:
    ids = [emulator.state.add_hit(MaxAssignments=3, Reward="0.10") for _ in range(2)]
    sent = emulator.state.request_count(OP)
    res = run_cli(
        cli_env, "extend", *ids, "--add", "1", "--production", "--endpoint-url", emulator.url
    )
    assert res.returncode == 2 and "--yes" in res.stderr, res.stdout + res.stderr
    assert emulator.state.request_count(OP) == sent


# -- a custom endpoint that is not loopback gets the confirmation too --------------------------
def test_non_loopback_custom_endpoint_needs_confirmation(
    remote_emulator, cli_env, tmp_path
) -> None:
    server, url = remote_emulator
    hit_id = server.state.add_hit(MaxAssignments=3, Reward="0.10")
    res = run_cli(cli_env, "extend", hit_id, "1", "--endpoint-url", url)
    assert res.returncode == 2, res.stdout + res.stderr
    assert "custom endpoint needs confirmation" in res.stderr
    assert server.state.request_count(OP) == 0
    # ... unless the operator says otherwise in the config
    config = tmp_path / "config.toml"
    config.write_text("confirm_custom = false\n")
    res = run_cli(
        cli_env, "extend", hit_id, "1", "--endpoint-url", url, extra={"TURKTUI_CONFIG": str(config)}
    )
    assert res.returncode == 0, res.stdout + res.stderr
    assert server.state.request_count(OP) == 1


def test_loopback_custom_endpoint_needs_no_confirmation(emulator, cli_env) -> None:
    hit_id = emulator.state.add_hit(MaxAssignments=3, Reward="0.10")
    res = run_cli(cli_env, "extend", hit_id, "1", "--endpoint-url", emulator.url)
    assert res.returncode == 0, res.stdout + res.stderr


# -- endpoints are parsed ----------------------------------------------------------------------
@pytest.mark.parametrize("command", [["extend", "HIT", "1"], ["history"], ["resolve"], []])
def test_empty_endpoint_url_is_a_usage_error(cli_env, command) -> None:
    res = run_cli(cli_env, *command, "--endpoint-url", "")
    assert res.returncode == 2, res.stdout + res.stderr
    assert "--endpoint-url is empty" in res.stderr
    assert "Traceback" not in res.stderr


def test_unusable_endpoint_url_is_a_usage_error(cli_env) -> None:
    res = run_cli(cli_env, "extend", "HIT", "1", "--endpoint-url", f"ftp://u:{SECRET}@host")
    assert res.returncode == 2 and "http:// or https://" in res.stderr
    assert SECRET not in res.stdout + res.stderr


# -- URL passwords never stored or printed -----------------------------------------------------
def test_password_in_endpoint_url_is_never_stored_or_printed(emulator, cli_env) -> None:
    hit_id = emulator.state.add_hit(MaxAssignments=3, Reward="0.10")
    url = emulator.url.replace("http://", f"http://opsuser:{SECRET}@")
    res = run_cli(cli_env, "extend", hit_id, "1", "--json", "--endpoint-url", url)
    assert res.returncode == 0, res.stderr
    assert json.loads(res.stdout)["endpoint"] == emulator.url
    outputs = [res.stdout + res.stderr]
    for args in (["history"], ["history", "--json"], ["resolve", "--yes"]):
        r = run_cli(cli_env, *args)
        outputs.append(r.stdout + r.stderr)
    dead = f"http://opsuser:{SECRET}@127.0.0.1:1"  # nothing listens: "cannot reach"
    r = run_cli(cli_env, "extend", hit_id, "1", "--endpoint-url", dead)
    assert r.returncode == 4, r.stdout + r.stderr
    outputs.append(r.stdout + r.stderr)
    for text in outputs:
        assert SECRET not in text and "opsuser" not in text
    for path in data_dir(cli_env).rglob("*"):
        if path.is_file():
            assert SECRET.encode() not in path.read_bytes(), path


# -- history knows environments ----------------------------------------------------------------
def test_history_env_and_endpoint_filters(make_emulator, cli_env) -> None:
    a, b = make_emulator(0), make_emulator(0)
    hit_a, hit_b = a.state.add_hit(MaxAssignments=3), b.state.add_hit(MaxAssignments=3)
    assert run_cli(cli_env, "extend", hit_a, "1", "--endpoint-url", a.url).returncode == 0
    assert (
        run_cli(
            cli_env, "extend", hit_b, "1", "--yes", "--production", "--endpoint-url", b.url
        ).returncode
        == 0
    )

    def hits(*args: str) -> list[str]:
        res = run_cli(cli_env, "history", "--json", *args)
        assert res.returncode == 0, res.stderr
        return [r["hit_id"] for r in json.loads(res.stdout)["records"]]

    assert sorted(hits()) == sorted([hit_a, hit_b])
    assert hits("--env", "custom") == [hit_a]
    assert hits("--env", "production") == [hit_b]
    assert hits("--production") == [hit_b]  # the flag filters, it is no longer ignored
    assert hits("--env", "sandbox") == []
    assert hits("--endpoint", a.url.upper().replace("HTTP://", "http://") + "/") == [hit_a]
    text = run_cli(cli_env, "history").stdout
    assert "PROD" in text and "CUST" in text
    bad = run_cli(cli_env, "history", "--env", "demo", "--production")
    assert bad.returncode == 2 and "contradictory" in bad.stderr
    assert run_cli(cli_env, "history", "--env", "nowhere").returncode == 2


def test_demo_records_live_in_their_own_file(cli_env) -> None:
    from turktui.emulator import EmulatorServer

    probe = EmulatorServer(host="127.0.0.1", port=0, hits=5, seed=1).start()
    try:  # the demo service is seeded the same way: its HIT ids are known
        hit_id = next(
            h for h in probe.state.hit_ids() if probe.state.get_hit_raw(h)["MaxAssignments"] < 9
        )
    finally:
        probe.stop()
    res = run_cli(cli_env, "extend", hit_id, "1", "--json", "--demo", "--demo-hits", "5")
    assert res.returncode == 0, res.stdout + res.stderr
    assert (data_dir(cli_env) / "history-demo.sqlite3").exists()
    main = json.loads(run_cli(cli_env, "history", "--json").stdout)
    assert main["count"] == 0  # a production audit never sees play
    demo = json.loads(run_cli(cli_env, "history", "--json", "--env", "demo").stdout)
    assert [r["hit_id"] for r in demo["records"]] == [hit_id]
    assert demo["file"].endswith("history-demo.sqlite3")
    assert "--env demo" in run_cli(cli_env, "history").stdout
    assert (
        f"demo:    {data_dir(cli_env) / 'history-demo.sqlite3'}" in run_cli(cli_env, "paths").stdout
    )


# -- resolve goes where the record went --------------------------------------------------------
def _crash(env: dict[str, str], server, *extra: str) -> str:
    hit_id = server.state.add_hit(MaxAssignments=2, Reward="1.00")
    res = run_process(
        env, "extend", hit_id, "3", "--endpoint-url", server.url, *extra, extra=crash_after_send()
    )
    assert res.returncode == -signal.SIGKILL, res.stdout + res.stderr
    return hit_id


def test_resolve_connects_to_each_records_own_endpoint(make_emulator, cli_env) -> None:
    a, b = make_emulator(0), make_emulator(0)
    hit_a, hit_b = _crash(cli_env, a), _crash(cli_env, b)
    res = run_cli(cli_env, "resolve", "--yes", "--json")  # no endpoint given: the records know
    assert res.returncode == 0, res.stdout + res.stderr
    data = json.loads(res.stdout)
    assert sorted(r["hit_id"] for r in data["records"]) == sorted([hit_a, hit_b])
    assert {r["state"] for r in data["records"]} == {"resolved_succeeded"}
    assert {e["endpoint"] for e in data["endpoints"]} == {a.url, b.url}
    for server, hit_id in ((a, hit_a), (b, hit_b)):
        assert server.state.get_hit_raw(hit_id)["MaxAssignments"] == 5  # exactly once
        assert server.state.request_count(OP) == 2  # re-sent once, with the same token


def test_resolve_names_what_it_cannot_reach_and_exits_non_zero(make_emulator, cli_env) -> None:
    a, b = make_emulator(0), make_emulator(0)
    _crash(cli_env, a)
    _crash(cli_env, b)
    dead = b.url
    b.stop()
    res = run_cli(cli_env, "resolve", "--yes")
    assert res.returncode == 5, res.stdout + res.stderr
    out = res.stdout + res.stderr
    assert "cannot reach it" in out and dead in out
    assert f"Retry: turktui resolve --endpoint-url {dead}" in out
    assert "1 settled, 1 still unknown" in out
    pending = json.loads(run_cli(cli_env, "history", "--json", "--unsettled").stdout)
    assert [r["endpoint"] for r in pending["records"]] == [dead]


def test_resolve_asks_per_production_record(emulator, cli_env) -> None:
    hit_id = _crash(cli_env, emulator, "--production", "--yes")
    record = json.loads(run_cli(cli_env, "history", "--json").stdout)["records"][0]
    assert record["environment"] == "production"
    res = run_cli(cli_env, "resolve")  # no terminal, no --yes: nothing happens
    assert res.returncode == 2 and "--yes" in res.stderr
    assert "PRODUCTION" in res.stdout
    assert emulator.state.request_count(OP) == 1
    res = run_cli(cli_env, "resolve", "--yes", "--json")
    assert res.returncode == 0, res.stdout + res.stderr
    assert emulator.state.get_hit_raw(hit_id)["MaxAssignments"] == 5


def test_resolve_profile_option_replaces_the_recorded_profile(emulator, cli_env) -> None:
    _crash(cli_env, emulator)
    res = run_cli(cli_env, "resolve", "--yes", "--profile", "nope")
    assert res.returncode == 5, res.stdout + res.stderr
    assert "cannot use it" in res.stdout and "nope" in res.stdout
    assert f"Retry: turktui resolve --endpoint-url {emulator.url} --profile nope" in res.stdout
    assert emulator.state.request_count(OP) == 1  # nothing re-sent


def test_resolve_batch_goes_where_the_batch_went(emulator, cli_env) -> None:
    ids = [emulator.state.add_hit(MaxAssignments=20, Reward="0.10") for _ in range(2)]
    emulator.faults.add(op=OP, drop=1.0)  # applied, every answer lost → unknown
    try:
        res = run_cli(
            cli_env, "extend", *ids, "--add", "1", "--yes", "--json", "--endpoint-url", emulator.url
        )
    finally:
        emulator.faults.clear()
    assert res.returncode == 5, res.stdout + res.stderr
    batch = json.loads(res.stdout)["batch_id"]
    resolved = run_cli(cli_env, "resolve", "--batch", batch, "--yes", "--json")  # no endpoint
    assert resolved.returncode == 0, resolved.stdout + resolved.stderr
    data = json.loads(resolved.stdout)
    assert {r["state"] for r in data["records"]} == {"resolved_succeeded"}
    assert data["message"] == f"2 settled in batch {batch}"
    assert [emulator.state.get_hit_raw(h)["MaxAssignments"] for h in ids] == [21, 21]
