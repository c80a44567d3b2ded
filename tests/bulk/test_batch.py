"""Batches against the emulator with faults: exactly one extension per HIT, every member
recorded before anything is sent, cancel + retry with the same tokens, bounded concurrency."""

from __future__ import annotations

import threading
import time
from decimal import Decimal
from typing import Any

import pytest

from tests.bulk.conftest import OP
from turktui.domain.bulk import AddEach, TopUpToNine, plan_bulk
from turktui.domain.records import State
from turktui.pipeline.batch import AdaptiveRate, BatchRunner, member_status
from turktui.pipeline.engine import Backoff, Engine


def _fast(engine: Engine, workers: int = 6) -> BatchRunner:
    # Unlimited until throttled; a high floor keeps the tests quick (the pacing itself is
    # tested on its own below).
    return BatchRunner(engine, workers=workers, pacer=AdaptiveRate(None, min_rate=20.0))


def _assert_exactly_once(server: Any, preview: Any, balance_before: Decimal) -> None:
    for line in preview.to_send:
        assert server.state.get_hit_raw(line.hit.hit_id)["MaxAssignments"] == line.new_max
    for line in preview.lines:
        if not line.sends:
            raw = server.state.get_hit_raw(line.hit.hit_id)
            assert raw["MaxAssignments"] == line.hit.max_assignments
    assert server.state.balance == balance_before - preview.total_cost


@pytest.mark.parametrize(
    "fault",
    [
        {"drop": 1.0, "count": 6},  # applied, then the answer is lost
        {"throttle": 0.3, "seed": 3},
        {"error": 0.2, "seed": 5},  # 5xx
        {"latency": 0.5, "count": 3},  # beyond the 0.3 s read timeout
    ],
    ids=["drop", "throttle", "5xx", "latency"],
)
def test_exactly_one_extension_per_hit_under_faults(
    server, engine, history, add_hits, fault
) -> None:
    hits = add_hits([1, 4, 7, 9, 10, 25] * 4)
    preview = plan_bulk(hits, AddEach(3))
    before = server.state.balance
    server.faults.add(op=OP, **fault)
    runner = _fast(engine)
    report = runner.run(preview)
    if report.retryable:  # 5 attempts were not enough for an unlucky member: retry settles
        report = runner.retry(report.batch_id)
    server.faults.clear()
    if "throttle" in fault:
        assert runner.pacer.throttle_count > 0 and runner.pacer.rate is not None
    assert report.succeeded == preview.send_count == len(report.records)
    _assert_exactly_once(server, preview, before)
    tokens = [r.token for r in report.records]
    assert len(set(tokens)) == len(tokens)  # one token per HIT
    assert {r.batch_id for r in report.records} == {report.batch_id}
    assert history.count(text=report.batch_id) == len(report.records)


def test_every_member_recorded_before_the_first_send(server, engine, history, add_hits) -> None:
    hits = add_hits([4, 20, 30])
    seen: list[int] = []

    class Spy:
        def __init__(self, inner: Any) -> None:
            self.inner = inner

        def create_additional_assignments(self, hit_id: str, n: int, token: str) -> None:
            seen.append(len(history.batch_records(batch_ids[0])))
            self.inner.create_additional_assignments(hit_id, n, token)

        def __getattr__(self, name: str) -> Any:
            return getattr(self.inner, name)

    batch_ids: list[str] = []
    spy_engine = Engine(Spy(engine.service), history, engine.env, backoff=engine.backoff)
    runner = _fast(spy_engine)
    bid, records = runner.record(plan_bulk(hits, TopUpToNine(2)))
    batch_ids.append(bid)
    assert [r.state for r in records] == [State.PLANNED] * 3
    runner.send(bid, records)
    assert seen == [3, 3, 3]


def test_create_many_is_all_or_nothing(history) -> None:
    good = {
        "env_kind": "demo",
        "endpoint": "http://x",
        "hit_id": "H1",
        "n": 1,
        "token": "t1",
        "max_before": 1,
        "expected_after": 2,
        "batch_id": "b",
    }
    with pytest.raises(KeyError):
        history.create_many([good, {"hit_id": "H2"}])
    assert history.batch_records("b") == []


def test_cancel_then_retry_sends_only_the_rest_with_the_same_tokens(
    server, engine, history, add_hits
) -> None:
    hits = add_hits([20] * 16)
    preview = plan_bulk(hits, AddEach(2))
    before = server.state.balance
    server.faults.add(op=OP, latency=0.1)
    runner = _fast(engine, workers=2)
    done: list[int] = []

    def member(outcome: Any) -> None:
        done.append(outcome.record.id)
        if len(done) == 4:
            runner.cancel()

    report = runner.run(preview, member=member)
    sent_first = server.state.request_count(OP)
    assert report.cancelled and 4 <= report.succeeded <= 6  # in-flight ones finish
    assert report.not_sent == 16 - report.succeeded and sent_first == report.succeeded
    planned = {r.id: r.token for r in report.records if r.state is State.PLANNED}
    assert len(planned) == report.not_sent  # the members the cancel kept back
    assert all(
        member_status(r, cancelled=True) == "not sent (cancelled)"
        for r in report.records
        if r.id in planned
    )
    server.faults.clear()
    again = runner.retry(report.batch_id)
    assert again.all_succeeded and again.sent == len(planned)
    # Only the rest was sent, each exactly once, with the token recorded before the cancel.
    assert server.state.request_count(OP) == sent_first + len(planned)
    assert {r.id: r.token for r in again.records if r.id in planned} == planned
    _assert_exactly_once(server, preview, before)


