"""Helpers shared by the emulator tests: boto3 clients and raw HTTP calls."""

from __future__ import annotations

import http.client
import json
from typing import Any
from urllib.parse import urlparse

import boto3
from botocore.config import Config

TARGET = "MTurkRequesterServiceV20170117."


def make_client(url: str, retries: int | None = None, **config: Any) -> Any:
    """A boto3 MTurk client for ``url`` (``retries=0`` disables retrying)."""
    if retries is not None:
        config["retries"] = {"max_attempts": retries, "mode": "legacy"}
    return boto3.session.Session().client(
        "mturk",
        endpoint_url=url,
        region_name="us-east-1",
        aws_access_key_id="AKIDEXAMPLE",
        aws_secret_access_key="x",
        config=Config(**config) if config else None,
    )


def connect(url: str) -> http.client.HTTPConnection:
    u = urlparse(url)
    return http.client.HTTPConnection(u.hostname, u.port, timeout=10)


def raw_call(
    url_or_conn: str | http.client.HTTPConnection,
    op: str | None,
    body: bytes | dict[str, Any] | None = None,
    *,
    method: str = "POST",
    path: str = "/",
    headers: dict[str, str] | None = None,
) -> tuple[int, http.client.HTTPMessage, Any]:
    """Send one request; returns (status, headers, decoded JSON body or raw bytes)."""
    conn = connect(url_or_conn) if isinstance(url_or_conn, str) else url_or_conn
    data = json.dumps(body).encode() if isinstance(body, dict) else (body or b"")
    hdrs = {
        "Content-Type": "application/x-amz-json-1.1",
        "Authorization": "AWS4-HMAC-SHA256 Credential=AKIDEXAMPLE/x, Signature=0",
    }
    if op is not None:
        hdrs["X-Amz-Target"] = TARGET + op
    hdrs.update(headers or {})
    conn.request(method, path, body=data if method != "GET" or data else None, headers=hdrs)
    resp = conn.getresponse()
    payload = resp.read()
    try:
        decoded: Any = json.loads(payload) if payload else None
    except ValueError:
        decoded = payload
    if isinstance(url_or_conn, str):
        conn.close()
    return resp.status, resp.headers, decoded


def error_of(exc: Any) -> tuple[str, str, str | None]:
    """(code, message, TurkErrorCode) of a botocore ClientError."""
    err = exc.response["Error"]
    return (
        err["Code"],
        err.get("Message", ""),
        exc.response.get("TurkErrorCode") or err.get("TurkErrorCode"),
    )


class Clock:
    """An injectable service clock (``EmulatorServer(now=clock)``): tests move ``t``, nothing
    sleeps."""

    def __init__(self, t: float) -> None:
        self.t = t

    def __call__(self) -> float:
        return self.t


def refused(client: Any, call: str, **kw: Any) -> tuple[str, str, str | None]:
    """(code, message, TurkErrorCode) of the ClientError that ``client.call(**kw)`` raises."""
    from botocore.exceptions import ClientError

    try:
        getattr(client, call)(**kw)
    except ClientError as exc:
        return error_of(exc)
    raise AssertionError(f"{call} was not refused")
