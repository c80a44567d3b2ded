"""Small hostile MTurk look-alikes on loopback: each answers what a broken proxy, a hostile
endpoint or a failing network would, so the real boto3 client meets it on a real socket."""

from __future__ import annotations

import json
import socket
import threading
import time
from collections.abc import Callable
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

#: (status, headers, body) or a callable writing the answer itself (trickling).
Answer = tuple[int, dict[str, str], bytes]
Responder = Callable[[str, dict[str, Any], "BaseHTTPRequestHandler"], "Answer | None"]


def json_answer(body: Any, status: int = 200) -> Answer:
    data = body if isinstance(body, bytes) else json.dumps(body).encode()
    return status, {"Content-Type": "application/x-amz-json-1.1"}, data


def html_answer(status: int, text: str = "<html><body>Too Many Requests</body></html>") -> Answer:
    return status, {"Content-Type": "text/html"}, text.encode()


def hit_json(hit_id: str = "HOSTILEHIT0000000001", **fields: Any) -> dict[str, Any]:
    now = time.time()
    raw: dict[str, Any] = {
        "HITId": hit_id,
        "HITTypeId": "T1",
        "HITGroupId": "G1",
        "Title": "a HIT",
        "HITStatus": "Assignable",
        "MaxAssignments": 5,
        "Reward": "0.10",
        "CreationTime": now - 3600,
        "Expiration": now + 86400,
        "NumberOfAssignmentsAvailable": 5,
        "NumberOfAssignmentsPending": 0,
        "NumberOfAssignmentsCompleted": 0,
    }
    raw.update(fields)
    return raw


class HostileServer:
    """`responder(operation, request_json, handler)` decides each answer; None = it wrote
    the answer itself (e.g. byte by byte). `calls` lists the operations seen."""

    def __init__(self, responder: Responder) -> None:
        self.responder = responder
        self.calls: list[tuple[str, dict[str, Any]]] = []
        outer = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, *args: Any) -> None:
                pass

            def do_POST(self) -> None:
                size = int(self.headers.get("Content-Length") or 0)
                body = self.rfile.read(size) if size else b""
                target = self.headers.get("X-Amz-Target", "")
                op = target.rsplit(".", 1)[-1]
                try:
                    request = json.loads(body or b"{}")
                except ValueError:
                    request = {}
                outer.calls.append((op, request))
                try:
                    answer = outer.responder(op, request, self)
                except (BrokenPipeError, ConnectionResetError):
                    return
                if answer is None:
                    return
                status, headers, data = answer
                self.send_response(status)
                for key, value in headers.items():
                    self.send_header(key, value)
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)

        self.httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.httpd.daemon_threads = True
        # A client that gives up (the deadline) resets the connection: not worth a trace.
        self.httpd.handle_error = lambda request, address: None  # type: ignore[method-assign]
        self.url = f"http://127.0.0.1:{self.httpd.server_address[1]}"
        self._thread = threading.Thread(target=self.httpd.serve_forever, daemon=True)

    def ops(self) -> list[str]:
        return [op for op, _ in self.calls]

    def __enter__(self) -> HostileServer:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.httpd.shutdown()
        self.httpd.server_close()


def trickle(
    handler: BaseHTTPRequestHandler,
    body: bytes,
    every: float,
    stop: threading.Event,
) -> None:
    """Answer 200 with a correct Content-Length, then one byte every `every` seconds:
    each read succeeds well within any per-read timeout, the whole never ends in time."""
    handler.send_response(200)
    handler.send_header("Content-Type", "application/x-amz-json-1.1")
    handler.send_header("Content-Length", str(len(body)))
    handler.end_headers()
    handler.wfile.flush()
    for i in range(len(body)):
        if stop.wait(every):
            return
        try:
            handler.wfile.write(body[i : i + 1])
            handler.wfile.flush()
        except OSError:
            return


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])
