"""Issue 21: the history is the truth, nothing is sent twice or sent wrong.

Each test is one defect of the unlucky-operator list, tried against the emulator over
loopback through real boto3. Each fails on the engine before issue 21 (named in its
docstring)."""

from __future__ import annotations

import socket
import time
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import datetime, timedelta, timezone
from pathlib import Path
from typing import Any

import pytest

from tests.runcli import run_cli
from turktui.adapters.history import HistoryStore
from turktui.adapters.mturk import MTurkService
from turktui.domain.environment import Environment, EnvKind
from turktui.domain.errors import TokenAlreadyProcessed
from turktui.domain.records import State
from turktui.domain.rules import EXPIRE_NOW
from turktui.emulator import EmulatorServer
from turktui.pipeline.engine import Backoff, Engine, PlanRefused, new_token

UTC = timezone.utc
OP_ADD = "CreateAdditionalAssignmentsForHIT"
OP_EXPIRE = "UpdateExpirationForHIT"


class Clock:
    """A clock that can be moved: MTurk's (the emulator's) or the local one."""

    def __init__(self, offset: float = 0.0) -> None:
        self.offset = offset

    def epoch(self) -> float:
        return time.time() + self.offset

    def __call__(self) -> datetime:
        return datetime.fromtimestamp(self.epoch(), UTC)


@dataclass
class World:
    server: EmulatorServer
    mturk: Clock
    local: Clock
    env: Environment
    service: MTurkService
    history: HistoryStore

    def engine(self, **kw: Any) -> Engine:
        return Engine(
            kw.pop("service", self.service),
            self.history,
            self.env,
            clock=self.local,
            backoff=Backoff(attempts=2, base=0.01, cap=0.02, total=1),
            seed=1,
            **kw,
        )

    def travel(self, seconds: float) -> None:
        """Both clocks move on (time passes)."""
        self.mturk.offset += seconds
        self.local.offset += seconds

    def hit(self, max_assignments: int = 10, **fields: Any) -> str:
        return self.server.state.add_hit(MaxAssignments=max_assignments, Reward="0.10", **fields)

    def raw(self, hit_id: str) -> dict[str, Any]:
        return self.server.state.get_hit_raw(hit_id)


@pytest.fixture
def world(tmp_path: Path) -> Iterator[World]:
    mturk = Clock()
    server = EmulatorServer(hits=0, seed=5, balance="100000.00", now=mturk.epoch).start()
    env = Environment(EnvKind.DEMO, server.url)
    service = MTurkService(env, read_timeout=0.5, connect_timeout=0.5)
    history = HistoryStore(tmp_path / "history.sqlite3")
    try:
        yield World(server, mturk, Clock(), env, service, history)
    finally:
        history.close()
        server.stop()


class CrashAfter:
    """The service, but the process "dies" (SystemExit) right after `op` was applied."""

    def __init__(self, inner: MTurkService, op: str) -> None:
        self.inner, self.op = inner, op

    def __getattr__(self, name: str) -> Any:
        return getattr(self.inner, name)

    def update_expiration(self, hit_id: str, expire_at: datetime) -> None:
        self.inner.update_expiration(hit_id, expire_at)
        if self.op == OP_EXPIRE:
            raise SystemExit("killed after the expiration was applied")


class AlreadyProcessed:
    """The service, but UpdateExpirationForHIT always answers "already processed"."""

    def __init__(self, inner: MTurkService) -> None:
        self.inner = inner

    def __getattr__(self, name: str) -> Any:
        return getattr(self.inner, name)

    def update_expiration(self, hit_id: str, expire_at: datetime) -> None:
        raise TokenAlreadyProcessed(
            f'The idempotency token "{hit_id}x" has already been processed.'
        )


def _unsent_unknown(world: World, hit_id: str, *, n: int, expire_at: datetime | None, **kw: Any):
    """A record whose only attempt's answer was lost (nothing applied), sent now."""
    hit = world.service.get_hit(hit_id)
    now = world.local()
    rid = world.history.create(
        env_kind="demo",
        endpoint=world.env.endpoint_url,
        profile=None,
        hit_id=hit_id,
        hit_title="",
        n=n,
        token=kw.pop("token", new_token()),
        max_before=hit.max_assignments,
        expected_after=hit.max_assignments + n,
        expire_at=expire_at,
        now=now,
    )
    world.history.update(rid, now=now, read_at=now, read_at_server=world.mturk(), **kw)
    world.history.add_attempt(
        rid,
        operation=OP_EXPIRE if n == 0 else OP_ADD,
        outcome="error",
        at=now,
        state=State.UNKNOWN,
        first_sent=now,
    )
    return rid


