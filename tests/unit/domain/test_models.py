"""Hit.from_api never raises, whatever the service sends."""

from __future__ import annotations

from datetime import datetime, timezone
from decimal import Decimal

from hypothesis import given
from hypothesis import strategies as st

from turktui.domain.models import Hit, to_datetime, to_money


def test_wire_shape_and_boto3_shape_agree() -> None:
    wire = {
        "HITId": "A" * 30,
        "Title": "t",
        "HITStatus": "Assignable",
        "MaxAssignments": 4,
        "Reward": "0.50",
        "CreationTime": 1_700_000_000,
        "Expiration": 1_700_086_400.5,
        "NumberOfAssignmentsAvailable": 3,
        "NumberOfAssignmentsPending": 1,
        "QualificationRequirements": [{"QualificationTypeId": "x", "Comparator": "Exists"}],
    }
    boto = dict(
        wire,
        CreationTime=datetime.fromtimestamp(1_700_000_000, timezone.utc),
        Expiration=datetime.fromtimestamp(1_700_086_400.5, timezone.utc),
    )
    assert Hit.from_api(wire) == Hit.from_api(boto)
    hit = Hit.from_api(wire)
    assert hit.reward == Decimal("0.50") and hit.max_assignments == 4 and hit.pending == 1


def test_malformed_fields_become_neutral_values() -> None:
    hit = Hit.from_api(
        {
            "HITId": 5,
            "MaxAssignments": "7",
            "Reward": "abc",
            "CreationTime": "yesterday",
            "Expiration": 1e30,
            "QualificationRequirements": "nope",
            "NumberOfAssignmentsPending": None,
        }
    )
    assert hit.hit_id == "5" and hit.max_assignments == 7 and hit.reward is None
    assert hit.created is None and hit.expiration is None
    assert hit.qualification_requirements == () and hit.pending == 0


def test_money_never_goes_through_float() -> None:
    assert to_money("0.10") == Decimal("0.10")
    assert to_money(0.1) is None  # a float is refused rather than silently rounded
    assert to_money("NaN") is None and to_money("Infinity") is None
    assert to_datetime("2015-07-21T23:59:59Z") == datetime(
        2015, 7, 21, 23, 59, 59, tzinfo=timezone.utc
    )


_json = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats() | st.text(),
    lambda children: (
        st.lists(children, max_size=3) | st.dictionaries(st.text(), children, max_size=3)
    ),
    max_leaves=10,
)


@given(
    st.dictionaries(
        st.sampled_from(
            [
                "HITId",
                "Title",
                "MaxAssignments",
                "Reward",
                "CreationTime",
                "Expiration",
                "HITStatus",
                "QualificationRequirements",
                "NumberOfAssignmentsPending",
            ]
        ),
        _json,
    )
)
def test_from_api_never_raises(raw: dict) -> None:
    Hit.from_api(raw)
