"""`turktui --production --endpoint-url URL` in a real pseudo-terminal: PRODUCTION in every
respect — the red bar in words and colour, the production confirmation, nothing sent when it
is declined (the choice documented in docs/environments.md)."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.terminal.driver import Terminal, terminal_env

pytestmark = pytest.mark.timeout(120)
OP = "CreateAdditionalAssignmentsForHIT"


def _is_red(colour: str) -> bool:
    if colour == "red":
        return True
    if len(colour) == 6:  # truecolor / 256-colour hex
        r, g, b = (int(colour[i : i + 2], 16) for i in (0, 2, 4))
        return r > 150 and g < 90 and b < 90
    return False


def test_production_with_endpoint_url_is_production(tmp_path: Path, make_emulator) -> None:
    server = make_emulator(0)
    server.state.add_hit(
        MaxAssignments=3, Reward="0.10", Title="Real money survey", Expiration=4_000_000_000
    )
    env = terminal_env(
        tmp_path,
        AWS_ACCESS_KEY_ID="AKIDTESTTESTTEST0000",
        AWS_SECRET_ACCESS_KEY="test-secret",
        COLORTERM="truecolor",
    )
    term = Terminal(["--production", "--endpoint-url", server.url], env=env, columns=80, lines=24)
    try:
        screen = term.wait_for("Real money survey", timeout=30)
        first = screen.splitlines()[0]
        assert "PRODUCTION \u2014 real money" in first and "CUSTOM" not in screen
        assert server.url.removeprefix("http://") in screen
        row = term.screen.buffer[0]
        at = first.index("PRODUCTION")
        assert _is_red(row[at].bg), row[at].bg  # the red bar
        term.send("e")
        term.wait_for("Add assignments")
        term.send("1")
        term.send("\r")
        screen = term.wait_for("Confirm: PRODUCTION request")
        assert "real money" in screen
        term.send("\x1b")  # Esc cancels
        term.wait_for(lambda s: "Confirm" not in s)
        term.wait_for("Cancelled: nothing was sent")
        assert server.state.request_count(OP) == 0
    finally:
        term.close()
