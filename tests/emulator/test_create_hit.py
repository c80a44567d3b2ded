"""CreateHIT's input rules: Question or HITLayoutId, nested structures per botocore's model.

Sources:
- [MODEL] botocore's ``mturk`` service model (CreateHITRequest and its nested shapes), loaded
  here only: the emulator embeds the table it needs (stdlib only) and this test keeps the two
  equal.
- [API] https://docs.aws.amazon.com/AWSMechTurk/latest/AWSMturkAPI/ApiReference_CreateHITOperation.html
  "Either a Question parameter or a HITLayoutId parameter must be provided."
"""

from __future__ import annotations

from typing import Any

import pytest
from botocore.exceptions import ClientError

from tests.emulator.helpers import error_of, raw_call
from tests.emulator.shapes import assert_output, model
from turktui.emulator import EmulatorServer
from turktui.emulator.wire import INPUTS, SHAPES

BASE: dict[str, Any] = {
    "LifetimeInSeconds": 600,
    "AssignmentDurationInSeconds": 600,
    "Reward": "0.10",
    "Title": "t",
    "Description": "d",
}
Q = "<ExternalQuestion/>"


def _walk(shape: Any, seen: dict[str, Any]) -> None:
    if shape.name in seen:
        return
    if shape.type_name == "structure":
        seen[shape.name] = (
            "structure",
            {k: v.name for k, v in shape.members.items()},
            tuple(shape.required_members),
        )
        for v in shape.members.values():
            _walk(v, seen)
    elif shape.type_name == "list":
        seen[shape.name] = ("list", shape.member.name)
        _walk(shape.member, seen)
    else:
        cons: dict[str, Any] = {}
        if getattr(shape, "enum", None):
            cons["enum"] = tuple(shape.enum)
        for key in ("min", "max"):
            if key in shape.metadata:
                cons[key] = shape.metadata[key]
        seen[shape.name] = (shape.type_name, cons)


def test_embedded_shapes_equal_botocore_model() -> None:
    # [MODEL]: every nested shape of CreateHIT the emulator validates, member for member.
    req = model().operation_model("CreateHIT").input_shape
    nested: dict[str, Any] = {}
    for name in (
        "QualificationRequirements",
        "AssignmentReviewPolicy",
        "HITReviewPolicy",
        "HITLayoutParameters",
    ):
        _walk(req.members[name], nested)
        assert INPUTS["CreateHIT"][name][2]["shape"] == req.members[name].name
    assert nested == SHAPES
    # top-level members and their required flags
    assert set(INPUTS["CreateHIT"]) == set(req.members)
    assert {k for k, v in INPUTS["CreateHIT"].items() if v[1]} == set(req.required_members)


@pytest.mark.parametrize("extra", [{}, {"Question": Q, "HITLayoutId": "LAYOUT1"}])
def test_question_or_layout_required(
    srv: EmulatorServer, client: Any, extra: dict[str, Any]
) -> None:
    # [API]: one of Question / HITLayoutId must be given (texts are the emulator's; unknown).
    balance = srv.state.balance
    with pytest.raises(ClientError) as info:
        client.create_hit(**BASE, **extra)
    code, msg, _ = error_of(info.value)
    assert code == "RequestError"
    assert "Question" in msg and "HITLayoutId" in msg
    assert srv.state.hit_ids() == [] and srv.state.balance == balance


def test_layout_hit_is_created(srv: EmulatorServer, client: Any) -> None:
    # [API]/[MODEL]: HITLayoutId + HITLayoutParameters instead of a Question.
    out = client.create_hit(
        **BASE,
        HITLayoutId="3MCDHXBQ4Z7SJ2ZT2XZACNE142JWKX",
        HITLayoutParameters=[{"Name": "image_url", "Value": "https://x"}],
    )
    assert_output("CreateHIT", out)
    assert out["HIT"]["HITLayoutId"] == "3MCDHXBQ4Z7SJ2ZT2XZACNE142JWKX"


