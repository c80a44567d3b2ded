"""The app's own typed errors. The service wrapper maps every boto3/botocore failure to one
of these, so nothing above it ever sees (or needs to import) botocore."""

from __future__ import annotations


class TurkError(Exception):
    """Base: something went wrong talking to MTurk. `str(err)` is fit for an operator."""

    #: True when trying again (with the same token) may succeed.
    transient: bool = False
    #: True when the request may have been applied although no answer arrived.
    outcome_unknown: bool = False
    #: Why a request this error leaves unsettled stays so (when the generic "may have been
    #: applied" would mislead); "" = the generic words.
    unsettled: str = ""
    hint: str = ""

    def __init__(self, message: str, *, hint: str = "") -> None:
        super().__init__(message)
        self.message = message
        if hint:
            self.hint = hint


class ConfigurationError(TurkError):
    """Bad options, config file or profile: nothing was sent."""


class CredentialsMissing(TurkError):
    hint = (
        "Configure credentials (aws configure, AWS_PROFILE, or AWS_ACCESS_KEY_ID/"
        "AWS_SECRET_ACCESS_KEY), pass --profile NAME, or try turktui --demo."
    )


class CredentialsExpired(TurkError):
    hint = "Refresh your credentials (e.g. aws sso login) and retry."


class AccessDenied(TurkError):
    hint = "Check that these credentials belong to an MTurk requester account with access."


class EndpointUnreachable(TurkError):
    """Could not connect at all: the request was certainly not applied."""

    transient = True
    hint = "Check the network and --endpoint-url, then retry."


class ConnectionLost(TurkError):
    """Connected, but the answer never arrived (timeout, reset): it may have been applied."""

    transient = True
    outcome_unknown = True
    hint = "Retry: requests carry a token, so a retry cannot apply twice."


class DeadlineExceeded(ConnectionLost):
    """The whole answer did not arrive within the request deadline (a server trickling
    bytes, a stuck proxy). It may have been applied; not retried automatically: each retry
    would wait as long again."""

    transient = False
    hint = (
        "The endpoint is too slow; check the network, or raise request_deadline in the config file."
    )


class Throttled(TurkError):
    transient = True
    hint = "MTurk is rate limiting; wait a moment and retry."


class ServiceFault(TurkError):
    """A 5xx from MTurk: it may or may not have applied the request."""

    transient = True
    outcome_unknown = True
    hint = "MTurk had an internal error; retry."


class RequestRefused(TurkError):
    """MTurk answered and refused the request; nothing changed."""

    def __init__(self, message: str, code: str = "", *, hint: str = "") -> None:
        super().__init__(message, hint=hint)
        self.code = code


class HitNotFound(RequestRefused):
    pass


class AssignmentNotFound(RequestRefused):
    """MTurk does not show the assignment ("Assignment … does not exist"): unknown, or
    submitted moments ago and not indexed yet (Mephisto #1081)."""


class InvalidAssignmentState(RequestRefused):
    """ "This operation can be called with a status of: Submitted": the assignment is no
    longer Submitted (already approved, rejected or auto-approved)."""


class AssignmentNotVisible(TurkError):
    """ "… status of: null": MTurk does not show the submission to review operations yet
    (ParlAI #2957, psiTurk #424). Nothing was applied now; the request stays unsettled and is
    settled later (resolve), never recorded as failed."""

    transient = True
    outcome_unknown = True
    hint = "MTurk is still indexing the submission; run turktui resolve in a minute."
    unsettled = (
        'MTurk does not show the submission to review operations yet ("status of: null"); '
        "nothing was applied now. It stays pending: resolve sends it again once MTurk shows it."
    )

    def __init__(self, message: str, code: str = "", *, hint: str = "") -> None:
        super().__init__(message, hint=hint)
        self.code = code


class TokenAlreadyProcessed(RequestRefused):
    """The UniqueRequestToken was seen before: an earlier attempt went through."""


class UnexpectedResponse(TurkError):
    """The service answered something the app cannot understand."""
