"""A large group's second sender (turktui/adapters/offload.py): a child forked from this
process sends requests the engine recorded, so both cores send. Against the emulator over
loopback with real boto3 in both processes: every request still recorded before it is sent,
MTurk's refusals keep their type across the pipe, and a child that dies leaves nothing lost
or applied twice (its members are settled by what MTurk shows)."""

from __future__ import annotations

import os
import signal
import threading
from collections.abc import Iterator
from pathlib import Path
from typing import Any, NamedTuple

import pytest

from tests.reviewkit import engine_on, hit_with_work
from turktui.adapters import offload
from turktui.adapters.mturk import MTurkService
from turktui.adapters.requestlog import LoggedService
from turktui.domain.environment import Environment, EnvKind
from turktui.domain.errors import ConnectionLost, InvalidAssignmentState
from turktui.domain.records import Record, State
from turktui.pipeline.engine import Engine
from turktui.pipeline.operations import APPROVE
from turktui.pipeline.pacing import AdaptiveRate
from turktui.pipeline.reviewing import review_many

pytestmark = [
    pytest.mark.skipif(not offload.available(), reason="a second sender is forked on Linux only"),
    pytest.mark.timeout(60),
]


@pytest.fixture
def shared(
    make_emulator: Any, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> Iterator[tuple[Any, Engine, list[offload.Offload]]]:
    """An engine whose service may share a group with a child (from 2 requests on), and
    the children it started."""
    server = make_emulator(0)
    engine = engine_on(server, tmp_path / "history.sqlite3")
    engine.service.second_sender = True
    engine.pacer = AdaptiveRate(min_rate=1000, fallback_rate=1000)
    monkeypatch.setattr(offload, "OFFLOAD_AT", 2)
    yield server, engine, _children(monkeypatch)
    engine.history.close()


def _children(monkeypatch: pytest.MonkeyPatch) -> list[offload.Offload]:
    """The second senders started from now on (the list fills as they start)."""
    started: list[offload.Offload] = []
    real = offload.Offload.start

    def start(build: Any) -> offload.Offload | None:
        child = real(build)
        if child is not None:
            started.append(child)
        return child

    monkeypatch.setattr(offload.Offload, "start", start)
    return started


class Alone(NamedTuple):
    """A service that may fork a second sender, on an emulator with one HIT of 3 Submitted
    assignments (`ids`), outside any engine."""

    server: Any
    service: MTurkService
    hit_id: str
    ids: list[str]


@pytest.fixture
def alone(make_emulator: Any) -> Alone:
    server = make_emulator(0)
    hit_id = hit_with_work(server, 3, MaxAssignments=3)
    env = Environment(EnvKind.CUSTOM, server.url)
    service = MTurkService(env, credentials=("AKIDTEST", "secret"), second_sender=True)
    ids = [a.assignment_id for a in service.list_assignments(hit_id)]
    return Alone(server, service, hit_id, ids)


def _listed(engine: Engine, n: int, server: Any) -> list[tuple[Any, Any]]:
    hit_id = hit_with_work(server, n, MaxAssignments=n)
    hit = engine.service.get_hit(hit_id)
    return [(a, hit) for a in engine.service.list_assignments(hit_id)]


def _ended(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return True
    return False


def test_a_large_group_is_shared_with_the_child_and_each_request_is_sent_once(
    shared: Any,
) -> None:
    server, engine, started = shared
    pairs = _listed(engine, 30, server)
    ids = [a.assignment_id for a, _ in pairs]
    # after the listing was read, someone else rejected one: MTurk refuses its approval
    engine.service.reject_assignment(ids[7], "not done")
    approvals = server.state.request_count("ApproveAssignment")
    results = review_many(engine, APPROVE, pairs, {}, workers=6)
    (child,) = started
    assert child.answered > 0  # the child sent some of them…
    assert not child.alive and not child.killed and _ended(child.pid)  # …left with the group
    finals = {a.assignment_id: r for a, r in results}
    assert all(isinstance(r, Record) for r in finals.values())
    states = {aid: finals[aid].state for aid in ids}  # type: ignore[union-attr]
    assert states == {aid: State.REFUSED if aid == ids[7] else State.SUCCEEDED for aid in ids}
    # each sent once, whichever process sent it
    assert server.state.request_count("ApproveAssignment") - approvals == 30
    for aid in ids:
        record = engine.history.get(finals[aid].id)  # type: ignore[union-attr]
        assert record is not None and record.attempt_count == 1
    # the refusal crossed the pipe as the same MTurk answer, whoever sent it
    assert "Rejected, not Approved" in finals[ids[7]].note  # type: ignore[union-attr]
    statuses = {
        a.assignment_id: a.status for a in engine.service.list_assignments(pairs[0][1].hit_id)
    }
    assert statuses == {aid: "Rejected" if aid == ids[7] else "Approved" for aid in ids}


def test_the_child_killed_while_it_holds_requests_loses_nothing_and_applies_nothing_twice(
    shared: Any,
) -> None:
    """SIGKILL on the child with requests on the wire: their callers learn at once that the
    answers are lost; each of those members is settled by what MTurk shows (re-planned on a
    fresh read, as for a dropped answer), the rest sent here; every assignment approved."""
    server, engine, started = shared
    pairs = _listed(engine, 12, server)
    hold = server.faults.hold("ApproveAssignment")
    results: list[Any] = []
    thread = threading.Thread(
        target=lambda: results.extend(review_many(engine, APPROVE, pairs, {}, workers=6))
    )
    thread.start()
    try:
        # the child's request on the wire (the next ones in its pipe) and the two other
        # workers' own, held unapplied at the service
        assert hold.wait_held(1 + 6 - offload.DEPTH), "the requests never reached the service"
        (child,) = started
        assert child.handed == offload.DEPTH
        os.kill(child.pid, signal.SIGKILL)
    finally:
        hold.release()
        thread.join(30)
    assert not thread.is_alive()
    records = [r for _a, r in results]
    assert all(isinstance(r, Record) for r in records), records
    assert [r.state for r in records] == [State.SUCCEEDED] * 12  # type: ignore[union-attr]
    lost = [engine.history.get(r.id) for r in records if r.attempt_count > 1]  # type: ignore[union-attr]
    assert lost, "no member was with the child when it died"
    for record in lost:
        assert record is not None and record.attempts[0].outcome == "error"
        assert record.attempts[-1].outcome in ("ok", "already_processed")
    statuses = {a.status for a in engine.service.list_assignments(pairs[0][1].hit_id)}
    assert statuses == {"Approved"}
    assert _ended(started[0].pid)


def test_a_group_is_sent_here_alone_where_no_child_can_be_forked(
    shared: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    server, engine, started = shared
    monkeypatch.setattr(offload, "available", lambda: False)
    pairs = _listed(engine, 4, server)
    results = review_many(engine, APPROVE, pairs, {}, workers=2)
    assert started == []
    assert [r.state for _a, r in results] == [State.SUCCEEDED] * 4  # type: ignore[union-attr]


def test_the_offloaded_service_reads_here_writes_there_and_logs_every_write(
    alone: Alone, tmp_path: Path
) -> None:
    from turktui.adapters import requestlog

    server, service, hit_id, _ids = alone
    env = service.env
    log = requestlog.setup(tmp_path / "log")
    assert log is not None
    try:
        logged = LoggedService(service, env)
        with logged.offloaded(offload.OFFLOAD_AT) as shared_service:
            assert shared_service is not logged
            child = shared_service._service.offload
            ids = [a.assignment_id for a in shared_service.list_assignments(hit_id)]
            gets = server.state.request_count("ListAssignmentsForHIT")
            shared_service.approve_assignment(ids[0])
            assert child.answered == 1  # sent by the child
            assert shared_service.server_date() is not None  # its answer's Date, here
            with pytest.raises(InvalidAssignmentState):  # MTurk's refusal, same type
                shared_service.approve_assignment(ids[0])
            assert child.answered == 2
            assert server.state.request_count("ListAssignmentsForHIT") == gets
        assert not child.alive and _ended(child.pid)
        # after close, a request handed to it is lost, never sent
        with pytest.raises(ConnectionLost):
            child.submit("approve_assignment", (ids[1],), {})
    finally:
        requestlog.teardown()
    lines = log.read_text("utf-8").splitlines()
    assert sum(f"ApproveAssignment assignment {ids[0]}" in line for line in lines) == 2
    statuses = {a.assignment_id: a.status for a in service.list_assignments(hit_id)}
    assert statuses == {ids[0]: "Approved", ids[1]: "Submitted", ids[2]: "Submitted"}


@pytest.mark.parametrize("configured", [True, False])
def test_the_config_decides_whether_a_command_may_fork_a_second_sender(
    configured: bool, tmp_path: Path
) -> None:
    from turktui.adapters.config import Paths, Settings, load_settings
    from turktui.cli.options import Connection

    config = tmp_path / "config.toml"
    config.write_text(f"second_sender = {str(configured).lower()}\n", "utf-8")
    settings = load_settings(config)
    assert settings.second_sender is configured
    paths = Paths(config, tmp_path, tmp_path / "h.sqlite3", tmp_path / "log")
    conn = Connection(Environment(EnvKind.CUSTOM, "http://127.0.0.1:1/"), settings, paths)
    assert conn.service().wrapped.second_sender is configured
    assert Settings().second_sender is True  # on by default


def test_closing_with_requests_still_with_the_child_kills_it_before_it_sends_them(
    alone: Alone,
) -> None:
    """An interrupted group (Ctrl-C, a deadline): the child holds one request on the wire
    and more in its pipe. It is killed at once: the callers learn their answers are lost,
    and nothing waiting in its pipe is ever sent."""
    server, service, _hit_id, ids = alone
    hold = server.faults.hold("ApproveAssignment")
    try:
        with service.offloaded(offload.OFFLOAD_AT) as shared_service:
            child = shared_service.offload
            futures = [child.submit("approve_assignment", (aid,), {}) for aid in ids]
            assert hold.wait_held(1), "the first request never reached the service"
            child.close()
            assert child.killed and _ended(child.pid)
            for future in futures:
                with pytest.raises(ConnectionLost):
                    future.result(timeout=5)
    finally:
        hold.release()
    assert server.faults.wait_idle(10)
    # the one on the wire reached MTurk (unknown: it may be applied); the others never left
    assert server.state.request_count("ApproveAssignment") == 1


def test_the_child_keeps_no_descriptor_of_this_process_open(alone: Alone) -> None:
    """Anything of the parent held open in the child (a pipe's writing end, another
    child's jobs) would hide its closing: a reader here would wait for an end that never
    comes while the child lives."""
    import select

    service = alone.service
    read_end, write_end = os.pipe()
    try:
        with service.offloaded(offload.OFFLOAD_AT) as shared_service:
            assert shared_service is not service  # the child is up, forked with both ends
            os.close(write_end)
            readable, _, _ = select.select([read_end], [], [], 10)
            assert readable and os.read(read_end, 1) == b""  # the end, while the child lives
            assert shared_service.offload.alive
    finally:
        os.close(read_end)


def test_past_its_deadline_the_caller_stops_waiting_and_the_child_takes_nothing_more(
    alone: Alone,
) -> None:
    from turktui.domain.errors import DeadlineExceeded

    server, service, hit_id, ids = alone
    hold = server.faults.hold("ApproveAssignment")
    try:
        with service.offloaded(offload.OFFLOAD_AT) as shared_service:
            child = shared_service.offload
            service.request_deadline = 0.05
            with pytest.raises(DeadlineExceeded):
                shared_service.approve_assignment(ids[0])
            assert not child.room  # it may be stuck on that one: nothing more goes there
            hold.release()
            service.request_deadline = 10
            shared_service.approve_assignment(ids[1])  # sent here
            assert child.handed == 1
        assert _ended(child.pid)
    finally:
        hold.release()
    statuses = {a.assignment_id: a.status for a in service.list_assignments(hit_id)}
    assert statuses[ids[1]] == "Approved"


def test_what_a_second_sender_may_send_is_the_services_writes_each_one_logged() -> None:
    from turktui.domain.service import TurkService

    assert MTurkService.WRITES
    for name in MTurkService.WRITES:
        assert callable(getattr(MTurkService, name)), name
        assert name in vars(LoggedService), f"{name} is not logged"  # each write, logged
        assert hasattr(TurkService, name), name


def test_a_command_on_a_shared_history_forks_its_second_sender_and_records_every_approval(
    make_emulator: Any, pg_db_url: str, cli_env: dict[str, str], monkeypatch: pytest.MonkeyPatch
) -> None:
    """The real command, in team mode: the fork happens with the shared history's
    connection and its lease thread alive in this process; the child touches neither, and
    every approval is recorded in PostgreSQL."""
    import json

    from tests.runcli import run_cli
    from turktui.adapters.stores import open_store

    server = make_emulator(0)
    n = offload.OFFLOAD_AT
    hit_id = hit_with_work(server, n, MaxAssignments=n)
    children = _children(monkeypatch)
    out = run_cli(
        cli_env, "approve", "--hit", hit_id, "--all-submitted", "--yes", "--json",
        "--endpoint-url", server.url, "--history-url", pg_db_url,
    )  # fmt: skip
    assert out.returncode == 0, out.stderr
    (child,) = children
    assert child.answered > 0 and _ended(child.pid)
    assert {r["state"] for r in json.loads(out.stdout)["results"]} == {"succeeded"}
    store = open_store(pg_db_url)
    try:
        records = [r for r in store.query(limit=n + 10) if r.hit_id == hit_id]
    finally:
        store.close()
    assert len(records) == n and {r.state for r in records} == {State.SUCCEEDED}
    assert server.state.request_count("ApproveAssignment") == n  # each sent once
