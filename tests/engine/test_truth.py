"""Truthful outcomes (issue 11): what the history records is what MTurk did.

Every test runs the engine against the emulator over loopback through real boto3. Each one
fails on the engine before this change (named in its docstring)."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import threading
import time
from datetime import datetime, timedelta, timezone
from pathlib import Path

import pytest

from turktui.adapters.history import HistoryStore, _proc_start, current_owner, owner_alive
from turktui.adapters.mturk import MTurkService
from turktui.adapters.stores import open_store
from turktui.domain.bulk import TopUpTo, plan_bulk
from turktui.domain.errors import TokenAlreadyProcessed
from turktui.domain.records import State, StateChanged
from turktui.domain.rules import EXPIRE_NOW
from turktui.emulator import EmulatorServer
from turktui.pipeline.batch import BatchRunner
from turktui.pipeline.engine import (
    OP_EXPIRE,
    Backoff,
    Engine,
    PlanRefused,
    needs_attention,
    new_token,
)
from turktui.pipeline.resolving import settle_here

UTC = timezone.utc
OP = "CreateAdditionalAssignmentsForHIT"


def make_hit(emulator, service, max_assignments=3, reward="0.50", **fields):
    hit_id = emulator.state.add_hit(MaxAssignments=max_assignments, Reward=reward, **fields)
    return service.get_hit(hit_id)


def max_of(emulator, hit_id: str) -> int:
    return int(emulator.state.get_hit_raw(hit_id)["MaxAssignments"])


# -- expiration ---------------------------------------------------------------------------
def test_expiration_repeat_after_a_lost_answer_is_confirmed_not_failed(
    emulator, service, engine, history, clock
) -> None:
    """Old engine: MTurk's implicit token refuses the retry as "already processed" and the
    expiration was recorded as failed although it was applied."""
    now = emulator.state.now()
    hit = make_hit(
        emulator,
        service,
        3,
        CreationTime=now - 10 * 86400,
        Expiration=now - 3600,
        HITStatus="Reviewable",
    )
    target = clock() + timedelta(days=2)
    emulator.faults.add(OP_EXPIRE, drop=1.0, count=1)  # applied, answer lost
    outcome = engine.extend(hit, 2, target)
    assert outcome.record.state is State.SUCCEEDED
    rec = history.get(outcome.records[-1].id)  # the time part: its own record (issue 21)
    assert rec.state is State.SUCCEEDED, rec.note
    outcomes = [a.outcome for a in rec.attempts if a.operation == OP_EXPIRE]
    assert outcomes == ["error", "already_processed"]
    assert int(emulator.state.get_hit_raw(hit.hit_id)["Expiration"]) == int(target.timestamp())
    assert rec.expire_at == target.replace(microsecond=0)  # what was sent, to the second


def test_expiration_already_processed_but_hit_disagrees_is_a_conflict(
    emulator, service, engine, history, clock
) -> None:
    """Old engine: recorded "failed" (or, with another outcome, success) without asking
    GetHIT. Here MTurk says the implicit token was processed while the HIT shows another
    expiration (someone moved it since): a conflict with both values, never a success."""
    now = emulator.state.now()
    hit = make_hit(
        emulator,
        service,
        3,
        CreationTime=now - 10 * 86400,
        Expiration=now + 3600,
    )
    target = clock() + timedelta(days=2)

    class Processed:
        def __getattr__(self, name):
            return getattr(service, name)

        def update_expiration(self, hit_id, expire_at):
            raise TokenAlreadyProcessed("The idempotency token has already been processed.")

    liar = Engine(Processed(), history, engine.env, clock=clock, backoff=engine.backoff)
    outcome = liar.extend(hit, 0, target)
    rec = history.get(outcome.record.id)
    assert rec.state is State.CONFLICT, rec.note
    assert rec.expiry_actual is not None
    assert int(rec.expiry_actual.timestamp()) == int(now) + 3600
    assert needs_attention(rec)


def test_shortening_is_refused_before_sending_naming_the_current_expiration(
    emulator, service, engine, clock
) -> None:
    """Old engine: moved the expiration earlier and reported success."""
    now = emulator.state.now()
    hit = make_hit(emulator, service, 3, Expiration=now + 2 * 86400)
    sent = emulator.state.request_count(OP_EXPIRE), emulator.state.request_count(OP)
    with pytest.raises(PlanRefused) as info:
        engine.plan(hit, 1, clock() + timedelta(hours=1))
    assert info.value.code == "expiration"
    assert "cannot shorten" in info.value.message
    assert (
        datetime.fromtimestamp(now + 2 * 86400, UTC).strftime("%Y-%m-%d %H:%M")
        in info.value.message
    )
    assert (emulator.state.request_count(OP_EXPIRE), emulator.state.request_count(OP)) == sent


def test_expire_now_is_sent_as_a_past_time_even_with_a_clock_behind(
    emulator, service, history, env, clock
) -> None:
    """Old engine: refused "expire now" (past times), and a client "now" from a clock behind
    MTurk's would be a shortening MTurk refuses."""
    clock.advance(-2 * 3600)  # the local clock is two hours behind
    engine = Engine(
        service, history, env, clock=clock, backoff=Backoff(attempts=3, base=0.01, cap=0.02)
    )
    now = emulator.state.now()
    hit = make_hit(emulator, service, 3, Expiration=now + 86400)
    outcome = engine.extend(hit, 1, EXPIRE_NOW)
    rec = history.get(outcome.records[-1].id)  # the expire-now part (issue 21)
    assert rec.operation == "expire_now" and rec.expire_at == EXPIRE_NOW
    assert rec.state is State.SUCCEEDED, rec.note
    raw = emulator.state.get_hit_raw(hit.hit_id)
    assert raw["Expiration"] <= emulator.state.now()
    assert raw["HITStatus"] != "Assignable"