# -- a combined request: the time part is its own write-ahead record -------------------------
def test_time_part_of_a_combined_request_is_recorded_before_it_is_sent(world: World) -> None:
    """Old engine: the expiration of `extend H N --add-time` went out with no record of its
    own; killed right after it, the history said "succeeded +N +time" with nothing unsettled,
    so nothing ever offered the time part for resolution."""
    now = world.mturk.epoch()
    hit_id = world.hit(3, Expiration=now + 3600)
    engine = world.engine(service=CrashAfter(world.service, OP_EXPIRE))
    target = world.local() + timedelta(hours=5)
    with pytest.raises(SystemExit):
        engine.extend(world.service.get_hit(hit_id), 2, target)
    assert world.raw(hit_id)["MaxAssignments"] == 5
    unsettled = world.history.unsettled()
    assert len(unsettled) == 1, [r.change_label for r in unsettled]
    time_part = unsettled[0]
    assert time_part.expire_at is not None and time_part.n == 0
    # resolve settles it from what MTurk shows (the time was added)
    outcome = world.engine().resolve(time_part)
    assert outcome.record.state is State.RESOLVED_SUCCEEDED, outcome.message


# -- every re-send re-planned against a fresh read ----------------------------------------------
def test_a_stale_expiration_is_not_re_sent(world: World) -> None:
    """Old engine: resolve re-sent an expiration planned hours earlier; the time had passed
    meanwhile, MTurk read it as "expire now", and a HIT someone else had extended was
    expired."""
    now = world.mturk.epoch()
    hit_id = world.hit(3, Expiration=now + 3600)
    planned = world.local().replace(microsecond=0) + timedelta(hours=2)
    rid = _unsent_unknown(world, hit_id, n=0, expire_at=planned)
    # someone else extends the HIT to ten hours from now; three hours pass
    world.server.state.update_hit(hit_id, Expiration=now + 10 * 3600)
    world.travel(3 * 3600)
    outcome = world.engine().resolve(world.history.get(rid))
    assert world.raw(hit_id)["Expiration"] == now + 10 * 3600  # still open, untouched
    assert world.server.state.request_count(OP_EXPIRE) == 0
    rec = outcome.record
    assert rec.state is State.RESOLVED_NOT_APPLIED, rec.note
    assert "not re-sent" in rec.note
    assert planned.strftime("%Y-%m-%d %H:%M:%S") in rec.note


def test_a_batch_retry_re_plans_the_expiration(world: World) -> None:
    """Old engine: a batch's retry of an unknown member re-sent the old expiration as is."""
    now = world.mturk.epoch()
    hit_id = world.hit(3, Expiration=now + 3600)
    planned = world.local().replace(microsecond=0) + timedelta(hours=2)
    rid = _unsent_unknown(world, hit_id, n=0, expire_at=planned)
    world.server.state.update_hit(hit_id, Expiration=now + 10 * 3600)
    world.travel(3 * 3600)
    outcomes: list[Any] = []
    world.engine().dispatch([world.history.get(rid)], on_outcome=lambda r, o: outcomes.append(o))
    assert world.raw(hit_id)["Expiration"] == now + 10 * 3600
    assert outcomes and outcomes[0].record.state is State.RESOLVED_NOT_APPLIED


# -- expire now: confirmed by MTurk's answer, judged by MTurk's clock --------------------------
def test_expire_now_is_not_confirmed_while_the_hit_is_open(world: World) -> None:
    """Old engine: "already processed" counted as confirmed when the HIT's Expiration was
    within ten minutes of MTurk's time: reported expired while workers could still accept."""
    now = world.mturk.epoch()
    hit_id = world.hit(3, Expiration=now + 300)  # open for five more minutes
    engine = world.engine(service=AlreadyProcessed(world.service))
    outcome = engine.extend(world.service.get_hit(hit_id), 0, EXPIRE_NOW)
    assert outcome.record.state is not State.SUCCEEDED, outcome.message
    assert not outcome.succeeded


