"""The Airbnb client: sessions, headers, pacing, retries and typed errors.

The unit tests need no network; the others talk to the simulator over real loopback HTTP.
"""

from __future__ import annotations

import json
import logging
import re
import secrets
import socket
import threading
import time
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from itertools import pairwise
from typing import Any
from urllib.parse import quote

import pytest

from airbnb_sync.airbnb.client import (
    AirbnbClient,
    Backoff,
    HostSession,
    is_real_airbnb,
    new_request_id,
)
from airbnb_sync.airbnb.cookies import AUTH_COOKIES, InvalidCookie
from airbnb_sync.airbnb.errors import (
    AirbnbError,
    AirbnbUnavailable,
    ApiKeyRejected,
    AuthExpired,
    QueryHashRejected,
    RateLimited,
)
from airbnb_sync.airbnb.operations import DEFAULT_HASHES, Operation, chart_body
from airbnb_sync.airbnb.pacing import MemoryPacingStore, Pacer
from airbnb_sync.core.settings import Settings, SettingsError, load_settings
from airbnb_sync.simulator import Simulator, SimulatorConfig, make_cookie
from airbnb_sync.simulator.data import unit

ACCOUNT = "41234567"
CLIENT_VERSION = "0123456789abcdef0123456789abcdef01234567"
USER_AGENT = "Mozilla/5.0 (X11; Linux x86_64) Chrome/126.0"


def browser_cookie(account_id: str, token: str) -> str:
    """A browser's whole Cookie header: authentication cookies plus tracking ones."""
    attributes = quote(json.dumps({"id_str": account_id, "curr": "USD"}))
    return (f"bev=1700000000_tracking; _aat={token}; _user_attributes={attributes}; li=1; "
            f"_ga=GA1.2.3.4; _airbed_session_id=s{token[::-1]}")


def test_a_session_keeps_only_the_authentication_cookies() -> None:
    token = secrets.token_hex(16)
    session = HostSession.from_cookie_text(ACCOUNT, browser_cookie(ACCOUNT, token),
                                           CLIENT_VERSION, USER_AGENT)
    assert set(session.cookies) == {"_aat", "_user_attributes", "li", "_airbed_session_id"}
    assert session.cookies["_aat"] == token
    direct = HostSession(ACCOUNT, {"_aat": token, "_ga": "x"}, CLIENT_VERSION, USER_AGENT)
    assert dict(direct.cookies) == {"_aat": token}


def test_a_cookie_of_another_host_is_refused() -> None:
    with pytest.raises(InvalidCookie, match="belongs to Airbnb user 999"):
        HostSession.from_cookie_text(ACCOUNT, browser_cookie("999", secrets.token_hex(16)),
                                     CLIENT_VERSION, USER_AGENT)


def test_sessions_clients_and_settings_never_show_secrets() -> None:
    token, api_key = secrets.token_hex(16), secrets.token_hex(16)
    session = HostSession.from_cookie_text(ACCOUNT, browser_cookie(ACCOUNT, token),
                                           CLIENT_VERSION, USER_AGENT)
    settings = load_settings({"AIRBNB_API_KEY": api_key})
    with AirbnbClient(session, settings) as client:
        shown = " ".join([repr(session), str(session), repr(client), str(client),
                          repr(settings), repr(client.pacer)])
    assert ACCOUNT in shown
    assert token not in shown and api_key not in shown
    assert session == HostSession(ACCOUNT, dict(session.cookies), CLIENT_VERSION, USER_AGENT)
    assert hash(session)  # frozen sessions are usable as keys despite the cookie dict


def test_real_airbnb_without_an_api_key_is_a_configuration_error() -> None:
    session = HostSession.from_cookie_text(ACCOUNT, browser_cookie(ACCOUNT, "t" * 32),
                                           CLIENT_VERSION, USER_AGENT)
    with pytest.raises(SettingsError, match="AIRBNB_API_KEY"):
        AirbnbClient(session, load_settings({}))
    # A stand-in (the simulator) may do without a key.
    AirbnbClient(session, load_settings({"AIRBNB_BASE_URL": "http://127.0.0.1:9"})).close()


