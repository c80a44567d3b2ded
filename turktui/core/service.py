"""The MTurk service wrapper: the only module that imports boto3/botocore.

It exposes the few operations the app needs, returns the app's own models and maps every
boto3/botocore failure to a typed error from `turktui.core.errors`.
"""

from __future__ import annotations

import json
import threading
from collections.abc import Callable, Iterator
from datetime import datetime
from typing import Any, TypeVar

from turktui import __version__
from turktui.core.environment import REGION, Environment, EnvKind
from turktui.core.errors import (
    AccessDenied,
    ConfigurationError,
    ConnectionLost,
    CredentialsExpired,
    CredentialsMissing,
    EndpointUnreachable,
    HitNotFound,
    RequestRefused,
    ServiceFault,
    Throttled,
    TokenAlreadyProcessed,
    TurkError,
    UnexpectedResponse,
)
from turktui.core.models import Balance, Hit, to_money

T = TypeVar("T")

DEMO_CREDENTIALS = ("AKIDTURKTUIDEMO00000", "turktui-demo-secret")
PAGE_SIZE = 100
_ACCESS_DENIED = {
    "AccessDenied",
    "AccessDeniedException",
    "UnrecognizedClientException",
    "InvalidSignatureException",
    "InvalidClientTokenId",
    "SignatureDoesNotMatch",
    "MissingAuthenticationToken",
}
_EXPIRED = {"ExpiredToken", "ExpiredTokenException", "RequestExpired", "TokenRefreshRequired"}
_THROTTLED = {
    "ThrottlingException",
    "Throttling",
    "TooManyRequestsException",
    "RequestLimitExceeded",
}