# -- "already processed" for extensions ---------------------------------------------------
def test_token_reused_on_another_hit_is_a_conflict_not_a_success(
    emulator, service, engine, env, clock, tmp_path
) -> None:
    """Old engine: "Added 1 assignment (max 5,000 → 5,001)", exit 0, while B did not change.
    A second history (another machine) reuses A's token on HIT B."""
    a = make_hit(emulator, service, 5000)
    b = make_hit(emulator, service, 5000)
    token = new_token()
    assert engine.extend(a, 1, token=token).succeeded
    other = HistoryStore(tmp_path / "other.sqlite3")
    try:
        engine2 = Engine(
            service, other, env, clock=clock, backoff=Backoff(attempts=3, base=0.01, cap=0.02)
        )
        outcome = engine2.extend(service.get_hit(b.hit_id), 1, token=token)
    finally:
        other.close()
    assert outcome.record.state is State.CONFLICT
    assert not outcome.succeeded
    assert (
        outcome.record.max_before,
        outcome.record.expected_after,
        outcome.record.actual_after,
    ) == (5000, 5001, 5000)
    assert "5,000" in outcome.message and "5,001" in outcome.message
    assert max_of(emulator, b.hit_id) == 5000


def test_token_of_another_hit_in_this_history_is_refused_before_sending(
    emulator, service, engine
) -> None:
    a = make_hit(emulator, service, 20)
    b = make_hit(emulator, service, 20)
    token = new_token()
    assert engine.extend(a, 1, token=token).succeeded
    sent = emulator.state.request_count(OP)
    with pytest.raises(PlanRefused) as info:
        engine.extend(service.get_hit(b.hit_id), 1, token=token)
    assert info.value.code == "token"
    assert emulator.state.request_count(OP) == sent


# -- fresh numbers, one intent per HIT ------------------------------------------------------
def test_plan_from_a_stale_hit_records_the_fresh_max(emulator, service, engine, history) -> None:
    """Old engine: the record said max 2 → 4 while the HIT went 4 → 6."""
    stale = make_hit(emulator, service, 2)
    with emulator.state.lock:
        emulator.state._hits[stale.hit_id].data["MaxAssignments"] = 4
        emulator.state._hits[stale.hit_id].changed()
    outcome = engine.extend(stale, 2)
    rec = history.get(outcome.record.id)
    assert (rec.max_before, rec.expected_after) == (4, 6)
    assert max_of(emulator, stale.hit_id) == 6
    assert rec.state is State.SUCCEEDED and rec.read_at is not None
    assert rec.read_at_server is not None  # MTurk's Date of the read before sending
    assert "2 when planned and 4" in rec.note


