"""Fault injection: latency, throttling, 500s, dropped answers, counts and SPEC parsing."""

from __future__ import annotations

import threading
import time
from typing import Any

import pytest
from botocore.exceptions import ClientError, ConnectionClosedError, EndpointConnectionError

from tests.emulator.helpers import make_client, raw_call
from tests.ui.helpers import wait_until
from turktui.emulator import EmulatorServer, FaultInjector
from turktui.emulator.faults import parse_duration, parse_spec


@pytest.mark.timing
def test_latency_measured(srv: EmulatorServer) -> None:
    client = make_client(srv.url)
    client.list_hits()  # warm up the connection
    srv.faults.add(op="ListHITs", latency=0.15)
    started = time.perf_counter()
    client.list_hits()
    slow = time.perf_counter() - started
    started = time.perf_counter()
    client.get_account_balance()
    fast = time.perf_counter() - started
    assert slow >= 0.15
    assert fast < 0.1


def test_requests_in_flight_are_counted_until_they_land(srv: EmulatorServer) -> None:
    """What a test waits on instead of sleeping: a slow request has landed once the
    emulator handles none (`wait_idle`)."""
    client = make_client(srv.url)
    hid = srv.state.add_hit(CreationTime=1.7e9, MaxAssignments=2)
    before = client.get_hit(HITId=hid)["HIT"]["Expiration"]
    assert srv.faults.wait_idle(timeout=30)  # the read's handler ends just after its answer
    assert srv.faults.in_flight == 0
    srv.faults.add(op="UpdateExpirationForHIT", latency=0.3, count=1)
    sent = threading.Thread(
        target=lambda: client.update_expiration_for_hit(HITId=hid, ExpireAt=0), daemon=True
    )
    sent.start()
    wait_until(lambda: srv.faults.in_flight == 1, what="the slow request arrives")
    assert srv.faults.wait_idle(timeout=30)
    assert srv.state.request_count("UpdateExpirationForHIT") == 1
    assert client.get_hit(HITId=hid)["HIT"]["Expiration"] != before  # it landed
    sent.join(timeout=30)


def test_throttle_and_error(srv: EmulatorServer) -> None:
    client = make_client(srv.url, retries=0)
    srv.faults.add(op="GetAccountBalance", throttle=1.0, count=1)
    with pytest.raises(ClientError) as info:
        client.get_account_balance()
    assert info.value.response["Error"]["Code"] == "ThrottlingException"
    assert info.value.response["Error"]["Message"] == "Rate exceeded"
    assert info.value.response["ResponseMetadata"]["HTTPStatusCode"] == 400
    client.get_account_balance()  # count lapsed
    hid = srv.state.add_hit(CreationTime=1.7e9, MaxAssignments=2)
    srv.faults.add(op="CreateAdditionalAssignmentsForHIT", error=1.0)
    with pytest.raises(ClientError) as info:
        client.create_additional_assignments_for_hit(HITId=hid, NumberOfAdditionalAssignments=1)
    assert info.value.response["Error"]["Code"] == "ServiceFault"
    assert info.value.response["ResponseMetadata"]["HTTPStatusCode"] == 500
    assert srv.state.get_hit_raw(hid)["MaxAssignments"] == 2  # decided before applying
    srv.faults.clear()
    client.create_additional_assignments_for_hit(HITId=hid, NumberOfAdditionalAssignments=1)
    assert srv.state.get_hit_raw(hid)["MaxAssignments"] == 3


def test_drop_applies_but_never_answers(srv: EmulatorServer) -> None:
    client = make_client(srv.url, retries=0)
    hid = srv.state.add_hit(CreationTime=1.7e9, MaxAssignments=2)
    srv.faults.parse("CreateAdditionalAssignmentsForHIT:drop=1,count=1")
    with pytest.raises((ConnectionClosedError, EndpointConnectionError)):
        client.create_additional_assignments_for_hit(
            HITId=hid, NumberOfAdditionalAssignments=1, UniqueRequestToken="drop-1"
        )
    assert srv.state.get_hit_raw(hid)["MaxAssignments"] == 3
    # the retry with the same token is recognised
    with pytest.raises(ClientError) as info:
        client.create_additional_assignments_for_hit(
            HITId=hid, NumberOfAdditionalAssignments=1, UniqueRequestToken="drop-1"
        )
    assert "has already been processed" in info.value.response["Error"]["Message"]
    assert srv.state.get_hit_raw(hid)["MaxAssignments"] == 3
    assert srv.faults.rules == []


def test_rates_are_seeded_and_deterministic(srv: EmulatorServer) -> None:
    def outcomes() -> list[int]:
        srv.faults.parse("*:throttle=0.3,seed=7")
        return [raw_call(srv.url, "GetAccountBalance", {})[0] for _ in range(40)]

    first = outcomes()
    assert first == outcomes()
    assert 3 <= first.count(400) <= 25
    srv.faults.clear()


def test_count_lapses_in_order(srv: EmulatorServer) -> None:
    srv.faults.parse("GetAccountBalance:error=1,count=2;ListHITs:throttle=1,count=1")
    statuses = [raw_call(srv.url, "GetAccountBalance", {})[0] for _ in range(4)]
    assert statuses == [500, 500, 200, 200]
    assert [raw_call(srv.url, "ListHITs", {})[0] for _ in range(2)] == [400, 200]


def test_faults_at_start() -> None:
    with EmulatorServer(hits=0, faults="*:error=1,count=1") as srv:
        client: Any = make_client(srv.url, retries=0)
        with pytest.raises(ClientError):
            client.get_account_balance()
        client.get_account_balance()


def test_spec_parsing() -> None:
    rules = parse_spec(
        "CreateAdditionalAssignmentsForHIT:drop=1,count=1;"
        "ListHITs:latency=20ms;*:throttle=0.05,error=0.02,seed=7"
    )
    assert [r.op for r in rules] == ["CreateAdditionalAssignmentsForHIT", "ListHITs", "*"]
    assert rules[0].drop == 1.0 and rules[0].count == 1
    assert rules[1].latency == pytest.approx(0.02)
    assert rules[2].seed == 7 and rules[2].throttle == 0.05
    assert parse_duration("1.5s") == 1.5 and parse_duration("0.25") == 0.25
    assert parse_spec("") == [] and parse_spec(" ; ") == []
    for bad in (
        "ListHITs",
        "ListHITs:",
        "ListHITs:speed=3",
        "ListHITs:throttle=2",
        "ListHITs:latency=fast",
        "*:count=x",
        ":error=0.1",
        "*:error",
    ):
        with pytest.raises(ValueError):
            parse_spec(bad)
    inj = FaultInjector()
    with pytest.raises(ValueError):
        inj.parse("nope")
    with pytest.raises(ValueError):
        inj.add(throttle=-1)
