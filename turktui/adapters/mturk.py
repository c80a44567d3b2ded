"""The MTurk service wrapper: the only module that imports boto3/botocore.

It exposes the few operations the app needs, returns the app's own models and maps every
boto3/botocore failure to a typed error from `turktui.domain.errors`.

A hostile world in bounded time:

* One overall deadline per request (`request_deadline`, default 20 s): connecting, sending,
  botocore's own retries and reading the *whole* answer. botocore's read timeout is per
  socket read, so a server trickling one byte every few seconds never trips it; the call
  runs on a short-lived daemon thread and the caller stops waiting at the deadline
  (`DeadlineExceeded`: the request may have been applied, so a write becomes "unknown").
* A 200 whose body is not the operation's shape (not JSON, an error body, a GetHIT for
  another HIT) is an `UnexpectedResponse`, never a success.
* Retryable statuses are classified by HTTP status (429 → Throttled, 5xx → ServiceFault),
  whatever the body says (an HTML page from a proxy); an error body that is not MTurk's
  error shape is an `UnexpectedResponse` (never "refused": MTurk did not say no).
* ListHITs pagination that repeats a NextToken (or serves only HITs already seen) stops
  with an error naming it.
"""

from __future__ import annotations

import contextlib
import functools
import json
import queue
import threading
import time
from collections.abc import Callable, Iterator
from datetime import datetime
from email.utils import parsedate_to_datetime
from typing import Any, TypeVar, cast

from turktui import __version__
from turktui.domain.environment import REGION, Environment, EnvKind
from turktui.domain.errors import (
    AccessDenied,
    AssignmentNotFound,
    AssignmentNotVisible,
    ConfigurationError,
    ConnectionLost,
    CredentialsExpired,
    CredentialsMissing,
    DeadlineExceeded,
    EndpointUnreachable,
    HitNotFound,
    InvalidAssignmentState,
    RequestRefused,
    ServiceFault,
    Throttled,
    TokenAlreadyProcessed,
    TurkError,
    UnexpectedResponse,
)
from turktui.domain.models import Assignment, Balance, BonusPayment, Hit, to_money
from turktui.domain.service import TurkService

T = TypeVar("T")

DEMO_CREDENTIALS = ("AKIDTURKTUIDEMO00000", "turktui-demo-secret")
PAGE_SIZE = 100
#: Default overall bound of one request (connect + botocore retries + the whole answer).
REQUEST_DEADLINE = 20.0
#: ListHITs pages before giving up (a million HITs at 100 a page).
MAX_PAGES = 10_000
_BAD_BODY = "__turktui_bad_body"
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


#: botocore's data loader (the service model, endpoints and partitions, parsed from JSON),
#: one for the process. Each new boto3 session otherwise builds its own and parses them
#: again: ~60 ms of CPU per client (profiled), paid by every command, every listing and
#: every environment the app switches to. The data is read-only once loaded.
_LOADER_LOCK = threading.Lock()
_loader: Any = None


def _new_session(**kwargs: Any) -> Any:
    """A boto3 session (`kwargs` as boto3.session.Session's) on the process's data loader."""
    import boto3
    import botocore.session

    global _loader
    with _LOADER_LOCK:
        core = botocore.session.get_session()
        if _loader is None:
            _loader = core.get_component("data_loader")
        else:
            core.register_component("data_loader", _loader)
        session = boto3.session.Session(botocore_session=core, **kwargs)
        # boto3 appends its own data directory to the loader's search path on every session
        paths = _loader.search_paths
        paths[:] = dict.fromkeys(paths)
        return session


