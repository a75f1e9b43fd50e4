"""Fresh sessions over real HTTP on every warehouse: a paste, or the browser companion's
cookies (cookies of other domains ignored, only the authentication cookies kept, the user
must be the account's), answered with the session's new state and never a value; and the
check, against the simulator, recording ok or expired as `accounts check` does."""

from __future__ import annotations

import json
from collections.abc import Iterator
from datetime import UTC, datetime
from urllib.parse import quote

import pytest
from api_helpers import Api, assert_problem, free_port, serve_api
from paste_forms import FIREFOX_UA, har

from airbnb_sync.airbnb.cookies import AUTH_COOKIES
from airbnb_sync.core.settings import Settings, load_settings
from airbnb_sync.simulator import Simulator, SimulatorConfig, make_cookie

HOST = "58765432"
OTHER = "41234567"
# An expiry within the 400 days browsers allow (airbnb/cookies.py caps longer ones), to the second.
EXPIRES = int(datetime.now(UTC).timestamp()) + 200 * 86_400


def browser_cookies(account_id: str, domain: str = ".airbnb.com") -> list[dict]:
    """What chrome.cookies.getAll gives for an Airbnb sign-in: every cookie of the header."""
    pairs = [pair.split("=", 1) for pair in make_cookie(account_id).split("; ")]
    return [{"name": name, "value": value, "domain": domain,
             "expires": EXPIRES if name == "_aat" else None} for name, value in pairs]


@pytest.fixture
def host(api: Api) -> Api:
    api.add_account(HOST, cookie=f"_aat=old-{'o' * 20}; _user_attributes="
                                 f"{quote(json.dumps({'id_str': HOST}))}")
    api.store.set_auth_status(HOST, "expired")
    return api


def test_the_companions_cookies_refresh_the_session(host: Api) -> None:
    token = host.token("companion", account_id=HOST)
    foreign = [{"name": "_aat", "value": "from-elsewhere-1234567890", "domain": ".example.org",
                "expires": None},
               {"name": "_aat", "value": "lookalike-1234567890", "domain":
                "airbnb.com.example.org", "expires": None},
               {"name": "session", "value": "bank-cookie-1234567890", "domain": "bank.example",
                "expires": 1}]
    sent = [*foreign, *browser_cookies(HOST)]
    response = host.call("POST", f"/api/v1/accounts/{HOST}/session", token,
                         json={"cookies": sent, "user_agent": FIREFOX_UA})
    assert response.status_code == 200, response.text
    state = response.json()
    assert state["account_id"] == HOST and state["auth_status"] == "unknown"
    assert state["cookies_kept"] == [name for name in AUTH_COOKIES
                                     if name in {c["name"] for c in browser_cookies(HOST)}]
    assert state["cookies_ignored"] == len(sent) - len(state["cookies_kept"])
    assert state["session_expires_at"] == (datetime.fromtimestamp(EXPIRES, UTC)
                                           .isoformat().replace("+00:00", "Z"))
    assert state["session_age"] == "0m"
    session = host.store.session(HOST)
    expected = {c["name"]: c["value"] for c in browser_cookies(HOST) if c["name"] in AUTH_COOKIES}
    assert dict(session.cookies) == expected  # Airbnb's cookies only, none of the others
    assert session.user_agent == FIREFOX_UA
    for cookie in sent:
        if len(cookie["value"]) >= 8:  # not the flags such as li=1
            assert cookie["value"] not in response.text


def test_the_cookies_of_another_airbnb_domain_lose_to_the_base_urls(host: Api) -> None:
    token = host.token("companion")
    french = [{**cookie, "value": cookie["value"] + "fr"} if cookie["name"] == "_aat" else cookie
              for cookie in browser_cookies(HOST, ".airbnb.fr")]
    response = host.call("POST", f"/api/v1/accounts/{HOST}/session", token,
                         json={"cookies": [*french, *browser_cookies(HOST)], "user_agent": None})
    assert response.status_code == 200, response.text
    assert host.store.session(HOST).cookies["_aat"] == dict(
        (c["name"], c["value"]) for c in browser_cookies(HOST))["_aat"]


