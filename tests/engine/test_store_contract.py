"""The history store's contract, run against both adapters (the `store` / `history_at`
fixtures: a SQLite file and a PostgreSQL database): one intent per HIT, compare-and-set,
claims, attempts, batches, and the same answers when processes race on one record."""

from __future__ import annotations

import json
import subprocess
import sys
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest

from tests.conftest import FIXED_NOW
from tests.engine.conftest import record_row
from turktui.adapters.history import HistoryError, HistoryStore
from turktui.adapters.stores import open_store, reader_of
from turktui.domain.records import IntentBusy, OwnedElsewhere, State, StateChanged

ENDPOINT = "http://127.0.0.1:1/"


def _row(**kw: Any) -> dict[str, Any]:
    return record_row(**{"endpoint": ENDPOINT, **kw})


def test_one_intent_per_hit(store: HistoryStore) -> None:
    first = store.create(**_row(), allow_second=False, now=FIXED_NOW, owner="ops-2|4242|99")
    with pytest.raises(IntentBusy) as busy:
        store.create(**_row(token="turktui-t2"), allow_second=False)
    assert [r.id for r in busy.value.records] == [first]
    assert f"#{first}" in str(busy.value)
    # Who holds it, where, since when: what the turned-away operator is told.
    assert f"recorded by {store.operator} (pid 4242 on ops-2) at 2026-06-15 12:00:00 UTC" in str(
        busy.value
    )
    assert store.count() == 1  # nothing written
    # Another endpoint, or another HIT: not the same intent.
    store.create(**_row(endpoint="http://other/", token="x"), allow_second=False)
    store.create(**_row(hit_id="HIT2", token="y"), allow_second=False)
    # Once settled, the HIT is free again; allow_second records a second on purpose.
    store.update(first, state=State.SUCCEEDED, expect=State.PLANNED)
    second = store.create(**_row(token="turktui-t3"), allow_second=False)
    assert store.create(**_row(token="turktui-t4"), allow_second=True) > second
    assert [r.id for r in store.unsettled_for(ENDPOINT, ["HIT1"])] == [second, second + 1]


def test_a_batch_is_recorded_whole_or_not_at_all(store: HistoryStore) -> None:
    held = store.create(**_row(hit_id="H2"), allow_second=False)
    rows = [_row(hit_id=f"H{i}", token=f"t{i}", batch_id="B1") for i in range(1, 4)]
    with pytest.raises(IntentBusy) as busy:
        store.create_many(rows, allow_second=False)
    assert [r.id for r in busy.value.records] == [held]
    assert store.count() == 1
    store.update(held, state=State.FAILED)
    ids = store.create_many(rows, allow_second=False)
    assert len(ids) == 3 and ids == sorted(ids)
    assert [r.id for r in store.batch_records("B1")] == ids
    store.update(ids[0], state=State.SUCCEEDED)
    assert store.batch_states("B1") == {State.SUCCEEDED: 1, State.PLANNED: 2}


def test_compare_and_set_writes_nothing_when_the_state_moved(store: HistoryStore) -> None:
    rid = store.create(**_row())
    store.update(rid, state=State.SENDING, expect=State.PLANNED)
    with pytest.raises(StateChanged) as changed:
        store.update(rid, state=State.FAILED, note="late", expect=State.PLANNED)
    assert changed.value.actual is State.SENDING
    record = store.get(rid)
    assert record is not None and record.state is State.SENDING and record.note == ""
    with pytest.raises(StateChanged):
        store.add_attempt(
            rid,
            operation="X",
            outcome="ok",
            at=FIXED_NOW,
            state=State.SUCCEEDED,
            expect=State.UNKNOWN,
        )
    assert store.get(rid).attempts == ()  # type: ignore[union-attr]
    with pytest.raises(StateChanged):
        store.update(999_999, state=State.FAILED, expect=State.PLANNED)


