"""Benchmark: boto3 paginating 10,000 HITs from the emulator vs a static JSON responder, and
seeding 10,000 / 50,000 HITs (budgets 2 s / 6 s: the emulator's start-up, `--demo-hits`).

Run from the repo root: ``python -m tests.bench.bench_emulator [--hits N] [--rounds R]``.
Each server runs in its own subprocess so the client does not share a GIL with it.
Not collected by pytest (the file name does not match ``test_*.py``).
"""

from __future__ import annotations

import argparse
import json
import os
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

PAGE = 100


# --------------------------------------------------------------------- servers
def _serve_emulator(hits: int, now: float) -> None:
    from turktui.emulator import EmulatorServer

    srv = EmulatorServer(hits=hits, seed=1, now=lambda: now).start()
    print(srv.url, flush=True)
    sys.stdin.read()  # until the parent closes our stdin
    times = srv.timings("ListHITs")
    srv.stop()
    print(
        json.dumps(
            {
                "pages": len(times),
                "median_ms": statistics.median(times) * 1000 if times else None,
                "first_pass_ms": [t * 1000 for t in times[: hits // PAGE + 1]],
            }
        ),
        flush=True,
    )


def _static_pages(hits: int, now: float) -> dict[str, bytes]:
    from turktui.emulator import MTurkState, build_hits

    state = MTurkState(seed=1, now=lambda: now)
    state.add_hits(build_hits(hits, 1, now))
    pages: dict[str, bytes] = {}
    token = ""
    while True:
        body = state.op_list_hits({"MaxResults": PAGE, **({"NextToken": token} if token else {})})
        pages[token] = body
        token = json.loads(body).get("NextToken", "")
        if not token:
            return pages


def _serve_static(hits: int, now: float) -> None:
    pages = _static_pages(hits, now)

    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"
        disable_nagle_algorithm = True

        def log_message(self, format: str, *args: Any) -> None:
            pass

        def do_POST(self) -> None:
            raw = self.rfile.read(int(self.headers.get("Content-Length") or 0))
            token = json.loads(raw or b"{}").get("NextToken", "")
            body = pages[token]
            head = (
                "HTTP/1.1 200 OK\r\nx-amzn-RequestId: 00000000-0000-0000-0000-000000000000"
                "\r\nContent-Type: application/x-amz-json-1.1\r\n"
                f"Content-Length: {len(body)}\r\n\r\n"
            ).encode()
            self.wfile.write(head + body)

    class Server(ThreadingHTTPServer):
        daemon_threads = True

    httpd = Server(("127.0.0.1", 0), Handler)
    print(f"http://127.0.0.1:{httpd.server_address[1]}", flush=True)
    import threading

    threading.Thread(target=httpd.serve_forever, daemon=True).start()
    sys.stdin.read()
    httpd.shutdown()
    print("{}", flush=True)


# ---------------------------------------------------------------------- client
def _spawn(kind: str, hits: int, now: float, env: dict[str, str]) -> tuple[subprocess.Popen, str]:
    proc = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "tests.bench.bench_emulator",
            "--serve",
            kind,
            "--hits",
            str(hits),
            "--now",
            repr(now),
        ],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        text=True,
        env=env,
    )
    assert proc.stdout is not None
    url = proc.stdout.readline().strip()
    if not url.startswith("http://"):
        raise RuntimeError(f"{kind} server failed to start: {url!r}")
    return proc, url


def _paginate(client: Any) -> tuple[float, int]:
    started = time.perf_counter()
    n = 0
    for page in client.get_paginator("list_hits").paginate(PaginationConfig={"PageSize": PAGE}):
        n += len(page["HITs"])
    return time.perf_counter() - started, n


#: Seconds to build the seeded HITs, by count (was tests/emulator/test_seed.py).
SEED_BUDGETS = {10_000: 2.0, 50_000: 6.0}


