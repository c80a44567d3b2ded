"""The engine against the emulator with faults: every path ends with exactly one extension
(or none) and a truthful record."""

from __future__ import annotations

from datetime import datetime, timedelta, timezone
from decimal import Decimal

import pytest

from turktui.adapters.mturk import MTurkService
from turktui.domain.environment import Environment, EnvKind
from turktui.domain.records import State
from turktui.domain.rules import extension_cost
from turktui.emulator import EmulatorServer
from turktui.pipeline.engine import Backoff, Engine, PlanRefused, new_token

OP = "CreateAdditionalAssignmentsForHIT"


def make_hit(emulator, service, max_assignments=3, reward="0.50", **fields):
    hit_id = emulator.state.add_hit(MaxAssignments=max_assignments, Reward=reward, **fields)
    return service.get_hit(hit_id)


def expect_applied_once(emulator, hit, n, balance_before, outcome):
    raw = emulator.state.get_hit_raw(hit.hit_id)
    assert raw["MaxAssignments"] == hit.max_assignments + n
    cost = extension_cost(hit.reward, n, hit.max_assignments + n).total
    assert emulator.state.balance == balance_before - cost
    assert outcome.succeeded
    assert outcome.record.expected_after == hit.max_assignments + n
    assert outcome.hit is not None and outcome.hit.max_assignments == hit.max_assignments + n


def test_token_shape() -> None:
    tokens = {new_token() for _ in range(1000)}
    assert len(tokens) == 1000
    assert all(len(t) <= 64 and t.startswith("turktui-") for t in tokens)


def test_plain_success_records_everything(emulator, service, engine, history) -> None:
    hit = make_hit(emulator, service, 3)
    before = emulator.state.balance
    events = []
    outcome = engine.extend(hit, 4, on_event=events.append)
    expect_applied_once(emulator, hit, 4, before, outcome)
    rec = history.get(outcome.record.id)
    assert rec.state is State.SUCCEEDED and rec.attempt_count == 1
    assert [a.outcome for a in rec.attempts] == ["ok"]
    assert rec.token.startswith("turktui-") and rec.max_before == 3 and rec.n == 4
    assert rec.env_kind == "demo" and rec.endpoint == emulator.url
    assert rec.duration is not None and rec.first_sent is not None
    kinds = [e.kind for e in events]
    assert kinds[0] == "recorded" and "attempt" in kinds and kinds[-1] == "done"


def test_recorded_before_sent(emulator, service, history, env, clock) -> None:
    """The record exists (state planned/sending) when the request reaches the service."""
    seen = []

    class Spy:
        def __getattr__(self, name):
            return getattr(service, name)

        def create_additional_assignments(self, hit_id, n, token):
            seen.append([r.state for r in history.find_by_token(token)])
            return service.create_additional_assignments(hit_id, n, token)

    engine = Engine(Spy(), history, env, clock=clock)
    hit = make_hit(emulator, service, 2)
    engine.extend(hit, 1)
    assert seen == [[State.SENDING]]


def test_apply_then_drop(emulator, service, engine, history) -> None:
    hit = make_hit(emulator, service, 2)
    before = emulator.state.balance
    emulator.faults.add(op=OP, drop=1, count=1)
    outcome = engine.extend(hit, 5)
    expect_applied_once(emulator, hit, 5, before, outcome)
    rec = history.get(outcome.record.id)
    assert rec.state is State.SUCCEEDED
    assert [a.outcome for a in rec.attempts] == ["error", "already_processed"]
    assert rec.attempts[0].error_code == "ConnectionLost"
    assert "already processed" in rec.note and "Confirmed" in rec.note


@pytest.mark.parametrize(
    "fault",
    [
        {"throttle": 1.0, "count": 2},
        {"error": 1.0, "count": 2},
        {"latency": 0.6, "count": 1},
    ],
)
def test_transient_faults_apply_exactly_once(emulator, service, engine, history, fault) -> None:
    hit = make_hit(emulator, service, 12, reward="1.25")
    before = emulator.state.balance
    emulator.faults.add(op=OP, **fault)
    outcome = engine.extend(hit, 7)
    expect_applied_once(emulator, hit, 7, before, outcome)
    rec = history.get(outcome.record.id)
    assert rec.attempt_count == fault["count"] + 1
    assert all(a.outcome == "error" for a in rec.attempts[:-1])
    assert rec.attempts[-1].outcome in ("ok", "already_processed")