def test_second_request_on_a_hit_with_an_unsettled_one_is_refused(
    emulator, service, engine, history
) -> None:
    """Old engine: a second request started from the same numbers while the first was in
    flight."""
    hit = make_hit(emulator, service, 2)
    history.create(
        env_kind="demo",
        endpoint=engine.env.endpoint_url,
        profile=None,
        hit_id=hit.hit_id,
        hit_title="",
        n=2,
        token=new_token(),
        max_before=2,
        expected_after=4,
        state=State.UNKNOWN,
    )
    sent = emulator.state.request_count(OP)
    with pytest.raises(PlanRefused) as info:
        engine.extend(hit, 2)
    assert info.value.code == "busy" and "unsettled" in info.value.message
    assert emulator.state.request_count(OP) == sent
    # Confirmed explicitly: sent, from fresh numbers.
    outcome = engine.execute(engine.plan(hit, 2, allow_second=True))
    assert outcome.succeeded and max_of(emulator, hit.hit_id) == 4


def test_two_threads_one_hit_only_one_request(emulator, service, history, env, tmp_path) -> None:
    """Two engines (own history connections, as two processes would) race on one HIT: the
    check and the insert are one transaction, so exactly one request is recorded."""
    hit = make_hit(emulator, service, 2)
    emulator.faults.add(OP, latency=0.3)
    results: list[object] = []
    stores = [open_store(history.path) for _ in range(2)]  # the same store: file or database
    barrier = threading.Barrier(2)

    def one(store: HistoryStore) -> None:
        engine = Engine(MTurkService(env, read_timeout=5), store, env)
        barrier.wait(timeout=30)
        try:
            results.append(engine.extend(hit, 2))
        except PlanRefused as exc:
            results.append(exc)

    threads = [threading.Thread(target=one, args=(s,)) for s in stores]
    for t in threads:
        t.start()
    for t in threads:
        t.join(30)
        assert not t.is_alive(), "an extension still running after 30 s"
    for s in stores:
        s.close()
    refused = [r for r in results if isinstance(r, PlanRefused)]
    assert len(results) == 2 and len(refused) == 1 and refused[0].code == "busy"
    assert max_of(emulator, hit.hit_id) == 4


def test_overlapping_top_ups_add_only_what_is_missing(emulator, service, history, env) -> None:
    """Old batch: two top-ups planned from the same numbers both added (530 for 265)."""
    hits = [make_hit(emulator, service, m) for m in (10, 20, 30)]
    engine = Engine(service, history, env)
    first = plan_bulk(hits, TopUpTo(35))
    second = plan_bulk(hits, TopUpTo(35))  # planned before the first was sent
    r1 = BatchRunner(engine, workers=2).run(first)
    assert r1.all_succeeded
    r2 = BatchRunner(engine, workers=2).run(second)
    assert [max_of(emulator, h.hit_id) for h in hits] == [35, 35, 35]
    assert r2.succeeded == 0
    assert {r.error_code for r in r2.records} == {"nothing_to_do"}


# -- owners and compare-and-set -------------------------------------------------------------
@pytest.fixture
def other_process():
    proc = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(60)"])
    try:
        yield proc
    finally:
        proc.kill()
        proc.wait(timeout=30)


def _owner_of(pid: int) -> str:
    return f"{socket.gethostname()}|{pid}|{_proc_start(pid)}"


def test_resolve_leaves_a_live_process_records_alone(
    emulator, service, engine, history, other_process
) -> None:
    """Old engine: marked a live batch's planned members "never sent" (resolved_not_applied)
    while that process was about to send them."""
    hit = make_hit(emulator, service, 3)
    owner = _owner_of(other_process.pid)
    assert owner_alive(owner)
    rid = history.create(
        env_kind="demo",
        endpoint=engine.env.endpoint_url,
        profile=None,
        hit_id=hit.hit_id,
        hit_title="",
        n=1,
        token=new_token(),
        max_before=3,
        expected_after=4,
        owner=owner,
    )
    with pytest.raises(PlanRefused) as info:
        engine.resolve(history.get(rid))
    assert info.value.code == "live"
    assert settle_here(engine) == []
    assert history.get(rid).state is State.PLANNED
    other_process.kill()
    other_process.wait(timeout=30)
    assert not owner_alive(owner)
    outcome = engine.resolve(history.get(rid))
    assert outcome.record.state is State.RESOLVED_NOT_APPLIED