def test_only_airbnb_hosts_count_as_real_airbnb() -> None:
    assert is_real_airbnb("https://www.airbnb.com")
    assert is_real_airbnb("https://airbnb.co.uk")
    assert not is_real_airbnb("http://127.0.0.1:8000")
    assert not is_real_airbnb("https://notairbnb.example")


def test_request_ids_are_fresh_30_char_lowercase_alphanumerics() -> None:
    ids = {new_request_id() for _ in range(100)}
    assert len(ids) == 100
    assert all(re.fullmatch(r"[a-z0-9]{30}", value) for value in ids)


# --- against the simulator, over real loopback HTTP ----------------------------------------

API_KEY = f"sim-key-{secrets.token_hex(12)}"
FAST_BACKOFF = Backoff(factor=0.2, jitter=0.02, maximum=1.0)
INTERVAL = 0.05


@pytest.fixture
def simulator() -> Iterator[Simulator]:
    with Simulator(SimulatorConfig(api_key=API_KEY)) as sim:
        yield sim


def settings_for(base_url: str, **env: str) -> Settings:
    return load_settings({"AIRBNB_BASE_URL": base_url, "AIRBNB_API_KEY": API_KEY,
                          "AIRBNB_SYNC_MIN_REQUEST_INTERVAL": str(INTERVAL),
                          "AIRBNB_SYNC_REQUEST_TIMEOUT": "5", **env})


def host_session(account_id: str = ACCOUNT) -> HostSession:
    return HostSession.from_cookie_text(account_id, make_cookie(account_id), CLIENT_VERSION,
                                        USER_AGENT)


def client_for(base_url: str, pacer: Pacer | None = None, **env: str) -> AirbnbClient:
    return AirbnbClient(host_session(), settings_for(base_url, **env), pacer=pacer,
                        backoff=FAST_BACKOFF)


def logged(sim: Simulator) -> list[dict[str, Any]]:
    """The account's request log once the simulator has finished recording every answer
    (it logs the status just after sending it, so the client may be a little faster)."""
    deadline = time.monotonic() + 5
    while True:
        records = sim.requests(ACCOUNT)
        if all(r["finished"] is not None for r in records) or time.monotonic() > deadline:
            return records
        time.sleep(0.005)


def statuses(sim: Simulator) -> list[int]:
    return [record["status"] for record in logged(sim)]


def starts(sim: Simulator) -> list[float]:
    return [record["started"] for record in logged(sim)]


def gaps(sim: Simulator) -> list[float]:
    times = starts(sim)
    return [later - earlier for earlier, later in pairwise(times)]


def pauses(sim: Simulator) -> list[float]:
    """From the simulator's end of each answer to the arrival of the next request.

    A wait the client starts when an answer arrives (Retry-After, backoff) lies entirely
    inside this pause, because the simulator stamps `finished` before the bytes leave: the
    bound holds however late the client is scheduled, unlike a gap between two arrivals."""
    records = logged(sim)
    return [later["started"] - earlier["finished"] for earlier, later in pairwise(records)]


class RecordingPacer(Pacer):
    """A pacer that notes when it reserved each request's slot, on its own clocks.

    The pacer's guarantee is about these moments: two reservations of an account are at least
    `min_interval` apart on the monotonic clock, and a request leaves after its reservation.
    Arrival times at the server add the client's scheduling delay, which a loaded machine
    makes arbitrary, so they cannot show the interval. `preempt` stalls the client for that
    many seconds after its first reservation, as a busy machine does."""

    def __init__(self, min_interval: float, preempt: float = 0.0) -> None:
        self.reserved: list[float] = []
        self.reserved_wall: list[float] = []
        self._reading = (0.0, 0.0)
        self._preempt = preempt
        super().__init__(min_interval, monotonic=self._monotonic_noted)

    def _monotonic_noted(self) -> float:
        # wait_turn reads the monotonic clock last when it reserves the slot.
        self._reading = (time.monotonic(), time.time())
        return self._reading[0]

    def wait_turn(self, account_id: str) -> float:
        waited = super().wait_turn(account_id)
        self.reserved.append(self._reading[0])
        self.reserved_wall.append(self._reading[1])
        if len(self.reserved) == 1:
            time.sleep(self._preempt)
        return waited