def test_refusal_records_code_and_message(emulator, service, engine, history) -> None:
    hit = make_hit(emulator, service, 3, reward="5.00")
    emulator.state.set_balance("1.00")
    try:
        plan = engine.plan(hit, 2)
        outcome = engine.execute(plan)
    finally:
        emulator.state.set_balance("100000000.00")
    rec = history.get(outcome.record.id)
    assert rec.state is State.REFUSED
    assert rec.error_code == "AWS.MechanicalTurk.InsufficientFunds"
    assert "insufficient funds" in rec.error_message
    assert emulator.state.get_hit_raw(hit.hit_id)["MaxAssignments"] == 3


def test_rules_refuse_without_sending(emulator, service, engine, history) -> None:
    hit = make_hit(emulator, service, 4)
    count = emulator.state.request_count(OP)
    for n in (0, 6, -1, 10**6):
        with pytest.raises(PlanRefused):
            engine.plan(hit, n)
    assert emulator.state.request_count(OP) == count
    assert history.count() == 0


def test_read_only_refuses(emulator, service, history, clock) -> None:
    env = Environment(EnvKind.DEMO, emulator.url, read_only=True)
    engine = Engine(service, history, env, clock=clock)
    with pytest.raises(PlanRefused, match="read-only"):
        engine.plan(make_hit(emulator, service, 2), 1)


def test_exhausted_unknown_then_resolved(emulator, service, engine, history) -> None:
    hit = make_hit(emulator, service, 20)
    before = emulator.state.balance
    emulator.faults.add(op=OP, drop=1)  # every answer lost; the first one applied
    outcome = engine.extend(hit, 3)
    assert outcome.record.state is State.UNKNOWN
    assert outcome.record.attempt_count == 5
    assert history.unsettled()[0].id == outcome.record.id
    emulator.faults.clear()
    resolved = engine.resolve(history.get(outcome.record.id))
    assert resolved.record.state is State.RESOLVED_SUCCEEDED
    expect_applied_once(emulator, hit, 3, before, resolved)
    assert history.unsettled() == []


def test_unreachable_is_failed_not_unknown(history, clock) -> None:
    env = Environment(EnvKind.DEMO, "http://127.0.0.1:9")
    service = MTurkService(env, read_timeout=0.3, connect_timeout=0.3)
    engine = Engine(
        service, history, env, clock=clock, backoff=Backoff(attempts=3, base=0.01, cap=0.02)
    )
    from datetime import datetime, timezone

    from turktui.domain.models import Hit

    hit = Hit("X" * 30, max_assignments=3, reward=Decimal("1"), created=datetime.now(timezone.utc))
    outcome = engine.extend(hit, 1)
    assert outcome.record.state is State.FAILED
    # The HIT is read just before sending (fresh numbers): unreachable, nothing is sent.
    assert outcome.record.attempt_count == 0
    assert outcome.record.error_code == "GetHIT"


def test_expired_hit_also_extended_in_time(emulator, service, engine, history, clock) -> None:
    now = emulator.state.now()
    hit = make_hit(
        emulator,
        service,
        3,
        CreationTime=now - 10 * 86400,
        Expiration=now - 86400,
        HITStatus="Reviewable",
    )
    target = clock() + timedelta(days=2)
    outcome = engine.extend(hit, 2, target)
    assert outcome.succeeded
    # Two operations, two records (each recorded before it was sent), one group.
    add, time_part = (history.get(r.id) for r in outcome.records)
    assert (add.operation, time_part.operation) == ("add_assignments", "update_expiration")
    assert add.group_id and add.group_id == time_part.group_id
    assert time_part.state is State.SUCCEEDED and time_part.expire_at is not None
    assert [a.operation for a in add.attempts] == [OP]
    assert [a.operation for a in time_part.attempts] == ["UpdateExpirationForHIT"]
    assert outcome.hit.max_assignments == 5
    assert abs((outcome.hit.expiration - target).total_seconds()) < 2
    assert outcome.hit.status == "Assignable"


def test_same_token_twice_is_applied_once(emulator, service, engine, history) -> None:
    hit = make_hit(emulator, service, 3)
    before = emulator.state.balance
    token = new_token()
    first = engine.extend(hit, 2, token=token)
    again = engine.extend(service.get_hit(hit.hit_id), 2, token=token)
    assert first.succeeded and again.succeeded
    assert emulator.state.get_hit_raw(hit.hit_id)["MaxAssignments"] == 5
    assert emulator.state.balance == before - extension_cost(hit.reward, 2, 5).total