class MTurkService:
    """A thread-safe facade over a boto3 `mturk` client for one environment.

    Two clients are kept: `reads` use botocore's standard retry mode; `writes` (extend,
    update expiration) are single-shot so the engine can record every attempt itself.
    """

    #: the methods that change something (one attempt each): what a second sender may send
    WRITES = frozenset(
        {
            "create_additional_assignments",
            "update_expiration",
            "approve_assignment",
            "reject_assignment",
            "send_bonus",
        }
    )

    def __init__(
        self,
        env: Environment,
        *,
        credentials: tuple[str, str] | None = None,
        connect_timeout: float = 5.0,
        read_timeout: float = 30.0,
        max_attempts: int = 3,
        request_deadline: float = REQUEST_DEADLINE,
        second_sender: bool = False,
    ) -> None:
        self.env = env
        #: a large group of writes may be shared with a forked child (`offloaded`)
        self.second_sender = second_sender
        self._credentials = credentials or (DEMO_CREDENTIALS if env.kind is EnvKind.DEMO else None)
        self._connect_timeout = connect_timeout
        self._read_timeout = read_timeout
        self._max_attempts = max_attempts
        #: 0 = no overall bound (botocore's per-read timeout only)
        self.request_deadline = request_deadline
        self._lock = threading.Lock()
        self._clients: dict[int, Any] = {}
        self._boto_session: Any = None
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
            "request_deadline": self.request_deadline,
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
            request_deadline=spec.get("request_deadline", REQUEST_DEADLINE),
        )

    # -- clients ---------------------------------------------------------------------------
    def _client(self, attempts: int) -> Any:
        with self._lock:
            client = self._clients.get(attempts)
            if client is None:
                client = self._make_client(attempts)
                self._clients[attempts] = client
            return client

    def _session(self) -> Any:
        """This service's boto3 session (both clients come from it), on the process's one
        data loader."""
        if self._boto_session is None:
            if self._credentials:
                self._boto_session = _new_session(
                    aws_access_key_id=self._credentials[0],
                    aws_secret_access_key=self._credentials[1],
                    region_name=REGION,
                )
            else:
                self._boto_session = _new_session(profile_name=self.env.profile, region_name=REGION)
        return self._boto_session

    def _make_client(self, attempts: int) -> Any:
        import botocore.config
        import botocore.exceptions as bex

        try:
            session = self._session()
            config = botocore.config.Config(
                region_name=REGION,
                retries={"mode": "standard", "total_max_attempts": attempts},
                connect_timeout=self._connect_timeout,
                read_timeout=self._read_timeout,
                user_agent_extra=f"turktui/{__version__}",
                max_pool_connections=16,
            )
            with _LOADER_LOCK:  # the shared loader fills its caches here
                client = session.client("mturk", endpoint_url=self.env.endpoint_url, config=config)
            client.meta.events.register("before-parse.mturk", _check_body)
            client.meta.events.register("before-parse.mturk.ListHITs", _take_raw_hits)
            client.meta.events.register(
                "before-parse.mturk.ListAssignmentsForHIT", _take_raw_assignments
            )
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
        """Keep MTurk's `Date` header of this thread's last answer (its clock, not ours) as
        it came: read as a time only when asked (`server_date`), not for every answer."""
        headers = getattr(http_response, "headers", None)
        self._dates.last = headers.get("Date") if headers is not None else None

    def server_date(self) -> datetime | None:
        """MTurk's time (its `Date` header) on this thread's last answered call, or None."""
        text = getattr(self._dates, "last", None)
        try:
            return parsedate_to_datetime(text) if isinstance(text, str) and text else None
        except (TypeError, ValueError):
            return None

    def note_date(self, text: str | None) -> None:
        """Keep `text` as this thread's last answer's Date (an answer another process read)."""
        self._dates.last = text

    def last_date(self) -> str | None:
        """This thread's last answer's Date header as it came (None: none)."""
        return getattr(self._dates, "last", None)

    @contextlib.contextmanager
    def offloaded(self, requests: int) -> Iterator[Any]:
        """This service for a group of `requests` writes, each recorded before it is sent:
        when they are many and this service may (`second_sender`), one that shares them
        with a forked child process (`turktui.adapters.offload`: both cores send); this
        very service otherwise, or when the child cannot start."""
        from turktui.adapters import offload

        started = None
        if self.second_sender and requests >= offload.OFFLOAD_AT:
            started = offload.Offload.start(functools.partial(_child_service, self.spec()))
        if started is None:
            yield self
            return
        try:
            yield offload.OffloadedService(self, started)
        finally:
            started.close()

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
        """Every page of ListHITs, in order, as lists of Hits.

        Both shapes of the end of a listing are accepted: MTurk's (a NextToken on every
        non-empty page, then an empty page without one) and a last non-empty page without a
        NextToken. An empty page reached through a NextToken is the end marker, not a page:
        it is not yielded (an account with no HITs still yields its one empty page)."""
        token: str | None = None
        tokens: set[str] = set()
        seen: set[str] = set()
        pages = 0
        while True:
            kwargs: dict[str, Any] = {"MaxResults": page_size}
            if token:
                kwargs["NextToken"] = token
            response = self._call(functools.partial(self.reads.list_hits, **kwargs))
            hits = response.get("HITs")
            if hits is None:
                hits = []
            if not isinstance(hits, list):
                raise UnexpectedResponse("ListHITs answered with HITs that are not a list")
            page = [Hit.from_api(raw) for raw in hits if isinstance(raw, dict)]
            pages += 1
            ids = {hit.hit_id for hit in page}
            if token and ids and ids <= seen:
                raise UnexpectedResponse(
                    f"ListHITs page {pages} (NextToken {_short(token)}) repeats HITs already "
                    "listed: the listing would never end; stopped"
                )
            seen |= ids
            if page or not token:
                yield page
            token = response.get("NextToken")
            if not token:
                return
            if not isinstance(token, str):
                raise UnexpectedResponse("ListHITs answered with a NextToken that is not text")
            if token in tokens:
                raise UnexpectedResponse(
                    f"ListHITs repeated the page token {_short(token)} after {pages} pages: "
                    "the listing would never end; stopped"
                )
            if pages >= MAX_PAGES:
                raise UnexpectedResponse(f"ListHITs still had more pages after {pages:,}; stopped")
            tokens.add(token)

    def list_all_hits(self) -> list[Hit]:
        return [hit for page in self.iter_hit_pages() for hit in page]

    def get_hit(self, hit_id: str) -> Hit:
        response = self._call(lambda: self.reads.get_hit(HITId=hit_id))
        raw = response.get("HIT")
        if not isinstance(raw, dict):
            raise UnexpectedResponse("GetHIT answered without a HIT")
        hit = Hit.from_api(raw)
        if hit.hit_id != hit_id:
            raise UnexpectedResponse(
                f"GetHIT for {_short(hit_id)} answered with another HIT ({_short(hit.hit_id)})"
            )
        if hit.problem:
            # Decisions (confirming, resolving) are made on this answer: never on a guess.
            raise UnexpectedResponse(f"GetHIT for {_short(hit_id)}: {hit.problem}")
        return hit

    def list_assignments(self, hit_id: str, page_size: int = PAGE_SIZE) -> list[Assignment]:
        """Every assignment of a HIT (ListAssignmentsForHIT, all pages, every status),
        validated: an answer that is not the operation's shape, an assignment of another
        HIT, a repeated assignment or a repeated page token is an UnexpectedResponse."""
        token: str | None = None
        tokens: set[str] = set()
        seen: set[str] = set()
        out: list[Assignment] = []
        pages = 0
        while True:
            kwargs: dict[str, Any] = {"HITId": hit_id, "MaxResults": page_size}
            if token:
                kwargs["NextToken"] = token
            response = self._call(functools.partial(self.reads.list_assignments_for_hit, **kwargs))
            raw = response.get("Assignments")
            if raw is None:
                raw = []
            if not isinstance(raw, list):
                raise UnexpectedResponse(
                    "ListAssignmentsForHIT answered with Assignments that are not a list"
                )
            pages += 1
            for item in raw:
                if not isinstance(item, dict):
                    raise UnexpectedResponse(
                        "ListAssignmentsForHIT answered with an assignment that is not an object"
                    )
                assignment = Assignment.from_api(item)
                if assignment.hit_id and assignment.hit_id != hit_id:
                    raise UnexpectedResponse(
                        f"ListAssignmentsForHIT for {_short(hit_id)} answered with an "
                        f"assignment of another HIT ({_short(assignment.hit_id)})"
                    )
                if assignment.assignment_id in seen:
                    raise UnexpectedResponse(
                        f"ListAssignmentsForHIT page {pages} repeats assignment "
                        f"{_short(assignment.assignment_id)}; stopped"
                    )
                seen.add(assignment.assignment_id)
                out.append(assignment)
            token = response.get("NextToken")
            if not token:
                return out
            if not isinstance(token, str):
                raise UnexpectedResponse(
                    "ListAssignmentsForHIT answered with a NextToken that is not text"
                )
            if token in tokens or pages >= MAX_PAGES:
                raise UnexpectedResponse(
                    f"ListAssignmentsForHIT repeated the page token {_short(token)} after "
                    f"{pages} pages: the listing would never end; stopped"
                )
            tokens.add(token)

    def get_balance(self) -> Balance:
        response = self._call(lambda: self.reads.get_account_balance())
        available = to_money(response.get("AvailableBalance"))
        if available is None:
            raise UnexpectedResponse("GetAccountBalance answered without a readable balance")
        return Balance(available=available, on_hold=to_money(response.get("OnHoldBalance")))

    def create_additional_assignments(self, hit_id: str, n: int, token: str) -> None:
        """One attempt (no automatic retry): the caller records it and decides what next."""
        self._call(
            lambda: self.writes.create_additional_assignments_for_hit(
                HITId=hit_id, NumberOfAdditionalAssignments=n, UniqueRequestToken=token
            )
        )

    def update_expiration(self, hit_id: str, expire_at: datetime) -> None:
        self._call(lambda: self.writes.update_expiration_for_hit(HITId=hit_id, ExpireAt=expire_at))

    def get_assignment(self, assignment_id: str) -> tuple[Assignment, Hit]:
        """GetAssignment: the assignment and its HIT, validated (a read: retried)."""
        response = self._call(lambda: self.reads.get_assignment(AssignmentId=assignment_id))
        raw, raw_hit = response.get("Assignment"), response.get("HIT")
        if not isinstance(raw, dict) or not isinstance(raw_hit, dict):
            raise UnexpectedResponse("GetAssignment answered without the assignment and its HIT")
        assignment, hit = Assignment.from_api(raw), Hit.from_api(raw_hit)
        if assignment.assignment_id != assignment_id:
            raise UnexpectedResponse(
                f"GetAssignment for {_short(assignment_id)} answered with another assignment "
                f"({_short(assignment.assignment_id)})"
            )
        if assignment.problem:
            raise UnexpectedResponse(
                f"GetAssignment for {_short(assignment_id)}: {assignment.problem}"
            )
        return assignment, hit

    def approve_assignment(
        self, assignment_id: str, feedback: str | None = None, *, override_rejection: bool = False
    ) -> None:
        """One attempt (no automatic retry), like every write."""
        kwargs: dict[str, Any] = {"AssignmentId": assignment_id}
        if feedback:
            kwargs["RequesterFeedback"] = feedback
        if override_rejection:
            kwargs["OverrideRejection"] = True
        self._call(functools.partial(self.writes.approve_assignment, **kwargs))

    def reject_assignment(self, assignment_id: str, feedback: str) -> None:
        """One attempt (no automatic retry)."""
        self._call(
            lambda: self.writes.reject_assignment(
                AssignmentId=assignment_id, RequesterFeedback=feedback
            )
        )

    def send_bonus(
        self, worker_id: str, assignment_id: str, amount: str, reason: str, token: str
    ) -> None:
        """One attempt with its UniqueRequestToken: botocore's own retries would re-send
        SendBonus after a timeout or a 5xx; the caller records every attempt instead."""
        self._call(
            lambda: self.writes.send_bonus(
                WorkerId=worker_id,
                AssignmentId=assignment_id,
                BonusAmount=amount,
                Reason=reason,
                UniqueRequestToken=token,
            )
        )

    def list_bonus_payments(
        self,
        *,
        hit_id: str | None = None,
        assignment_id: str | None = None,
        page_size: int = PAGE_SIZE,
    ) -> list[BonusPayment]:
        """Every bonus of a HIT or of an assignment (ListBonusPayments, all pages; both
        shapes of a listing's end). A repeated page token stops with an error."""
        if (hit_id is None) == (assignment_id is None):
            raise ValueError("list_bonus_payments needs a hit_id or an assignment_id")
        base: dict[str, Any] = (
            {"HITId": hit_id} if hit_id is not None else {"AssignmentId": assignment_id}
        )
        token: str | None = None
        tokens: set[str] = set()
        out: list[BonusPayment] = []
        pages = 0
        while True:
            kwargs = {**base, "MaxResults": page_size}
            if token:
                kwargs["NextToken"] = token
            response = self._call(functools.partial(self.reads.list_bonus_payments, **kwargs))
            raw = response.get("BonusPayments")
            if raw is None:
                raw = []
            if not isinstance(raw, list) or not all(isinstance(item, dict) for item in raw):
                raise UnexpectedResponse(
                    "ListBonusPayments answered with BonusPayments that are not a list of objects"
                )
            pages += 1
            out.extend(BonusPayment.from_api(item) for item in raw)
            token = response.get("NextToken")
            if not token:
                return out
            if not isinstance(token, str):
                raise UnexpectedResponse(
                    "ListBonusPayments answered with a NextToken that is not text"
                )
            if token in tokens or pages >= MAX_PAGES:
                raise UnexpectedResponse(
                    f"ListBonusPayments repeated the page token {_short(token)} after {pages} "
                    "pages: the listing would never end; stopped"
                )
            tokens.add(token)

    # -- error mapping ---------------------------------------------------------------------
    def _call(self, fn: Callable[[], T]) -> T:
        deadline = self.request_deadline
        self._dates.last = None  # never an earlier call's Date for this one
        if not deadline or deadline <= 0:
            return self._checked(fn)
        box: dict[str, Any] = {}
        done = threading.Event()

        def run() -> None:
            try:
                box["value"] = self._checked(fn)
            except BaseException as exc:  # handed over to the caller's thread
                box["error"] = exc
            finally:
                # MTurk's Date is kept per thread: hand it over to the caller's thread too.
                box["date"] = getattr(self._dates, "last", None)
                done.set()

        started = time.monotonic()
        _RUNNERS.run(run)
        if not done.wait(deadline):
            # The call is left to finish or fail on its own thread (a daemon: it never keeps
            # the process alive); its answer, if any, is ignored.
            raise DeadlineExceeded(
                f"MTurk did not answer completely within {deadline:g} s "
                f"(request_deadline; waited {time.monotonic() - started:.1f} s)"
            )
        self._dates.last = box.get("date")
        if "error" in box:
            raise box["error"]
        return cast(T, box["value"])

    def _checked(self, fn: Callable[[], T]) -> T:
        try:
            response = fn()
        except TurkError:
            raise
        except Exception as exc:
            raise map_exception(exc) from exc
        if isinstance(response, dict) and _BAD_BODY in response:
            raise UnexpectedResponse(f"MTurk answered 200 with {response[_BAD_BODY]}")
        return response


