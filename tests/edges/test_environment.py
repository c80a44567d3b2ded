"""Endpoints are parsed, not compared as strings; userinfo never survives. Pure."""

from __future__ import annotations

import pytest

from turktui.domain.environment import (
    PRODUCTION_URL,
    EnvKind,
    parse_endpoint,
    resolve_environment,
)
from turktui.domain.text import redact, redact_obj

PROD_SPELLINGS = [
    "https://mturk-requester.us-east-1.amazonaws.com",
    "HTTPS://MTURK-REQUESTER.US-EAST-1.AMAZONAWS.COM",
    "https://mturk-requester.us-east-1.amazonaws.com:443",
    "https://mturk-requester.us-east-1.amazonaws.com.",
    "https://mturk-requester.us-east-1.amazonaws.com./",
    "https://mturk-requester.us-east-1.amazonaws.com/?x=1",
    "https://mturk-requester.us-east-1.amazonaws.com/#frag",
    "https://user@mturk-requester.us-east-1.amazonaws.com",
    "https://user:pw@mturk-requester.us-east-1.amazonaws.com:443/",
    "http://mturk-requester.us-east-1.amazonaws.com",
    "  https://mturk-requester.us-east-1.amazonaws.com  ",
]


@pytest.mark.parametrize("url", PROD_SPELLINGS)
def test_production_host_written_any_way_is_production(url) -> None:
    env = resolve_environment(endpoint_url=url)
    assert env.kind is EnvKind.PRODUCTION
    assert env.needs_confirmation
    assert "@" not in env.endpoint_url and "pw" not in env.endpoint_url


def test_normalised_production_url() -> None:
    assert parse_endpoint(PROD_SPELLINGS[8]).url == PRODUCTION_URL


@pytest.mark.parametrize(
    "url",
    [
        "https://mturk-requester-sandbox.us-east-1.amazonaws.com",
        "HTTPS://Mturk-Requester-Sandbox.us-east-1.amazonaws.com.:443/?a",
    ],
)
def test_sandbox_host_is_sandbox(url) -> None:
    env = resolve_environment(endpoint_url=url)
    assert env.kind is EnvKind.SANDBOX and not env.needs_confirmation


def test_production_flag_with_endpoint_is_production_in_every_respect() -> None:
    env = resolve_environment(production=True, endpoint_url="http://127.0.0.1:8443")
    assert env.kind is EnvKind.PRODUCTION and env.is_production and env.needs_confirmation
    assert env.endpoint_url == "http://127.0.0.1:8443"
    # even the sandbox host cannot lower it
    env = resolve_environment(
        production=True, endpoint_url="https://mturk-requester-sandbox.us-east-1.amazonaws.com"
    )
    assert env.kind is EnvKind.PRODUCTION


@pytest.mark.parametrize(
    "url, confirm",
    [
        ("http://127.0.0.1:8443", False),
        ("http://127.5.6.7:8443", False),
        ("http://localhost:8443", False),
        ("http://LOCALHOST.:8443", False),
        ("http://[::1]:8443", False),
        ("http://10.0.0.5:8443", True),
        ("https://vpce-0abc.mturk.example.com", True),
        ("http://0.0.0.0:8443", True),
    ],
)
def test_custom_endpoint_confirmation(url, confirm) -> None:
    env = resolve_environment(endpoint_url=url)
    assert env.kind is EnvKind.CUSTOM
    assert env.needs_confirmation is confirm
    assert not resolve_environment(endpoint_url=url, confirm_custom=False).needs_confirmation


@pytest.mark.parametrize(
    "url",
    [
        "",
        "   ",
        "foo",
        "127.0.0.1:8443",
        "ftp://host",
        "http://",
        "http://host:99999",
        "http://host:port",
    ],
)
def test_unusable_urls_are_refused(url) -> None:
    with pytest.raises(ValueError):
        resolve_environment(endpoint_url=url)


def test_refusal_never_shows_the_password() -> None:
    with pytest.raises(ValueError) as info:
        parse_endpoint("ftp://u:SECRET@host")
    assert "SECRET" not in str(info.value)


def test_userinfo_dropped_and_flagged() -> None:
    ep = parse_endpoint("http://u:p%40ss@Host.Example:8080/base/")
    assert ep.url == "http://host.example:8080/base" and ep.had_userinfo
    assert not parse_endpoint("http://host").had_userinfo


def test_redact() -> None:
    text = 'Could not connect to the endpoint URL: "http://bob:p@ss@127.0.0.1:9/" (x@y)'
    assert redact(text) == 'Could not connect to the endpoint URL: "http://127.0.0.1:9/" (x@y)'
    assert redact("no url here") == "no url here"
    assert redact_obj({"a": ["https://k:s@h", 3], "b": None}) == {"a": ["https://h", 3], "b": None}
