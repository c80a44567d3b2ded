"""The service wrapper against hostile servers on loopback, through real boto3."""

from __future__ import annotations

import threading
import time
from typing import Any

import pytest

from tests.hostile.servers import HostileServer, hit_json, html_answer, json_answer, trickle
from turktui.adapters.mturk import MTurkService
from turktui.domain.environment import Environment, EnvKind
from turktui.domain.errors import (
    DeadlineExceeded,
    ServiceFault,
    Throttled,
    UnexpectedResponse,
)


def service(url: str, deadline: float = 5.0) -> MTurkService:
    return MTurkService(
        Environment(EnvKind.CUSTOM, url, None, False),
        credentials=("AKIDHOSTILE000000000", "secret"),
        connect_timeout=1.0,
        read_timeout=5.0,
        max_attempts=1,
        request_deadline=deadline,
    )


@pytest.mark.timing  # the deadline is the subject: it holds with nothing else running
def test_a_trickling_answer_is_bounded_by_the_overall_deadline() -> None:
    stop = threading.Event()
    body = json_answer({"HIT": hit_json("A")})[2] + b" " * 200

    def responder(op: str, request: dict[str, Any], handler: Any) -> Any:
        trickle(handler, body, 0.2, stop)  # each byte far inside the 5 s read timeout
        return None

    with HostileServer(responder) as server:
        started = time.monotonic()
        try:
            with pytest.raises(DeadlineExceeded) as caught:
                service(server.url, deadline=1.0).get_hit("A")
        finally:
            stop.set()
        elapsed = time.monotonic() - started
    assert 0.9 <= elapsed < 3.5, elapsed
    assert caught.value.outcome_unknown and not caught.value.transient
    assert "within 1 s" in caught.value.message


def test_pagination_that_repeats_a_token_stops_and_names_it() -> None:
    counter = iter(range(10_000))

    def responder(op: str, request: dict[str, Any], handler: Any) -> Any:
        n = next(counter)
        # page 1: HIT 0, then new HITs with a 2-token cycle: T-a, T-b, T-a, …
        return json_answer({"HITs": [hit_json(f"H{n:05d}")], "NextToken": f"T-{'ab'[n % 2]}"})

    with HostileServer(responder) as server:
        with pytest.raises(UnexpectedResponse, match="repeated the page token 'T-a'"):
            list(service(server.url).iter_hit_pages())
        assert len(server.calls) == 3


def test_pagination_with_fresh_tokens_but_the_same_hits_stops() -> None:
    counter = iter(range(10_000))

    def responder(op: str, request: dict[str, Any], handler: Any) -> Any:
        return json_answer({"HITs": [hit_json("SAME")], "NextToken": f"T{next(counter)}"})

    with HostileServer(responder) as server:
        with pytest.raises(UnexpectedResponse, match="repeats HITs already listed"):
            list(service(server.url).iter_hit_pages())
        assert len(server.calls) == 2


@pytest.mark.parametrize(
    ("answer", "error", "text"),
    [
        (
            json_answer({"__type": "ServiceFault", "Message": "boom"}),
            UnexpectedResponse,
            "error body",
        ),
        (json_answer(b'{"HIT": {"HITId": "A", "Max'), UnexpectedResponse, "not JSON"),
        (json_answer(b"<html>maintenance</html>"), UnexpectedResponse, "HTML"),
        (json_answer([1, 2]), UnexpectedResponse, "not an object"),
        (html_answer(429), Throttled, "HTTP 429"),
        (html_answer(503, "<html>down</html>"), ServiceFault, "HTTP 503"),
        (
            json_answer({"__type": "ThrottlingException", "Message": "slow"}, status=503),
            ServiceFault,
            "HTTP 503",
        ),
        (html_answer(400, "<html>proxy says no</html>"), UnexpectedResponse, "not an MTurk error"),
    ],
)
def test_hostile_answers_are_errors_not_successes(answer: Any, error: type, text: str) -> None:
    with HostileServer(lambda op, req, h: answer) as server:
        svc = service(server.url)
        with pytest.raises(error, match=text):
            svc.create_additional_assignments("A", 1, "turktui-t")
        with pytest.raises(error):
            svc.get_hit("A")


def test_a_truncated_listing_is_an_error_not_an_empty_account() -> None:
    answer = json_answer(b'{"HITs": [{"HITId": "A"')
    with (
        HostileServer(lambda op, req, h: answer) as server,
        pytest.raises(UnexpectedResponse, match="not JSON"),
    ):
        service(server.url).list_all_hits()


def test_gethit_for_another_hit_is_an_error() -> None:
    answer = json_answer({"HIT": hit_json("B")})
    with (
        HostileServer(lambda op, req, h: answer) as server,
        pytest.raises(UnexpectedResponse, match="another HIT"),
    ):
        service(server.url).get_hit("A")


@pytest.mark.parametrize("value", [None, "nan", "NaN", 1e308, -3, "12.5", True, {"a": 1}])
def test_an_unreadable_max_assignments_is_never_coerced(value: Any) -> None:
    answer = json_answer({"HIT": hit_json("A", MaxAssignments=value)})
    with (
        HostileServer(lambda op, req, h: answer) as server,
        pytest.raises(UnexpectedResponse, match="MaxAssignments"),
    ):
        service(server.url).get_hit("A")


def test_a_huge_reward_makes_a_listed_hit_unreadable_not_a_crash() -> None:
    answer = json_answer({"HITs": [hit_json("A", Reward="1e26"), hit_json("B")]})
    with HostileServer(lambda op, req, h: answer) as server:
        hits = service(server.url).list_all_hits()
    assert [h.hit_id for h in hits] == ["A", "B"]
    assert "Reward" in hits[0].problem and hits[0].reward is None
    assert hits[1].readable
