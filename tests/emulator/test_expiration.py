"""UpdateExpirationForHIT as MTurk does it, over real boto3 on loopback.

Sources (each test names the one it follows):
- [API] https://docs.aws.amazon.com/AWSMechTurk/latest/AWSMturkAPI/ApiReference_UpdateExpirationForHITOperation.html
  "You cannot shorten the expiration time ... To expire a HIT immediately, provide the value 0
  or set ExpireAt to a time in the past."
- [D3109] https://github.com/Dallinger/Dallinger/issues/3109 — real answer: RequestError
  'The idempotency token "3VJ4PFXFJ5VXUC3I783DUQKOMF2UAWWed Jul 14 20:26:06 UTC 2021" has
  already been processed. (1626172412406)'
- [J1817] https://github.com/aws/aws-sdk-java/issues/1817 — ParameterValidationError
  "The value 11 is invalid for ExpirationIncrementInSeconds. Valid values range from 60 to
  31536000."
- [R2065] https://github.com/aws/aws-sdk-ruby/issues/2065 — "The value -380572 is invalid for
  ExpirationIncrementInSeconds..." when ExpireAt was the client's own Time.now.
"""

from __future__ import annotations

import datetime as dt
import math
from typing import Any

import pytest
from botocore.exceptions import ClientError

from tests.emulator.helpers import Clock, error_of, make_client, raw_call
from tests.emulator.shapes import assert_output
from turktui.emulator import EmulatorServer

RECENT = 1_600_000_000.0
# Dallinger #3109: the service's stamp was 1626172412406 ms; the requested expiration
# 2021-07-14 20:26:06 UTC.
D3109_NOW = 1626172412.406
D3109_HIT = "3VJ4PFXFJ5VXUC3I783DUQKOMF2UAW"
D3109_AT = dt.datetime(2021, 7, 14, 20, 26, 6, tzinfo=dt.timezone.utc)
RANGE = "is invalid for ExpirationIncrementInSeconds. Valid values range from 60 to 31536000."


@pytest.fixture
def clock() -> Clock:
    return Clock(D3109_NOW)


@pytest.fixture
def client(srv: EmulatorServer) -> Any:
    return make_client(srv.url, retries=0)


def _utc(epoch: float) -> dt.datetime:
    return dt.datetime.fromtimestamp(epoch, tz=dt.timezone.utc)


def _update(client: Any, hit_id: str, at: dt.datetime | float) -> None:
    out = client.update_expiration_for_hit(HITId=hit_id, ExpireAt=at)
    assert_output("UpdateExpirationForHIT", out)


def _refused(client: Any, hit_id: str, at: dt.datetime | float) -> tuple[str, str, str | None]:
    with pytest.raises(ClientError) as info:
        client.update_expiration_for_hit(HITId=hit_id, ExpireAt=at)
    assert info.value.response["ResponseMetadata"]["HTTPStatusCode"] == 400
    return error_of(info.value)


def _stamp(ms_epoch: float) -> str:
    return f" ({int(ms_epoch * 1000)})"


def test_repeat_within_the_same_second_is_refused_with_the_real_text(
    srv: EmulatorServer, client: Any, clock: Clock
) -> None:
    # [D3109]: token = HIT id + ExpireAt as java.util.Date.toString() in UTC. That the token
    # refusal comes before the range check (a repeat is a 0 s increment) is the emulator's
    # choice: D3109 does not show the order (FIDELITY.md).
    srv.state.add_hit(HITId=D3109_HIT, CreationTime=RECENT, Expiration=D3109_NOW + 3600)
    _update(client, D3109_HIT, D3109_AT)
    before = srv.state.get_hit_raw(D3109_HIT)
    assert before["Expiration"] == D3109_AT.timestamp()
    code, msg, turk = _refused(client, D3109_HIT, D3109_AT)
    assert code == "RequestError"
    assert msg == (
        'The idempotency token "3VJ4PFXFJ5VXUC3I783DUQKOMF2UAWWed Jul 14 20:26:06 '
        'UTC 2021" has already been processed. (1626172412406)'
    )
    assert turk is None
    assert srv.state.get_hit_raw(D3109_HIT) == before


def test_token_is_the_second_not_the_millisecond(
    srv: EmulatorServer, client: Any, clock: Clock
) -> None:
    # [D3109]: the token holds the time to the second (Date.toString has no fraction).
    hid = srv.state.add_hit(CreationTime=RECENT, Expiration=D3109_NOW + 600)
    target = math.floor(D3109_NOW) + 7200
    _update(client, hid, target + 0.2)
    code, msg, _ = _refused(client, hid, target + 0.9)
    assert code == "RequestError" and "has already been processed" in msg
    assert msg.startswith(f'The idempotency token "{hid}')
    assert srv.state.get_hit_raw(hid)["Expiration"] == target + 0.2
    # the next second is another token (and a valid +60 s extension is applied)
    _update(client, hid, target + 60)
    assert srv.state.get_hit_raw(hid)["Expiration"] == target + 60


