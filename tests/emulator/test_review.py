"""Review and pay: GetAssignment, ApproveAssignment, RejectAssignment, SendBonus,
ListBonusPayments, and the money they move — over real boto3 on loopback.

Sources (FIDELITY.md names the same):
- [D3072] Dallinger #3072: a second ApproveAssignment answers "This operation can be called
  with a status of: Submitted (<ms>)".
- [N1384] NRGI resourcecontracts.org #1384: RejectAssignment on work no longer Submitted:
  the same text, TurkErrorCode AWS.MechanicalTurk.InvalidAssignmentState.
- [P2957] ParlAI #2957, [PT424] psiTurk #424: "… status of: null" right after submission.
- [B1222] boto3 #1222: RejectAssignment without RequesterFeedback: "Value null at
  'requesterFeedback' failed to satisfy constraint: Member must not be null".
- [B1223] boto3 #1223: SendBonus without Reason: "Value null at 'reason' …".
- [D1052] Dallinger #1052: BonusAmount "0.9752": "Member must satisfy regular expression
  pattern: ^[0-9]+(\\.)?[0-9]{0,2}$".
- [M1081] Mephisto #1081: SendBonus for work MTurk does not show yet: "Assignment […] does
  not exist. (<ms>)".
- [TOKENS] MTurk's request-token guide + MTurkR #75: a UniqueRequestToken "expires after 24
  hours"; later calls with it "could grant multiple bonuses".
- [FEES] Mephisto's MTURK_BONUS_FEE: 20% on a bonus, at least $0.01.
- [FAQ] the requester FAQ, "funds held for liability": held as HITs are created, released as
  assignments are approved or rejected; fees charged at approval, none for a rejection.
- [API] ApproveAssignment: OverrideRejection works for rejected work "submitted within the
  previous 30 days".
"""

from __future__ import annotations

import json
from decimal import Decimal
from typing import Any

import pytest
from botocore.exceptions import ParamValidationError

from tests.emulator.helpers import Clock, make_client, raw_call, refused
from tests.emulator.shapes import assert_output
from turktui.emulator import EmulatorServer

T0 = 1_800_000_000.0
DAY = 86400.0
STATE = "AWS.MechanicalTurk.InvalidAssignmentState"
PATTERN = "^[0-9]+(\\.)?[0-9]{0,2}$"


@pytest.fixture
def clock() -> Clock:
    return Clock(T0)


def _stamp_ok(msg: str, clock: Clock) -> None:
    assert msg.endswith(f" ({int(clock.t * 1000)})")


def _hit_with_work(srv: EmulatorServer, submitted: int = 3, reward: str = "1.00") -> str:
    return srv.state.add_hit(
        CreationTime=T0 - DAY,
        Expiration=T0 + 90 * DAY,
        MaxAssignments=5,
        Reward=reward,
        NumberOfAssignmentsSubmitted=submitted,
    )


def _submitted(client: Any, hit_id: str) -> list[dict[str, Any]]:
    return client.list_assignments_for_hit(HITId=hit_id, AssignmentStatuses=["Submitted"])[
        "Assignments"
    ]


def test_get_assignment_gives_the_assignment_and_its_hit(
    srv: EmulatorServer, client: Any, clock: Clock
) -> None:
    hit_id = _hit_with_work(srv)
    a = _submitted(client, hit_id)[0]
    out = client.get_assignment(AssignmentId=a["AssignmentId"])
    assert_output("GetAssignment", out)
    assert out["Assignment"] == a and out["HIT"]["HITId"] == hit_id
    code, msg, _ = refused(client, "get_assignment", AssignmentId="NOSUCHASSIGNMENT")
    assert code == "RequestError" and msg.startswith("Assignment NOSUCHASSIGNMENT does not exist.")
    _stamp_ok(msg, clock)


