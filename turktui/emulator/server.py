"""HTTP front end: an MTurk-compatible JSON 1.1 endpoint on a threaded loopback server.

Every answer is written in one ``write`` on a socket with TCP_NODELAY, with
``Content-Length`` and HTTP/1.1 keep-alive, so clients such as botocore do not
stall on Nagle/delayed-ACK interplay.
"""

from __future__ import annotations

import contextlib
import json
import socket
import threading
import time
import uuid
from collections import defaultdict, deque
from collections.abc import Callable
from email.utils import formatdate
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

from .errors import ApiError, serialization, service_fault, throttling, unknown_operation
from .faults import FaultInjector
from .seed import build_hits
from .state import MTurkState
from .wire import TARGET_PREFIX, decode_body, validate_input

CONTENT_TYPE = "application/x-amz-json-1.1"

OPERATIONS: dict[str, Callable[[MTurkState, dict[str, Any]], Any]] = {
    "CreateHIT": MTurkState.op_create_hit,
    "CreateHITType": MTurkState.op_create_hit_type,
    "CreateHITWithHITType": MTurkState.op_create_hit_with_hit_type,
    "GetHIT": MTurkState.op_get_hit,
    "ListHITs": MTurkState.op_list_hits,
    "ListReviewableHITs": MTurkState.op_list_reviewable_hits,
    "UpdateHITReviewStatus": MTurkState.op_update_hit_review_status,
    "CreateAdditionalAssignmentsForHIT": MTurkState.op_create_additional_assignments_for_hit,
    "UpdateExpirationForHIT": MTurkState.op_update_expiration_for_hit,
    "DeleteHIT": MTurkState.op_delete_hit,
    "GetAccountBalance": MTurkState.op_get_account_balance,
    "ListAssignmentsForHIT": MTurkState.op_list_assignments_for_hit,
    "GetAssignment": MTurkState.op_get_assignment,
    "ApproveAssignment": MTurkState.op_approve_assignment,
    "RejectAssignment": MTurkState.op_reject_assignment,
    "SendBonus": MTurkState.op_send_bonus,
    "ListBonusPayments": MTurkState.op_list_bonus_payments,
}

_REASONS = {
    200: "OK",
    400: "Bad Request",
    404: "Not Found",
    405: "Method Not Allowed",
    413: "Payload Too Large",
    500: "Internal Server Error",
    501: "Not Implemented",
}
MAX_BODY = 16 * 1024 * 1024