def test_every_state_change_is_a_compare_and_set(history) -> None:
    rid = history.create(
        env_kind="demo",
        endpoint="http://x",
        profile=None,
        hit_id="H",
        hit_title="",
        n=1,
        token=new_token(),
        max_before=1,
        expected_after=2,
    )
    history.update(rid, state=State.SENDING, expect=State.PLANNED)
    with pytest.raises(StateChanged):
        history.update(rid, state=State.RESOLVED_NOT_APPLIED, expect=State.PLANNED)
    assert history.get(rid).state is State.SENDING
    with pytest.raises(StateChanged):
        history.claim(rid, expect=State.PLANNED, owner=current_owner())


def test_owner_of_a_reused_pid_is_not_alive() -> None:
    pid = os.getpid()
    assert owner_alive(current_owner())
    assert not owner_alive(f"{socket.gethostname()}|{pid}|1")  # same pid, other start
    assert owner_alive("elsewhere|1|1", datetime.now(UTC), datetime.now(UTC))
    assert not owner_alive(
        "elsewhere|1|1", datetime.now(UTC) - timedelta(hours=2), datetime.now(UTC)
    )


# -- resolution: comparison, window, re-send confirmation ------------------------------------
def _unknown(history, engine, hit, n, *, sent_ago: timedelta, clock) -> int:
    rid = history.create(
        env_kind="demo",
        endpoint=engine.env.endpoint_url,
        profile=None,
        hit_id=hit.hit_id,
        hit_title="",
        n=n,
        token=new_token(),
        max_before=hit.max_assignments,
        expected_after=hit.max_assignments + n,
        now=clock() - sent_ago,
    )
    history.update(rid, read_at_server=clock() - sent_ago)  # MTurk's time when sent
    history.add_attempt(
        rid,
        operation=OP,
        outcome="error",
        at=clock() - sent_ago,
        state=State.UNKNOWN,
        first_sent=clock() - sent_ago,
    )
    return rid


def test_comparison_with_another_request_on_the_hit_cannot_tell(
    emulator, service, engine, history, clock
) -> None:
    """Old engine: a failed +2 was settled as "went through" because another +2 on the same
    HIT had succeeded (the history claimed +4, reality +2)."""
    hit = make_hit(emulator, service, 10)
    failed = _unknown(history, engine, hit, 2, sent_ago=timedelta(hours=30), clock=clock)
    history.create(
        env_kind="demo",
        endpoint=engine.env.endpoint_url,
        profile=None,
        hit_id=hit.hit_id,
        hit_title="",
        n=2,
        token=new_token(),
        max_before=10,
        expected_after=12,
        state=State.SUCCEEDED,
        now=clock() - timedelta(hours=29),
    )
    with emulator.state.lock:  # the other +2 really happened
        emulator.state._hits[hit.hit_id].data["MaxAssignments"] = 12
        emulator.state._hits[hit.hit_id].changed()
    outcome = engine.resolve(history.get(failed))
    assert outcome.record.state is State.UNKNOWN
    assert "Cannot tell" in outcome.record.note and "12" in outcome.record.note
    assert outcome.record.actual_after == 12
    assert max_of(emulator, hit.hit_id) == 12  # nothing re-sent


def test_resend_is_confirmed_with_gethit(emulator, service, engine, history, clock) -> None:
    """Old engine: a re-send answered 200 was recorded as "went through" unchecked."""
    hit = make_hit(emulator, service, 10)
    rid = _unknown(history, engine, hit, 3, sent_ago=timedelta(hours=1), clock=clock)
    with emulator.state.lock:  # something else changed the HIT meanwhile
        emulator.state._hits[hit.hit_id].data["MaxAssignments"] = 11
        emulator.state._hits[hit.hit_id].changed()
    outcome = engine.resolve(history.get(rid))
    assert max_of(emulator, hit.hit_id) == 14
    assert outcome.record.state is State.CONFLICT
    assert (
        outcome.record.max_before,
        outcome.record.expected_after,
        outcome.record.actual_after,
    ) == (10, 13, 14)


class _Clock:
    def __init__(self) -> None:
        self.offset = 0.0

    def __call__(self) -> float:
        return time.time() + self.offset


