"""The engine fixtures (one emulator per module, a shared clock, fast backoff) for the rest
of a HIT's life: expire now, add time, assignments, `turktui list`."""

from __future__ import annotations

from tests.engine.conftest import clock, emulator, engine, server  # noqa: F401