class _HTTPServer(ThreadingHTTPServer):
    daemon_threads = True
    allow_reuse_address = True
    block_on_close = False

    def __init__(self, addr: tuple[str, int], owner: EmulatorServer) -> None:
        if ":" in addr[0]:
            self.address_family = socket.AF_INET6
        self.owner = owner
        self.conns: set[socket.socket] = set()
        self.conns_lock = threading.Lock()
        super().__init__(addr, _Handler)

    def handle_error(self, request: Any, client_address: Any) -> None:
        """Never print tracebacks for broken client connections."""


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    disable_nagle_algorithm = True
    server_version = "MTurkEmulator"
    sys_version = ""
    timeout = 300
    server: _HTTPServer

    def setup(self) -> None:
        super().setup()
        with self.server.conns_lock:
            self.server.conns.add(self.connection)

    def finish(self) -> None:
        try:
            super().finish()
        finally:
            with self.server.conns_lock:
                self.server.conns.discard(self.connection)

    def log_message(self, format: str, *args: Any) -> None:
        """Silence the default per-request logging."""

    # ----------------------------------------------------------------- output
    def _send(
        self, status: int, body: bytes, *, head_only: bool = False, close: bool = False
    ) -> None:
        lines = [
            f"HTTP/1.1 {status} {_REASONS.get(status, 'Error')}",
            f"x-amzn-RequestId: {uuid.uuid4()}",
            f"Content-Type: {CONTENT_TYPE}",
            f"Content-Length: {len(body)}",
        ]
        if self.server.owner.date_header:
            lines.append(f"Date: {formatdate(self.server.owner.state.now(), usegmt=True)}")
        if close or self.close_connection:
            self.close_connection = True
            lines.append("Connection: close")
        data = ("\r\n".join(lines) + "\r\n\r\n").encode("latin-1")
        if not head_only:
            data += body
        try:
            self.wfile.write(data)
        except OSError:
            self.close_connection = True

    def _send_api_error(self, err: ApiError, **kw: Any) -> None:
        self._send(err.status, json.dumps(err.body()).encode(), **kw)

    def send_error(self, code: int, message: str | None = None, explain: str | None = None) -> None:
        """JSON instead of http.server's HTML error page (bad request line, etc.)."""
        kind = "UnknownOperationException" if code in (404, 405, 501) else "SerializationException"
        err = ApiError(code, kind, message or explain or _REASONS.get(code, "Error"))
        self._send_api_error(err, head_only=self.command == "HEAD", close=code >= 400)

    # ---------------------------------------------------------------- methods
    def _not_allowed(self) -> None:
        try:
            self._drain()
        except ApiError:
            self.close_connection = True
        status = 405 if self.path.split("?", 1)[0] == "/" else 404
        err = unknown_operation(
            f"{self.command} {self.path} is not supported; send POST / with X-Amz-Target "
            f"{TARGET_PREFIX}<Operation>",
            status,
        )
        self._send_api_error(err, head_only=self.command == "HEAD")

    do_GET = do_PUT = do_DELETE = do_PATCH = do_HEAD = do_OPTIONS = _not_allowed

    def _drain(self) -> bytes:
        if "chunked" in (self.headers.get("Transfer-Encoding") or "").lower():
            return self._read_chunked()
        raw_len = self.headers.get("Content-Length")
        if not raw_len:
            return b""
        try:
            n = int(raw_len)
        except ValueError:
            self.close_connection = True
            raise serialization("Invalid Content-Length header") from None
        if n < 0 or n > MAX_BODY:
            self.close_connection = True
            raise serialization("Request body too large")
        return self.rfile.read(n)

    def _read_chunked(self) -> bytes:
        parts: list[bytes] = []
        total = 0
        while True:
            line = self.rfile.readline(1024)
            try:
                size = int(line.split(b";", 1)[0].strip(), 16)
            except ValueError:
                self.close_connection = True
                raise serialization("Invalid chunked request body") from None
            if size == 0:
                while self.rfile.readline(1024) not in (b"\r\n", b"\n", b""):
                    pass  # trailers
                return b"".join(parts)
            total += size
            if total > MAX_BODY:
                self.close_connection = True
                raise serialization("Request body too large")
            parts.append(self.rfile.read(size))
            self.rfile.readline(1024)

    def do_POST(self) -> None:
        with self.server.owner.faults.handling():
            self._post()

    def _post(self) -> None:
        started = time.perf_counter()
        owner = self.server.owner
        op = ""
        drop = False
        try:
            try:
                raw = self._drain()
            except ApiError as err:
                self._send_api_error(err, close=True)
                return
            if self.path.split("?", 1)[0] != "/":
                raise unknown_operation(f"No such resource: POST {self.path}", 404)
            target = self.headers.get("X-Amz-Target") or ""
            if not target:
                raise unknown_operation("Missing X-Amz-Target header")
            prefix, _, op = target.partition(".")
            if prefix + "." != TARGET_PREFIX or op not in OPERATIONS:
                bad = op or target
                op = ""
                raise unknown_operation(f"Unknown operation {bad}")
            owner.state.count_request(op)
            plan = owner.faults.plan(op)
            drop = plan.drop
            if plan.latency:
                time.sleep(plan.latency)
            if plan.throttle:
                raise throttling()
            if plan.error:
                raise service_fault("Service is unavailable, please try again.", owner.state.now())
            params = decode_body(raw)
            validate_input(op, params)
            result = OPERATIONS[op](owner.state, params)
            body = (
                result
                if isinstance(result, bytes)
                else json.dumps(result, separators=(",", ":")).encode()
            )
            status = 200
        except ApiError as err:
            status, body = err.status, json.dumps(err.body()).encode()
        except Exception as exc:  # never let a request kill the handler
            err = service_fault(f"Internal error: {type(exc).__name__}", owner.state.now())
            status, body = err.status, json.dumps(err.body()).encode()
        if drop:
            self.close_connection = True
            with contextlib.suppress(OSError):
                self.connection.shutdown(socket.SHUT_RDWR)
            return
        self._send(status, body)
        if op:
            owner.record_timing(op, time.perf_counter() - started)