def test_expiring_again_within_a_day_after_a_re_open_works(world: World) -> None:
    """Old engine: every expire-now sent ExpireAt = the epoch; MTurk's implicit token (HIT
    id + time) refused the second within 24 hours as "already processed", and the HIT,
    re-opened meanwhile, stayed open."""
    now = world.mturk.epoch()
    hit_id = world.hit(3, Expiration=now + 86400)
    engine = world.engine()
    first = engine.extend(world.service.get_hit(hit_id), 0, EXPIRE_NOW)
    assert first.succeeded
    world.travel(120)
    world.service.update_expiration(hit_id, world.mturk() + timedelta(hours=1))  # re-opened
    assert world.raw(hit_id)["Expiration"] > world.mturk.epoch()
    second = engine.extend(world.service.get_hit(hit_id), 0, EXPIRE_NOW)
    assert second.succeeded, second.message
    assert world.raw(hit_id)["Expiration"] <= world.mturk.epoch()


def test_already_expired_is_judged_by_mturks_clock(world: World, cli_env) -> None:
    """Old CLI: with the local clock ahead of MTurk's, `turktui expire` said "already
    expired; nothing was sent" (exit 0) while workers could still accept the HIT."""
    world.mturk.offset = -3600  # MTurk's clock is an hour behind ours
    hit_id = world.hit(3, Expiration=world.mturk.epoch() + 1800)
    res = run_cli(cli_env, "expire", hit_id, "--yes", "--endpoint-url", world.server.url)
    assert res.returncode == 0, res.stdout + res.stderr
    assert world.raw(hit_id)["Expiration"] <= world.mturk.epoch()


# -- no decision on the local clock when MTurk's is unknown -----------------------------------
def test_no_re_send_without_mturks_time_at_send(world: World) -> None:
    """Old engine: with no usable `Date` when the request was sent, the 24-hour decision
    fell back on the local clock; MTurk had forgotten the token and the request was applied
    twice (10 → 16 for a +3)."""
    hit_id = world.hit(10)
    world.server.date_header = False  # the answers carry no `Date`
    world.server.faults.add(OP_ADD, drop=1.0)  # applied, every answer lost
    outcome = world.engine().extend(world.service.get_hit(hit_id), 3)
    world.server.faults.clear()
    world.server.date_header = True
    assert outcome.record.state is State.UNKNOWN
    assert outcome.record.read_at_server is None
    assert world.raw(hit_id)["MaxAssignments"] == 13
    world.mturk.offset += 25 * 3600  # MTurk: a day later; the local clock: unchanged
    result = world.engine().resolve(world.history.get(outcome.record.id))
    assert world.raw(hit_id)["MaxAssignments"] == 13  # never applied twice
    assert result.record.state in (State.RESOLVED_SUCCEEDED, State.UNKNOWN)


def test_no_re_send_when_mturks_time_cannot_be_read_now(world: World) -> None:
    """Old engine: GetHIT failing at resolve time left MTurk's time unknown, and the local
    clock alone allowed a re-send."""
    hit_id = world.hit(10)
    rid = _unsent_unknown(world, hit_id, n=2, expire_at=None)
    world.server.faults.add("GetHIT", error=1.0)
    result = world.engine().resolve(world.history.get(rid))
    world.server.faults.clear()
    assert world.server.state.request_count(OP_ADD) == 0
    assert result.record.state is State.UNKNOWN
    assert "MTurk's time" in result.record.note


def test_comparison_orders_by_history_sequence_not_wall_time(world: World) -> None:
    """Old engine: a clock that stepped back made a later request look older than this
    one's read; its +2 was credited to this request (history +4, MTurk +2)."""
    hit_id = world.hit(10)
    failed = _unsent_unknown(world, hit_id, n=2, expire_at=None)
    world.history.update(failed, read_at_server=None)  # (no re-send: compare)
    world.history.create(  # recorded after it, stamped two hours earlier (clock stepped back)
        env_kind="demo",
        endpoint=world.env.endpoint_url,
        profile=None,
        hit_id=hit_id,
        hit_title="",
        n=2,
        token=new_token(),
        max_before=10,
        expected_after=12,
        state=State.SUCCEEDED,
        now=world.local() - timedelta(hours=2),
    )
    world.server.state.update_hit(hit_id, MaxAssignments=12)  # the other +2 happened
    world.travel(30 * 3600)
    outcome = world.engine().resolve(world.history.get(failed))
    assert outcome.record.state is State.UNKNOWN, outcome.record.note
    assert "Cannot tell" in outcome.record.note


