"""Input shapes of the emulated operations and AWS-style request validation.

A small hand-written subset of MTurk's request model: enough to reject missing
required members, wrong JSON types and out-of-range values with the same
``ValidationException`` messages AWS produces.
"""

from __future__ import annotations

import json
import math
import re
from typing import Any

from .errors import ApiError, validation

TARGET_PREFIX = "MTurkRequesterServiceV20170117."

_ENTITY_ID = re.compile(r"^[A-Z0-9]+$")
# botocore's CurrencyAmount and CustomerId patterns (the texts AWS quotes in its refusals).
CURRENCY = re.compile(r"^[0-9]+(\.)?[0-9]{0,2}$")
_CUSTOMER_ID = re.compile(r"^A[A-Z0-9]+$")

# member -> (type, required, constraints)
Spec = dict[str, tuple[str, bool, dict[str, Any]]]
_ID: dict[str, Any] = {"min": 1, "max": 64, "pattern": _ENTITY_ID}
_TOKEN: dict[str, Any] = {"min": 1, "max": 64}
_PAGE: dict[str, Any] = {"min": 1, "max": 255}
_SIZE: dict[str, Any] = {"min": 1, "max": 100}
_MONEY: dict[str, Any] = {"pattern": CURRENCY}
_WORKER: dict[str, Any] = {"min": 1, "max": 64, "pattern": _CUSTOMER_ID}
# RequesterFeedback: "1024 char max" (MTurkR/pyMTurkR check it before sending); the service's
# own refusal of a longer text is not public: the emulator answers like any length constraint.
_FEEDBACK: dict[str, Any] = {"max": 1024}
_LIST_PAGE: Spec = {
    "NextToken": ("string", False, _PAGE),
    "MaxResults": ("integer", False, _SIZE),
}
_HIT_TYPE: Spec = {
    "AutoApprovalDelayInSeconds": ("long", False, {}),
    "AssignmentDurationInSeconds": ("long", True, {}),
    "Reward": ("string", True, _MONEY),
    "Title": ("string", True, {}),
    "Keywords": ("string", False, {}),
    "Description": ("string", True, {}),
    "QualificationRequirements": ("shape", False, {"shape": "QualificationRequirementList"}),
}

INPUTS: dict[str, Spec] = {
    "CreateHIT": {
        "MaxAssignments": ("integer", False, {}),
        "AutoApprovalDelayInSeconds": ("long", False, {}),
        "LifetimeInSeconds": ("long", True, {}),
        "AssignmentDurationInSeconds": ("long", True, {}),
        "Reward": ("string", True, _MONEY),
        "Title": ("string", True, {}),
        "Keywords": ("string", False, {}),
        "Description": ("string", True, {}),
        "Question": ("string", False, {}),
        "RequesterAnnotation": ("string", False, {}),
        "QualificationRequirements": ("shape", False, {"shape": "QualificationRequirementList"}),
        "UniqueRequestToken": ("string", False, _TOKEN),
        "AssignmentReviewPolicy": ("shape", False, {"shape": "ReviewPolicy"}),
        "HITReviewPolicy": ("shape", False, {"shape": "ReviewPolicy"}),
        "HITLayoutId": ("string", False, _ID),
        "HITLayoutParameters": ("shape", False, {"shape": "HITLayoutParameterList"}),
    },
    "CreateHITType": _HIT_TYPE,
    "CreateHITWithHITType": {
        "HITTypeId": ("string", True, _ID),
        "MaxAssignments": ("integer", False, {}),
        "LifetimeInSeconds": ("long", True, {}),
        "Question": ("string", False, {}),
        "RequesterAnnotation": ("string", False, {}),
        "UniqueRequestToken": ("string", False, _TOKEN),
        "AssignmentReviewPolicy": ("shape", False, {"shape": "ReviewPolicy"}),
        "HITReviewPolicy": ("shape", False, {"shape": "ReviewPolicy"}),
        "HITLayoutId": ("string", False, _ID),
        "HITLayoutParameters": ("shape", False, {"shape": "HITLayoutParameterList"}),
    },
    "GetHIT": {"HITId": ("string", True, _ID)},
    "ListHITs": _LIST_PAGE,
    "ListReviewableHITs": {
        "HITTypeId": ("string", False, _ID),
        "Status": ("string", False, {"enum": ("Reviewable", "Reviewing")}),
        **_LIST_PAGE,
    },
    "UpdateHITReviewStatus": {
        "HITId": ("string", True, _ID),
        "Revert": ("boolean", False, {}),
    },
    "GetAssignment": {"AssignmentId": ("string", True, _ID)},
    "ApproveAssignment": {
        "AssignmentId": ("string", True, _ID),
        "RequesterFeedback": ("string", False, _FEEDBACK),
        "OverrideRejection": ("boolean", False, {}),
    },
    "RejectAssignment": {
        "AssignmentId": ("string", True, _ID),
        "RequesterFeedback": ("string", True, _FEEDBACK),
    },
    "SendBonus": {
        "WorkerId": ("string", True, _WORKER),
        "BonusAmount": ("string", True, _MONEY),
        "AssignmentId": ("string", True, _ID),
        "Reason": ("string", True, {}),
        "UniqueRequestToken": ("string", False, _TOKEN),
    },
    "ListBonusPayments": {
        "HITId": ("string", False, _ID),
        "AssignmentId": ("string", False, _ID),
        **_LIST_PAGE,
    },
    "CreateAdditionalAssignmentsForHIT": {
        "HITId": ("string", True, _ID),
        "NumberOfAdditionalAssignments": ("integer", True, {}),
        "UniqueRequestToken": ("string", False, _TOKEN),
    },
    "UpdateExpirationForHIT": {
        "HITId": ("string", True, _ID),
        "ExpireAt": ("timestamp", True, {}),
    },
    "DeleteHIT": {"HITId": ("string", True, _ID)},
    "GetAccountBalance": {},
    "ListAssignmentsForHIT": {
        "HITId": ("string", True, _ID),
        "NextToken": ("string", False, _PAGE),
        "MaxResults": ("integer", False, _SIZE),
        "AssignmentStatuses": ("list", False, {"enum": ("Submitted", "Approved", "Rejected")}),
    },
}

