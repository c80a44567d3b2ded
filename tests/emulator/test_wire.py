"""The wire protocol seen through raw http.client: headers, errors, keep-alive."""

from __future__ import annotations

import socket
import threading
import time
import uuid
from typing import Any

import pytest

from tests.emulator.helpers import connect, raw_call
from tests.emulator.shapes import assert_output
from turktui.emulator import EmulatorServer


def _assert_headers(headers: Any) -> None:
    uuid.UUID(headers["x-amzn-RequestId"])
    assert headers["Content-Type"] == "application/x-amz-json-1.1"
    assert int(headers["Content-Length"]) >= 0


def test_raw_bodies_validate(srv: EmulatorServer) -> None:
    hid = srv.state.add_hit(
        MaxAssignments=3,
        NumberOfAssignmentsCompleted=2,
        QualificationRequirements=[
            {
                "QualificationTypeId": "000000000000000000L0",
                "Comparator": "GreaterThan",
                "IntegerValues": [90],
                "RequiredToPreview": True,
            }
        ],
    )
    calls = [
        ("ListHITs", {"MaxResults": 5}),
        ("GetHIT", {"HITId": hid}),
        ("GetAccountBalance", {}),
        ("ListAssignmentsForHIT", {"HITId": hid}),
        ("CreateAdditionalAssignmentsForHIT", {"HITId": hid, "NumberOfAdditionalAssignments": 1}),
        (
            "UpdateExpirationForHIT",
            {"HITId": hid, "ExpireAt": srv.state.get_hit_raw(hid)["Expiration"] + 3600},
        ),
        ("UpdateExpirationForHIT", {"HITId": hid, "ExpireAt": 0}),
        ("DeleteHIT", {"HITId": hid}),
        (
            "CreateHIT",
            {
                "LifetimeInSeconds": 60,
                "AssignmentDurationInSeconds": 60,
                "Reward": "0.05",
                "Title": "t",
                "Description": "d",
                "MaxAssignments": 4,
                "HITLayoutId": "LAYOUT1",
                "HITLayoutParameters": [{"Name": "n", "Value": "v"}],
            },
        ),
    ]
    for op, body in calls:
        status, headers, data = raw_call(srv.url, op, body)
        assert status == 200, (op, data)
        _assert_headers(headers)
        assert_output(op, data, raw=True)
    status, _, data = raw_call(srv.url, "GetHIT", {"HITId": srv.state.hit_ids()[-1]})
    assert isinstance(data["HIT"]["CreationTime"], (int, float))
    assert data["HIT"]["MaxAssignments"] == 4 and data["HIT"]["Reward"] == "0.05"


@pytest.mark.parametrize(
    ("op", "body", "expected"),
    [
        (
            "GetHIT",
            {},
            "Value null at 'hITId' failed to satisfy constraint: Member must not be null",
        ),
        ("ListHITs", {"MaxResults": 0}, "Member must have value greater than or equal to 1"),
        ("ListHITs", {"MaxResults": 101}, "Member must have value less than or equal to 100"),
        ("ListHITs", {"MaxResults": "ten"}, "Member must be of type integer"),
        ("ListHITs", {"NextToken": ""}, "Member must have length greater than or equal to 1"),
        ("GetHIT", {"HITId": "lower-case"}, "regular expression pattern"),
        (
            "CreateAdditionalAssignmentsForHIT",
            {"HITId": "ABC", "NumberOfAdditionalAssignments": 1.5},
            "Member must be of type integer",
        ),
        ("UpdateExpirationForHIT", {"HITId": "ABC", "ExpireAt": "not a time"}, "timestamp"),
        ("CreateHIT", {"Title": "x"}, "4 validation errors detected"),
    ],
)
def test_validation_errors(
    srv: EmulatorServer, op: str, body: dict[str, Any], expected: str
) -> None:
    status, headers, data = raw_call(srv.url, op, body)
    assert status == 400
    _assert_headers(headers)
    assert data["__type"] == "ValidationException"
    assert expected in data["message"]
    assert data["message"].split(":")[0].endswith("detected")


def test_malformed_json(srv: EmulatorServer) -> None:
    for body in (b"{not json", b"[1, 2]", b"\xff\xfe", b'"str"'):
        status, headers, data = raw_call(srv.url, "ListHITs", body)
        assert status == 400
        _assert_headers(headers)
        assert data["__type"] == "SerializationException"


def test_empty_body_is_empty_request(srv: EmulatorServer) -> None:
    status, _, data = raw_call(srv.url, "GetAccountBalance", b"")
    assert status == 200 and data["AvailableBalance"] == "10000.00"


def test_unknown_operation_and_target(srv: EmulatorServer) -> None:
    status, headers, data = raw_call(srv.url, "FlyToTheMoon", {})
    assert status == 400 and data["__type"] == "UnknownOperationException"
    _assert_headers(headers)
    status, _, data = raw_call(srv.url, None, {})
    assert status == 400 and data["__type"] == "UnknownOperationException"
    status, _, data = raw_call(
        srv.url, None, {}, headers={"X-Amz-Target": "DynamoDB_20120810.ListTables"}
    )
    assert status == 400 and data["__type"] == "UnknownOperationException"