@pytest.fixture
def own_server():
    srv = EmulatorServer(hits=0, seed=2, balance="1000.00").start()
    yield srv
    srv.stop()


def _sending_record(srv, history, clock, n=2, max_before=3):
    """Simulate a crash: the request was applied but the outcome never recorded."""
    env = Environment(EnvKind.DEMO, srv.url)
    service = MTurkService(env, read_timeout=0.5)
    hit_id = srv.state.add_hit(MaxAssignments=max_before, Reward="1.00")
    token = new_token()
    rid = history.create(
        env_kind="demo",
        endpoint=srv.url,
        profile=None,
        hit_id=hit_id,
        hit_title="t",
        n=n,
        token=token,
        max_before=max_before,
        expected_after=max_before + n,
        now=clock(),
    )
    # MTurk's time was read before sending (a re-send needs it, issue 21)
    history.update(rid, read_at_server=datetime.fromtimestamp(srv.state.now(), timezone.utc))
    history.add_attempt(
        rid, operation=OP, outcome="started", at=clock(), state=State.SENDING, first_sent=clock()
    )
    service.create_additional_assignments(hit_id, n, token)
    engine = Engine(service, history, env, clock=clock, backoff=Backoff(base=0.01))
    return engine, rid, hit_id


def test_resolve_within_24h_resends_same_token(own_server, history, clock) -> None:
    engine, rid, hit_id = _sending_record(own_server, history, clock)
    own_server.state.advance(3600)
    clock.advance(3600)
    sent = own_server.state.request_count(OP)
    out = engine.resolve(history.get(rid))
    assert own_server.state.request_count(OP) == sent + 1  # re-sent...
    assert own_server.state.get_hit_raw(hit_id)["MaxAssignments"] == 5  # ...applied once
    assert out.record.state is State.RESOLVED_SUCCEEDED


def test_resolve_after_24h_compares_and_never_resends(own_server, history, clock) -> None:
    engine, rid, hit_id = _sending_record(own_server, history, clock)
    own_server.state.advance(25 * 3600)
    clock.advance(25 * 3600)
    sent = own_server.state.request_count(OP)
    out = engine.resolve(history.get(rid))
    assert own_server.state.request_count(OP) == sent  # never re-sent
    assert own_server.state.get_hit_raw(hit_id)["MaxAssignments"] == 5
    assert out.record.state is State.RESOLVED_SUCCEEDED
    assert "comparison" in out.record.note


def test_resolve_after_24h_not_applied(own_server, history, clock) -> None:
    env = Environment(EnvKind.DEMO, own_server.url)
    service = MTurkService(env)
    hit_id = own_server.state.add_hit(MaxAssignments=3, Reward="1.00")
    rid = history.create(
        env_kind="demo",
        endpoint=own_server.url,
        profile=None,
        hit_id=hit_id,
        hit_title="t",
        n=2,
        token=new_token(),
        max_before=3,
        expected_after=5,
        now=clock(),
    )
    history.add_attempt(
        rid, operation=OP, outcome="started", at=clock(), state=State.SENDING, first_sent=clock()
    )
    clock.advance(30 * 3600)
    own_server.state.advance(30 * 3600)
    out = Engine(service, history, env, clock=clock).resolve(history.get(rid))
    assert out.record.state is State.RESOLVED_NOT_APPLIED
    assert own_server.state.get_hit_raw(hit_id)["MaxAssignments"] == 3


def test_resolve_after_24h_ambiguous_stays_unknown(own_server, history, clock) -> None:
    engine, rid, hit_id = _sending_record(own_server, history, clock)
    own_server.state.update_hit(hit_id, MaxAssignments=7)  # something else changed it
    clock.advance(25 * 3600)
    own_server.state.advance(25 * 3600)
    out = engine.resolve(history.get(rid))
    assert out.record.state is State.UNKNOWN
    assert "Cannot tell" in out.record.note and "7" in out.record.note


def test_resolve_planned_never_sent(own_server, history, clock) -> None:
    env = Environment(EnvKind.DEMO, own_server.url)
    rid = history.create(
        env_kind="demo",
        endpoint=own_server.url,
        profile=None,
        hit_id="H",
        hit_title="t",
        n=2,
        token=new_token(),
        max_before=3,
        expected_after=5,
    )
    out = Engine(MTurkService(env), history, env, clock=clock).resolve(history.get(rid))
    assert out.record.state is State.RESOLVED_NOT_APPLIED
    assert own_server.state.request_count(OP) == 0