def test_attempts_are_numbered_and_finished(store: HistoryStore) -> None:
    rid = store.create(**_row())
    one = store.add_attempt(
        rid,
        operation="CreateAdditionalAssignmentsForHIT",
        outcome="started",
        at=FIXED_NOW,
        state=State.SENDING,
    )
    store.finish_attempt(rid, one, outcome="error", error_code="Throttled", duration=0.25)
    two = store.add_attempt(
        rid,
        operation="CreateAdditionalAssignmentsForHIT",
        outcome="ok",
        at=FIXED_NOW + timedelta(seconds=1),
        state=State.SUCCEEDED,
        first_sent=FIXED_NOW,
    )
    record = store.get(rid)
    assert record is not None
    assert (one, two) == (1, 2) and record.attempt_count == 2
    assert [(a.number, a.outcome, a.error_code) for a in record.attempts] == [
        (1, "error", "Throttled"),
        (2, "ok", ""),
    ]
    assert record.attempts[0].duration == 0.25
    assert record.state is State.SUCCEEDED and record.first_sent == FIXED_NOW


def test_writes_together_are_one_transaction_all_or_none(store: HistoryStore) -> None:
    a, b = store.create_many([_row(hit_id="H1", token="t1"), _row(hit_id="H2", token="t2")])
    assert store.get_many([b, a, 999_999]).keys() == {a, b}
    start = [
        store.add_attempt_step(
            rid, operation="X", outcome="started", at=FIXED_NOW, state=State.SENDING,
            expect=State.PLANNED, first_sent=FIXED_NOW,
        )
        for rid in (a, b)
    ]  # fmt: skip
    assert store.together(start) == [1, 1]
    # one step's compare-and-set fails: nothing of the group is written
    with pytest.raises(StateChanged):
        store.together(
            [
                store.finish_attempt_step(a, 1, outcome="ok", duration=0.1),
                store.update_step(a, state=State.SUCCEEDED, expect=State.SENDING),
                store.update_step(b, state=State.SUCCEEDED, expect=State.PLANNED),
            ]
        )
    got = store.get_many([a, b])
    assert {r.state for r in got.values()} == {State.SENDING}
    assert store.get(a).attempts[0].outcome == "started"  # type: ignore[union-attr]
    store.together([store.update_step(rid, state=State.SUCCEEDED) for rid in (a, b)])
    assert {r.state for r in store.get_many([a, b]).values()} == {State.SUCCEEDED}
    assert store.together([]) == []
    # records about to be sent: inserted with their first attempt started, in one commit
    (c,) = store.insert(
        [_row(hit_id="H3", token="t3", state=State.SENDING, first_sent=FIXED_NOW)],
        now=FIXED_NOW,
        allow_second=False,
        started="ApproveAssignment",
    )
    sending = store.get(c)
    assert sending is not None and sending.state is State.SENDING
    assert sending.first_sent == FIXED_NOW and sending.attempt_count == 1
    assert [(a.number, a.operation, a.outcome) for a in sending.attempts] == [
        (1, "ApproveAssignment", "started")
    ]
    # alike verdicts of several records: one step, its compare-and-set over all of them
    with pytest.raises(StateChanged) as changed:
        store.together(
            [store.update_many_step([a, b, c], state=State.REFUSED, expect=State.SUCCEEDED)]
        )
    assert changed.value.record_id == c and changed.value.actual is State.SENDING
    assert {r.state for r in store.get_many([a, b]).values()} == {State.SUCCEEDED}
    store.together(
        [store.update_many_step([a, b], state=State.REFUSED, note="n", expect=State.SUCCEEDED)]
    )
    assert {(r.state, r.note) for r in store.get_many([a, b]).values()} == {(State.REFUSED, "n")}
    with pytest.raises(HistoryError, match="no history record #999999"):
        store.together([store.update_many_step([a, 999_999], note="m")])