class MTurkService:
    """A thread-safe facade over a boto3 `mturk` client for one environment.

    Two clients are kept: `reads` use botocore's standard retry mode; `writes` (extend,
    update expiration) are single-shot so the engine can record every attempt itself.
    """

    def __init__(
        self,
        env: Environment,
        *,
        credentials: tuple[str, str] | None = None,
        connect_timeout: float = 5.0,
        read_timeout: float = 30.0,
        max_attempts: int = 3,
    ) -> None:
        self.env = env
        self._credentials = credentials or (DEMO_CREDENTIALS if env.kind is EnvKind.DEMO else None)
        self._connect_timeout = connect_timeout
        self._read_timeout = read_timeout
        self._max_attempts = max_attempts
        self._lock = threading.Lock()
        self._clients: dict[int, Any] = {}
        self._dates = threading.local()

    # -- another process -------------------------------------------------------------------
    def spec(self) -> dict[str, Any]:
        """What `from_spec` needs to build an equivalent service in a child process (sent
        over a private pipe, never on a command line: it may hold credentials)."""
        env = self.env
        return {
            "env": (env.kind.value, env.endpoint_url, env.profile, env.read_only),
            "credentials": self._credentials,
            "connect_timeout": self._connect_timeout,
            "read_timeout": self._read_timeout,
            "max_attempts": self._max_attempts,
        }

    @classmethod
    def from_spec(cls, spec: dict[str, Any]) -> MTurkService:
        kind, url, profile, read_only = spec["env"]
        return cls(
            Environment(EnvKind(kind), url, profile, read_only),
            credentials=spec["credentials"],
            connect_timeout=spec["connect_timeout"],
            read_timeout=spec["read_timeout"],
            max_attempts=spec["max_attempts"],
        )

    # -- clients ---------------------------------------------------------------------------
    def _client(self, attempts: int) -> Any:
        with self._lock:
            client = self._clients.get(attempts)
            if client is None:
                client = self._make_client(attempts)
                self._clients[attempts] = client
            return client

    def _make_client(self, attempts: int) -> Any:
        import boto3
        import botocore.config
        import botocore.exceptions as bex

        try:
            if self._credentials:
                session = boto3.session.Session(
                    aws_access_key_id=self._credentials[0],
                    aws_secret_access_key=self._credentials[1],
                    region_name=REGION,
                )
            else:
                session = boto3.session.Session(profile_name=self.env.profile, region_name=REGION)
            config = botocore.config.Config(
                region_name=REGION,
                retries={"mode": "standard", "total_max_attempts": attempts},
                connect_timeout=self._connect_timeout,
                read_timeout=self._read_timeout,
                user_agent_extra=f"turktui/{__version__}",
                max_pool_connections=16,
            )
            client = session.client("mturk", endpoint_url=self.env.endpoint_url, config=config)
            client.meta.events.register("before-parse.mturk.ListHITs", _take_raw_hits)
            client.meta.events.register("after-call.mturk", self._take_date)
            return client
        except bex.ProfileNotFound as exc:
            raise ConfigurationError(
                f"AWS profile {self.env.profile!r} was not found",
                hint="List profiles with `aws configure list-profiles`, or omit --profile.",
            ) from exc
        except bex.BotoCoreError as exc:
            raise ConfigurationError(f"Cannot set up the MTurk client: {exc}") from exc
        except ValueError as exc:  # e.g. an invalid endpoint URL
            raise ConfigurationError(f"Cannot set up the MTurk client: {exc}") from exc

    def _take_date(self, http_response: Any = None, **_: Any) -> None:
        """Keep MTurk's `Date` header of this thread's last answer (its clock, not ours)."""
        from email.utils import parsedate_to_datetime

        try:
            text = http_response.headers.get("Date") if http_response is not None else None
            self._dates.last = parsedate_to_datetime(text) if text else None
        except (TypeError, ValueError, AttributeError):
            self._dates.last = None

    def server_date(self) -> datetime | None:
        """MTurk's time (its `Date` header) on this thread's last answered call, or None."""
        return getattr(self._dates, "last", None)

    @property
    def reads(self) -> Any:
        return self._client(self._max_attempts)

    @property
    def writes(self) -> Any:
        return self._client(1)

    def warm_up(self) -> None:
        """Import boto3 and build the clients (slow) ahead of the first call."""
        self.reads  # noqa: B018
        self.writes  # noqa: B018

    # -- operations ------------------------------------------------------------------------
    def iter_hit_pages(self, page_size: int = PAGE_SIZE) -> Iterator[list[Hit]]:
        """Every page of ListHITs, in order, as lists of Hits."""
        token: str | None = None
        while True:
            kwargs: dict[str, Any] = {"MaxResults": page_size}
            if token:
                kwargs["NextToken"] = token
            response = self._call(lambda kw=kwargs: self.reads.list_hits(**kw))
            hits = response.get("HITs") or []
            yield [Hit.from_api(raw) for raw in hits if isinstance(raw, dict)]
            token = response.get("NextToken")
            if not token:
                return

    def list_all_hits(self) -> list[Hit]:
        return [hit for page in self.iter_hit_pages() for hit in page]

    def get_hit(self, hit_id: str) -> Hit:
        response = self._call(lambda: self.reads.get_hit(HITId=hit_id))
        raw = response.get("HIT")
        if not isinstance(raw, dict):
            raise UnexpectedResponse("GetHIT answered without a HIT")
        return Hit.from_api(raw)

    def get_balance(self) -> Balance:
        response = self._call(lambda: self.reads.get_account_balance())
        return Balance(
            available=to_money(response.get("AvailableBalance")),
            on_hold=to_money(response.get("OnHoldBalance")),
        )

    def create_additional_assignments(self, hit_id: str, n: int, token: str) -> None:
        """One attempt (no automatic retry): the caller records it and decides what next."""
        self._call(
            lambda: self.writes.create_additional_assignments_for_hit(
                HITId=hit_id, NumberOfAdditionalAssignments=n, UniqueRequestToken=token
            )
        )

    def update_expiration(self, hit_id: str, expire_at: datetime) -> None:
        self._call(lambda: self.writes.update_expiration_for_hit(HITId=hit_id, ExpireAt=expire_at))

    # -- error mapping ---------------------------------------------------------------------
    def _call(self, fn: Callable[[], T]) -> T:
        try:
            return fn()
        except TurkError:
            raise
        except Exception as exc:
            raise map_exception(exc) from exc


