"""Every operation and MTurk rule over real boto3 on loopback."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal
from typing import Any

import pytest
from botocore.exceptions import ClientError

from tests.emulator.helpers import error_of
from tests.emulator.shapes import assert_output
from turktui.emulator import EmulatorServer

RECENT = 1_700_000_000.0  # 2023-11-14
Q = "<ExternalQuestion/>"


def _ext(client: Any, hit_id: str, n: int, token: str | None = None) -> dict[str, Any]:
    kw: dict[str, Any] = {"HITId": hit_id, "NumberOfAdditionalAssignments": n}
    if token:
        kw["UniqueRequestToken"] = token
    out = client.create_additional_assignments_for_hit(**kw)
    assert_output("CreateAdditionalAssignmentsForHIT", out)
    return out


def _refused(client: Any, call: str, **kw: Any) -> tuple[str, str, str | None]:
    with pytest.raises(ClientError) as info:
        getattr(client, call)(**kw)
    return error_of(info.value)


def test_create_hit_and_get_hit(srv: EmulatorServer, client: Any) -> None:
    out = client.create_hit(
        LifetimeInSeconds=3600,
        AssignmentDurationInSeconds=600,
        Reward="0.50",
        Title="Label cats",
        Description="Is it a cat?",
        Keywords="cat, image",
        Question=Q,
        RequesterAnnotation="batch-1",
        QualificationRequirements=[
            {
                "QualificationTypeId": "00000000000000000071",
                "Comparator": "In",
                "LocaleValues": [{"Country": "US"}],
            }
        ],
    )
    assert_output("CreateHIT", out)
    hit = out["HIT"]
    assert hit["MaxAssignments"] == 1
    assert hit["Reward"] == "0.50"
    assert hit["HITStatus"] == "Assignable"
    assert len(hit["HITId"]) == 30 and hit["HITId"].isalnum() and hit["HITId"].isupper()
    assert len(hit["HITTypeId"]) == 30
    assert hit["NumberOfAssignmentsAvailable"] == 1
    assert (hit["Expiration"] - hit["CreationTime"]).total_seconds() == pytest.approx(3600)
    got = client.get_hit(HITId=hit["HITId"])
    assert_output("GetHIT", got)
    assert got["HIT"]["Title"] == "Label cats"
    assert got["HIT"]["QualificationRequirements"][0]["LocaleValues"] == [{"Country": "US"}]
    # the HIT cost reward + 20% fee
    assert srv.state.balance == Decimal("10000.00") - Decimal("0.60")


def test_create_hit_validation_and_token(srv: EmulatorServer, client: Any) -> None:
    base = {
        "LifetimeInSeconds": 3600,
        "AssignmentDurationInSeconds": 600,
        "Reward": "0.10",
        "Title": "T",
        "Description": "D",
        "Question": Q,
    }
    code, msg, turk = _refused(client, "create_hit", **{**base, "MaxAssignments": 0})
    assert code == "RequestError" and "MaxAssignments" in msg
    assert turk == "AWS.ParameterOutOfRange"
    # a bad Reward is AWS's pattern refusal, as for SendBonus's BonusAmount (Dallinger #1052)
    code, msg, _ = _refused(client, "create_hit", **{**base, "Reward": "abc"})
    assert code == "ValidationException"
    assert msg == (
        "1 validation error detected: Value 'abc' at 'reward' failed to satisfy constraint: "
        "Member must satisfy regular expression pattern: ^[0-9]+(\\.)?[0-9]{0,2}$"
    )
    out = client.create_hit(**{**base, "Reward": "2"}, UniqueRequestToken="create-1")
    assert out["HIT"]["Reward"] == "2.00"
    code, msg, _ = _refused(client, "create_hit", **base, UniqueRequestToken="create-1")
    assert code == "RequestError"
    assert msg.startswith('The idempotency token "create-1" has already been processed. (')
    assert len(srv.state.hit_ids()) == 1


def test_get_hit_unknown(srv: EmulatorServer, client: Any) -> None:
    code, msg, turk = _refused(client, "get_hit", HITId="NOSUCHHIT0000000000000000000000")
    assert code == "RequestError"
    assert turk == "AWS.MechanicalTurk.HITDoesNotExist"
    assert msg.startswith("Hit NOSUCHHIT0000000000000000000000 does not exist. (")
    assert msg.endswith(")") and msg.rsplit("(", 1)[1][:-1].isdigit()


def _pages(client: Any, size: int) -> list[dict[str, Any]]:
    pages: list[dict[str, Any]] = []
    token = None
    while True:
        kw: dict[str, Any] = {"MaxResults": size}
        if token:
            kw["NextToken"] = token
        page = client.list_hits(**kw)
        assert_output("ListHITs", page)
        assert page["NumResults"] == len(page["HITs"])
        pages.append(page)
        token = page.get("NextToken")
        if not token:
            return pages


def test_list_hits_paging_invariants(srv: EmulatorServer, client: Any) -> None:
    # MTurk's shape (Mephisto's listing loop, Dallinger's recorded answers, aws-sdk-js
    # #2522): a NextToken on every non-empty page; the listing ends with an empty page.
    ids = [srv.state.add_hit(Title=f"hit {i}", CreationTime=RECENT + i) for i in range(257)]
    pages = _pages(client, 37)
    assert [p["NumResults"] for p in pages] == [37] * 6 + [35, 0]
    assert all("NextToken" in p for p in pages[:-1]) and "NextToken" not in pages[-1]
    seen = [h["HITId"] for p in pages for h in p["HITs"]]
    assert seen == ids == srv.state.hit_ids()
    # default page size is 10; paginator returns everything
    assert client.list_hits()["NumResults"] == 10
    everything = [
        h["HITId"]
        for p in client.get_paginator("list_hits").paginate(PaginationConfig={"PageSize": 100})
        for h in p["HITs"]
    ]
    assert everything == ids


def test_list_hits_stable_under_deletion(srv: EmulatorServer, client: Any) -> None:
    now = srv.state.now()
    ids = [
        srv.state.add_hit(Title=f"h{i}", Expiration=now - 10, HITStatus="Reviewable")
        for i in range(30)
    ]
    first = client.list_hits(MaxResults=10)
    client.delete_hit(HITId=ids[3])
    client.delete_hit(HITId=ids[12])
    rest = client.list_hits(MaxResults=100, NextToken=first["NextToken"])
    got = [h["HITId"] for h in first["HITs"]] + [h["HITId"] for h in rest["HITs"]]
    assert got == ids[:10] + [i for i in ids[10:] if i != ids[12]]
    end = client.list_hits(MaxResults=100, NextToken=rest["NextToken"])
    assert end["NumResults"] == 0 and "NextToken" not in end


def test_list_hits_empty(srv: EmulatorServer, client: Any) -> None:
    out = client.list_hits(MaxResults=100)
    assert_output("ListHITs", out)
    assert out["NumResults"] == 0 and out["HITs"] == [] and "NextToken" not in out


def test_list_hits_bad_token(srv: EmulatorServer, client: Any) -> None:
    srv.state.add_hit()
    for token in ("garbage", "bm90LWEtdG9rZW4=", "MTI6ZGVhZGJlZWY="):
        code, msg, _ = _refused(client, "list_hits", NextToken=token)
        assert code == "RequestError"
        assert "pagination token" in msg


def test_extension_basic_and_cost(srv: EmulatorServer, client: Any) -> None:
    hid = srv.state.add_hit(
        CreationTime=RECENT, MaxAssignments=3, Reward="0.50", NumberOfAssignmentsCompleted=1
    )
    _ext(client, hid, 2)
    hit = client.get_hit(HITId=hid)["HIT"]
    assert hit["MaxAssignments"] == 5
    assert hit["NumberOfAssignmentsAvailable"] == 4
    # 2 × 0.50 = 1.00 + 20% = 1.20
    assert srv.state.balance == Decimal("9998.80")
    assert client.get_account_balance()["AvailableBalance"] == "9998.80"


@pytest.mark.parametrize(
    ("max_a", "n", "reward", "cost"),
    [
        (10, 5, "0.50", "3.50"),  # 2.50 + 40%
        (20, 1, "0.01", "0.02"),  # fee at least a cent
        (1, 3, "0.01", "0.06"),  # 0.03 + max(0.006, 0.03)
        (3, 1, "0.05", "0.06"),  # 0.05 + 0.01
        (12, 3, "0.33", "1.39"),  # 0.99 + 0.396 → 0.40
        (2, 1, "0.13", "0.16"),  # 0.13 + 0.026 → 0.03
    ],
)
def test_extension_fee_table(
    srv: EmulatorServer, client: Any, max_a: int, n: int, reward: str, cost: str
) -> None:
    hid = srv.state.add_hit(CreationTime=RECENT, MaxAssignments=max_a, Reward=reward)
    before = srv.state.balance
    _ext(client, hid, n)
    assert before - srv.state.balance == Decimal(cost)


def test_extension_refusals(srv: EmulatorServer, client: Any) -> None:
    state = srv.state
    old = state.add_hit(CreationTime=1437523199.0, MaxAssignments=3)
    boundary = state.add_hit(CreationTime=1437523200.0, MaxAssignments=3)
    nine = state.add_hit(CreationTime=RECENT, MaxAssignments=9)
    five = state.add_hit(CreationTime=RECENT, MaxAssignments=5)
    big = state.add_hit(CreationTime=RECENT, MaxAssignments=999_999, Reward="0.00")
    snapshot = {h: state.get_hit_raw(h) for h in state.hit_ids()}
    balance = state.balance

    _, msg, turk = _refused(
        client, "create_additional_assignments_for_hit", HITId=old, NumberOfAdditionalAssignments=1
    )
    assert turk == "AWS.MechanicalTurk.HITTooOldForExtension"
    assert msg.endswith(")")
    for hid, n in ((nine, 1), (five, 5), (five, 50)):
        _, _, turk = _refused(
            client,
            "create_additional_assignments_for_hit",
            HITId=hid,
            NumberOfAdditionalAssignments=n,
        )
        assert turk == "AWS.MechanicalTurk.InvalidMaximumAssignmentsIncrease"
    code, msg, _ = _refused(
        client, "create_additional_assignments_for_hit", HITId=big, NumberOfAdditionalAssignments=2
    )
    assert code == "RequestError" and "1000000" in msg
    for n in (0, -3):
        code, msg, _ = _refused(
            client,
            "create_additional_assignments_for_hit",
            HITId=five,
            NumberOfAdditionalAssignments=n,
        )
        assert code == "RequestError" and "NumberOfAdditionalAssignments" in msg
    code, msg, turk = _refused(
        client,
        "create_additional_assignments_for_hit",
        HITId="UNKNOWN",
        NumberOfAdditionalAssignments=1,
    )
    assert turk == "AWS.MechanicalTurk.HITDoesNotExist"
    assert msg.startswith("Hit UNKNOWN does not exist. (")
    # nothing changed on any refusal
    assert {h: state.get_hit_raw(h) for h in state.hit_ids()} == snapshot
    assert state.balance == balance
    # the boundary instant itself is allowed, and 999,999 + 1 reaches exactly the cap
    _ext(client, boundary, 1)
    _ext(client, big, 1)
    assert state.get_hit_raw(big)["MaxAssignments"] == 1_000_000
    _ext(client, five, 4)
    assert state.get_hit_raw(five)["MaxAssignments"] == 9


def test_insufficient_funds(srv: EmulatorServer, client: Any) -> None:
    hid = srv.state.add_hit(CreationTime=RECENT, MaxAssignments=2, Reward="1.00")
    srv.state.set_balance("1.19")
    _, msg, turk = _refused(
        client, "create_additional_assignments_for_hit", HITId=hid, NumberOfAdditionalAssignments=1
    )
    assert turk == "AWS.MechanicalTurk.InsufficientFunds"
    assert msg.startswith("This Requester has insufficient funds") and msg.endswith(")")
    assert srv.state.get_hit_raw(hid)["MaxAssignments"] == 2
    assert srv.state.balance == Decimal("1.19")
    srv.state.set_balance("1.20")
    _ext(client, hid, 1)
    assert srv.state.balance == Decimal("0.00")
    assert client.get_account_balance()["AvailableBalance"] == "0.00"


def test_idempotency_token_window(srv: EmulatorServer, client: Any) -> None:
    hid = srv.state.add_hit(CreationTime=RECENT, MaxAssignments=2, Reward="0.10")
    _ext(client, hid, 1, token="tok-1")
    code, msg, turk = _refused(
        client,
        "create_additional_assignments_for_hit",
        HITId=hid,
        NumberOfAdditionalAssignments=1,
        UniqueRequestToken="tok-1",
    )
    assert code == "RequestError"
    assert msg.startswith('The idempotency token "tok-1" has already been processed. (')
    assert turk is None
    assert srv.state.get_hit_raw(hid)["MaxAssignments"] == 3
    srv.state.advance(24 * 3600 - 5)
    _refused(
        client,
        "create_additional_assignments_for_hit",
        HITId=hid,
        NumberOfAdditionalAssignments=1,
        UniqueRequestToken="tok-1",
    )
    srv.state.advance(10)
    _ext(client, hid, 1, token="tok-1")
    assert srv.state.get_hit_raw(hid)["MaxAssignments"] == 4
    # a refused request does not consume its token
    nine = srv.state.add_hit(CreationTime=RECENT, MaxAssignments=9)
    _refused(
        client,
        "create_additional_assignments_for_hit",
        HITId=nine,
        NumberOfAdditionalAssignments=1,
        UniqueRequestToken="tok-2",
    )
    _ext(client, hid, 1, token="tok-2")
    # tokens are per operation
    client.create_hit(
        LifetimeInSeconds=60,
        AssignmentDurationInSeconds=60,
        Reward="0.01",
        Title="t",
        Description="d",
        Question=Q,
        UniqueRequestToken="tok-2",
    )
    # token longer than 64 characters is a validation error
    code, _, _ = _refused(
        client,
        "create_additional_assignments_for_hit",
        HITId=hid,
        NumberOfAdditionalAssignments=1,
        UniqueRequestToken="x" * 65,
    )
    assert code == "ValidationException"


def test_extension_of_expired_hit_stays_expired(srv: EmulatorServer, client: Any) -> None:
    now = srv.state.now()
    hid = srv.state.add_hit(
        CreationTime=RECENT,
        MaxAssignments=3,
        Expiration=now - 100,
        HITStatus="Reviewable",
        NumberOfAssignmentsCompleted=3,
    )
    _ext(client, hid, 2)
    raw = srv.state.get_hit_raw(hid)
    assert raw["Expiration"] == now - 100
    assert raw["HITStatus"] == "Reviewable"
    assert raw["MaxAssignments"] == 5 and raw["NumberOfAssignmentsAvailable"] == 2


def test_extension_status_transitions(srv: EmulatorServer, client: Any) -> None:
    now = srv.state.now()
    done = srv.state.add_hit(
        CreationTime=RECENT,
        MaxAssignments=2,
        Expiration=now + 999,
        HITStatus="Reviewable",
        NumberOfAssignmentsCompleted=2,
    )
    live = srv.state.add_hit(CreationTime=RECENT, MaxAssignments=2, Expiration=now + 999)
    _ext(client, done, 1)
    _ext(client, live, 1)
    assert srv.state.get_hit_raw(done)["HITStatus"] == "Assignable"
    assert srv.state.get_hit_raw(live)["HITStatus"] == "Assignable"
    assert srv.state.get_hit_raw(live)["Expiration"] == now + 999


def test_update_expiration(srv: EmulatorServer, client: Any) -> None:
    now = srv.state.now()
    hid = srv.state.add_hit(CreationTime=RECENT, MaxAssignments=2, Expiration=now + 3600)
    out = client.update_expiration_for_hit(HITId=hid, ExpireAt=dt.datetime(2001, 1, 1))
    assert_output("UpdateExpirationForHIT", out)
    raw = srv.state.get_hit_raw(hid)
    assert raw["Expiration"] == pytest.approx(srv.state.now(), abs=2)
    assert raw["HITStatus"] == "Reviewable"
    later = dt.datetime.fromtimestamp(now + 7200, tz=dt.timezone.utc)
    client.update_expiration_for_hit(HITId=hid, ExpireAt=later)
    raw = srv.state.get_hit_raw(hid)
    assert raw["Expiration"] == pytest.approx(now + 7200, abs=1)
    assert raw["HITStatus"] == "Assignable"
    _, _, turk = _refused(client, "update_expiration_for_hit", HITId="NOPE", ExpireAt=later)
    assert turk == "AWS.MechanicalTurk.HITDoesNotExist"


def test_delete_hit(srv: EmulatorServer, client: Any) -> None:
    now = srv.state.now()
    live = srv.state.add_hit(CreationTime=RECENT, Expiration=now + 3600)
    busy = srv.state.add_hit(
        CreationTime=RECENT,
        Expiration=now - 1,
        MaxAssignments=2,
        NumberOfAssignmentsPending=1,
        HITStatus="Unassignable",
    )
    done = srv.state.add_hit(
        CreationTime=RECENT,
        Expiration=now - 1,
        HITStatus="Reviewable",
        NumberOfAssignmentsCompleted=1,
    )
    for hid in (live, busy):
        code, msg, turk = _refused(client, "delete_hit", HITId=hid)
        assert code == "RequestError" and turk == "AWS.MechanicalTurk.InvalidHITState"
    out = client.delete_hit(HITId=done)
    assert_output("DeleteHIT", out)
    assert done not in srv.state.hit_ids()
    listed = [h["HITId"] for h in client.list_hits(MaxResults=100)["HITs"]]
    assert listed == [live, busy]
    # [API] DeleteHIT: "Disposed HITs are not returned in results for the ListHITs
    # operation"; GetHIT still reads one, in the model's Disposed status
    assert client.get_hit(HITId=done)["HIT"]["HITStatus"] == "Disposed"
    for call, kw in (
        ("delete_hit", {}),
        ("create_additional_assignments_for_hit", {"NumberOfAdditionalAssignments": 1}),
    ):
        _, msg, turk = _refused(client, call, HITId=done, **kw)
        assert turk == "AWS.MechanicalTurk.HITDoesNotExist"
        assert msg.startswith(f"Hit {done} does not exist. (")
    # expiring a HIT makes it deletable
    client.update_expiration_for_hit(HITId=live, ExpireAt=dt.datetime(2000, 1, 1))
    client.delete_hit(HITId=live)


def test_account_balance(srv: EmulatorServer, client: Any) -> None:
    srv.state.set_balance("9876.54")
    out = client.get_account_balance()
    assert_output("GetAccountBalance", out)
    assert out["AvailableBalance"] == "9876.54"
    assert out["OnHoldBalance"] == "0.00"


def test_list_assignments(srv: EmulatorServer, client: Any) -> None:
    hid = srv.state.add_hit(
        CreationTime=RECENT,
        MaxAssignments=40,
        NumberOfAssignmentsCompleted=23,
        NumberOfAssignmentsPending=4,
    )
    got: list[dict[str, Any]] = []
    for page in client.get_paginator("list_assignments_for_hit").paginate(
        HITId=hid, PaginationConfig={"PageSize": 10}
    ):
        assert_output("ListAssignmentsForHIT", page)
        assert page["NumResults"] == len(page["Assignments"])
        got += page["Assignments"]
    assert len(got) == 23
    assert len({a["AssignmentId"] for a in got}) == 23
    assert all(a["HITId"] == hid for a in got)
    rejected = client.list_assignments_for_hit(
        HITId=hid, AssignmentStatuses=["Rejected"], MaxResults=100
    )
    assert (
        rejected["NumResults"] == len([a for a in got if a["AssignmentStatus"] == "Rejected"]) > 0
    )
    none = client.list_assignments_for_hit(HITId=srv.state.add_hit())
    assert none["NumResults"] == 0 and "NextToken" not in none
    _, _, turk = _refused(client, "list_assignments_for_hit", HITId="NOPE")
    assert turk == "AWS.MechanicalTurk.HITDoesNotExist"
    code, _, _ = _refused(client, "list_assignments_for_hit", HITId=hid, NextToken="zzz")
    assert code == "RequestError"


def test_seeded_server_responses_validate() -> None:
    with EmulatorServer(hits=120, seed=3) as srv:
        from tests.emulator.helpers import make_client

        client = make_client(srv.url)
        pages = list(client.get_paginator("list_hits").paginate(PaginationConfig={"PageSize": 100}))
        for page in pages:
            assert_output("ListHITs", page)
        hits = [h for p in pages for h in p["HITs"]]
        assert len(hits) == 120
        for h in hits[:45]:
            assert_output("GetHIT", client.get_hit(HITId=h["HITId"]))
            assert_output(
                "ListAssignmentsForHIT", client.list_assignments_for_hit(HITId=h["HITId"])
            )