def test_claim_refuses_a_live_owner_and_takes_a_dead_ones(store: HistoryStore) -> None:
    from turktui.adapters.history import current_owner

    rid = store.create(**_row(), owner=current_owner())
    mine = store.claim(rid, expect=State.PLANNED, owner=current_owner())
    assert mine.owner == current_owner()
    # A process on this host that is running (pid 1) holds it: refused.
    import socket

    live = f"{socket.gethostname()}|1|"
    store.update(rid, owner=live)
    with pytest.raises(OwnedElsewhere):
        store.claim(rid, expect=State.PLANNED, owner=current_owner())
    # One that is gone (no such pid): taken over.
    store.update(rid, owner=f"{socket.gethostname()}|999999999|1")
    assert store.claim(rid, expect=State.PLANNED, owner=current_owner()).owner == current_owner()
    with pytest.raises(StateChanged):
        store.claim(rid, expect=State.SENDING, owner=current_owner())


def test_reads_by_token_intent_and_filters(store: HistoryStore) -> None:
    a = store.create(**_row(hit_title="Alpha 100% _odd_", state=State.SUCCEEDED), now=FIXED_NOW)
    b = store.create(**_row(token="turktui-t2"), now=FIXED_NOW + timedelta(seconds=5))
    assert [r.id for r in store.find_by_token("turktui-t1")] == [a]
    others = store.intents_on(ENDPOINT, "HIT1", exclude=a)
    assert [(r.id, sequence) for r, sequence in others] == [(b, 0)]
    assert [r.id for r in store.query(text="ALPHA")] == [a]  # case-insensitive, both
    assert [r.id for r in store.query(text="%")] == [a]  # LIKE's wildcards are literal
    assert store.count(text="_odd_") == 1 and store.count(text="x_o") == 0
    assert store.count(env_kind="demo", endpoint=ENDPOINT) == 2
    assert [r.id for r in store.query(limit=1, offset=1)] == [a]
    from turktui.adapters.history_reader import HistoryQuery

    reader = reader_of(store)  # kept by the store (closed with it)
    assert reader_of(store) is reader
    assert reader.count(HistoryQuery(text="alpha")) == 1
    assert [r.id for r in reader.page(HistoryQuery(), 0, 10)] == [b, a]
    got = reader.get(a)
    assert got is not None and got.hit_title == "Alpha 100% _odd_"


def test_a_page_with_its_attempts_is_what_get_reads(store: HistoryStore) -> None:
    """query(with_attempts=True): each record of the page with its own attempts, in order
    (one statement for the page's attempts, not one per record)."""
    a = store.create(**_row(), now=FIXED_NOW)
    b = store.create(**_row(token="turktui-t2", hit_id="HIT2"), now=FIXED_NOW)
    c = store.create(**_row(token="turktui-t3", hit_id="HIT3"), now=FIXED_NOW)
    for rid, outcome in ((a, "x"), (c, "y"), (a, "z")):
        store.add_attempt(rid, operation="Op", outcome=outcome, at=FIXED_NOW)
    page = store.query(with_attempts=True, limit=2)  # newest first: c, b
    assert [r.id for r in page] == [c, b]
    assert page == [store.get(c), store.get(b)]
    assert [x.outcome for x in store.query(with_attempts=True, offset=2)[0].attempts] == ["x", "z"]


def test_import_many_keeps_times_and_states(store: HistoryStore) -> None:
    moment = FIXED_NOW - timedelta(days=3)
    store.import_many([{"hit_id": "OLD", "n": 1, "token": "old", "created": moment}])
    (record,) = store.query()
    assert record.created == moment and record.state is State.SUCCEEDED


# -- processes racing on one record (each its own connection, as two hosts would) ----------
RACER = """
import json, sys
from turktui.adapters.history import current_owner
from turktui.adapters.stores import open_store
from turktui.domain.records import IntentBusy, OwnedElsewhere, State, StateChanged
where, what, rid = sys.argv[1], sys.argv[2], int(sys.argv[3])
store = open_store(where)
print("ready", flush=True)
sys.stdin.readline()  # the start line: every racer goes at once
row = dict(env_kind="demo", endpoint="E", profile=None, hit_id="RACE", hit_title="t", n=1,
           token=f"t-{current_owner()}", max_before=1, expected_after=2)
try:
    if what == "create":
        result = store.create(**row, allow_second=False)
    elif what == "claim":
        result = store.claim(rid, expect=State.PLANNED, owner=current_owner()).id
    else:
        store.update(rid, state=State.SENDING, expect=State.PLANNED, note=current_owner())
        result = rid
    print(json.dumps({"won": result}), flush=True)
except (IntentBusy, OwnedElsewhere, StateChanged) as exc:
    print(json.dumps({"lost": type(exc).__name__, "why": str(exc)}), flush=True)
sys.stdin.readline()  # alive until every racer has answered: a live owner stays live
store.close()
"""