def assert_paced(pacer: RecordingPacer, sim: Simulator, interval: float) -> None:
    """The pacer's guarantees, checked on its clocks and on the simulator's."""
    records = logged(sim)
    assert len(pacer.reserved) == len(records)  # one reservation per request sent
    assert all(later - earlier >= interval - 1e-9
               for earlier, later in pairwise(pacer.reserved)), pacer.reserved
    # Each request reached the simulator after its reservation and after the previous answer.
    assert all(record["started"] >= reserved
               for record, reserved in zip(records, pacer.reserved_wall, strict=True))
    assert all(pause >= 0 for pause in pauses(sim))


def seed_with_faults(kind: str, pattern: list[bool], rate: float = 0.5) -> int:
    """A simulator seed whose first requests of ACCOUNT fault (or not) as `pattern` says.
    The tests check the statuses the simulator logged, so a changed fault draw shows up."""
    for seed in range(100_000):
        if all((unit("fault", seed, ACCOUNT, sequence, kind) < rate) == faulty
               for sequence, faulty in enumerate(pattern, start=1)):
            return seed
    raise AssertionError("no seed found")


def first_listing(client: AirbnbClient) -> str:
    section = client.listings_section()
    rows = section["data"]["porygon"]["getPerformanceComponents"]["components"][0]["tableRows"]
    return str(rows[0]["id"])


def test_three_operations_return_raw_json_and_are_counted(simulator: Simulator) -> None:
    with client_for(simulator.url) as client:
        listing_id = first_listing(client)
        chart = client.chart(listing_id, "p3_impressions", -13, 0)
        metrics = client.list_of_metrics(listing_id, "conversion_rate", -6, 0)
    components = chart["data"]["porygon"]["getPerformanceComponents"]["components"]
    assert len(components[0]["metricLineCharts"][0]["dataPoints"]) == 14
    assert "metrics" in metrics["data"]["porygon"]["getPerformanceComponents"]["components"][0]
    assert simulator.stats()["accounts"][ACCOUNT]["by_operation"] == {
        "ListingsSectionQuery": 1, "ChartQuery": 1, "ListOfMetricsQuery": 1}
    metadata = client.stats.as_metadata()
    assert metadata["requests"] == 3
    assert metadata["requests_ChartQuery"] == 1
    assert (metadata["retries"], metadata["rate_limited"], metadata["auth_errors"]) == (0, 0, 0)
    assert metadata["bytes_received"] > len(json.dumps(chart))


class _HeaderRecorder(BaseHTTPRequestHandler):
    """Records what the client really put on the wire; the simulator does not keep headers."""

    protocol_version = "HTTP/1.1"
    seen: list[tuple[str, list[tuple[str, str]], Any]]

    def do_POST(self) -> None:
        body = self.rfile.read(int(self.headers["Content-Length"]))
        self.seen.append((self.path, list(self.headers.items()), json.loads(body)))
        answer = b'{"data": {"porygon": {}}}'
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(answer)))
        self.end_headers()
        self.wfile.write(answer)

    def log_message(self, format: str, *args: Any) -> None:
        pass


@pytest.fixture
def header_recorder() -> Iterator[tuple[str, list[tuple[str, list[tuple[str, str]], Any]]]]:
    seen: list[tuple[str, list[tuple[str, str]], Any]] = []
    handler = type("Recorder", (_HeaderRecorder,), {"seen": seen})
    server = ThreadingHTTPServer(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.05},
                              daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}", seen
    finally:
        server.shutdown()
        server.server_close()


