"""CreateHITType + CreateHITWithHITType (how Dallinger, Mephisto, psiTurk and amti create
HITs), ListReviewableHITs and UpdateHITReviewStatus, over real boto3 on loopback.

Sources:
- [model] botocore's mturk model: the members, CurrencyAmount's pattern, UpdateHITReviewStatus'
  Revert ("false will only transition a HIT from Reviewable to Reviewing", "true … from
  Reviewing to Reviewable").
- [J2522] aws-sdk-js #2522: the sandbox answers ListReviewableHITs with HIT ids only
  (``HITs: [{HITId: …}]``) and a NextToken.
"""

from __future__ import annotations

from decimal import Decimal
from typing import Any

import pytest

from tests.emulator.helpers import Clock, refused
from tests.emulator.shapes import assert_output
from turktui.emulator import EmulatorServer

T0 = 1_800_000_000.0
TYPE = {
    "AssignmentDurationInSeconds": 600,
    "Reward": "0.25",
    "Title": "Label birds",
    "Description": "Which bird is it?",
    "Keywords": "bird, image",
    "AutoApprovalDelayInSeconds": 86400,
}


@pytest.fixture
def clock() -> Clock:
    return Clock(T0)


def test_hit_type_then_hits(srv: EmulatorServer, client: Any) -> None:
    out = client.create_hit_type(**TYPE)
    assert_output("CreateHITType", out)
    type_id = out["HITTypeId"]
    assert client.create_hit_type(**TYPE)["HITTypeId"] == type_id  # same properties
    other = client.create_hit_type(**{**TYPE, "Reward": "0.30"})["HITTypeId"]
    assert other != type_id
    made = client.create_hit_with_hit_type(
        HITTypeId=type_id, LifetimeInSeconds=3600, MaxAssignments=3, Question="<q/>"
    )
    assert_output("CreateHITWithHITType", made)
    hit = made["HIT"]
    assert hit["HITTypeId"] == type_id and hit["Title"] == "Label birds"
    assert hit["Reward"] == "0.25" and hit["AutoApprovalDelayInSeconds"] == 86400
    assert hit["QualificationRequirements"] == [] and hit["MaxAssignments"] == 3
    assert srv.state.balance == Decimal("10000.00") - Decimal("0.90")
    assert client.get_hit(HITId=hit["HITId"])["HIT"]["HITTypeId"] == type_id
    # CreateHIT with the same properties lands in the same type
    same = client.create_hit(**TYPE, LifetimeInSeconds=60, Question="<q/>")["HIT"]
    assert same["HITTypeId"] == type_id


def test_hit_type_refusals(srv: EmulatorServer, client: Any) -> None:
    code, msg, _ = refused(client, "create_hit_type", **{**TYPE, "Reward": "0.255"})
    assert code == "ValidationException" and "at 'reward'" in msg
    code, msg, _ = refused(
        client,
        "create_hit_with_hit_type",
        HITTypeId="NOSUCHTYPE",
        LifetimeInSeconds=60,
        Question="<q/>",
    )
    assert code == "RequestError" and "NOSUCHTYPE" in msg
    type_id = client.create_hit_type(**TYPE)["HITTypeId"]
    kw = {"HITTypeId": type_id, "LifetimeInSeconds": 60, "Question": "<q/>"}
    client.create_hit_with_hit_type(**kw, UniqueRequestToken="one")
    code, msg, _ = refused(client, "create_hit_with_hit_type", **kw, UniqueRequestToken="one")
    assert msg.startswith('The idempotency token "one" has already been processed. (')
    code, msg, _ = refused(client, "create_hit_with_hit_type", **{**kw, "LifetimeInSeconds": 5})
    assert "LifetimeInSeconds" in msg
    srv.state.set_balance("0.29")
    code, msg, _ = refused(client, "create_hit_with_hit_type", **kw)
    assert msg.startswith("This Requester has insufficient funds")
    assert len(srv.state.hit_ids()) == 1


def test_reviewable_hits_and_review_status(srv: EmulatorServer, client: Any) -> None:
    type_id = client.create_hit_type(**TYPE)["HITTypeId"]
    done = [
        srv.state.add_hit(HITStatus="Reviewable", Expiration=T0 - 1, HITTypeId=t)
        for t in (type_id, "OTHERTYPE", type_id)
    ]
    srv.state.add_hit(Expiration=T0 + 3600)  # Assignable
    page = client.list_reviewable_hits(MaxResults=100)
    assert_output("ListReviewableHITs", page)
    assert page["HITs"] == [{"HITId": h} for h in done]  # [J2522]: ids only
    assert page["NumResults"] == 3 and "NextToken" in page
    end = client.list_reviewable_hits(MaxResults=100, NextToken=page["NextToken"])
    assert end["HITs"] == [] and "NextToken" not in end
    mine = client.list_reviewable_hits(HITTypeId=type_id)["HITs"]
    assert mine == [{"HITId": done[0]}, {"HITId": done[2]}]
    paged = [
        h["HITId"]
        for p in client.get_paginator("list_reviewable_hits").paginate(
            PaginationConfig={"PageSize": 1}
        )
        for h in p["HITs"]
    ]
    assert paged == done
    # [model] Revert: Reviewable ⇄ Reviewing
    assert_output("UpdateHITReviewStatus", client.update_hit_review_status(HITId=done[0]))
    assert client.get_hit(HITId=done[0])["HIT"]["HITStatus"] == "Reviewing"
    reviewing = client.list_reviewable_hits(Status="Reviewing")["HITs"]
    assert reviewing == [{"HITId": done[0]}]
    code, msg, _ = refused(client, "update_hit_review_status", HITId=done[0])
    assert code == "RequestError" and "status of: Reviewable" in msg
    code, msg, _ = refused(client, "delete_hit", HITId=done[0])  # only Reviewable HITs
    assert "status of: Reviewable" in msg
    client.update_hit_review_status(HITId=done[0], Revert=True)
    assert client.get_hit(HITId=done[0])["HIT"]["HITStatus"] == "Reviewable"
    code, msg, _ = refused(client, "update_hit_review_status", HITId=done[0], Revert=True)
    assert "status of: Reviewing" in msg
