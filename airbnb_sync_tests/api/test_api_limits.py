"""The API's limits over real HTTP: a body over 16 MiB is refused with 413 before it is read
(declared) or as soon as it passes the limit (chunked), a large HAR under it registers, and
each token may post 10 sessions or syncs a minute (429 with Retry-After)."""

from __future__ import annotations

import json
import socket
import time
from datetime import UTC, datetime, timedelta
from urllib.parse import urlparse

import pytest
from api_helpers import Api, assert_problem
from paste_forms import chrome_bash, har, har_entry

from airbnb_sync.api.limits import MAX_BODY_BYTES, RATE_LIMIT
from airbnb_sync.simulator import make_cookie

HOST = "58765432"
sqlite_only = pytest.mark.parametrize("database_url", ["sqlite"], indirect=True)


def raw_exchange(api: Api, head: str, chunks: list[bytes]) -> tuple[bytes, float]:
    """Send a request by hand; the answer's first bytes and the seconds it took."""
    address = urlparse(api.url)
    started = time.monotonic()
    with socket.create_connection((address.hostname, address.port), timeout=60) as sock:
        sock.sendall(head.encode())
        try:
            for chunk in chunks:
                sock.sendall(chunk)
        except (BrokenPipeError, ConnectionResetError):
            pass  # the server stopped reading: that is the point
        answer = b""
        try:
            while b"\r\n\r\n" not in answer:
                data = sock.recv(65536)
                if not data:
                    break
                answer += data
            answer += sock.recv(65536)
        except (ConnectionResetError, TimeoutError):
            pass
    return answer, time.monotonic() - started


def _head(api: Api, token: str, extra: str) -> str:
    return (f"POST /api/v1/accounts HTTP/1.1\r\nHost: {urlparse(api.url).netloc}\r\n"
            f"Authorization: Bearer {token}\r\nContent-Type: application/json\r\n{extra}\r\n")


@sqlite_only
def test_a_declared_body_over_the_limit_is_refused_before_it_is_sent(api: Api) -> None:
    head = _head(api, api.token("big"), f"Content-Length: {MAX_BODY_BYTES + 1}\r\n")
    answer, seconds = raw_exchange(api, head, [])  # not one byte of the body is sent
    assert answer.startswith(b"HTTP/1.1 413 "), answer[:200]
    assert b"application/problem+json" in answer and b"x-request-id:" in answer.lower()
    assert b"16 MiB" in answer and seconds < 30


@sqlite_only
def test_a_chunked_body_is_cut_off_at_the_limit(api: Api) -> None:
    megabyte = b"x" * (1 << 20)
    chunk = f"{len(megabyte):x}\r\n".encode() + megabyte + b"\r\n"
    head = _head(api, api.token("big"), "Transfer-Encoding: chunked\r\n")
    answer, _ = raw_exchange(api, head, [chunk] * 40 + [b"0\r\n\r\n"])
    assert answer.startswith(b"HTTP/1.1 413 "), answer[:200]
    assert api.store.list() == []


def test_a_large_har_under_the_limit_registers(api: Api) -> None:
    """A HAR of a long recording: 15 MiB of other requests before the API request."""
    padding = [{**har_entry("bev=1", "2026-12-01T09:00:00.000Z"),
                "response": {"content": {"text": "y" * (1 << 20)}}} for _ in range(15)]
    paste = har(make_cookie(HOST), older=padding)
    assert MAX_BODY_BYTES - (2 << 20) < len(json.dumps({"paste": paste})) < MAX_BODY_BYTES
    response = api.call("POST", "/api/v1/accounts", api.token("big"), json={"paste": paste})
    assert response.status_code == 201, response.text[:300]


@sqlite_only
def test_session_and_sync_posts_are_rate_limited_per_token(api: Api) -> None:
    api.add_account(HOST)
    busy, calm = api.token("busy"), api.token("calm")
    today = datetime.now(UTC).date()
    sync = {"from": str(today - timedelta(days=7)), "to": str(today)}
    paste = {"paste": chrome_bash(make_cookie(HOST))}
    answers = [api.call("POST", f"/api/v1/accounts/{HOST}/session" if n % 2 else
                        f"/api/v1/accounts/{HOST}/sync", busy, json=paste if n % 2 else sync)
               for n in range(RATE_LIMIT)]
    assert [a.status_code for a in answers] == [202, 200] * (RATE_LIMIT // 2)
    refused = api.call("POST", f"/api/v1/accounts/{HOST}/session", busy, json=paste)
    assert_problem(refused, 429, "token busy", "10 session or sync posts")
    assert 1 <= int(refused.headers["Retry-After"]) <= 60
    assert_problem(api.call("POST", f"/api/v1/accounts/{HOST}/sync", busy, json=sync), 429)
    # Reads are not limited, nor are other tokens.
    assert api.call("GET", f"/api/v1/accounts/{HOST}", busy).status_code == 200
    assert api.call("POST", f"/api/v1/accounts/{HOST}/session", calm,
                    json=paste).status_code == 200
    assert len(api.launched) == RATE_LIMIT // 2