# -- a token names one request -----------------------------------------------------------------
def test_a_re_run_with_its_token_attaches_to_the_unsettled_record(world: World) -> None:
    """Old engine: `extend H 3 --token T --allow-second` after an unknown first run made a
    second record with T; both were settled as applied (history +6, MTurk +3)."""
    hit_id = world.hit(10)
    token = "script-run-0001"
    world.server.faults.add(OP_ADD, drop=1.0)
    engine = world.engine()
    first = engine.execute(engine.plan(world.service.get_hit(hit_id), 3, token=token))
    world.server.faults.clear()
    assert first.record.state is State.UNKNOWN
    again = engine.execute(
        engine.plan(world.service.get_hit(hit_id), 3, token=token, allow_second=True)
    )
    assert [r.id for r in world.history.find_by_token(token)] == [first.record.id]
    assert again.record.id == first.record.id and again.succeeded
    assert world.raw(hit_id)["MaxAssignments"] == 13


# -- ownership a person can act on ------------------------------------------------------------
def _owned_by_other_host(world: World, hit_id: str, *, updated: datetime) -> int:
    rid = _unsent_unknown(world, hit_id, n=1, expire_at=None)
    world.history.update(rid, now=updated, owner="renamed-host|4242|77")
    return rid


def test_another_hosts_record_names_when_it_stops_counting_and_caps_future_times(
    world: World,
) -> None:
    """Old engine: "belongs to a running process (pid 4242 on renamed-host)", for as long as
    that host's clock was ahead (here five hours), with no time named."""
    assert socket.gethostname() != "renamed-host"
    hit_id = world.hit(10)
    rid = _owned_by_other_host(world, hit_id, updated=world.local() + timedelta(hours=5))
    engine = world.engine()
    with pytest.raises(PlanRefused) as info:
        engine.resolve(world.history.get(rid))
    assert "renamed-host" in info.value.message and "another host" in info.value.message
    world.travel(3601)  # an hour later by this clock: no longer live
    outcome = engine.resolve(world.history.get(rid))
    assert outcome.record.settled


def test_take_over_settles_another_hosts_record_now(world: World, cli_env) -> None:
    """Old CLI: no way to take a record over; it blocked its HIT for an hour."""
    hit_id = world.hit(10)
    # the CLI's history (hermetic XDG): make the record there
    res = run_cli(cli_env, "paths")
    assert res.returncode == 0
    path = Path(cli_env["XDG_DATA_HOME"]) / "turktui" / "history.sqlite3"
    store = HistoryStore(path)
    try:
        now = datetime.now(UTC)
        rid = store.create(
            env_kind="custom",
            endpoint=world.server.url,
            profile=None,
            hit_id=hit_id,
            hit_title="",
            n=1,
            token=new_token(),
            max_before=10,
            expected_after=11,
            now=now,
            owner="renamed-host|4242|77",
        )
        store.add_attempt(
            rid, operation=OP_ADD, outcome="error", at=now, state=State.UNKNOWN, first_sent=now
        )
    finally:
        store.close()
    plain = run_cli(cli_env, "resolve", "--yes", "--endpoint-url", world.server.url)
    assert "renamed-host" in plain.stdout + plain.stderr
    taken = run_cli(
        cli_env, "resolve", "--take-over", str(rid), "--yes", "--endpoint-url", world.server.url
    )
    assert taken.returncode == 0, taken.stdout + taken.stderr
    store = HistoryStore(path)
    try:
        rec = store.get(rid)
    finally:
        store.close()
    assert rec.settled and "taken over" in rec.note.lower()


def test_the_profile_from_aws_profile_is_recorded(world: World, cli_env, tmp_path) -> None:
    """Old CLI: a profile chosen through AWS_PROFILE was not recorded (profile None), so
    resolve signed with other credentials."""
    aws = tmp_path / "aws"
    aws.mkdir()
    (aws / "credentials").write_text(
        "[ops]\naws_access_key_id = AKIDTESTTESTTEST0001\naws_secret_access_key = s\n"
    )
    env = {
        k: v for k, v in cli_env.items() if k not in ("AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY")
    }
    env.update(AWS_PROFILE="ops", AWS_SHARED_CREDENTIALS_FILE=str(aws / "credentials"))
    hit_id = world.hit(10)
    res = run_cli(env, "extend", hit_id, "1", "--yes", "--json", "--endpoint-url", world.server.url)
    assert res.returncode == 0, res.stdout + res.stderr
    path = Path(cli_env["XDG_DATA_HOME"]) / "turktui" / "history.sqlite3"
    store = HistoryStore(path)
    try:
        (rec,) = store.query()
    finally:
        store.close()
    assert rec.profile == "ops"