@pytest.mark.parametrize("cookies, phrase", [
    (browser_cookies(OTHER), f"belong to Airbnb user {OTHER}, not to account {HOST}"),
    (browser_cookies(HOST, ".example.org"), "hold no Airbnb session"),
    ([c for c in browser_cookies(HOST) if c["name"] != "_user_attributes"], "_user_attributes"),
    ([{**c, "expires": "next tuesday"} for c in browser_cookies(HOST)], "expires is not a time"),
])
def test_refused_cookies_change_nothing(host: Api, cookies: list[dict], phrase: str) -> None:
    token = host.token("companion")
    before = host.store.get(HOST)
    response = host.call("POST", f"/api/v1/accounts/{HOST}/session", token,
                         json={"cookies": cookies, "user_agent": FIREFOX_UA})
    assert_problem(response, 422, phrase)
    assert host.store.get(HOST) == before
    assert host.store.session(HOST).cookies["_aat"].startswith("old-")


def test_a_session_post_needs_exactly_one_form(host: Api) -> None:
    token = host.token("t")
    url = f"/api/v1/accounts/{HOST}/session"
    assert_problem(host.call("POST", url, token, json={}), 422, "either")
    assert_problem(host.call("POST", url, token, json={"paste": "curl x", "cookies": []}), 422,
                   "either")
    assert_problem(host.call("POST", url, token, json={"cookies": "a=b"}), 422, "cookies")


def test_a_pasted_har_refreshes_the_session_with_its_expiry(host: Api) -> None:
    token = host.token("t")
    response = host.call("POST", f"/api/v1/accounts/{HOST}/session", token, json={
        "paste": har(make_cookie(HOST), cookie_expires="2027-03-01T12:00:00.000Z")})
    assert response.status_code == 200, response.text
    assert response.json()["session_expires_at"] == "2027-03-01T12:00:00Z"
    assert host.store.get(HOST).auth_status == "unknown"


@pytest.fixture
def simulated(dagster_home: object, database_url: str, monkeypatch: pytest.MonkeyPatch,
              api_settings: Settings) -> Iterator[Api]:
    with Simulator(SimulatorConfig(expired_accounts=frozenset({OTHER}))) as simulator:
        monkeypatch.setenv("AIRBNB_BASE_URL", simulator.url)
        monkeypatch.setenv("AIRBNB_API_KEY", "sim-api-key")
        for api in serve_api(load_settings(), database_url):
            api.add_account(HOST)
            api.add_account(OTHER)
            yield api


def test_check_records_ok_and_expired(simulated: Api) -> None:
    token = simulated.token("checker")
    started = datetime.now(UTC)
    ok = simulated.call("POST", f"/api/v1/accounts/{HOST}/check", token)
    assert ok.status_code == 200, ok.text
    assert (ok.json()["ok"], ok.json()["auth_status"]) == (True, "ok")
    assert simulated.store.get(HOST).auth_checked_at >= started.replace(microsecond=0)
    expired = simulated.call("POST", f"/api/v1/accounts/{OTHER}/check", token)
    assert expired.status_code == 200, expired.text
    assert (expired.json()["ok"], expired.json()["auth_status"]) == (False, "expired")
    assert "expired" in expired.json()["detail"]
    assert simulated.store.get(OTHER).auth_status == "expired"


def test_check_without_an_api_key_to_send_is_a_conflict(host: Api) -> None:
    # Registered from a cookie (no key captured) while AIRBNB_API_KEY is unset.
    token = host.token("checker")
    before = host.store.get(HOST)
    response = host.call("POST", f"/api/v1/accounts/{HOST}/check", token)
    assert_problem(response, 409, "AIRBNB_API_KEY")
    assert host.store.get(HOST) == before


def test_check_when_airbnb_cannot_be_reached_is_a_502(dagster_home: object, database_url: str,
                                                      monkeypatch: pytest.MonkeyPatch,
                                                      api_settings: Settings) -> None:
    monkeypatch.setenv("AIRBNB_BASE_URL", f"http://127.0.0.1:{free_port()}")  # nobody there
    monkeypatch.setenv("AIRBNB_API_KEY", "sim-api-key")
    monkeypatch.setenv("AIRBNB_SYNC_MAX_RETRIES", "0")
    for api in serve_api(load_settings(), database_url):
        api.add_account(HOST)
        before = api.store.get(HOST)
        response = api.call("POST", f"/api/v1/accounts/{HOST}/check", api.token("checker"))
        assert_problem(response, 502, f"could not check account {HOST}")
        assert api.store.get(HOST).auth_status == before.auth_status