def seed_build_seconds() -> dict[int, float]:
    from turktui.emulator.seed import build_hits

    seconds = {}
    for count in SEED_BUDGETS:
        started = time.perf_counter()
        built = build_hits(count, 1, time.time())
        seconds[count] = time.perf_counter() - started
        assert len(built) == count
    return seconds


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--hits", type=int, default=10_000)
    ap.add_argument("--rounds", type=int, default=5)
    ap.add_argument("--serve", choices=["emulator", "static"])
    ap.add_argument("--now", type=float, default=None)
    args = ap.parse_args(argv)
    now = args.now if args.now is not None else time.time()
    if args.serve == "emulator":
        _serve_emulator(args.hits, now)
        return 0
    if args.serve == "static":
        _serve_static(args.hits, now)
        return 0

    import boto3

    seeding = seed_build_seconds()
    for count, seconds in seeding.items():
        budget = SEED_BUDGETS[count]
        verdict = "OK" if seconds <= budget else "OVER"
        print(f"seeding {count:,} HITs: {seconds:.2f} s (budget {budget:g} s) {verdict}")
    tmp = tempfile.mkdtemp(prefix="bench-emulator-")
    env = dict(
        os.environ,
        HOME=tmp,
        AWS_CONFIG_FILE=os.path.join(tmp, "none"),
        AWS_SHARED_CREDENTIALS_FILE=os.path.join(tmp, "none"),
    )
    os.environ.update({k: env[k] for k in ("AWS_CONFIG_FILE", "AWS_SHARED_CREDENTIALS_FILE")})
    servers = {kind: _spawn(kind, args.hits, now, env) for kind in ("emulator", "static")}
    clients = {
        kind: boto3.session.Session().client(
            "mturk",
            endpoint_url=url,
            region_name="us-east-1",
            aws_access_key_id="AKIDEXAMPLE",
            aws_secret_access_key="x",
        )
        for kind, (_, url) in servers.items()
    }
    results: dict[str, list[float]] = {"emulator": [], "static": []}
    cold: dict[str, float] = {}
    try:
        for kind, client in clients.items():  # warm-up pass (emulator: fills its JSON cache)
            cold[kind], n = _paginate(client)
            assert n == args.hits, (kind, n)
        for _ in range(args.rounds):
            for kind, client in clients.items():
                seconds, n = _paginate(client)
                assert n == args.hits, (kind, n)
                results[kind].append(seconds)
    finally:
        stats: dict[str, Any] = {}
        for kind, (proc, _) in servers.items():
            out, _ = proc.communicate("", timeout=30)
            stats[kind] = json.loads(out.strip().splitlines()[-1]) if out.strip() else {}
    emu = statistics.median(results["emulator"])
    sta = statistics.median(results["static"])
    first = stats["emulator"].get("first_pass_ms") or [0.0]
    print(
        f"boto3 paginator over {args.hits} HITs, PageSize={PAGE}, "
        f"{args.rounds} alternating rounds (+1 warm-up), host: {socket.gethostname()}"
    )
    print(f"{'server':<12}{'median s':>10}{'min s':>10}{'max s':>10}{'warm-up s':>12}")
    for kind in ("emulator", "static"):
        r = results[kind]
        print(
            f"{kind:<12}{statistics.median(r):>10.3f}{min(r):>10.3f}{max(r):>10.3f}"
            f"{cold[kind]:>12.3f}"
        )
    print(f"ratio emulator/static: {emu / sta:.3f} (target <= 1.25)")
    print(
        f"emulator service cost per 100-HIT ListHITs page: median "
        f"{stats['emulator'].get('median_ms', 0):.3f} ms over {stats['emulator'].get('pages')}"
        f" pages (first, cold-cache pass: median {statistics.median(first):.3f} ms)"
    )
    return 0 if all(seeding[c] <= b for c, b in SEED_BUDGETS.items()) else 1


if __name__ == "__main__":
    sys.exit(main())