def test_approve_pays_from_the_held_funds(srv: EmulatorServer, client: Any, clock: Clock) -> None:
    # [FAQ]: the reward and fee were held when the HIT was made; approval pays them out:
    # available unchanged, on hold down by reward + 20%.
    hit_id = _hit_with_work(srv, submitted=3, reward="1.00")
    held = Decimal(client.get_account_balance()["OnHoldBalance"])
    assert held == Decimal("6.00")  # 5 assignments owed (2 available + 3 submitted), $1.20 each
    available = srv.state.balance
    a = _submitted(client, hit_id)[0]
    clock.t += 60
    assert client.approve_assignment(AssignmentId=a["AssignmentId"], RequesterFeedback="Thanks")
    got = client.get_assignment(AssignmentId=a["AssignmentId"])["Assignment"]
    assert got["AssignmentStatus"] == "Approved" and got["RequesterFeedback"] == "Thanks"
    assert got["ApprovalTime"].timestamp() == clock.t
    balance = client.get_account_balance()
    assert_output("GetAccountBalance", balance)
    assert Decimal(balance["AvailableBalance"]) == available
    assert Decimal(balance["OnHoldBalance"]) == held - Decimal("1.20")
    assert srv.state.get_hit_raw(hit_id)["NumberOfAssignmentsCompleted"] == 1
    assert srv.state.submitted_count(hit_id) == 2
    # [D3072]: approving it again
    code, msg, turk = refused(client, "approve_assignment", AssignmentId=a["AssignmentId"])
    assert (code, turk) == ("RequestError", STATE)
    assert msg.startswith("This operation can be called with a status of: Submitted (")
    _stamp_ok(msg, clock)


def test_reject_releases_the_held_funds(srv: EmulatorServer, client: Any, clock: Clock) -> None:
    # [FAQ]: nothing is charged for a rejection; its held funds become available again.
    hit_id = _hit_with_work(srv, submitted=2, reward="0.50")
    available, held = srv.state.balance, srv.state.on_hold
    a = _submitted(client, hit_id)[0]
    client.reject_assignment(AssignmentId=a["AssignmentId"], RequesterFeedback="Off topic")
    got = client.get_assignment(AssignmentId=a["AssignmentId"])["Assignment"]
    assert got["AssignmentStatus"] == "Rejected" and got["RequesterFeedback"] == "Off topic"
    assert got["RejectionTime"].timestamp() == clock.t
    assert srv.state.balance == available + Decimal("0.60")
    assert srv.state.on_hold == held - Decimal("0.60")
    # [N1384]: rejecting or approving it again
    for call in ("reject_assignment", "approve_assignment"):
        kw = {"RequesterFeedback": "x"} if call == "reject_assignment" else {}
        code, msg, turk = refused(client, call, AssignmentId=a["AssignmentId"], **kw)
        assert (code, turk) == ("RequestError", STATE)
        assert msg.startswith("This operation can be called with a status of: Submitted (")
    # [API]: OverrideRejection approves it, paid from the available funds
    client.approve_assignment(AssignmentId=a["AssignmentId"], OverrideRejection=True)
    got = client.get_assignment(AssignmentId=a["AssignmentId"])["Assignment"]
    assert got["AssignmentStatus"] == "Approved" and "RejectionTime" not in got
    assert srv.state.balance == available
    assert srv.state.get_hit_raw(hit_id)["NumberOfAssignmentsCompleted"] == 1


def test_override_only_within_30_days_of_submission(
    srv: EmulatorServer, client: Any, clock: Clock
) -> None:
    hit_id = _hit_with_work(srv, submitted=1)
    srv.state.update_hit(hit_id, AutoApprovalDelayInSeconds=60 * DAY)
    a = _submitted(client, hit_id)[0]
    client.reject_assignment(AssignmentId=a["AssignmentId"], RequesterFeedback="no")
    clock.t = a["SubmitTime"].timestamp() + 30 * DAY + 1
    code, msg, _ = refused(
        client, "approve_assignment", AssignmentId=a["AssignmentId"], OverrideRejection=True
    )
    assert code == "RequestError" and "status of: Submitted" in msg


def test_reject_needs_feedback(srv: EmulatorServer, client: Any) -> None:
    # [B1222]: boto3 refuses before sending; the service's own text for a null
    a = _submitted(client, _hit_with_work(srv))[0]
    with pytest.raises(ParamValidationError):
        client.reject_assignment(AssignmentId=a["AssignmentId"])
    status, _, body = raw_call(srv.url, "RejectAssignment", {"AssignmentId": a["AssignmentId"]})
    assert status == 400 and body["__type"] == "ValidationException"
    assert body["message"] == (
        "1 validation error detected: Value null at 'requesterFeedback' failed to satisfy "
        "constraint: Member must not be null"
    )
    code, msg, _ = refused(
        client, "approve_assignment", AssignmentId=a["AssignmentId"], RequesterFeedback="x" * 1025
    )
    assert code == "ValidationException" and "less than or equal to 1024" in msg
    client.approve_assignment(AssignmentId=a["AssignmentId"], RequesterFeedback="x" * 1024)


