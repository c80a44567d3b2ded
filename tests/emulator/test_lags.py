"""Optional lags (off by default): a new HIT cannot be modified at once; ListHITs indexes late.

Sources:
- [LAG] the MTurk API reference as cited in this project's issue 11: after CreateHIT,
  CreateAdditionalAssignmentsForHIT and UpdateExpirationForHIT may return a RequestError for
  the first seconds. The exact text of that refusal is not public (FIDELITY.md).
- [INDEX] eventual consistency of listings: a new HIT can be read with GetHIT before ListHITs
  shows it (a choice modelled for tests; FIDELITY.md).
"""

from __future__ import annotations

import re
import subprocess
import sys
from typing import Any

import pytest
from botocore.exceptions import ClientError

from tests.emulator.helpers import Clock, error_of, make_client, raw_call
from tests.ui.helpers import read_line
from turktui.emulator import EmulatorServer, MTurkState, cli_main

T0 = 1_800_000_000.0
BASE: dict[str, Any] = {
    "LifetimeInSeconds": 3600,
    "AssignmentDurationInSeconds": 600,
    "Reward": "0.10",
    "Title": "t",
    "Description": "d",
    "Question": "<ExternalQuestion/>",
    "MaxAssignments": 2,
}


@pytest.fixture
def clock() -> Clock:
    return Clock(T0)


@pytest.fixture
def server_options() -> dict[str, Any]:
    return {"modification_lag": 5, "listing_lag": 30}


@pytest.fixture
def client(srv: EmulatorServer) -> Any:
    return make_client(srv.url, retries=0)


def test_lags_are_off_by_default() -> None:
    # [LAG]/[INDEX]: off unless asked for.
    clock = Clock(T0)
    with EmulatorServer(hits=0, now=clock) as srv:
        client = make_client(srv.url, retries=0)
        hid = client.create_hit(**BASE)["HIT"]["HITId"]
        assert [h["HITId"] for h in client.list_hits()["HITs"]] == [hid]
        client.create_additional_assignments_for_hit(HITId=hid, NumberOfAdditionalAssignments=1)
        client.update_expiration_for_hit(HITId=hid, ExpireAt=T0 + 7200)


def test_modification_lag(srv: EmulatorServer, client: Any, clock: Clock) -> None:
    # [LAG]: RequestError for both modifying operations in the first N seconds; nothing
    # changes and no token is consumed.
    hid = client.create_hit(**BASE)["HIT"]["HITId"]
    before = srv.state.get_hit_raw(hid)
    clock.t = T0 + 4.999
    calls = [
        lambda: client.create_additional_assignments_for_hit(
            HITId=hid, NumberOfAdditionalAssignments=1, UniqueRequestToken="lag-1"
        ),
        lambda: client.update_expiration_for_hit(HITId=hid, ExpireAt=T0 + 7200),
    ]
    for call in calls:
        with pytest.raises(ClientError) as info:
            call()
        code, msg, _ = error_of(info.value)
        assert code == "RequestError"
        assert re.fullmatch(
            rf"HIT {hid} was created moments ago and cannot be modified yet\. "
            r"Please try again in a few seconds\. \(\d+\)",
            msg,
        )
    assert srv.state.get_hit_raw(hid) == before
    # GetHIT works during the lag
    assert client.get_hit(HITId=hid)["HIT"]["MaxAssignments"] == 2
    clock.t = T0 + 5
    for call in calls:
        call()  # the same requests (same token, same second) now go through
    raw = srv.state.get_hit_raw(hid)
    assert raw["MaxAssignments"] == 3 and raw["Expiration"] == T0 + 7200


def test_seeded_hits_never_lag(srv: EmulatorServer, client: Any) -> None:
    # [LAG]: only HITs created through CreateHIT are new.
    hid = srv.state.add_hit(CreationTime=T0 - 60, MaxAssignments=2)
    client.create_additional_assignments_for_hit(HITId=hid, NumberOfAdditionalAssignments=1)
    assert [h["HITId"] for h in client.list_hits()["HITs"]] == [hid]


