"""Expire now in a real pseudo-terminal (the installed console script, read back through
pyte): `X` asks on a non-demo endpoint, `n` sends nothing, `y` expires the HIT."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from tests.terminal.driver import Terminal, terminal_env
from turktui.emulator import EmulatorServer

pytestmark = pytest.mark.timeout(120)
OP = "UpdateExpirationForHIT"


def test_expire_now_confirmation_in_a_real_terminal(tmp_path: Path) -> None:
    with EmulatorServer(hits=20, seed=3) as srv:
        later = datetime.now(UTC) + timedelta(days=2)
        hit_id = srv.state.add_hit(
            MaxAssignments=3, Reward="0.50", Title="Zebra expiry test", Expiration=later.timestamp()
        )
        env = terminal_env(
            tmp_path, AWS_ACCESS_KEY_ID="AKIDTESTTESTTEST0000", AWS_SECRET_ACCESS_KEY="test-secret"
        )
        term = Terminal(["--endpoint-url", srv.url], env=env, columns=100, lines=30)
        try:
            term.wait_for("21 HITs", timeout=30)
            term.send("/")
            term.send("Zebra expiry")
            term.send("\r")
            term.wait_for(lambda s: "1/1" in s or "1 of 21" in s)
            term.send("X")
            screen = term.wait_for("Expire this HIT now?")
            assert "CUSTOM" in screen and hit_id in screen
            assert "Workers can no longer accept it" in screen
            assert "Work in progress is kept" in screen
            term.send("n")
            term.wait_for("Cancelled")
            assert srv.state.request_count(OP) == 0
            term.send("X")
            term.wait_for("Expire this HIT now?")
            term.send("y")
            term.wait_for(lambda s: "Expired HIT" in s or "expired 0 s ago" in s, timeout=20)
            assert srv.state.request_count(OP) == 1
            assert srv.state.get_hit_raw(hit_id)["Expiration"] <= datetime.now(UTC).timestamp()
        finally:
            status = term.close()
    assert status == 0