def test_auto_approval_pays_and_refuses_a_late_reject(
    srv: EmulatorServer, client: Any, clock: Clock
) -> None:
    hit_id = _hit_with_work(srv, submitted=1, reward="0.10")
    a = _submitted(client, hit_id)[0]
    held = srv.state.on_hold
    clock.t = a["AutoApprovalTime"].timestamp()
    code, msg, _ = refused(
        client, "reject_assignment", AssignmentId=a["AssignmentId"], RequesterFeedback="late"
    )
    assert code == "RequestError" and "status of: Submitted" in msg
    got = client.get_assignment(AssignmentId=a["AssignmentId"])["Assignment"]
    assert got["AssignmentStatus"] == "Approved"
    assert got["ApprovalTime"] == got["AutoApprovalTime"]
    assert srv.state.on_hold == held - Decimal("0.12")


def test_indexing_lag_after_submission(srv: EmulatorServer, client: Any, clock: Clock) -> None:
    # [P2957]/[PT424]/[M1081]: right after submission, approve/reject answer "status of:
    # null" and SendBonus "does not exist"; later they work. Off by default.
    hit_id = _hit_with_work(srv, submitted=1)
    a = _submitted(client, hit_id)[0]
    srv.state.assignment_lag = 420.0
    clock.t = a["SubmitTime"].timestamp() + 419
    code, msg, turk = refused(client, "approve_assignment", AssignmentId=a["AssignmentId"])
    assert (code, turk) == ("RequestError", STATE)
    assert msg.startswith("This operation can be called with a status of: null (")
    code, msg, _ = refused(
        client, "reject_assignment", AssignmentId=a["AssignmentId"], RequesterFeedback="x"
    )
    assert "status of: null" in msg
    code, msg, _ = refused(
        client, "send_bonus", **_bonus_kw(a, Reason="r", UniqueRequestToken="lagged")
    )
    assert msg.startswith(f"Assignment {a['AssignmentId']} does not exist. (")
    assert srv.state.bonus_payments() == []
    clock.t += 1
    # a refused request did not consume its token
    client.send_bonus(**_bonus_kw(a, Reason="r", UniqueRequestToken="lagged"))
    client.approve_assignment(AssignmentId=a["AssignmentId"])


def _bonus_kw(a: dict[str, Any], amount: str = "1.00", **kw: Any) -> dict[str, Any]:
    """SendBonus members for assignment ``a`` (``kw`` overrides or adds members)."""
    return {
        "WorkerId": a["WorkerId"],
        "AssignmentId": a["AssignmentId"],
        "BonusAmount": amount,
        "Reason": "Great work",
        **kw,
    }


def _bonus(client: Any, a: dict[str, Any], amount: str, **kw: Any) -> dict[str, Any]:
    return client.send_bonus(**_bonus_kw(a, amount, **kw))


@pytest.mark.parametrize(
    ("amount", "fee"), [("1.00", "0.20"), ("0.01", "0.01"), ("0.03", "0.01"), ("2.5", "0.50")]
)
def test_bonus_is_paid_with_its_fee(
    srv: EmulatorServer, client: Any, amount: str, fee: str
) -> None:
    # [FEES]: 20%, at least one cent, from the available funds (nothing held for bonuses)
    a = _submitted(client, _hit_with_work(srv))[0]
    available, held = srv.state.balance, srv.state.on_hold
    assert_output("SendBonus", _bonus(client, a, amount))
    assert srv.state.balance == available - Decimal(amount) - Decimal(fee)
    assert srv.state.on_hold == held