def test_listing_lag(srv: EmulatorServer, client: Any, clock: Clock) -> None:
    # [INDEX]: a new HIT is readable with GetHIT at once, listed only after N seconds;
    # pages stay full and NextToken stays consistent around the hidden HITs.
    old = [srv.state.add_hit(CreationTime=T0 - 60, Title=f"old {i}") for i in range(3)]
    new = [client.create_hit(**BASE)["HIT"]["HITId"] for _ in range(2)]
    later = [srv.state.add_hit(CreationTime=T0 - 60, Title=f"later {i}") for i in range(3)]
    for hid in new:
        assert client.get_hit(HITId=hid)["HIT"]["HITId"] == hid

    def listed(page_size: int) -> list[str]:
        out: list[str] = []
        for page in client.get_paginator("list_hits").paginate(
            PaginationConfig={"PageSize": page_size}
        ):
            assert page["NumResults"] == len(page["HITs"])
            out += [h["HITId"] for h in page["HITs"]]
        return out

    clock.t = T0 + 29.9
    for size in (1, 2, 3, 100):
        assert listed(size) == old + later
    first = client.list_hits(MaxResults=3)
    assert first["NumResults"] == 3 and "NextToken" in first
    rest = client.list_hits(MaxResults=3, NextToken=first["NextToken"])
    assert [h["HITId"] for h in rest["HITs"]] == later
    end = client.list_hits(MaxResults=3, NextToken=rest["NextToken"])
    assert end["HITs"] == [] and "NextToken" not in end
    clock.t = T0 + 30
    assert listed(2) == old + new + later


def test_lags_can_be_switched_at_run_time(srv: EmulatorServer, client: Any, clock: Clock) -> None:
    # Per-server switch: the attributes change the behaviour of the running service.
    srv.state.modification_lag = 0
    srv.state.listing_lag = 0
    hid = client.create_hit(**BASE)["HIT"]["HITId"]
    client.create_additional_assignments_for_hit(HITId=hid, NumberOfAdditionalAssignments=1)
    assert [h["HITId"] for h in client.list_hits()["HITs"]] == [hid]


@pytest.mark.parametrize("bad", [-1, float("nan"), float("inf")])
def test_bad_lag_values(bad: float) -> None:
    with pytest.raises(ValueError, match="non-negative"):
        MTurkState(modification_lag=bad)
    with pytest.raises(ValueError, match="non-negative"):
        MTurkState(listing_lag=bad)


@pytest.mark.parametrize(
    "args",
    [
        ["--modification-lag", "soon"],
        ["--listing-lag=-2s"],
        ["--listing-lag", "nan"],
        ["--modification-lag", "inf"],
        ["--assignment-lag", "later"],
        ["--activity", "-1"],
        ["--activity", "inf"],
        ["--activity", "often"],
    ],
)
def test_cli_bad_lags(args: list[str], capsys: pytest.CaptureFixture[str]) -> None:
    assert cli_main(args) == 2
    err = capsys.readouterr().err
    assert err.startswith("turktui emulator: error: --") and len(err.strip().splitlines()) == 1


def test_cli_lag_flags(subprocess_env: dict[str, str]) -> None:
    # `turktui emulator --listing-lag 1h`: a HIT created through the wire is not listed.
    code = "import sys; from turktui.emulator import cli_main; sys.exit(cli_main(sys.argv[1:]))"
    proc = subprocess.Popen(
        [
            sys.executable,
            "-c",
            code,
            "--hits",
            "0",
            "--listing-lag",
            "1h",
            "--modification-lag",
            "1h",
        ],
        env=subprocess_env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        assert proc.stdout is not None
        first = read_line(proc.stdout, what="the emulator's address")
        read_line(proc.stdout, what="the emulator's hint")
        lags = read_line(proc.stdout, what="the emulator's lags")
        url = re.match(r"MTurk-compatible service at (\S+) ", first)
        assert url, first
        assert lags.startswith("Lags: modification 3600s after CreateHIT, ListHITs indexing 3600s")
        status, _, data = raw_call(url.group(1), "CreateHIT", BASE)
        assert status == 200, data
        hid = data["HIT"]["HITId"]
        status, _, data = raw_call(url.group(1), "ListHITs", {})
        assert status == 200 and data["NumResults"] == 0
        status, _, data = raw_call(
            url.group(1),
            "CreateAdditionalAssignmentsForHIT",
            {"HITId": hid, "NumberOfAdditionalAssignments": 1},
        )
        assert status == 400 and data["__type"] == "RequestError"
    finally:
        proc.terminate()
        proc.communicate(timeout=10)
