"""The service wrapper against the emulator over loopback, through real boto3.

Each botocore failure a user can meet must arrive as one of the app's typed errors.
"""

from __future__ import annotations

import socket
from collections.abc import Iterator
from datetime import datetime, timezone
from decimal import Decimal

import pytest

from turktui.adapters.mturk import MTurkService
from turktui.domain import errors
from turktui.domain.environment import Environment, EnvKind, resolve_environment
from turktui.emulator import EmulatorServer


@pytest.fixture(autouse=True)
def _no_real_aws(tmp_path, monkeypatch: pytest.MonkeyPatch) -> None:
    for key in (
        "AWS_PROFILE",
        "AWS_ACCESS_KEY_ID",
        "AWS_SECRET_ACCESS_KEY",
        "AWS_SESSION_TOKEN",
        "AWS_DEFAULT_PROFILE",
    ):
        monkeypatch.delenv(key, raising=False)
    monkeypatch.setenv("HOME", str(tmp_path))
    monkeypatch.setenv("AWS_CONFIG_FILE", str(tmp_path / "no-config"))
    monkeypatch.setenv("AWS_SHARED_CREDENTIALS_FILE", str(tmp_path / "no-credentials"))
    monkeypatch.setenv("AWS_EC2_METADATA_DISABLED", "true")


@pytest.fixture(scope="module")
def server() -> Iterator[EmulatorServer]:
    with EmulatorServer(hits=250, seed=3) as srv:
        yield srv


@pytest.fixture
def service(server: EmulatorServer) -> Iterator[MTurkService]:
    server.faults.clear()
    yield MTurkService(resolve_environment(demo_url=server.url))
    server.faults.clear()


def _new_hit(server: EmulatorServer, max_assignments: int = 20) -> str:
    return server.state.add_hit(
        MaxAssignments=max_assignments,
        Reward="0.50",
        CreationTime=datetime(2024, 1, 1, tzinfo=timezone.utc).timestamp(),
    )


def test_lists_every_page_in_order(server: EmulatorServer, service: MTurkService) -> None:
    pages = list(service.iter_hit_pages(100))
    assert [len(p) for p in pages][:2] == [100, 100]
    ids = [hit.hit_id for page in pages for hit in page]
    assert ids == server.state.hit_ids()


def test_get_hit_and_balance(server: EmulatorServer, service: MTurkService) -> None:
    hit_id = _new_hit(server, 12)
    hit = service.get_hit(hit_id)
    assert hit.hit_id == hit_id and hit.max_assignments == 12 and hit.reward == Decimal("0.50")
    assert service.get_balance().available == server.state.balance


def test_unknown_hit_is_hit_not_found(service: MTurkService) -> None:
    with pytest.raises(errors.HitNotFound) as info:
        service.get_hit("NOSUCHHIT")
    assert info.value.code == "AWS.MechanicalTurk.HITDoesNotExist"
    assert "Hit NOSUCHHIT does not exist." in info.value.message


def test_refusal_carries_turk_error_code(server: EmulatorServer, service: MTurkService) -> None:
    hit_id = _new_hit(server, 4)
    with pytest.raises(errors.RequestRefused) as info:
        service.create_additional_assignments(hit_id, 6, "refused-token-1")
    assert info.value.code == "AWS.MechanicalTurk.InvalidMaximumAssignmentsIncrease"
    assert not info.value.transient


def test_repeated_token_is_recognised(server: EmulatorServer, service: MTurkService) -> None:
    hit_id = _new_hit(server)
    service.create_additional_assignments(hit_id, 2, "repeat-token-1")
    with pytest.raises(errors.TokenAlreadyProcessed):
        service.create_additional_assignments(hit_id, 2, "repeat-token-1")
    assert server.state.get_hit_raw(hit_id)["MaxAssignments"] == 22


def test_writes_are_single_shot_so_the_engine_sees_every_attempt(
    server: EmulatorServer, service: MTurkService
) -> None:
    hit_id = _new_hit(server)
    before = server.state.request_count("CreateAdditionalAssignmentsForHIT")
    server.faults.add(op="CreateAdditionalAssignmentsForHIT", drop=1.0, count=1)
    with pytest.raises(errors.ConnectionLost) as info:
        service.create_additional_assignments(hit_id, 1, "drop-token-1")
    assert info.value.outcome_unknown and info.value.transient
    assert server.state.request_count("CreateAdditionalAssignmentsForHIT") == before + 1
    assert server.state.get_hit_raw(hit_id)["MaxAssignments"] == 21  # applied, answer lost


def test_reads_retry_transient_faults(server: EmulatorServer, service: MTurkService) -> None:
    hit_id = _new_hit(server)
    server.faults.add(op="GetHIT", throttle=1.0, count=1)
    assert service.get_hit(hit_id).hit_id == hit_id  # botocore standard mode retried


def test_persistent_throttling_and_faults(server: EmulatorServer, service: MTurkService) -> None:
    hit_id = _new_hit(server)
    server.faults.add(op="GetHIT", throttle=1.0)
    with pytest.raises(errors.Throttled):
        service.get_hit(hit_id)
    server.faults.clear()
    server.faults.add(op="GetAccountBalance", error=1.0)
    with pytest.raises(errors.ServiceFault) as info:
        service.get_balance()
    assert info.value.outcome_unknown


def test_read_timeout_is_connection_lost(server: EmulatorServer) -> None:
    server.faults.add(op="GetAccountBalance", latency=1.0)
    slow = MTurkService(resolve_environment(demo_url=server.url), read_timeout=0.2, max_attempts=1)
    with pytest.raises(errors.ConnectionLost):
        slow.get_balance()


