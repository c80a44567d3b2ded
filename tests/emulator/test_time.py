"""HIT status and counts as MTurk reports them as time passes; MTurk's refusal texts.

Sources:
- [STATUS] https://docs.aws.amazon.com/AWSMechTurk/latest/AWSMechanicalTurkRequester/RetrievingHitStatus.html
  "a HIT moves to the Reviewable state when all of the assignments have been submitted or
  the HIT has expired"
- [MODEL] botocore's mturk model, HIT shape: NumberOfAssignmentsCompleted "have been approved
  or rejected"; NumberOfAssignmentsPending "accepted by Workers, but have not yet been
  submitted, returned, or abandoned" — so Submitted work counts in none of the numbers.
- [FUNDS] MTurk's insufficient-funds refusal text, quoted in issue 11 of this project.
"""

from __future__ import annotations

from decimal import Decimal
from typing import Any

import pytest
from botocore.exceptions import ClientError

from tests.emulator.helpers import Clock, error_of, make_client
from tests.emulator.shapes import assert_output
from turktui.emulator import EmulatorServer

RECENT = 1_700_000_000.0
T0 = 1_800_000_000.0
FUNDS = (
    "This Requester has insufficient funds in their account to complete this "
    "transaction. Please visit https://requester.mturk.com/prepayments/new to purchase "
    "Prepaid HITs."
)


@pytest.fixture
def clock() -> Clock:
    return Clock(T0)


@pytest.fixture
def client(srv: EmulatorServer) -> Any:
    return make_client(srv.url, retries=0)


def _listed(client: Any) -> dict[str, dict[str, Any]]:
    page = client.list_hits(MaxResults=100)
    assert_output("ListHITs", page)
    return {h["HITId"]: h for h in page["HITs"]}


def test_assignable_hit_reads_reviewable_once_expired(
    srv: EmulatorServer, client: Any, clock: Clock
) -> None:
    # [STATUS]: expired → Reviewable, without any operation touching the HIT.
    idle = srv.state.add_hit(CreationTime=RECENT, Expiration=T0 + 100, MaxAssignments=3)
    done = srv.state.add_hit(
        CreationTime=RECENT,
        Expiration=T0 + 100,
        MaxAssignments=3,
        NumberOfAssignmentsCompleted=1,
        NumberOfAssignmentsSubmitted=1,
    )
    busy = srv.state.add_hit(
        CreationTime=RECENT, Expiration=T0 + 100, MaxAssignments=3, NumberOfAssignmentsPending=1
    )
    for hid in (idle, done, busy):
        assert client.get_hit(HITId=hid)["HIT"]["HITStatus"] == "Assignable"
    clock.t = T0 + 99.999
    assert {h["HITStatus"] for h in _listed(client).values()} == {"Assignable"}
    clock.t = T0 + 100  # the expiration instant itself: expired
    listed = _listed(client)
    assert listed[idle]["HITStatus"] == "Reviewable"
    assert listed[done]["HITStatus"] == "Reviewable"
    # with accepted work still in progress: Unassignable (choice, FIDELITY.md)
    assert listed[busy]["HITStatus"] == "Unassignable"
    got = client.get_hit(HITId=idle)
    assert_output("GetHIT", got)
    assert got["HIT"]["HITStatus"] == "Reviewable"
    # the counts did not move
    assert got["HIT"]["NumberOfAssignmentsAvailable"] == 3


def test_get_hit_alone_sees_the_expiry(srv: EmulatorServer, client: Any, clock: Clock) -> None:
    # [STATUS]: GetHIT (not only ListHITs) reports the expired HIT as Reviewable.
    hid = srv.state.add_hit(CreationTime=RECENT, Expiration=T0 + 10)
    clock.t += 11
    assert client.get_hit(HITId=hid)["HIT"]["HITStatus"] == "Reviewable"


def test_expired_then_extended_is_assignable_again(
    srv: EmulatorServer, client: Any, clock: Clock
) -> None:
    # [STATUS] + ListReviewableHITs in the API reference: a Reviewable HIT leaves that state
    # "by being extended, so assignments are once again available".
    hid = srv.state.add_hit(CreationTime=RECENT, Expiration=T0 + 10, MaxAssignments=2)
    clock.t += 3600
    assert client.get_hit(HITId=hid)["HIT"]["HITStatus"] == "Reviewable"
    client.update_expiration_for_hit(HITId=hid, ExpireAt=clock.t + 3600)
    assert client.get_hit(HITId=hid)["HIT"]["HITStatus"] == "Assignable"


def test_submitted_work_counts_in_none_of_the_numbers(srv: EmulatorServer, client: Any) -> None:
    # [MODEL]: Completed = approved or rejected; Pending = accepted, not yet submitted.
    hid = srv.state.add_hit(
        CreationTime=RECENT,
        Expiration=T0 + 86400,
        MaxAssignments=12,
        NumberOfAssignmentsPending=2,
        NumberOfAssignmentsCompleted=3,
        NumberOfAssignmentsSubmitted=4,
    )
    hit = client.get_hit(HITId=hid)["HIT"]
    assert (
        hit["NumberOfAssignmentsPending"],
        hit["NumberOfAssignmentsAvailable"],
        hit["NumberOfAssignmentsCompleted"],
    ) == (2, 3, 3)
    assert hit["MaxAssignments"] - 2 - 3 - 3 == 4 == srv.state.submitted_count(hid)
    client.create_additional_assignments_for_hit(HITId=hid, NumberOfAdditionalAssignments=2)
    hit = client.get_hit(HITId=hid)["HIT"]
    assert hit["MaxAssignments"] == 14 and hit["NumberOfAssignmentsAvailable"] == 5
    assert hit["NumberOfAssignmentsCompleted"] == 3 and hit["NumberOfAssignmentsPending"] == 2


@pytest.mark.parametrize("op", ["extend", "create"])
def test_insufficient_funds_real_text(srv: EmulatorServer, client: Any, op: str) -> None:
    # [FUNDS]: MTurk's own sentence, with the usual ms stamp; nothing charged or changed.
    hid = srv.state.add_hit(CreationTime=RECENT, MaxAssignments=2, Reward="1.00")
    srv.state.set_balance("1.19")
    with pytest.raises(ClientError) as info:
        if op == "extend":
            client.create_additional_assignments_for_hit(HITId=hid, NumberOfAdditionalAssignments=1)
        else:
            client.create_hit(
                LifetimeInSeconds=600,
                AssignmentDurationInSeconds=600,
                Reward="1.00",
                Title="t",
                Description="d",
                Question="<x/>",
            )
    code, msg, turk = error_of(info.value)
    assert code == "RequestError"
    assert msg == FUNDS + f" ({int(T0 * 1000)})"
    assert turk == "AWS.MechanicalTurk.InsufficientFunds"
    assert srv.state.balance == Decimal("1.19")
    assert srv.state.hit_ids() == [hid]
    assert srv.state.get_hit_raw(hid)["MaxAssignments"] == 2


def test_date_header_follows_the_service_clock(srv: EmulatorServer, clock: Clock) -> None:
    # AWS answers carry the service's own time in the HTTP Date header (RFC 9110 §6.6.1);
    # with an injected (skewed) clock the header says the service's time, not the host's.
    from email.utils import parsedate_to_datetime

    from tests.emulator.helpers import raw_call

    clock.t = T0 + 12345.6
    _, headers, _ = raw_call(srv.url, "GetAccountBalance", {})
    assert parsedate_to_datetime(headers["Date"]).timestamp() == int(T0 + 12345.6)