def test_headers_and_body_are_what_airbnbs_web_client_sends(header_recorder: Any) -> None:
    url, seen = header_recorder
    with client_for(url) as client:
        client.chart("777", "conversion_rate", -27, 0)
        client.chart("777", "conversion_rate", -27, 0)
    path, headers, body = seen[0]
    assert path == "/api/v3/ChartQuery/" + DEFAULT_HASHES[Operation.CHART]
    assert body == chart_body(DEFAULT_HASHES[Operation.CHART], "777", "conversion_rate", -27, 0)
    sent = {name.lower(): value for name, value in headers}
    assert len(sent) == len(headers)  # no header twice
    expected = {
        "accept": "*/*",
        "accept-language": "en-US,en;q=0.9",
        "content-type": "application/json",
        "x-airbnb-graphql-platform": "web",
        "x-airbnb-graphql-platform-client": "minimalist-niobe",
        "x-airbnb-supports-airlock-v2": "true",
        "x-csrf-token": "",
        "x-csrf-without-token": "1",
        "x-niobe-short-circuited": "true",
        "user-agent": USER_AGENT,
        "x-client-version": CLIENT_VERSION,
        "x-airbnb-api-key": API_KEY,
    }
    assert {name: sent.get(name) for name in expected} == expected
    cookies = dict(pair.split("=", 1) for pair in sent["cookie"].split("; "))
    assert set(cookies) == set(AUTH_COOKIES)  # the tracking cookies stayed home
    assert cookies == {name: value for name, value in
                       (pair.split("=", 1) for pair in make_cookie(ACCOUNT).split("; "))
                       if name in AUTH_COOKIES}
    ids = [{name.lower(): value for name, value in h} for _, h, _ in seen]
    for name in ("x-airbnb-client-trace-id", "x-client-request-id"):
        assert all(re.fullmatch(r"[a-z0-9]{30}", request[name]) for request in ids)
        assert ids[0][name] != ids[1][name]
    assert set(sent) - set(expected) == {"cookie", "host", "content-length", "accept-encoding",
                                         "x-airbnb-client-trace-id", "x-client-request-id"}


@pytest.mark.parametrize("bypassed", [False, True], ids=["proxied", "no_proxy"])
def test_the_proxy_of_the_environment_is_used_unless_no_proxy_names_the_host(
        simulator: Simulator, monkeypatch: pytest.MonkeyPatch, bypassed: bool) -> None:
    """The client resolves the environment's proxy settings once (not per request): they
    must still apply. A second simulator plays the HTTP proxy (it answers the absolute URL
    a proxy receives), so the request is seen by exactly one of the two."""
    for name in ("NO_PROXY", "no_proxy", "HTTP_PROXY", "http_proxy", "ALL_PROXY", "all_proxy"):
        monkeypatch.delenv(name, raising=False)
    with Simulator(SimulatorConfig(api_key=API_KEY)) as proxy:
        monkeypatch.setenv("HTTP_PROXY", proxy.url)
        if bypassed:
            monkeypatch.setenv("NO_PROXY", "127.0.0.1,localhost")
        with client_for(simulator.url) as client:
            client.listings_section()
            client.listings_section()
        through_proxy = proxy.stats()["total_requests"]
    assert (through_proxy, simulator.stats()["total_requests"]) == ((0, 2) if bypassed
                                                                    else (2, 0))


@pytest.mark.parametrize("preempt", [0.0, 0.05], ids=["idle", "client-preempted"])
def test_requests_of_an_account_are_spaced_by_the_interval(simulator: Simulator,
                                                           preempt: float) -> None:
    pacer = RecordingPacer(0.1, preempt=preempt)
    with client_for(simulator.url, pacer) as client:
        for _ in range(6):
            client.listings_section()
    assert len(logged(simulator)) == 6
    assert_paced(pacer, simulator, 0.1)
    # No wait is longer than one interval with the largest jitter.
    assert client.stats.seconds_waiting <= 5 * 0.1 * (1 + pacer.jitter) + 1e-6


def test_retry_after_is_honoured_before_the_next_attempt(simulator: Simulator) -> None:
    simulator.configure(rate_limit=1.0, rate_burst=1)
    with client_for(simulator.url) as client:
        client.listings_section()
        client.listings_section()  # too soon for 1 request/s: 429, Retry-After: 1
    assert statuses(simulator) == [200, 429, 200]
    assert pauses(simulator)[1] >= 1.0
    assert simulator.stats()["retry_after_violations"] == 0
    assert (client.stats.rate_limited, client.stats.retries) == (1, 1)
    assert client.stats.seconds_waiting >= 1.0


def test_a_retry_after_holds_back_another_process_of_the_account(simulator: Simulator) -> None:
    simulator.configure(throttle_rate=1.0, throttle_retry_after=1)
    shared = MemoryPacingStore()  # stands for the warehouse table both processes read
    first = client_for(simulator.url, Pacer(INTERVAL, store=shared),
                       AIRBNB_SYNC_RETRY_BUDGET="0")
    with first, pytest.raises(RateLimited):
        first.listings_section()
    simulator.configure(throttle_rate=0.0)
    with client_for(simulator.url, Pacer(INTERVAL, store=shared)) as second:
        second.listings_section()
    assert statuses(simulator) == [429, 200]
    assert pauses(simulator)[0] >= 1.0
    assert simulator.stats()["retry_after_violations"] == 0


