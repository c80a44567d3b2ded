"""The app's rules against the emulator's independent answer, over the wire with boto3.

For every (MaxAssignments, n, created before/after 2015-07-22) in the grid: accepted or
refused (with the same TurkErrorCode) exactly as `extension_range(...).allows(n)` predicts,
and an accepted extension costs exactly `extension_cost(...)`.
"""

from __future__ import annotations

import os
import uuid
from collections.abc import Iterator
from datetime import datetime, timezone
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest

from turktui.adapters.mturk import MTurkService
from turktui.domain.environment import Environment, EnvKind
from turktui.domain.errors import RequestRefused, TurkError
from turktui.domain.rules import EXTENSION_CUTOFF, extension_cost, extension_range
from turktui.emulator import EmulatorServer

UTC = timezone.utc
MAXES = [*range(1, 13), 50, 999_990, 999_999, 1_000_000]
COUNTS = [*range(0, 13), 100, 999_990, 999_999, 1_000_000, 1_000_001]
OLD = datetime(2015, 7, 21, 23, 59, 59, tzinfo=UTC)
NEW = EXTENSION_CUTOFF  # exactly the cutoff is allowed
REWARDS = ["0.01", "0.05", "0.10", "0.33", "1.00", "2.49"]


@pytest.fixture(scope="module")
def wire(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[EmulatorServer, Any]]:
    saved = {k: os.environ.pop(k) for k in list(os.environ) if k.startswith("AWS_")}
    tmp = tmp_path_factory.mktemp("aws")
    os.environ["AWS_CONFIG_FILE"] = str(Path(tmp) / "nonexistent")
    os.environ["AWS_SHARED_CREDENTIALS_FILE"] = str(Path(tmp) / "nonexistent")
    server = EmulatorServer(hits=0, balance="1000000000000.00").start()
    service = MTurkService(Environment(EnvKind.DEMO, server.url), read_timeout=5)
    yield server, service
    server.stop()
    for key in ("AWS_CONFIG_FILE", "AWS_SHARED_CREDENTIALS_FILE"):
        os.environ.pop(key, None)
    os.environ.update(saved)


@pytest.mark.parametrize("created", [OLD, NEW], ids=["before-cutoff", "after-cutoff"])
@pytest.mark.parametrize("max_assignments", MAXES)
def test_grid_matches_the_service(wire, created: datetime, max_assignments: int) -> None:
    server, service = wire
    rng = extension_range(max_assignments, created)
    mismatches = []
    for i, n in enumerate(COUNTS):
        reward = Decimal(REWARDS[(i + max_assignments) % len(REWARDS)])
        hit_id = server.state.add_hit(
            MaxAssignments=max_assignments, Reward=str(reward), CreationTime=created.timestamp()
        )
        before = server.state.balance
        try:
            service.create_additional_assignments(hit_id, n, "grid-" + uuid.uuid4().hex)
            got: str | None = None
        except RequestRefused as err:
            got = err.code
        except TurkError as err:  # e.g. rejected by botocore's own validation (n < 1)
            got = "client:" + type(err).__name__
        after = server.state.get_hit_raw(hit_id)["MaxAssignments"]
        if rng.allows(n) != (got is None):
            mismatches.append((n, "allows", rng.allows(n), got))
            continue
        if got is None:
            cost = extension_cost(reward, n, max_assignments + n).total
            if before - server.state.balance != cost or after != max_assignments + n:
                mismatches.append((n, "cost", cost, before - server.state.balance))
        else:
            expected = rng.refusal_code(n)
            if not (got == expected or (n < 1 and got.startswith("client:"))):
                mismatches.append((n, "code", expected, got))
            if after != max_assignments or server.state.balance != before:
                mismatches.append((n, "changed although refused"))
    assert mismatches == []


@pytest.mark.parametrize("reward", ["0.00", "0.01", "0.04", "0.05", "0.06", "0.99", "12.34"])
# Each case is an extension MTurk accepts (9 → 109 never is: that case checked nothing).
@pytest.mark.parametrize("max_assignments, n", [(1, 1), (2, 7), (3, 6), (10, 1), (12, 37)])
def test_cost_matches_the_service(wire, reward: str, max_assignments: int, n: int) -> None:
    server, service = wire
    hit_id = server.state.add_hit(MaxAssignments=max_assignments, Reward=reward)
    rng = extension_range(max_assignments, datetime.now(UTC))
    before = server.state.balance
    assert rng.allows(n), "a cost case must be an extension MTurk accepts"
    service.create_additional_assignments(hit_id, n, "cost-" + uuid.uuid4().hex)
    cost = extension_cost(Decimal(reward), n, max_assignments + n)
    assert before - server.state.balance == cost.total
    assert cost.total == cost.rewards + cost.fee
    assert cost.large_hit == (max_assignments + n >= 10)