# Nested input shapes of CreateHIT, as in botocore's ``mturk`` model (the tests compare this
# table with the model). name -> ("structure", {member: shape}, required) |
# ("list", member shape) | (scalar type, constraints).
SHAPES: dict[str, tuple[Any, ...]] = {
    "QualificationRequirementList": ("list", "QualificationRequirement"),
    "QualificationRequirement": (
        "structure",
        {
            "QualificationTypeId": "String",
            "Comparator": "Comparator",
            "IntegerValues": "IntegerList",
            "LocaleValues": "LocaleList",
            "RequiredToPreview": "Boolean",
            "ActionsGuarded": "HITAccessActions",
        },
        ("QualificationTypeId", "Comparator"),
    ),
    "Comparator": (
        "string",
        {
            "enum": (
                "LessThan",
                "LessThanOrEqualTo",
                "GreaterThan",
                "GreaterThanOrEqualTo",
                "EqualTo",
                "NotEqualTo",
                "Exists",
                "DoesNotExist",
                "In",
                "NotIn",
            )
        },
    ),
    "IntegerList": ("list", "Integer"),
    "LocaleList": ("list", "Locale"),
    "Locale": (
        "structure",
        {"Country": "CountryParameters", "Subdivision": "CountryParameters"},
        ("Country",),
    ),
    "CountryParameters": ("string", {"min": 2, "max": 2}),
    "HITAccessActions": (
        "string",
        {"enum": ("Accept", "PreviewAndAccept", "DiscoverPreviewAndAccept")},
    ),
    "ReviewPolicy": (
        "structure",
        {"PolicyName": "String", "Parameters": "PolicyParameterList"},
        ("PolicyName",),
    ),
    "PolicyParameterList": ("list", "PolicyParameter"),
    "PolicyParameter": (
        "structure",
        {"Key": "String", "Values": "StringList", "MapEntries": "ParameterMapEntryList"},
        (),
    ),
    "StringList": ("list", "String"),
    "ParameterMapEntryList": ("list", "ParameterMapEntry"),
    "ParameterMapEntry": ("structure", {"Key": "String", "Values": "StringList"}, ()),
    "HITLayoutParameterList": ("list", "HITLayoutParameter"),
    "HITLayoutParameter": ("structure", {"Name": "String", "Value": "String"}, ("Name", "Value")),
    "String": ("string", {}),
    "Integer": ("integer", {}),
    "Boolean": ("boolean", {}),
}

_INT_LIMITS = {"integer": (-(2**31), 2**31 - 1), "long": (-(2**63), 2**63 - 1)}


def aws_member_name(name: str) -> str:
    """AWS writes member names with a lowercased first letter: HITId → hITId."""
    return name[:1].lower() + name[1:]


def _repr(value: Any) -> str:
    if value is None:
        return "null"
    if isinstance(value, str):
        return f"'{value}'"
    return f"'{json.dumps(value)}'"