def test_rate_limiting_beyond_the_budget_raises_rate_limited(simulator: Simulator) -> None:
    simulator.configure(throttle_rate=1.0, throttle_retry_after=1)
    client = client_for(simulator.url, AIRBNB_SYNC_RETRY_BUDGET="1.5")
    with client, pytest.raises(RateLimited, match=f"account {ACCOUNT} on ListingsSectionQuery"):
        client.listings_section()
    assert statuses(simulator) == [429, 429]  # a second wait of 1 s would exceed 1.5 s
    assert pauses(simulator)[0] >= 1.0
    assert (client.stats.rate_limited, client.stats.retries) == (2, 1)


def test_retry_after_is_capped_by_max_retry_after(simulator: Simulator) -> None:
    simulator.configure(throttle_rate=1.0, throttle_retry_after=30)
    client = client_for(simulator.url, AIRBNB_SYNC_MAX_RETRY_AFTER="0.3",
                        AIRBNB_SYNC_MAX_RETRIES="1")
    with client, pytest.raises(RateLimited):
        client.listings_section()
    assert statuses(simulator) == [429, 429]
    assert pauses(simulator)[0] >= 0.3 and gaps(simulator)[0] < 5


def test_server_errors_are_retried_with_exponential_backoff(simulator: Simulator) -> None:
    simulator.configure(error_rate=0.5, seed=seed_with_faults("error", [True, True, False]))
    pacer = RecordingPacer(INTERVAL)
    with client_for(simulator.url, pacer) as client:
        client.listings_section()
    observed = statuses(simulator)
    assert [status >= 500 for status in observed] == [True, True, False]
    assert_paced(pacer, simulator, INTERVAL)  # urllib3 retries the first failure at once
    assert pauses(simulator)[1] >= 2 * FAST_BACKOFF.factor  # then factor * 2^(n-1) + jitter
    assert client.stats.retries == 2
    assert client.stats.total_requests == 1


def test_persistent_server_errors_end_in_airbnb_unavailable(simulator: Simulator) -> None:
    simulator.configure(error_rate=1.0)
    client = client_for(simulator.url, AIRBNB_SYNC_MAX_RETRIES="2")
    with client, pytest.raises(AirbnbUnavailable, match=r"HTTP 50\d after 3 attempts"):
        client.listings_section()
    assert len(statuses(simulator)) == 3


def test_timeouts_are_retried_then_airbnb_unavailable(simulator: Simulator) -> None:
    simulator.configure(latency_ms=400)
    client = client_for(simulator.url, AIRBNB_SYNC_REQUEST_TIMEOUT="0.1",
                        AIRBNB_SYNC_MAX_RETRIES="1")
    with client, pytest.raises(AirbnbUnavailable, match="ListingsSectionQuery"):
        client.listings_section()
    assert len(simulator.requests(ACCOUNT)) == 2
    assert client.stats.retries == 1


def test_connection_errors_are_retried_then_airbnb_unavailable() -> None:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        closed_port = probe.getsockname()[1]
    client = client_for(f"http://127.0.0.1:{closed_port}", AIRBNB_SYNC_MAX_RETRIES="2")
    with client, pytest.raises(AirbnbUnavailable, match="ConnectionError after retries"):
        client.listings_section()
    assert client.stats.retries == 2


@pytest.mark.parametrize("knob", ["malformed_rate", "truncate_rate"])
def test_broken_bodies_get_a_bounded_retry_then_airbnb_unavailable(simulator: Simulator,
                                                                  knob: str) -> None:
    simulator.configure(**{knob: 1.0})
    client = client_for(simulator.url)
    with client, pytest.raises(AirbnbUnavailable, match=r"\(3 attempts\)"):
        client.listings_section()
    assert statuses(simulator) == [200, 200, 200]
    first_pause, second_pause = pauses(simulator)
    assert first_pause >= FAST_BACKOFF.factor and second_pause >= 2 * FAST_BACKOFF.factor
    assert client.stats.retries == 2