@pytest.mark.parametrize("amount", ["1.005", "-1", "1e3", "0.9752", "", "1,00", " 1", "1\n"])
def test_bonus_amount_pattern(srv: EmulatorServer, client: Any, amount: str) -> None:
    # [D1052]: AWS's pattern refusal, nothing paid
    a = _submitted(client, _hit_with_work(srv))[0]
    available = srv.state.balance
    code, msg, _ = refused(client, "send_bonus", **_bonus_kw(a, amount, Reason="r"))
    assert code == "ValidationException"
    assert msg == (
        f"1 validation error detected: Value '{amount}' at 'bonusAmount' failed to satisfy "
        f"constraint: Member must satisfy regular expression pattern: {PATTERN}"
    )
    assert srv.state.balance == available and srv.state.bonus_payments() == []


def test_bonus_needs_a_reason_and_a_short_token(srv: EmulatorServer, client: Any) -> None:
    # [B1223] and the model's IdempotencyToken (1..64)
    a = _submitted(client, _hit_with_work(srv))[0]
    body = {"WorkerId": a["WorkerId"], "AssignmentId": a["AssignmentId"], "BonusAmount": "1.00"}
    status, _, out = raw_call(srv.url, "SendBonus", body)
    assert status == 400 and out["message"] == (
        "1 validation error detected: Value null at 'reason' failed to satisfy constraint: "
        "Member must not be null"
    )
    code, msg, _ = refused(client, "send_bonus", **body, Reason="r", UniqueRequestToken="t" * 65)
    assert code == "ValidationException" and "less than or equal to 64" in msg
    assert srv.state.bonus_payments() == []


def test_bonus_token_window(srv: EmulatorServer, client: Any, clock: Clock) -> None:
    # [TOKENS]: a repeat within 24 hours pays nothing; after 24 hours the same token pays again
    a = _submitted(client, _hit_with_work(srv))[0]
    srv.state.update_hit(a["HITId"], AutoApprovalDelayInSeconds=30 * DAY)
    _bonus(client, a, "1.00", UniqueRequestToken="bonus-1")
    available = srv.state.balance
    clock.t += DAY - 1
    code, msg, _ = refused(client, "send_bonus", **_bonus_kw(a, UniqueRequestToken="bonus-1"))
    assert code == "RequestError"
    assert msg.startswith('The idempotency token "bonus-1" has already been processed. (')
    assert srv.state.balance == available and len(srv.state.bonus_payments()) == 1
    clock.t += 1
    _bonus(client, a, "1.00", UniqueRequestToken="bonus-1")
    assert len(srv.state.bonus_payments()) == 2
    assert srv.state.balance == available - Decimal("1.20")


def test_bonus_refusals(srv: EmulatorServer, client: Any, clock: Clock) -> None:
    a = _submitted(client, _hit_with_work(srv))[0]
    code, msg, _ = refused(
        client, "send_bonus", **_bonus_kw(a, WorkerId="AOTHERWORKER000", Reason="r")
    )
    assert code == "ParameterValidationError" and "AOTHERWORKER000" in msg
    code, msg, _ = refused(
        client, "send_bonus", **_bonus_kw(a, AssignmentId="NOSUCHASSIGNMENT", Reason="r")
    )
    assert msg.startswith("Assignment NOSUCHASSIGNMENT does not exist. (")
    code, msg, _ = refused(client, "send_bonus", **_bonus_kw(a, "0.00", Reason="r"))
    assert code == "ParameterValidationError"
    srv.state.set_balance("1.19")
    code, msg, _ = refused(client, "send_bonus", **_bonus_kw(a, Reason="r"))
    assert code == "RequestError" and msg.startswith("This Requester has insufficient funds")
    assert srv.state.bonus_payments() == [] and srv.state.balance == Decimal("1.19")


