"""botocore's own retries are not ours: every write attempt that reaches the wire is one the
engine made (and recorded). A small loopback HTTP server counts the requests that arrive
after a dropped connection and after a 500; reads are counted too, to show the test can see
botocore retrying."""

from __future__ import annotations

import json
import socket
import threading
from collections import Counter
from collections.abc import Iterator
from datetime import datetime, timedelta, timezone
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest

from turktui.adapters.mturk import MTurkService
from turktui.domain.environment import Environment, EnvKind
from turktui.domain.errors import ConnectionLost, ServiceFault, TurkError


class _Counting(ThreadingHTTPServer):
    daemon_threads = True

    def __init__(self, mode: str) -> None:
        super().__init__(("127.0.0.1", 0), _Handler)
        self.mode = mode
        self.counts: Counter[str] = Counter()
        self.lock = threading.Lock()


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    server: _Counting

    def log_message(self, *args: object) -> None:
        pass

    def do_POST(self) -> None:
        length = int(self.headers.get("Content-Length") or 0)
        self.rfile.read(length)
        op = (self.headers.get("X-Amz-Target") or "").rpartition(".")[2]
        with self.server.lock:
            self.server.counts[op] += 1
        if self.server.mode == "drop":
            self.close_connection = True
            self.connection.shutdown(socket.SHUT_RDWR)
            return
        body = json.dumps({"__type": "ServiceFault", "message": "internal"}).encode()
        self.send_response(500)
        self.send_header("Content-Type", "application/x-amz-json-1.1")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)


@pytest.fixture(params=["drop", "500"])
def counting(request: pytest.FixtureRequest) -> Iterator[_Counting]:
    server = _Counting(request.param)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield server
    server.shutdown()
    server.server_close()


def _service(server: _Counting) -> MTurkService:
    env = Environment(EnvKind.DEMO, f"http://127.0.0.1:{server.server_address[1]}")
    return MTurkService(env, read_timeout=2, connect_timeout=2, max_attempts=3)


def test_writes_reach_the_wire_exactly_once(counting: _Counting) -> None:
    service = _service(counting)
    expected = ConnectionLost if counting.mode == "drop" else ServiceFault
    with pytest.raises(expected):
        service.create_additional_assignments("H" * 30, 1, "turktui-" + "0" * 32)
    with pytest.raises(TurkError):
        service.update_expiration("H" * 30, datetime.now(timezone.utc) + timedelta(days=1))
    assert counting.counts["CreateAdditionalAssignmentsForHIT"] == 1
    assert counting.counts["UpdateExpirationForHIT"] == 1


def test_reads_are_retried_by_botocore(counting: _Counting) -> None:
    """The counter does see retries: GetHIT (a read) arrives max_attempts times."""
    service = _service(counting)
    with pytest.raises(TurkError):
        service.get_hit("H" * 30)
    assert counting.counts["GetHIT"] == 3
