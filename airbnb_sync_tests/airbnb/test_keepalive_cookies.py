"""The client keeps what a browser keeps from Set-Cookie: authentication cookies, for the
host it talks to (Airbnb's domain), and sends the new values at once. Over real HTTP."""

from __future__ import annotations

import json
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest

from airbnb_sync.airbnb.client import AirbnbClient, HostSession
from airbnb_sync.airbnb.keepalive import domain_allowed
from airbnb_sync.core.settings import load_settings
from airbnb_sync.simulator import make_cookie, responses
from airbnb_sync.simulator.data import listings_for

ACCOUNT = "58765432"
SET_COOKIES = [
    "_ga=tracker-value; Path=/",  # not an authentication cookie
    "_aat=from-another-site; Domain=evil.example; Path=/",  # not Airbnb's domain
    "li=0; Domain=.airbnb.com; Path=/",  # Airbnb's domain, but not the host talked to
    "_aat=rotated-value; Path=/; HttpOnly; Max-Age=3600",  # kept
]


class _Airbnb(BaseHTTPRequestHandler):
    received: list[str] = []

    def log_message(self, format: str, *args: object) -> None:
        pass

    def do_POST(self) -> None:
        self.rfile.read(int(self.headers.get("Content-Length") or 0))
        type(self).received.append(self.headers.get("Cookie") or "")
        body = json.dumps(responses.listings_section(ACCOUNT, listings_for(ACCOUNT))).encode()
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(body)))
        for header in SET_COOKIES:
            self.send_header("Set-Cookie", header)
        self.end_headers()
        self.wfile.write(body)


@pytest.fixture
def airbnb() -> Iterator[str]:
    _Airbnb.received = []
    server = ThreadingHTTPServer(("127.0.0.1", 0), _Airbnb)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_address[1]}"
    server.shutdown()
    server.server_close()


def _client(base_url: str, keepalive: str) -> AirbnbClient:
    settings = load_settings({"AIRBNB_BASE_URL": base_url, "AIRBNB_API_KEY": "k",
                              "AIRBNB_SYNC_MIN_REQUEST_INTERVAL": "0",
                              "AIRBNB_SYNC_SESSION_KEEPALIVE": keepalive})
    session = HostSession(ACCOUNT, dict(pair.split("=", 1) for pair in
                                        make_cookie(ACCOUNT).split("; ")), "0" * 40,
                          "Mozilla/5.0 test")
    return AirbnbClient(session, settings)


def test_only_the_rotated_auth_cookie_of_the_host_is_kept_and_sent(airbnb: str) -> None:
    with _client(airbnb, "true") as client:
        client.listings_section()
        client.listings_section()
        changes = client.changed_session()

    first, second = (dict(part.split("=", 1) for part in header.split("; "))
                     for header in _Airbnb.received)
    assert first["_aat"] != "rotated-value" and second["_aat"] == "rotated-value"
    assert second["li"] == first["li"] == "1"
    assert "_ga" not in second
    assert changes is not None and changes.rotated == {"_aat": "rotated-value"}
    assert set(changes.expires) == {"_aat"}


def test_with_keep_alive_off_set_cookie_is_ignored(airbnb: str) -> None:
    with _client(airbnb, "false") as client:
        client.listings_section()
        client.listings_section()
        assert client.changed_session() is None
    assert _Airbnb.received[0] == _Airbnb.received[1]
    assert "rotated-value" not in _Airbnb.received[1]


@pytest.mark.parametrize(("domain", "host", "allowed"), [
    (".airbnb.com", "www.airbnb.com", True),
    ("www.airbnb.com", "www.airbnb.com", True),
    ("airbnb.co.uk", "www.airbnb.co.uk", True),
    (".co.uk", "www.airbnb.co.uk", False),
    (".com", "www.airbnb.com", False),
    ("evil.example", "www.airbnb.com", False),
    ("notairbnb.com", "www.airbnb.com", False),
    ("127.0.0.1", "127.0.0.1", True),
    ("localhost.local", "localhost", True),
    (".example.com", "sim.example.com", False),
])
def test_cookie_domains_allowed(domain: str, host: str, allowed: bool) -> None:
    assert domain_allowed(domain, host) is allowed