def _race(where: Path | str, what: str, rid: int = 0, racers: int = 6) -> list[dict[str, Any]]:
    procs = [
        subprocess.Popen(
            [sys.executable, "-c", RACER, str(where), what, str(rid)],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        for _ in range(racers)
    ]
    for proc in procs:  # every racer has its store open and waits for the start line
        assert proc.stdout is not None and proc.stdout.readline().strip() == "ready"
    for proc in procs:
        assert proc.stdin is not None
        proc.stdin.write("go\n")
        proc.stdin.flush()
    results = []
    for proc in procs:
        assert proc.stdout is not None
        line = proc.stdout.readline()
        if not line:
            _, err = proc.communicate(timeout=60)
            pytest.fail(f"a racer failed: {err}")
        results.append(json.loads(line))
    for proc in procs:
        _, err = proc.communicate("end\n", timeout=60)
        assert proc.returncode == 0, err
    return results


@pytest.mark.parametrize("what", ["create", "claim", "update"])
def test_racing_processes_exactly_one_wins(history_at: Path | str, what: str) -> None:
    """Six processes at once on one HIT / one record: exactly one passes the rule; the
    others are told why, and nothing of theirs is written."""
    store = open_store(history_at)
    try:
        rid = 0
        if what != "create":
            rid = store.create(**_row(hit_id="RACE", endpoint="E"))
            if what == "claim":
                store.update(rid, owner="")
        results = _race(history_at, what, rid)
        winners = [r for r in results if "won" in r]
        assert len(winners) == 1, results
        expected = {"create": "IntentBusy", "claim": "OwnedElsewhere", "update": "StateChanged"}
        assert {r["lost"] for r in results if "lost" in r} == {expected[what]}
        if what == "create":
            assert store.count() == 1
            assert all(f"#{winners[0]['won']}" in r["why"] for r in results if "lost" in r)
        else:
            record = store.get(rid)
            assert record is not None
            assert record.owner or record.note  # the winner's write, and only one
    finally:
        store.close()


def test_every_record_names_its_operator(history_at: Path | str) -> None:
    from turktui.adapters.history import default_operator

    mine = open_store(history_at)
    alice = open_store(history_at, operator="alice@ops-2")
    try:
        assert mine.operator == default_operator() and "@" in mine.operator
        a = alice.create(**_row(hit_id="A"))
        m = mine.create(**_row(hit_id="M"))
        assert alice.get(a).operator == "alice@ops-2"  # type: ignore[union-attr]
        assert mine.get(m).operator == default_operator()  # type: ignore[union-attr]
        assert [r.id for r in mine.query(operator="alice@ops-2")] == [a]
        assert mine.count(operator="nobody") == 0
        with pytest.raises(IntentBusy) as busy:
            mine.create(**_row(hit_id="A", token="x"), allow_second=False)
        assert "recorded by alice@ops-2 (" in str(busy.value)
    finally:
        mine.close()
        alice.close()


def test_every_unsettled_record_is_reached_a_page_at_a_time(store: HistoryStore) -> None:
    """resolve's reading: oldest first, keyset pages, a record settled meanwhile does not
    shift the next page (both stores: the same SQL runs on each)."""
    ids = [
        store.create(**_row(hit_id=f"P{i}", token=f"p{i}"), allow_second=False) for i in range(7)
    ]
    store.update(ids[2], state=State.SUCCEEDED)
    pages = store.unsettled_pages(page=3)
    first = next(pages)
    assert [r.id for r in first] == [ids[0], ids[1], ids[3]]
    store.update(ids[4], state=State.FAILED)  # settled while the first page is worked on
    rest = [r.id for page in pages for r in page]
    assert rest == [ids[5], ids[6]]