def test_wrong_path_and_method(srv: EmulatorServer) -> None:
    status, headers, data = raw_call(srv.url, "ListHITs", {}, path="/other")
    assert status == 404 and data["__type"] == "UnknownOperationException"
    _assert_headers(headers)
    for method in ("GET", "PUT", "DELETE"):
        status, headers, data = raw_call(srv.url, "ListHITs", None, method=method)
        assert status == 405, method
        assert isinstance(data, dict) and data["__type"] == "UnknownOperationException"
        _assert_headers(headers)
    status, headers, data = raw_call(srv.url, None, None, method="GET", path="/favicon.ico")
    assert status == 404 and isinstance(data, dict)


def test_garbage_request_line_gets_json(srv: EmulatorServer) -> None:
    with socket.create_connection((srv.host, srv.port), timeout=5) as s:
        s.sendall(b"BREW /pot HTTP/1.1\r\nHost: x\r\n\r\n")
        reply = s.recv(65536)
    assert reply.startswith(b"HTTP/1.1 501")
    assert b'"__type"' in reply and b"<html" not in reply.lower()
    with socket.create_connection((srv.host, srv.port), timeout=5) as s:
        s.sendall(b"\x16\x03\x01garbage\r\n\r\n")
        reply = s.recv(65536)
    assert reply.startswith(b"HTTP/1.1 400") and b"<html" not in reply.lower()
    # the server is still fine
    assert raw_call(srv.url, "GetAccountBalance", {})[0] == 200


@pytest.mark.timing
def test_keep_alive_single_connection(srv: EmulatorServer) -> None:
    srv.state.add_hit()
    conn = connect(srv.url)
    started = time.perf_counter()
    ids = set()
    for i in range(60):
        op = ("ListHITs", "GetAccountBalance", "NoSuchOp")[i % 3]
        status, headers, _ = raw_call(conn, op, {})
        assert status == (400 if op == "NoSuchOp" else 200)
        ids.add(headers["x-amzn-RequestId"])
    elapsed = time.perf_counter() - started
    conn.close()
    assert len(ids) == 60
    # no Nagle / delayed-ACK stall (~40 ms per answer)
    assert elapsed < 1.0, elapsed


def test_concurrent_keep_alive_connections(srv: EmulatorServer) -> None:
    for i in range(50):
        srv.state.add_hit(Title=f"hit {i}")
    errors: list[str] = []

    def worker() -> None:
        conn = connect(srv.url)
        try:
            for _ in range(30):
                status, _, data = raw_call(conn, "ListHITs", {"MaxResults": 50})
                if status != 200 or data["NumResults"] != 50:
                    errors.append(f"{status} {data}")
        finally:
            conn.close()

    threads = [threading.Thread(target=worker) for _ in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(30)
    assert not errors
    assert srv.state.request_count("ListHITs") == 240


def test_request_count_and_any_authorization(srv: EmulatorServer) -> None:
    raw_call(srv.url, "GetAccountBalance", {}, headers={"Authorization": "nonsense"})
    raw_call(srv.url, "ListHITs", {})
    assert srv.state.request_count("GetAccountBalance") == 1
    assert srv.state.request_count() == 2


def test_internal_error_becomes_service_fault(
    srv: EmulatorServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    from turktui.emulator import server as server_mod

    def boom(state: Any, params: Any) -> Any:
        raise RuntimeError("kaboom")

    monkeypatch.setitem(server_mod.OPERATIONS, "GetAccountBalance", boom)
    status, headers, data = raw_call(srv.url, "GetAccountBalance", {})
    assert status == 500
    _assert_headers(headers)
    assert data["__type"] == "ServiceFault"
    assert data["TurkErrorCode"] == "AWS.ServiceUnavailable"
    monkeypatch.undo()
    assert raw_call(srv.url, "GetAccountBalance", {})[0] == 200


def test_stop_closes_socket() -> None:
    srv = EmulatorServer(hits=0).start()
    conn = connect(srv.url)
    assert raw_call(conn, "GetAccountBalance", {})[0] == 200
    srv.stop()
    with pytest.raises(OSError):
        socket.create_connection((srv.host, srv.port), timeout=1).close()
    conn.close()


def test_chunked_body_and_deep_json(srv: EmulatorServer) -> None:
    with socket.create_connection((srv.host, srv.port), timeout=5) as s:
        body = b'{"MaxResults": 5}'
        s.sendall(
            b"POST / HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n"
            b"X-Amz-Target: MTurkRequesterServiceV20170117.ListHITs\r\n\r\n"
            + b"%x\r\n" % len(body)
            + body
            + b"\r\n0\r\n\r\n"
        )
        reply = s.recv(65536)
    assert reply.startswith(b"HTTP/1.1 200")
    status, _, data = raw_call(srv.url, "ListHITs", b"[" * 100_000 + b"]" * 100_000)
    assert status == 400 and data["__type"] == "SerializationException"


def test_head_request_has_no_body(srv: EmulatorServer) -> None:
    conn = connect(srv.url)
    conn.request("HEAD", "/")
    resp = conn.getresponse()
    assert resp.status == 405 and resp.read() == b""
    assert raw_call(conn, "GetAccountBalance", {})[0] == 200  # connection still usable
    conn.close()
