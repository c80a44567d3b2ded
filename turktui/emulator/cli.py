"""``turktui emulator``: run the MTurk-compatible service in the foreground."""

from __future__ import annotations

import argparse
import contextlib
import signal
import sys
from decimal import Decimal, InvalidOperation
from types import FrameType

from .faults import parse_duration, parse_spec


class _ArgError(Exception):
    pass


class _Parser(argparse.ArgumentParser):
    def error(self, message: str) -> None:  # type: ignore[override]
        raise _ArgError(message)


def _parser() -> _Parser:
    p = _Parser(
        prog="turktui emulator", description="Serve an MTurk-compatible requester API on loopback."
    )
    p.add_argument("--host", default="127.0.0.1")
    p.add_argument("--port", type=int, default=0, help="0 picks a free port")
    p.add_argument("--hits", type=int, default=200, help="seeded HITs (0: empty account)")
    p.add_argument("--seed", type=int, default=1)
    p.add_argument("--faults", default=None, help="e.g. 'ListHITs:latency=20ms;*:throttle=0.05'")
    p.add_argument("--balance", default="10000.00")
    p.add_argument(
        "--modification-lag",
        default="0",
        metavar="DURATION",
        help="after CreateHIT, refuse changes to the new HIT for this long "
        "(e.g. 5s; default 0: off)",
    )
    p.add_argument(
        "--listing-lag",
        default="0",
        metavar="DURATION",
        help="new HITs appear in ListHITs only after this long (default 0: off)",
    )
    p.add_argument(
        "--assignment-lag",
        default="0",
        metavar="DURATION",
        help="for this long after a submission, approving or rejecting it answers "
        "'status of: null' and a bonus for it 'does not exist' (default 0: off)",
    )
    p.add_argument(
        "--activity",
        default="0",
        metavar="RATE",
        help="workers arrive at each HIT with work available RATE times an hour and accept, "
        "return, abandon and submit work (default 0: nobody works)",
    )
    p.add_argument(
        "--short-last-page",
        action="store_true",
        help="end listings on the last non-empty page without a NextToken (MTurk gives a "
        "NextToken on every non-empty page and ends with an empty page)",
    )
    return p


def _lag(flag: str, text: str) -> float:
    try:
        value = parse_duration(text)
    except ValueError:
        raise _ArgError(f"{flag} must be a duration such as 5s or 500ms, got {text!r}") from None
    if not (0 <= value < float("inf")):
        raise _ArgError(f"{flag} must be a non-negative duration, got {text!r}")
    return value


def _rate(text: str) -> float:
    try:
        value = float(text)
    except ValueError:
        value = -1.0
    if not (0 <= value < float("inf")):
        raise _ArgError(f"--activity must be a non-negative number an hour, got {text!r}")
    return value


def _raise_interrupt(signum: int, frame: FrameType | None) -> None:
    raise KeyboardInterrupt


def cli_main(argv: list[str]) -> int:
    """Entry point; returns the exit status (0 on Ctrl-C/SIGTERM, 2 on bad arguments)."""
    from .server import EmulatorServer

    try:
        args = _parser().parse_args(argv)
        if not 0 <= args.port <= 65535:
            raise _ArgError(f"--port must be within 0..65535, got {args.port}")
        if args.hits < 0:
            raise _ArgError(f"--hits must not be negative, got {args.hits}")
        try:
            bal = Decimal(args.balance)
        except InvalidOperation:
            raise _ArgError(f"--balance must be a decimal amount, got {args.balance!r}") from None
        if not bal.is_finite() or bal < 0:
            raise _ArgError(f"--balance must be a non-negative amount, got {args.balance!r}")
        mod_lag = _lag("--modification-lag", args.modification_lag)
        list_lag = _lag("--listing-lag", args.listing_lag)
        asg_lag = _lag("--assignment-lag", args.assignment_lag)
        activity = _rate(args.activity)
        if args.faults:
            try:
                parse_spec(args.faults)
            except ValueError as exc:
                raise _ArgError(f"--faults: {exc}") from None
    except _ArgError as exc:
        print(f"turktui emulator: error: {exc}", file=sys.stderr)
        return 2
    try:
        srv = EmulatorServer(
            host=args.host,
            port=args.port,
            hits=args.hits,
            seed=args.seed,
            faults=args.faults,
            balance=args.balance,
            modification_lag=mod_lag,
            listing_lag=list_lag,
            assignment_lag=asg_lag,
            activity=activity,
            empty_last_page=not args.short_last_page,
        )
    except OSError as exc:
        print(
            f"turktui emulator: error: cannot listen on {args.host}:{args.port}: {exc}",
            file=sys.stderr,
        )
        return 1
    previous = None
    with contextlib.suppress(ValueError):  # not in the main thread
        previous = signal.signal(signal.SIGTERM, _raise_interrupt)
    try:
        print(
            f"MTurk-compatible service at {srv.url} (HITs: {args.hits}, seed: {args.seed})"
            " — Ctrl-C to stop"
        )
        print(
            f"Try: AWS_ACCESS_KEY_ID=x AWS_SECRET_ACCESS_KEY=x aws mturk list-hits "
            f"--endpoint-url {srv.url} --region us-east-1"
        )
        if mod_lag or list_lag or asg_lag:
            print(
                f"Lags: modification {mod_lag:g}s after CreateHIT, ListHITs indexing "
                f"{list_lag:g}s, assignments {asg_lag:g}s after submission"
            )
        if activity:
            print(f"Workers: {activity:g} arrivals an hour at each HIT with work available")
        sys.stdout.flush()
        srv.serve_forever()
    except KeyboardInterrupt:
        pass
    finally:
        srv.stop()
        if previous is not None:
            signal.signal(signal.SIGTERM, previous)
    return 0
