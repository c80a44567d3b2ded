"""Concurrent extensions with their own clients give exactly the serial result."""

from __future__ import annotations

import threading
from typing import Any

from botocore.exceptions import ClientError

from tests.emulator.helpers import make_client
from turktui.emulator import EmulatorServer

THREADS = 16
PER_THREAD = 12
HITS = [  # (HITId, MaxAssignments, Reward)
    ("CONC" + "A" * 26, 10, "0.10"),
    ("CONC" + "B" * 26, 25, "0.37"),
    ("CONC" + "C" * 26, 100, "1.00"),
    ("CONC" + "D" * 26, 3, "0.05"),  # only +1 requests: stops at 9 whatever the order
]


def _requests(t: int) -> list[tuple[str, int, str]]:
    """Thread t's requests: (HITId, n, token); tokens shared-* are sent by every thread."""
    out = []
    for k in range(PER_THREAD):
        if k < 3:  # identical in every thread: must apply exactly once
            out.append((HITS[k][0], 2, f"shared-{k}"))
        elif k % 4 == 3:
            out.append((HITS[3][0], 1, f"t{t}-k{k}"))
        else:
            out.append((HITS[k % 3][0], 1 + (t + k) % 3, f"t{t}-k{k}"))
    return out


def _server() -> EmulatorServer:
    srv = EmulatorServer(hits=0, balance="5000.00")
    for hid, max_a, reward in HITS:
        srv.state.add_hit(HITId=hid, CreationTime=1.7e9, MaxAssignments=max_a, Reward=reward)
    return srv.start()


def _send(client: Any, hid: str, n: int, token: str) -> str:
    try:
        client.create_additional_assignments_for_hit(
            HITId=hid, NumberOfAdditionalAssignments=n, UniqueRequestToken=token
        )
        return "ok"
    except ClientError as exc:
        msg = exc.response["Error"]["Message"]
        if "already been processed" in msg:
            return "repeat"
        return exc.response.get("TurkErrorCode") or msg


def _final(srv: EmulatorServer) -> dict[str, Any]:
    return {
        "balance": srv.state.balance,
        **{
            hid: (
                srv.state.get_hit_raw(hid)["MaxAssignments"],
                srv.state.get_hit_raw(hid)["NumberOfAssignmentsAvailable"],
            )
            for hid, _, _ in HITS
        },
    }


def test_parallel_extensions_match_serial() -> None:
    parallel = _server()
    serial = _server()
    try:
        results: list[str] = []
        lock = threading.Lock()
        barrier = threading.Barrier(THREADS)
        clients = [make_client(parallel.url) for _ in range(THREADS)]

        def worker(t: int) -> None:
            barrier.wait(timeout=30)
            for hid, n, token in _requests(t):
                outcome = _send(clients[t], hid, n, token)
                with lock:
                    results.append(outcome)

        threads = [threading.Thread(target=worker, args=(t,)) for t in range(THREADS)]
        for th in threads:
            th.start()
        for th in threads:
            th.join(60)
        assert len(results) == THREADS * PER_THREAD
        assert results.count("repeat") == 3 * (THREADS - 1)

        client = make_client(serial.url)
        serial_results = [_send(client, *req) for t in range(THREADS) for req in _requests(t)]
        assert sorted(serial_results) == sorted(results)
        assert _final(parallel) == _final(serial)
        assert _final(parallel)[HITS[3][0]] == (9, 9)
        assert parallel.state.request_count("CreateAdditionalAssignmentsForHIT") == len(results)
    finally:
        parallel.stop()
        serial.stop()