def test_skewed_clock_does_not_resend_after_mturk_forgot_the_token(history) -> None:
    """Old engine: with the local clock ahead when sending, resolve believed it was still
    inside the 24-hour window, re-sent after MTurk had forgotten the token, and the HIT went
    10 → 16 while the record said 10 → 13. MTurk's `Date` header decides now."""
    mturk = _Clock()  # the emulator's `Date` header follows its own clock, as MTurk's does
    server = EmulatorServer(hits=0, seed=3, balance="1000.00", now=mturk).start()
    try:
        from turktui.domain.environment import Environment, EnvKind

        env = Environment(EnvKind.DEMO, server.url)
        service = MTurkService(env, read_timeout=0.3, connect_timeout=0.5)
        local = {"offset": 2 * 3600.0}  # two hours ahead while sending

        def clock() -> datetime:
            return datetime.now(UTC) + timedelta(seconds=local["offset"])

        engine = Engine(
            service,
            history,
            env,
            clock=clock,
            backoff=Backoff(attempts=2, base=0.01, cap=0.02, total=1),
        )
        hit_id = server.state.add_hit(MaxAssignments=10, Reward="0.10")
        server.faults.add(OP, drop=1.0)  # applied, every answer lost
        outcome = engine.extend(service.get_hit(hit_id), 3)
        server.faults.clear()
        assert outcome.record.state is State.UNKNOWN
        assert max_of(server, hit_id) == 13
        # 24.5 hours later by MTurk's clock; the local clock has been corrected meanwhile.
        mturk.offset += 24.5 * 3600
        local["offset"] = 24.5 * 3600  # correct now: by the local clock only 22.5 h passed
        record = history.get(outcome.record.id)
        assert clock() - record.first_sent < timedelta(hours=22, minutes=45)
        result = engine.resolve(record)
        assert max_of(server, hit_id) == 13  # never re-sent
        assert result.record.state is State.RESOLVED_SUCCEEDED
    finally:
        server.stop()


def test_no_window_without_mturk_date(emulator, service, engine, history, clock) -> None:
    """Issue 21: without MTurk's time (when sent, or now) nothing is re-sent; with both, the
    window is MTurk's, and the local clock can only take a re-send away."""
    hit = make_hit(emulator, service, 10)
    rid = _unknown(history, engine, hit, 1, sent_ago=timedelta(hours=22), clock=clock)
    rec = history.get(rid)
    assert engine.can_resend(rec, clock())
    assert not engine.can_resend(rec, None)
    history.update(rid, read_at_server=None)
    assert not engine.can_resend(history.get(rid), clock())
    late = _unknown(history, engine, hit, 1, sent_ago=timedelta(hours=23), clock=clock)
    assert not engine.can_resend(history.get(late), clock())  # local clock: margin


def test_history_schema_upgrade_keeps_old_records(tmp_path: Path) -> None:
    """A schema-2 file gains owners and the new columns in place."""
    import sqlite3

    from turktui.adapters.history import MIGRATIONS

    path = tmp_path / "old.sqlite3"
    db = sqlite3.connect(path)
    for step in MIGRATIONS[:2]:
        db.executescript(step)
    db.execute("PRAGMA user_version = 2")
    db.execute(
        "INSERT INTO requests (created, updated, env_kind, endpoint, hit_id, n, token, "
        "max_before, expected_after, state) VALUES (1, 1, 'demo', 'x', 'H', 1, 't', 1, "
        "2, 'unknown')"
    )
    db.commit()
    db.close()
    store = HistoryStore(path)
    try:
        rec = store.get(1)
        assert rec.owner == "" and rec.actual_after is None and rec.state is State.UNKNOWN
        assert store.schema_version == len(MIGRATIONS)
    finally:
        store.close()


def test_another_thread_of_this_process_is_left_alone(
    emulator, service, engine, history, env, clock
) -> None:
    """The app's history screen must not settle a request its own worker is sending."""
    hit = make_hit(emulator, service, 10)
    emulator.faults.add(OP, latency=0.6, count=1)
    other = Engine(MTurkService(env, read_timeout=5), history, env, clock=clock)
    done: list[object] = []
    worker = threading.Thread(target=lambda: done.append(other.extend(hit, 1)))
    worker.start()
    deadline = time.monotonic() + 10
    while not history.unsettled() or history.unsettled()[0].state is not State.SENDING:
        assert time.monotonic() < deadline
        time.sleep(0.01)
    record = history.unsettled()[0]
    assert engine.is_live(record)
    with pytest.raises(PlanRefused) as info:
        engine.resolve(record)
    assert info.value.code == "live"
    worker.join(10)
    assert done and history.get(record.id).state is State.SUCCEEDED
    assert max_of(emulator, hit.hit_id) == 11
