"""An MTurk-compatible requester service (JSON 1.1 over HTTP on loopback) for tests and demos.

Standard library only; independent of the app (domain, adapters, pipeline) on purpose.
"""

from __future__ import annotations

from .cli import cli_main
from .faults import FaultInjector
from .seed import build_hits
from .server import EmulatorServer
from .state import MTurkState

__all__ = ["EmulatorServer", "FaultInjector", "MTurkState", "build_hits", "cli_main"]