def _check(
    name: str, kind: str, value: Any, cons: dict[str, Any], path: str | None = None
) -> str | None:
    """One member's constraint failure message, or None (``path``: a nested member's)."""
    at = path if path is not None else aws_member_name(name)
    where = f"Value {_repr(value)} at '{at}' failed to satisfy constraint: "
    if kind == "string":
        if not isinstance(value, str):
            return where + "Member must be of type string"
        if "min" in cons and len(value) < cons["min"]:
            return where + f"Member must have length greater than or equal to {cons['min']}"
        if "max" in cons and len(value) > cons["max"]:
            return where + f"Member must have length less than or equal to {cons['max']}"
        if "enum" in cons and value not in cons["enum"]:
            return where + ("Member must satisfy enum value set: [" + ", ".join(cons["enum"]) + "]")
        if "pattern" in cons and not cons["pattern"].fullmatch(value):
            pattern = cons["pattern"].pattern
            return where + f"Member must satisfy regular expression pattern: {pattern}"
        return None
    if kind in ("integer", "long"):
        if isinstance(value, bool) or not isinstance(value, int):
            return where + f"Member must be of type {kind}"
        lo, hi = _INT_LIMITS[kind]
        if not lo <= value <= hi:
            return where + f"Member must be of type {kind}"
        if "min" in cons and value < cons["min"]:
            return where + f"Member must have value greater than or equal to {cons['min']}"
        if "max" in cons and value > cons["max"]:
            return where + f"Member must have value less than or equal to {cons['max']}"
        return None
    if kind == "timestamp":
        if parse_timestamp(value) is None:
            return where + "Member must be a timestamp"
        return None
    if kind == "list":
        if not isinstance(value, list):
            return where + "Member must be of type list"
        enum = cons.get("enum")
        if enum and any(v not in enum for v in value):
            return where + (
                "Member must satisfy constraint: [Member must satisfy enum value set: ["
                + ", ".join(enum)
                + "]]"
            )
        return None
    if kind == "structure":
        if not isinstance(value, dict):
            return where + "Member must be of type structure"
        return None
    if kind == "boolean":
        if not isinstance(value, bool):
            return where + "Member must be of type boolean"
        return None
    return None


def _check_shape(path: str, shape: str, value: Any, errors: list[str]) -> None:
    """Validate ``value`` against the nested shape ``shape``; AWS-style paths
    (``qualificationRequirements.1.member.comparator``)."""
    spec = SHAPES[shape]
    kind = spec[0]
    if kind == "list":
        if not isinstance(value, list):
            errors.append(
                f"Value {_repr(value)} at '{path}' failed to satisfy constraint: "
                "Member must be of type list"
            )
            return
        for i, item in enumerate(value, 1):
            where = f"{path}.{i}.member"
            if item is None:
                errors.append(
                    f"Value null at '{where}' failed to satisfy constraint: Member must not be null"
                )
                continue
            _check_shape(where, spec[1], item, errors)
        return
    if kind == "structure":
        if not isinstance(value, dict):
            errors.append(
                f"Value {_repr(value)} at '{path}' failed to satisfy constraint: "
                "Member must be of type structure"
            )
            return
        members, required = spec[1], spec[2]
        for name, sub in members.items():
            where = f"{path}.{aws_member_name(name)}"
            item = value.get(name)
            if item is None:
                if name in required:
                    errors.append(
                        f"Value null at '{where}' failed to satisfy constraint: "
                        "Member must not be null"
                    )
                continue
            _check_shape(where, sub, item, errors)
        return
    msg = _check(path, kind, value, spec[1], path=path)
    if msg:
        errors.append(msg)


def clean(shape: str, value: Any) -> Any:
    """``value`` (already validated against ``shape``) without members the model lacks."""
    spec = SHAPES[shape]
    if spec[0] == "list":
        return [clean(spec[1], item) for item in value]
    if spec[0] == "structure":
        return {k: clean(sub, value[k]) for k, sub in spec[1].items() if value.get(k) is not None}
    return value


def validate_input(op: str, params: dict[str, Any]) -> None:
    """Raise a ValidationException for every failed constraint of ``params``."""
    errors: list[str] = []
    for name, (kind, required, cons) in INPUTS[op].items():
        value = params.get(name)
        if value is None:
            if required:
                errors.append(
                    f"Value null at '{aws_member_name(name)}' failed to satisfy "
                    "constraint: Member must not be null"
                )
            continue
        if kind == "shape":
            _check_shape(aws_member_name(name), cons["shape"], value, errors)
            continue
        msg = _check(name, kind, value, cons)
        if msg:
            errors.append(msg)
    if errors:
        raise validation(errors)


# The instants MTurk's Java service can hold: year 1 to year 9999 (epoch seconds). A JSON
# number outside this range (1e308) is not a timestamp AWS can deserialize.
MIN_EPOCH = -62135596800.0
MAX_EPOCH = 253402300799.0


def parse_timestamp(value: Any) -> float | None:
    """Epoch seconds from a finite JSON number (AWS JSON 1.1 timestamps); None otherwise.

    botocore (and the AWS CLI) always send timestamps as epoch-second numbers; strings,
    booleans, NaN, infinities and numbers beyond year 9999 are not timestamps.
    """
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        return None
    try:
        out = float(value)
    except OverflowError:
        return None
    if not math.isfinite(out) or not MIN_EPOCH <= out <= MAX_EPOCH:
        return None
    return out


def decode_body(raw: bytes) -> dict[str, Any]:
    """The request's JSON object ({} for an empty body) or a SerializationException."""
    if not raw.strip():
        return {}
    try:
        value = json.loads(raw)
    except (ValueError, RecursionError) as exc:
        raise ApiError(
            400, "SerializationException", f"Could not parse the request body as JSON: {exc}"
        ) from None
    if not isinstance(value, dict):
        raise ApiError(400, "SerializationException", "The request body must be a JSON object")
    return value