def test_token_window_is_24_hours_and_per_hit(
    srv: EmulatorServer, client: Any, clock: Clock
) -> None:
    # [D3109] + the 24-hour idempotency window of the API reference (UniqueRequestToken).
    a = srv.state.add_hit(CreationTime=RECENT, Expiration=D3109_NOW + 600)
    b = srv.state.add_hit(CreationTime=RECENT, Expiration=D3109_NOW + 600)
    at = D3109_AT.timestamp()
    _update(client, a, at)
    _update(client, b, at)  # same time, another HIT: another token
    clock.t += 24 * 3600 - 1
    code, msg, _ = _refused(client, a, at)
    assert code == "RequestError" and "already been processed" in msg
    clock.t += 2
    # the token is forgotten; the same ExpireAt is now a zero increment [J1817]
    code, msg, _ = _refused(client, a, at)
    assert code == "ParameterValidationError"
    assert msg == f"The value 0 {RANGE}" + _stamp(clock.t)


def test_refused_request_does_not_consume_its_token(
    srv: EmulatorServer, client: Any, clock: Clock
) -> None:
    # Documented choice (FIDELITY.md): only an applied request is remembered.
    hid = srv.state.add_hit(CreationTime=RECENT, Expiration=D3109_NOW + 600)
    for _ in range(2):
        code, msg, _ = _refused(client, hid, D3109_NOW + 630)
        assert code == "ParameterValidationError" and msg.startswith(f"The value 30 {RANGE}")


def test_shortening_is_refused_as_a_negative_increment(
    srv: EmulatorServer, client: Any, clock: Clock
) -> None:
    # [API] "You cannot shorten the expiration time"; the real refusal is the
    # ExpirationIncrementInSeconds one with a negative value [R2065].
    now = clock.t
    hid = srv.state.add_hit(CreationTime=RECENT, Expiration=math.floor(now) + 2 * 86400)
    before = srv.state.get_hit_raw(hid)
    code, msg, turk = _refused(client, hid, math.floor(now) + 3600)
    assert code == "ParameterValidationError"
    assert msg == f"The value {3600 - 2 * 86400} {RANGE}" + _stamp(now)
    assert turk is None
    assert srv.state.get_hit_raw(hid) == before


def test_ruby_2065_client_now_ahead_of_the_service(
    srv: EmulatorServer, client: Any, clock: Clock
) -> None:
    # [R2065]: ExpireAt = the client's Time.now, a fraction of a second ahead of the
    # service, on a HIT expiring 380572 s later: refused with -380572, nothing expired.
    clock.t = 1559721610.045
    hid = srv.state.add_hit(CreationTime=RECENT, Expiration=1559721610.045 + 380572)
    code, msg, _ = _refused(client, hid, 1559721610.5)
    assert code == "ParameterValidationError"
    assert msg == f"The value -380572 {RANGE} (1559721610045)"
    assert srv.state.get_hit_raw(hid)["HITStatus"] == "Assignable"


def test_java_1817_eleven_seconds(srv: EmulatorServer, client: Any, clock: Clock) -> None:
    # [J1817]: current expiration 11:19:22, requested 11:19:33 → "The value 11 ...".
    clock.t = 1542881973.916  # 2018-11-22 10:19:33.916 UTC
    hid = srv.state.add_hit(CreationTime=RECENT, Expiration=1542885562.5)  # 11:19:22.5
    code, msg, _ = _refused(
        client, hid, dt.datetime(2018, 11, 22, 11, 19, 33, tzinfo=dt.timezone.utc)
    )
    assert code == "ParameterValidationError"
    assert msg == f"The value 11 {RANGE} (1542881973916)"


@pytest.mark.parametrize(
    ("increment", "ok"),
    [(59, False), (60, True), (31_536_000, True), (31_536_001, False), (0, False)],
)
def test_increment_bounds(
    srv: EmulatorServer, client: Any, clock: Clock, increment: int, ok: bool
) -> None:
    # [J1817]/[R2065]: 60 .. 31536000 seconds beyond the current expiration.
    current = math.floor(clock.t) + 5000
    hid = srv.state.add_hit(CreationTime=RECENT, Expiration=current)
    if ok:
        _update(client, hid, current + increment)
        assert srv.state.get_hit_raw(hid)["Expiration"] == current + increment
    else:
        code, msg, _ = _refused(client, hid, current + increment)
        assert code == "ParameterValidationError"
        assert msg.startswith(f"The value {increment} {RANGE}")
        assert srv.state.get_hit_raw(hid)["Expiration"] == current