class _Runners:
    """The daemon threads `_call` runs requests on (so the caller can stop waiting at the
    deadline). Kept and reused: starting a thread per request costs as much as the request
    to a nearby endpoint. A call with no idle thread starts one more (a call abandoned at
    its deadline keeps its thread until it ends), so a call never waits for another."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._idle = 0
        self._jobs: queue.SimpleQueue[Callable[[], None]] = queue.SimpleQueue()

    def run(self, job: Callable[[], None]) -> None:
        with self._lock:
            spare = self._idle > 0
            if spare:
                self._idle -= 1
        self._jobs.put(job)
        if not spare:
            threading.Thread(target=self._serve, name="mturk-request", daemon=True).start()

    def _serve(self) -> None:
        while True:
            self._jobs.get()()
            with self._lock:
                self._idle += 1


_RUNNERS = _Runners()


def _child_service(spec: dict[str, Any]) -> MTurkService:
    """In a child forked to send (adapters.offload): a service like the parent's `spec`,
    with its own client (its own connections), built before the child says it is ready.
    Locks and request threads of its own first: another thread of the parent may have held
    the loader's lock at the fork, and the request threads stayed there. No deadline
    thread: the parent bounds its wait for each answer."""
    global _LOADER_LOCK, _RUNNERS
    _LOADER_LOCK = threading.Lock()
    _RUNNERS = _Runners()
    service = MTurkService.from_spec({**spec, "request_deadline": 0})
    service.writes  # noqa: B018
    return service


def _short(text: object, limit: int = 40) -> str:
    """A value from the service, quoted and cut (it may be huge or hostile)."""
    value = str(text)
    return repr(value if len(value) <= limit else value[:limit] + "…")


def _check_body(
    response_dict: dict[str, Any], customized_response_dict: dict[str, Any], **_: Any
) -> None:
    """A 200 must carry the operation's JSON object, never an error body or garbage.

    botocore's JSON parser reads a non-JSON 200 as an empty answer, and never looks for an
    error inside a 200: both would pass as success. An empty body is accepted (botocore's
    own reading of it, `{}`)."""
    if response_dict.get("status_code") != 200:
        return
    body = response_dict.get("body") or b""
    if not body.strip():
        return
    try:
        data = json.loads(body)
    except ValueError:
        kind = "HTML" if body.lstrip()[:1] == b"<" else "a body that is not JSON"
        customized_response_dict[_BAD_BODY] = f"{kind} ({len(body):,} bytes; truncated?)"
        return
    if not isinstance(data, dict):
        customized_response_dict[_BAD_BODY] = "a JSON body that is not an object"
        return
    marker = next((k for k in ("__type", "TurkErrorCode", "Error", "Errors") if k in data), None)
    if marker is not None:
        what = str(data.get("__type") or data.get("TurkErrorCode") or marker)
        customized_response_dict[_BAD_BODY] = f"an error body ({_short(what)})"


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


def _take_raw_assignments(
    response_dict: dict[str, Any], customized_response_dict: dict[str, Any], **_: Any
) -> None:
    """ListAssignmentsForHIT's Assignments handed over unparsed, as for ListHITs: botocore's
    shape-driven parser fails with an AttributeError on a body of the wrong shape, and
    `Assignment.from_api` validates every field itself."""
    if response_dict.get("status_code") != 200:
        return
    body = response_dict.get("body")
    if not body:
        return
    try:
        data = json.loads(body)
    except ValueError:
        return
    if not isinstance(data, dict) or "Assignments" not in data:
        return
    customized_response_dict["Assignments"] = data.pop("Assignments")
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
    try:
        status = int((response.get("ResponseMetadata") or {}).get("HTTPStatusCode") or 0)
    except (TypeError, ValueError):
        status = 0
    # By status first: a proxy's HTML 429/503 page has no MTurk code to go by.
    if status == 429:
        return Throttled(f"MTurk is throttling requests (HTTP 429): {_short(message, 120)}")
    if status >= 500:
        return ServiceFault(f"MTurk service fault (HTTP {status}): {_short(message, 120)}")
    if not code or code.isdigit():
        # botocore found no error code in the body: not MTurk's error shape (a proxy's
        # page, garbage). MTurk did not say no, so this is not "refused".
        return UnexpectedResponse(
            f"the endpoint answered HTTP {status or '?'} with a body that is not an MTurk "
            f"error: {_short(message, 120)}"
        )
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
    if "status of: null" in message:
        return AssignmentNotVisible(message, turk_code or code)
    if "can be called with a status of" in message:
        return InvalidAssignmentState(message, turk_code or code)
    if message.startswith("Assignment ") and "does not exist" in message:
        return AssignmentNotFound(message, turk_code or code)
    if turk_code == "AWS.MechanicalTurk.HITDoesNotExist" or "does not exist" in message:
        return HitNotFound(message, turk_code or code)
    return RequestRefused(message, turk_code or code)


def as_service(service: MTurkService) -> TurkService:
    """(Checked by mypy: MTurkService is the pipeline's TurkService.)"""
    return service