def _closed_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def test_unreachable_endpoint() -> None:
    env = Environment(EnvKind.DEMO, f"http://127.0.0.1:{_closed_port()}")
    service = MTurkService(env, connect_timeout=0.5, max_attempts=1)
    with pytest.raises(errors.EndpointUnreachable) as info:
        service.get_balance()
    assert info.value.hint


def test_dns_failure_is_unreachable() -> None:
    env = Environment(EnvKind.CUSTOM, "http://no-such-host.invalid")
    service = MTurkService(
        env, credentials=("AKIDEXAMPLE", "x"), connect_timeout=0.5, max_attempts=1
    )
    with pytest.raises(errors.EndpointUnreachable):
        service.get_balance()


def test_missing_credentials_say_how_to_fix(server: EmulatorServer) -> None:
    service = MTurkService(Environment(EnvKind.SANDBOX, server.url))
    with pytest.raises(errors.CredentialsMissing) as info:
        service.get_balance()
    assert "--demo" in info.value.hint


def test_unknown_profile_is_a_configuration_error(server: EmulatorServer) -> None:
    service = MTurkService(Environment(EnvKind.SANDBOX, server.url, profile="nope"))
    with pytest.raises(errors.ConfigurationError) as info:
        service.get_balance()
    assert "'nope'" in info.value.message


def test_update_expiration(server: EmulatorServer, service: MTurkService) -> None:
    hit_id = _new_hit(server)
    past = datetime(2020, 1, 1, tzinfo=timezone.utc)
    service.update_expiration(hit_id, past)
    hit = service.get_hit(hit_id)
    assert hit.expiration is not None and hit.expiration > past  # "a past date expires it now"


@pytest.mark.parametrize(
    ("code", "status", "expected"),
    [
        ("UnrecognizedClientException", 400, errors.AccessDenied),
        ("AccessDeniedException", 403, errors.AccessDenied),
        ("ExpiredTokenException", 400, errors.CredentialsExpired),
        ("ThrottlingException", 400, errors.Throttled),
        ("ServiceUnavailable", 503, errors.ServiceFault),
    ],
)
def test_errors_the_emulator_cannot_send(code: str, status: int, expected: type) -> None:
    # The emulator accepts any signature, so these few are built directly (the rare
    # unit that cannot be reached over the wire).
    from botocore.exceptions import ClientError

    from turktui.adapters.mturk import map_exception

    exc = ClientError(
        {"Error": {"Code": code, "Message": "m"}, "ResponseMetadata": {"HTTPStatusCode": status}},
        "GetHIT",
    )
    assert isinstance(map_exception(exc), expected)


@pytest.mark.parametrize("empty_last_page", [True, False], ids=["mturk-shape", "short-shape"])
def test_pagers_accept_both_ends_of_a_listing(empty_last_page: bool) -> None:
    # MTurk ends a listing with an empty page after a NextToken on every non-empty page
    # (Mephisto's loop, Dallinger's recorded answers, aws-sdk-js #2522); other services end
    # on a last non-empty page without one. Both give the same HITs and assignments, and the
    # empty end page is never handed on as a page of its own.
    with EmulatorServer(hits=250, seed=3, empty_last_page=empty_last_page) as srv:
        service = MTurkService(resolve_environment(demo_url=srv.url))
        pages = list(service.iter_hit_pages(50))
        assert [len(p) for p in pages] == [50] * 5
        assert [h.hit_id for p in pages for h in p] == srv.state.hit_ids()
        busy = next(
            h
            for h in srv.state.hit_ids()
            if 5 < srv.state.get_hit_raw(h)["NumberOfAssignmentsCompleted"] < 20
        )
        work = service.list_assignments(busy, page_size=5)
        assert len(work) == srv.state.get_hit_raw(busy)["NumberOfAssignmentsCompleted"] + (
            srv.state.submitted_count(busy)
        )
        assert len({a.assignment_id for a in work}) == len(work)
    with EmulatorServer(hits=0, empty_last_page=empty_last_page) as srv:
        service = MTurkService(resolve_environment(demo_url=srv.url))
        assert list(service.iter_hit_pages(50)) == [[]]


def test_a_missing_profile_is_named() -> None:
    service = MTurkService(Environment(EnvKind.SANDBOX, None, "nope", False))
    with pytest.raises(errors.ConfigurationError, match="AWS profile 'nope' was not found"):
        service.get_balance()


def test_services_share_one_data_loader_and_each_its_session() -> None:
    """botocore's service model is parsed once per process, not once per client (each
    parse cost ~60 ms of CPU), and boto3's data path is on the shared loader once."""
    first = MTurkService(resolve_environment(sandbox=True), credentials=("AKIDEXAMPLE", "x"))
    second = MTurkService(resolve_environment(sandbox=True), credentials=("AKIDEXAMPLE", "y"))
    clients = [first.reads, first.writes, second.reads, second.writes]
    sessions = {id(first._boto_session), id(second._boto_session)}
    assert len(sessions) == 2, "one session per service: credentials never mix"
    loader = first._boto_session._loader
    assert second._boto_session._loader is loader, "the service model is parsed once"
    paths = loader.search_paths
    assert len(paths) == len(set(paths))
    assert clients[0]._request_signer._credentials.secret_key == "x"
    assert clients[2]._request_signer._credentials.secret_key == "y"