def test_expired_hit_measures_from_the_service_now(
    srv: EmulatorServer, client: Any, clock: Clock
) -> None:
    # Unknown on MTurk (FIDELITY.md): for an expired HIT the increment is taken from now.
    now = math.floor(clock.t)
    clock.t = float(now)
    hid = srv.state.add_hit(
        CreationTime=RECENT,
        Expiration=now - 86400,
        HITStatus="Reviewable",
        MaxAssignments=3,
        NumberOfAssignmentsCompleted=1,
    )
    code, msg, _ = _refused(client, hid, now + 30)
    assert code == "ParameterValidationError" and msg.startswith(f"The value 30 {RANGE}")
    _update(client, hid, now + 60)
    raw = srv.state.get_hit_raw(hid)
    assert raw["Expiration"] == now + 60 and raw["HITStatus"] == "Assignable"


@pytest.mark.parametrize("at", [0, dt.datetime(1987, 1, 1), "now"])
def test_expire_now(srv: EmulatorServer, client: Any, clock: Clock, at: Any) -> None:
    # [API] "To expire a HIT immediately, provide the value 0 or set ExpireAt to a time in
    # the past"; ExpireAt equal to the service's now also expires (nothing to extend).
    if at == "now":
        at = clock.t
    hid = srv.state.add_hit(CreationTime=RECENT, Expiration=clock.t + 86400, MaxAssignments=2)
    _update(client, hid, at)
    raw = srv.state.get_hit_raw(hid)
    assert raw["Expiration"] == clock.t
    assert raw["HITStatus"] == "Reviewable"


def test_expire_now_twice_is_refused_by_the_implicit_token(
    srv: EmulatorServer, client: Any, clock: Clock
) -> None:
    # [D3109] applied to the documented "value 0": the token is HIT id + epoch 0.
    hid = srv.state.add_hit(CreationTime=RECENT, Expiration=clock.t + 86400)
    _update(client, hid, 0)
    code, msg, _ = _refused(client, hid, 0)
    assert code == "RequestError"
    assert msg == (
        f'The idempotency token "{hid}Thu Jan 01 00:00:00 UTC 1970" has already '
        "been processed." + _stamp(clock.t)
    )
    # another past instant is another token: accepted, the HIT stays expired
    _update(client, hid, dt.datetime(2001, 1, 1))
    assert srv.state.get_hit_raw(hid)["HITStatus"] == "Reviewable"


@pytest.mark.parametrize(
    "raw",
    [
        b"NaN",
        b"Infinity",
        b"-Infinity",
        b"1e308",
        b"-1e308",
        b"1e400",
        b'"2001-01-01T00:00:00Z"',
        b'"0"',
        b'"soon"',
        b"true",
        b"false",
        b"[]",
        b"{}",
    ],
)
def test_non_finite_expire_at_is_a_validation_error(
    srv: EmulatorServer, clock: Clock, raw: bytes
) -> None:
    # ExpireAt is a Timestamp (botocore model; AWS JSON 1.1 sends epoch seconds): anything
    # that is not a finite epoch is refused before the service touches the HIT.
    hid = srv.state.add_hit(CreationTime=RECENT, Expiration=clock.t + 3600)
    before = srv.state.get_hit_raw(hid)
    body = b'{"HITId": "%s", "ExpireAt": %s}' % (hid.encode(), raw)
    status, _, data = raw_call(srv.url, "UpdateExpirationForHIT", body)
    assert status == 400
    assert data["__type"] == "ValidationException"
    assert (
        "at 'expireAt' failed to satisfy constraint: Member must be a timestamp"
        in (data["message"])
    )
    assert srv.state.get_hit_raw(hid) == before
    # nothing was remembered: a valid extension to the same second still works
    status, _, data = raw_call(
        srv.url, "UpdateExpirationForHIT", {"HITId": hid, "ExpireAt": clock.t + 7200}
    )
    assert status == 200, data


def test_unknown_hit_comes_before_the_token(srv: EmulatorServer, client: Any) -> None:
    # Documented choice: a missing HIT is reported as such, whatever the token.
    code, msg, turk = _refused(client, "NOSUCHHIT", 0)
    assert code == "RequestError" and turk == "AWS.MechanicalTurk.HITDoesNotExist"
    assert msg.startswith("Hit NOSUCHHIT does not exist. (")