@pytest.mark.parametrize(
    ("extra", "expected"),
    [
        (
            {"QualificationRequirements": [{"Comparator": "Exists"}]},
            "Value null at 'qualificationRequirements.1.member.qualificationTypeId' failed to "
            "satisfy constraint: Member must not be null",
        ),
        (
            {"QualificationRequirements": [{"QualificationTypeId": "X", "Comparator": "Bigger"}]},
            "Value 'Bigger' at 'qualificationRequirements.1.member.comparator' failed to satisfy "
            "constraint: Member must satisfy enum value set: [LessThan, LessThanOrEqualTo, "
            "GreaterThan, GreaterThanOrEqualTo, EqualTo, NotEqualTo, Exists, DoesNotExist, In, "
            "NotIn]",
        ),
        (
            {
                "QualificationRequirements": [
                    {
                        "QualificationTypeId": "X",
                        "Comparator": "In",
                        "LocaleValues": [{"Country": "USA"}],
                    }
                ]
            },
            "at 'qualificationRequirements.1.member.localeValues.1.member.country' failed to "
            "satisfy constraint: Member must have length less than or equal to 2",
        ),
        (
            {
                "QualificationRequirements": [
                    {"QualificationTypeId": "X", "Comparator": "In", "LocaleValues": [{}]}
                ]
            },
            "Value null at 'qualificationRequirements.1.member.localeValues.1.member.country'",
        ),
        (
            {
                "QualificationRequirements": [
                    {
                        "QualificationTypeId": "X",
                        "Comparator": "GreaterThan",
                        "IntegerValues": ["95"],
                    }
                ]
            },
            "at 'qualificationRequirements.1.member.integerValues.1.member' failed to satisfy "
            "constraint: Member must be of type integer",
        ),
        (
            {
                "QualificationRequirements": [
                    {"QualificationTypeId": "X", "Comparator": "Exists", "RequiredToPreview": "yes"}
                ]
            },
            "Member must be of type boolean",
        ),
        (
            {
                "QualificationRequirements": [
                    {"QualificationTypeId": "X", "Comparator": "Exists", "ActionsGuarded": "All"}
                ]
            },
            "Member must satisfy enum value set: [Accept, PreviewAndAccept, "
            "DiscoverPreviewAndAccept]",
        ),
        (
            {"QualificationRequirements": {"QualificationTypeId": "X"}},
            "at 'qualificationRequirements' failed to satisfy constraint: "
            "Member must be of type list",
        ),
        (
            {"QualificationRequirements": [None]},
            "Value null at 'qualificationRequirements.1.member'",
        ),
        (
            {"HITLayoutParameters": [{"Name": "a"}]},
            "Value null at 'hITLayoutParameters.1.member.value'",
        ),
        (
            {"AssignmentReviewPolicy": {"Parameters": []}},
            "Value null at 'assignmentReviewPolicy.policyName'",
        ),
        (
            {"HITReviewPolicy": {"PolicyName": "P", "Parameters": [{"Key": 1}]}},
            "at 'hITReviewPolicy.parameters.1.member.key' failed to satisfy constraint: Member "
            "must be of type string",
        ),
        (
            {
                "HITReviewPolicy": {
                    "PolicyName": "P",
                    "Parameters": [{"Key": "k", "MapEntries": [{"Key": "a", "Values": "b"}]}],
                }
            },
            "at 'hITReviewPolicy.parameters.1.member.mapEntries.1.member.values' failed to "
            "satisfy constraint: Member must be of type list",
        ),
    ],
)
def test_nested_structures_are_validated(
    srv: EmulatorServer, extra: dict[str, Any], expected: str
) -> None:
    # [MODEL]: required members, enums, lengths and types inside nested structures.
    status, _, data = raw_call(srv.url, "CreateHIT", {**BASE, "Question": Q, **extra})
    assert status == 400, data
    assert data["__type"] == "ValidationException"
    assert expected in data["message"]
    assert srv.state.hit_ids() == []


def test_valid_nested_structures_round_trip(srv: EmulatorServer, client: Any) -> None:
    # [MODEL]: a HIT with every nested member answers with a model-valid HIT.
    quals = [
        {
            "QualificationTypeId": "00000000000000000071",
            "Comparator": "In",
            "LocaleValues": [{"Country": "US", "Subdivision": "CA"}, {"Country": "GB"}],
            "RequiredToPreview": False,
            "ActionsGuarded": "DiscoverPreviewAndAccept",
        },
        {
            "QualificationTypeId": "000000000000000000L0",
            "Comparator": "GreaterThan",
            "IntegerValues": [95],
        },
    ]
    policy = {
        "PolicyName": "ScoreMyKnownAnswers/2011-09-01",
        "Parameters": [
            {"Key": "AnswerKey", "MapEntries": [{"Key": "QuestionId1", "Values": ["B"]}]},
            {"Key": "ApproveIfKnownAnswerScoreIsAtLeast", "Values": ["80"]},
        ],
    }
    out = client.create_hit(
        **BASE,
        Question=Q,
        QualificationRequirements=quals,
        AssignmentReviewPolicy=policy,
        HITReviewPolicy=policy,
    )
    assert_output("CreateHIT", out)
    got = client.get_hit(HITId=out["HIT"]["HITId"])["HIT"]
    assert got["QualificationRequirements"] == quals


def test_unknown_nested_members_are_not_echoed(srv: EmulatorServer) -> None:
    # [MODEL]: the service answers with the model's members only.
    status, _, data = raw_call(
        srv.url,
        "CreateHIT",
        {
            **BASE,
            "Question": Q,
            "QualificationRequirements": [
                {"QualificationTypeId": "X", "Comparator": "Exists", "Bogus": 1}
            ],
        },
    )
    assert status == 200, data
    assert_output("CreateHIT", data, raw=True)
    assert data["HIT"]["QualificationRequirements"] == [
        {"QualificationTypeId": "X", "Comparator": "Exists"}
    ]