class EmulatorServer:
    """An MTurk-compatible requester service on ``host:port`` (port 0 = any free port)."""

    def __init__(
        self,
        host: str = "127.0.0.1",
        port: int = 0,
        hits: int = 200,
        seed: int = 1,
        faults: str | FaultInjector | None = None,
        balance: str = "10000.00",
        now: Callable[[], float] | None = None,
        modification_lag: float = 0.0,
        listing_lag: float = 0.0,
        assignment_lag: float = 0.0,
        activity: float = 0.0,
        empty_last_page: bool = True,
    ) -> None:
        self.state = MTurkState(
            seed=seed,
            balance=balance,
            now=now,
            modification_lag=modification_lag,
            listing_lag=listing_lag,
            assignment_lag=assignment_lag,
            activity=activity,
            empty_last_page=empty_last_page,
        )
        if hits:
            self.state.add_hits(build_hits(hits, seed, self.state.now()))
        self.faults = faults if isinstance(faults, FaultInjector) else FaultInjector(faults)
        self.hits = hits
        self.seed = seed
        #: False: answers carry no `Date` header (a proxy that strips it; see FIDELITY.md).
        self.date_header = True
        self._timings: dict[str, deque[float]] = defaultdict(lambda: deque(maxlen=100_000))
        self._httpd = _HTTPServer((host, port), self)
        self._thread: threading.Thread | None = None
        self._stopped = False

    @property
    def host(self) -> str:
        return str(self._httpd.server_address[0])

    @property
    def port(self) -> int:
        return int(self._httpd.server_address[1])

    @property
    def url(self) -> str:
        host = self.host
        if ":" in host:
            host = f"[{host}]"
        return f"http://{host}:{self.port}"

    def record_timing(self, op: str, seconds: float) -> None:
        self._timings[op].append(seconds)

    def timings(self, op: str) -> list[float]:
        """Seconds spent handling each answered request of ``op`` (inside the server)."""
        return list(self._timings.get(op, ()))

    def start(self) -> EmulatorServer:
        """Serve from a daemon thread. `stop()` returns within one poll interval (10 ms): the
        server thread checks for a stop request that often, at a negligible cost when idle."""
        if self._thread is None:
            self._thread = threading.Thread(
                target=self._httpd.serve_forever,
                kwargs={"poll_interval": 0.01},
                name="mturk-emulator",
                daemon=True,
            )
            self._thread.start()
        return self

    def serve_forever(self) -> None:
        """Serve in the foreground until :meth:`stop` or KeyboardInterrupt."""
        try:
            self._httpd.serve_forever(poll_interval=0.2)
        finally:
            self._close()

    def stop(self) -> None:
        """Stop serving, close the listening socket and open connections."""
        if self._thread is not None:
            self._httpd.shutdown()
            self._thread.join(timeout=5)
            self._thread = None
        self._close()

    def _close(self) -> None:
        if self._stopped:
            return
        self._stopped = True
        self._httpd.server_close()
        with self._httpd.conns_lock:
            conns = list(self._httpd.conns)
        for conn in conns:
            with contextlib.suppress(OSError):
                conn.shutdown(socket.SHUT_RDWR)

    def __enter__(self) -> EmulatorServer:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()