def test_a_broken_body_then_a_good_one_succeeds(simulator: Simulator) -> None:
    simulator.configure(malformed_rate=0.5, seed=seed_with_faults("malformed", [True, False]))
    with client_for(simulator.url) as client:
        assert first_listing(client)
    assert [record["fault"] for record in logged(simulator)] == ["malformed", None]


@pytest.mark.parametrize("status", [200, 401])
def test_an_expired_session_costs_exactly_one_request(simulator: Simulator, status: int) -> None:
    simulator.configure(auth_error_status=status, expired_accounts=[ACCOUNT])
    with client_for(simulator.url) as client:
        with pytest.raises(AuthExpired, match=f"accounts update {ACCOUNT}"):
            client.listings_section()
        simulator.restore(ACCOUNT)  # even a session that works again is not tried
        with pytest.raises(AuthExpired, match="nothing was sent"):
            client.chart("1", "conversion_rate", 0, 6)
    assert simulator.stats()["accounts"][ACCOUNT]["requests"] == 1
    assert client.stats.auth_errors == 1


def test_a_rotated_hash_names_the_variable_to_set(simulator: Simulator) -> None:
    with client_for(simulator.url, AIRBNB_SYNC_HASH_LIST_OF_METRICS="f" * 64) as client:
        listing_id = first_listing(client)
        with pytest.raises(QueryHashRejected, match="AIRBNB_SYNC_HASH_LIST_OF_METRICS"):
            client.list_of_metrics(listing_id, "p3_impressions", -6, 0)
        client.chart(listing_id, "p3_impressions", -6, 0)  # the other operations go on
    assert len(statuses(simulator)) == 3


def test_an_invalid_api_key_names_the_variable_to_set(simulator: Simulator) -> None:
    settings = load_settings({"AIRBNB_BASE_URL": simulator.url, "AIRBNB_API_KEY": "wrong-key",
                              "AIRBNB_SYNC_MIN_REQUEST_INTERVAL": "0"})
    with AirbnbClient(host_session(), settings) as client, \
            pytest.raises(ApiKeyRejected, match="AIRBNB_API_KEY") as raised:
        client.listings_section()
    assert "wrong-key" not in str(raised.value)
    assert statuses(simulator) == [401]
    assert client.stats.auth_errors == 0


def test_other_client_errors_are_not_retried(simulator: Simulator) -> None:
    with client_for(simulator.url) as client, \
            pytest.raises(AirbnbError, match=r"ChartQuery .* HTTP 403") as raised:
        client.chart("999999999", "conversion_rate", -6, 0)  # not this host's listing
    assert type(raised.value) is AirbnbError
    assert statuses(simulator) == [403]


def test_secrets_stay_out_of_logs_and_errors(simulator: Simulator,
                                             caplog: pytest.LogCaptureFixture) -> None:
    # No SecretFilter here: the client itself must not log secrets, even at DEBUG.
    caplog.set_level(logging.DEBUG)
    simulator.configure(rate_limit=1.0, rate_burst=1)
    raised: list[Exception] = []
    with client_for(simulator.url) as client:
        client.listings_section()
        client.listings_section()  # a 429 and its retry
        simulator.expire(ACCOUNT)
        for call in (client.listings_section, client.listings_section):
            try:
                call()
            except AuthExpired as exc:
                raised.append(exc)
    with client_for(f"http://127.0.0.1:{simulator.port}", AIRBNB_API_KEY="another-api-key-x",
                    AIRBNB_SYNC_MAX_RETRIES="0") as wrong_key:
        try:
            wrong_key.listings_section()
        except ApiKeyRejected as exc:
            raised.append(exc)
    assert len(raised) == 3
    assert any(record.name.startswith("urllib3") for record in caplog.records)
    assert "POST /api/v3/ListingsSectionQuery" in caplog.text
    shown = caplog.text + " ".join(f"{exc} {exc!r}" for exc in raised)
    cookies = host_session().cookies
    leaked = [name for name, value in cookies.items() if len(value) >= 8 and value in shown]
    assert leaked == []
    assert API_KEY not in shown and "another-api-key-x" not in shown