def test_partial_failure_then_retry(server, service, history, env, add_hits) -> None:
    # One attempt per member so failures stay failures until the retry.
    engine = Engine(service, history, env, backoff=Backoff(attempts=1))
    hits = add_hits([20] * 6) + add_hits([20] * 2, expired=True)
    gone = [h.hit_id for h in hits[-2:]]
    preview = plan_bulk(hits, AddEach(1))
    before = server.state.balance
    runner = _fast(engine, workers=1)
    bid, records = runner.record(preview)
    for hit_id in gone:  # deleted between plan and send: MTurk refuses, nothing changes
        server.state.op_delete_hit({"HITId": hit_id})
    server.faults.add(op=OP, throttle=1.0, count=2)  # → failed (nothing applied)
    server.faults.add(op=OP, error=1.0, count=1)  # 5xx → unknown (may have been applied)
    report = runner.send(bid, records)
    by_hit = {r.hit_id: r for r in report.records}
    assert {by_hit[h].state for h in gone} == {State.REFUSED}
    assert "does not exist" in member_status(by_hit[gone[0]])
    assert report.failed + report.unknown >= 2 and report.succeeded == 6 - (
        report.failed + report.unknown
    )
    retried = {r.id: r.token for r in report.records if r.state in (State.FAILED, State.UNKNOWN)}
    count = server.state.request_count(OP)
    again = runner.retry(bid)
    assert again.sent == len(retried)
    assert server.state.request_count(OP) == count + len(retried)  # refused ones not re-sent
    assert again.succeeded == 6 and again.refused == 2
    assert {r.id: r.token for r in again.records if r.id in retried} == retried
    sent = [line for line in preview.to_send if line.hit.hit_id not in gone]
    for line in sent:
        assert server.state.get_hit_raw(line.hit.hit_id)["MaxAssignments"] == line.new_max
    assert server.state.balance == before - sum(line.cost.total for line in sent)


@pytest.mark.timing  # a wall-clock floor (the count of calls in flight needs no clock)
def test_concurrency_is_bounded(server, engine, history, add_hits) -> None:
    hits = add_hits([20] * 12)
    lock = threading.Lock()
    state = {"now": 0, "max": 0}

    class Counting:
        def __init__(self, inner: Any) -> None:
            self.inner = inner

        def create_additional_assignments(self, *a: Any) -> None:
            with lock:
                state["now"] += 1
                state["max"] = max(state["max"], state["now"])
            try:
                self.inner.create_additional_assignments(*a)
            finally:
                with lock:
                    state["now"] -= 1

        def __getattr__(self, name: str) -> Any:
            return getattr(self.inner, name)

    server.faults.add(op=OP, latency=0.15)
    runner = _fast(Engine(Counting(engine.service), history, engine.env), workers=3)
    t0 = time.monotonic()
    report = runner.run(plan_bulk(hits, AddEach(1)))
    elapsed = time.monotonic() - t0
    assert report.all_succeeded
    assert state["max"] == 3
    assert elapsed >= 12 / 3 * 0.15 * 0.9  # three at a time, never more


def test_throttling_slows_every_worker() -> None:
    now = [0.0]
    waits: list[float] = []
    pacer = AdaptiveRate(40.0, clock=lambda: now[0], sleep=waits.append, step=1.0)
    pacer.acquire()
    pacer.throttled()
    assert pacer.rate == 20.0 and pacer.throttle_count == 1
    pacer.throttled()  # within the cooldown: the same congestion, no second cut
    assert pacer.rate == 20.0 and pacer.throttle_count == 2
    now[0] += 1.0
    pacer.throttled()
    assert pacer.rate == 10.0
    assert pacer.acquire() == pytest.approx(0.1)  # everyone waits for the next slot
    for _ in range(100):
        pacer.succeeded()
    assert pacer.rate == 40.0  # recovered, but never above the ceiling


def test_unlimited_pacer_learns_a_rate_on_throttle() -> None:
    now = [0.0]
    pacer = AdaptiveRate(None, clock=lambda: now[0], sleep=lambda s: None)
    for i in range(100):
        now[0] = i * 0.01  # 100 requests per second
        pacer.acquire()
    pacer.throttled()
    assert pacer.rate is not None and 40 <= pacer.rate <= 60


def test_resolve_batch_settles_only_its_members(server, service, history, env, add_hits) -> None:
    engine = Engine(service, history, env, backoff=Backoff(attempts=1))
    hits = add_hits([20] * 3)
    other = engine.extend(add_hits([20])[0], 1)
    runner = _fast(engine)
    server.faults.add(op=OP, drop=1.0)  # applied, answers lost → unknown
    report = runner.run(plan_bulk(hits, AddEach(2)))
    server.faults.clear()
    assert report.unknown == 3
    settled = runner.resolve(report.batch_id)
    assert settled.succeeded == 3 and all(
        r.state is State.RESOLVED_SUCCEEDED for r in settled.records
    )
    for h in hits:  # the re-send with the same token did not apply twice
        assert server.state.get_hit_raw(h.hit_id)["MaxAssignments"] == 22
    assert history.get(other.record.id).state is State.SUCCEEDED