def test_list_bonus_payments(srv: EmulatorServer, client: Any, clock: Clock) -> None:
    # by HIT or by assignment, every page; the members of BonusPayment and nothing that ties
    # a payment to its token
    hit_id = _hit_with_work(srv, submitted=3)
    work = _submitted(client, hit_id)
    other = _submitted(client, _hit_with_work(srv, submitted=1))[0]
    for i in range(7):
        clock.t += 1
        _bonus(client, work[i % 3], f"0.{i + 1}0", Reason=f"ref-{i}", UniqueRequestToken=f"t{i}")
    _bonus(client, other, "9.00")
    pages = list(
        client.get_paginator("list_bonus_payments").paginate(
            HITId=hit_id, PaginationConfig={"PageSize": 3}
        )
    )
    for page in pages:
        assert_output("ListBonusPayments", page)
        assert page["NumResults"] == len(page["BonusPayments"])
    got = [b for p in pages for b in p["BonusPayments"]]
    assert [b["Reason"] for b in got] == [f"ref-{i}" for i in range(7)]
    assert [p["NumResults"] for p in pages] == [3, 3, 1, 0]
    assert set(got[0]) == {"WorkerId", "BonusAmount", "AssignmentId", "Reason", "GrantTime"}
    assert got[1]["BonusAmount"] == "0.20" and got[1]["WorkerId"] == work[1]["WorkerId"]
    assert got[0]["GrantTime"].timestamp() == T0 + 1
    mine = client.list_bonus_payments(AssignmentId=work[0]["AssignmentId"], MaxResults=100)
    assert [b["Reason"] for b in mine["BonusPayments"]] == ["ref-0", "ref-3", "ref-6"]
    assert client.list_bonus_payments(AssignmentId="NOBONUSES")["BonusPayments"] == []
    for kw in ({}, {"HITId": hit_id, "AssignmentId": other["AssignmentId"]}):
        code, _, _ = refused(client, "list_bonus_payments", **kw)
        assert code == "RequestError"


def test_money_moves_with_the_hit(srv: EmulatorServer, client: Any, clock: Clock) -> None:
    # [FAQ]: CreateHIT holds reward + fee for every assignment; expiry releases what nobody
    # took; DeleteHIT leaves nothing held.
    out = client.create_hit(
        LifetimeInSeconds=3600,
        AssignmentDurationInSeconds=600,
        Reward="0.50",
        Title="T",
        Description="D",
        Question="<q/>",
        MaxAssignments=4,
    )["HIT"]
    assert out["QualificationRequirements"] == []
    assert srv.state.balance == Decimal("10000.00") - Decimal("2.40")
    assert srv.state.on_hold == Decimal("2.40")
    client.create_additional_assignments_for_hit(
        HITId=out["HITId"], NumberOfAdditionalAssignments=2
    )
    assert srv.state.on_hold == Decimal("3.60")
    clock.t += 3600
    balance = client.get_account_balance()
    assert balance == {**balance, "AvailableBalance": "10000.00", "OnHoldBalance": "0.00"}
    client.delete_hit(HITId=out["HITId"])
    assert srv.state.on_hold == Decimal("0.00") and srv.state.balance == Decimal("10000.00")


def test_raw_get_assignment_body(srv: EmulatorServer) -> None:
    hit_id = _hit_with_work(srv, submitted=1)
    a = srv.state.op_list_assignments_for_hit({"HITId": hit_id})["Assignments"][0]
    status, _, body = raw_call(srv.url, "GetAssignment", {"AssignmentId": a["AssignmentId"]})
    assert status == 200
    assert_output("GetAssignment", body, raw=True)
    assert json.dumps(body["Assignment"], sort_keys=True) == json.dumps(a, sort_keys=True)


def test_get_assignment_finds_work_never_listed(clock: Clock) -> None:
    # a client may hold an assignment id from elsewhere (a notification, its own records):
    # GetAssignment finds it without ListAssignmentsForHIT having been asked first
    with EmulatorServer(hits=120, seed=2, now=clock) as srv:
        state = srv.state
        hit_id = next(h for h in state.hit_ids() if state.submitted_count(h))
        client = make_client(srv.url)
        ids = {a["AssignmentId"] for a in _all_work(srv, hit_id)}
        with EmulatorServer(hits=120, seed=2, now=clock) as fresh:
            for asg_id in sorted(ids):
                got = make_client(fresh.url).get_assignment(AssignmentId=asg_id)
                assert got["HIT"]["HITId"] == hit_id
        assert client.get_assignment(AssignmentId=sorted(ids)[0])["HIT"]["HITId"] == hit_id


def _all_work(srv: EmulatorServer, hit_id: str) -> list[dict[str, Any]]:
    return srv.state.op_list_assignments_for_hit({"HITId": hit_id, "MaxResults": 100})[
        "Assignments"
    ]
