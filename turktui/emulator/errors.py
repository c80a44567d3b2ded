"""Wire-level errors of the MTurk-compatible emulator, shaped like AWS sends them.

An :class:`ApiError` carries everything needed to answer: HTTP status, the
``__type`` of the JSON body and either ``Message``/``TurkErrorCode`` (MTurk's own
``RequestError``/``ServiceFault``) or a lowercase ``message`` (generic AWS errors
such as ``ValidationException`` or ``ThrottlingException``).
"""

from __future__ import annotations

from typing import Any

# MTurk's error codes (TurkErrorCode) used by the emulator.
HIT_DOES_NOT_EXIST = "AWS.MechanicalTurk.HITDoesNotExist"
HIT_TOO_OLD = "AWS.MechanicalTurk.HITTooOldForExtension"
INVALID_MAX_INCREASE = "AWS.MechanicalTurk.InvalidMaximumAssignmentsIncrease"
INSUFFICIENT_FUNDS = "AWS.MechanicalTurk.InsufficientFunds"
INVALID_HIT_STATE = "AWS.MechanicalTurk.InvalidHITState"
PARAMETER_OUT_OF_RANGE = "AWS.ParameterOutOfRange"
INVALID_PAGINATION_TOKEN = "AWS.MechanicalTurk.InvalidPaginationToken"
SERVICE_UNAVAILABLE = "AWS.ServiceUnavailable"
MISSING_PARAMETERS = "AWS.MissingParameters"
# Seen with "This operation can be called with a status of: Submitted" (NRGI
# resourcecontracts.org issue #1384, a RejectAssignment answer).
INVALID_ASSIGNMENT_STATE = "AWS.MechanicalTurk.InvalidAssignmentState"

# MTurk's own text when the balance does not cover a request (see FIDELITY.md).
INSUFFICIENT_FUNDS_TEXT = (
    "This Requester has insufficient funds in their account to complete this transaction. "
    "Please visit https://requester.mturk.com/prepayments/new to purchase Prepaid HITs."
)


class ApiError(Exception):
    """An error answer: ``status`` + JSON body ``{"__type": ..., ...}``."""

    def __init__(
        self,
        status: int,
        type_: str,
        message: str,
        turk_code: str | None = None,
        *,
        mturk_style: bool = False,
    ) -> None:
        super().__init__(message)
        self.status = status
        self.type = type_
        self.message = message
        self.turk_code = turk_code
        self.mturk_style = mturk_style

    def body(self) -> dict[str, Any]:
        """The JSON body of the answer."""
        if self.mturk_style:
            out: dict[str, Any] = {"__type": self.type, "Message": self.message}
            if self.turk_code:
                out["TurkErrorCode"] = self.turk_code
            return out
        return {"__type": self.type, "message": self.message}


def stamp(now: float) -> str:
    """The `` (<epoch-ms>)`` suffix MTurk appends to RequestError messages."""
    return f" ({int(now * 1000)})"


def request_error(message: str, now: float, turk_code: str | None = None) -> ApiError:
    """An MTurk ``RequestError`` (HTTP 400); ``message`` gets the ms-stamp suffix."""
    return ApiError(400, "RequestError", message + stamp(now), turk_code, mturk_style=True)


def parameter_validation(message: str, now: float) -> ApiError:
    """MTurk's ``ParameterValidationError`` (HTTP 400): a value outside its allowed range.

    Seen as the error code of real UpdateExpirationForHIT answers (aws-sdk-java issue #1817:
    "Error Code: ParameterValidationError"; aws-sdk-ruby issue #2065:
    ``Aws::MTurk::Errors::ParameterValidationError``). The body's other members are not
    public; it is sent like a RequestError (``Message`` with the ms stamp, no TurkErrorCode).
    """
    return ApiError(400, "ParameterValidationError", message + stamp(now), mturk_style=True)


def service_fault(message: str, now: float) -> ApiError:
    """An MTurk ``ServiceFault`` (HTTP 500)."""
    return ApiError(
        500, "ServiceFault", message + stamp(now), SERVICE_UNAVAILABLE, mturk_style=True
    )


def hit_does_not_exist(hit_id: str, now: float) -> ApiError:
    """MTurk's answer for an unknown or deleted HIT."""
    return request_error(f"Hit {hit_id} does not exist.", now, HIT_DOES_NOT_EXIST)


def assignment_does_not_exist(assignment_id: str, now: float) -> ApiError:
    """MTurk's answer for an assignment it does not show (psiTurk #360, Mephisto #1081:
    "Assignment … does not exist."; no TurkErrorCode is quoted in either)."""
    return request_error(f"Assignment {assignment_id} does not exist.", now)


def invalid_assignment_state(status: str, now: float) -> ApiError:
    """ApproveAssignment/RejectAssignment on work that is not Submitted ("Submitted": Dallinger
    #3072, NRGI #1384) or not visible yet ("null": ParlAI #2957, psiTurk #424)."""
    return request_error(
        f"This operation can be called with a status of: {status}", now, INVALID_ASSIGNMENT_STATE
    )


def throttling() -> ApiError:
    """AWS's throttling answer."""
    return ApiError(400, "ThrottlingException", "Rate exceeded")


def validation(errors: list[str]) -> ApiError:
    """An AWS ``ValidationException`` listing one or more constraint failures."""
    n = len(errors)
    noun = "error" if n == 1 else "errors"
    return ApiError(
        400, "ValidationException", f"{n} validation {noun} detected: " + "; ".join(errors)
    )


def serialization(message: str) -> ApiError:
    """AWS's answer to a body that is not valid JSON (or not a JSON object)."""
    return ApiError(400, "SerializationException", message)


def unknown_operation(message: str, status: int = 400) -> ApiError:
    """AWS's answer to an unknown operation, path or method."""
    return ApiError(status, "UnknownOperationException", message)