def _take_raw_hits(
    response_dict: dict[str, Any], customized_response_dict: dict[str, Any], **_: Any
) -> None:
    """Hand ListHITs' HITs over unparsed: `Hit.from_api` reads the wire shape directly.

    Profiling showed botocore's shape-driven parser (and its dateutil/tzlocal timestamp
    parsing) costing ~2/3 of the CPU time of listing HITs, twice what `Hit.from_api` needs.
    botocore's `before-parse` event with `customized_response_dict` exists for exactly this:
    we move the HITs out of the body so the parser only sees NextToken/NumResults.
    Error responses are left alone (botocore's error parsing and retries stay in charge).
    """
    if response_dict.get("status_code") != 200:
        return
    body = response_dict.get("body")
    if not body:
        return
    try:
        data = json.loads(body)
    except ValueError:
        return  # let botocore report the malformed body as it always did
    if not isinstance(data, dict) or "HITs" not in data:
        return
    customized_response_dict["HITs"] = data.pop("HITs")
    response_dict["body"] = json.dumps(data).encode()


def map_exception(exc: BaseException) -> TurkError:
    """Translate a boto3/botocore exception into the app's typed error."""
    import botocore.exceptions as bex

    if isinstance(exc, (bex.NoCredentialsError, bex.PartialCredentialsError)):
        return CredentialsMissing("No AWS credentials were found")
    if isinstance(exc, bex.ProfileNotFound):
        return ConfigurationError(f"AWS profile not found: {exc}")
    if isinstance(exc, (bex.TokenRetrievalError, bex.SSOTokenLoadError)):
        return CredentialsExpired(f"Credentials could not be refreshed: {exc}")
    if isinstance(exc, (bex.EndpointConnectionError, bex.ConnectTimeoutError)):
        # Covers DNS failures and refused connections: nothing reached the service.
        return EndpointUnreachable(f"Cannot reach the MTurk endpoint: {exc}")
    if isinstance(exc, (bex.ReadTimeoutError, bex.ConnectionClosedError)):
        return ConnectionLost(f"The connection dropped before MTurk answered: {exc}")
    if isinstance(exc, bex.HTTPClientError):
        return ConnectionLost(f"The connection failed mid-request: {exc}")
    if isinstance(exc, bex.ClientError):
        return _map_client_error(exc)
    if isinstance(exc, bex.BotoCoreError):
        return TurkError(f"MTurk client error: {exc}")
    return UnexpectedResponse(f"Unexpected error: {type(exc).__name__}: {exc}")


def _map_client_error(exc: Any) -> TurkError:
    response = exc.response or {}
    error = response.get("Error") or {}
    code = str(error.get("Code") or "")
    message = str(error.get("Message") or response.get("Message") or code or "unknown error")
    turk_code = str(response.get("TurkErrorCode") or error.get("TurkErrorCode") or "")
    status = int((response.get("ResponseMetadata") or {}).get("HTTPStatusCode") or 0)
    if code in _THROTTLED:
        return Throttled(f"MTurk is throttling requests: {message}")
    if code in _ACCESS_DENIED:
        return AccessDenied(f"Access denied: {message}")
    if code in _EXPIRED:
        return CredentialsExpired(f"The credentials have expired: {message}")
    if code == "ServiceFault" or status >= 500:
        return ServiceFault(f"MTurk service fault: {message}")
    if "has already been processed" in message:
        return TokenAlreadyProcessed(message, turk_code or code)
    if turk_code == "AWS.MechanicalTurk.HITDoesNotExist" or "does not exist" in message:
        return HitNotFound(message, turk_code or code)
    return RequestRefused(message, turk_code or code)

