"""The invite page in headless Chromium (Debian's, through Playwright), served by the REST API
over real HTTP: an owner opens the link `airbnb-sync api invite` printed, pastes a "Copy as
cURL", sees what is kept and what is not, submits and sees the result; the link then refuses a
second use, an expired link refuses at once, and another user's paste is refused. The page
loads nothing but its own files, under a strict Content-Security-Policy."""

from __future__ import annotations

import io
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

import pytest
import requests
from browsers import CHROMIUM_ARGS, require_chromium, screenshot_path
from cryptography.fernet import Fernet
from live_api import RecordingApp, live_api

from airbnb_sync.accounts.store import open_store
from airbnb_sync.api.invites import InviteStore, invite_url
from airbnb_sync.api.routes.invites import CONTENT_SECURITY_POLICY
from airbnb_sync.cli.main import main as cli
from airbnb_sync.core.settings import load_settings
from airbnb_sync.simulator import Simulator, SimulatorConfig, make_cookie
from airbnb_sync.simulator.paste_sample import SAMPLE_USER_AGENT, sample_curl

pytestmark = pytest.mark.slow
OWNER, OTHER, NEWCOMER = "41234567", "58765432", "77000001"
API_KEY = "sim-api-key"


@dataclass
class Site:
    api: str
    recorder: RecordingApp
    simulator: Simulator

    def curl(self, account_id: str) -> str:
        return sample_curl(account_id, API_KEY, self.simulator.url)

    def invite(self, *args: str, capsys: pytest.CaptureFixture[str]) -> str:
        capsys.readouterr()
        assert cli(["api", "invite", *args]) == 0
        out = capsys.readouterr().out.strip().splitlines()
        assert out[-1].startswith(f"{self.api}/api/v1/invite#abi_")
        return out[-1]


@pytest.fixture
def site(database_url: str, dagster_home, monkeypatch: pytest.MonkeyPatch) -> Iterator[Site]:
    require_chromium()
    monkeypatch.setenv("AIRBNB_SYNC_DATABASE_URL", database_url)
    monkeypatch.setenv("AIRBNB_SYNC_SECRET_KEY", Fernet.generate_key().decode())
    with Simulator(SimulatorConfig(api_key=API_KEY)) as simulator:
        monkeypatch.setenv("AIRBNB_BASE_URL", simulator.url)
        for account in (OWNER, OTHER):
            monkeypatch.setattr("sys.stdin", io.StringIO(sample_curl(account, API_KEY,
                                                                     simulator.url)))
            assert cli(["accounts", "add", "--from-curl", "-", "--label", f"host {account}"]) == 0
        with live_api(load_settings()) as (api, recorder):
            monkeypatch.setenv("AIRBNB_SYNC_API_URL", api)
            yield Site(api, recorder, simulator)


@pytest.fixture
def browser() -> Iterator:
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        launched = playwright.chromium.launch(executable_path=require_chromium(),
                                              args=CHROMIUM_ARGS)
        yield launched
        launched.close()


class Visit:
    """The page, with every request, console error and CSP violation recorded."""

    def __init__(self, browser, url: str) -> None:
        self.page = browser.new_page(viewport={"width": 900, "height": 1100})
        self.requests: list[str] = []
        self.errors: list[str] = []
        self.page.on("request", lambda request: self.requests.append(request.url))
        self.page.on("console", lambda m: self.errors.append(m.text) if m.type == "error"
                     else None)
        self.page.on("pageerror", lambda exc: self.errors.append(str(exc)))
        self.response = self.page.goto(url)
        # The page's script marks its state (the CSP forbids the string evaluation that
        # wait_for_function would need).
        self.page.wait_for_selector("body[data-state]")

    def status(self) -> str:
        return self.page.inner_text("#status")

    def paste_and_check(self, text: str) -> None:
        self.page.fill("#paste", text)
        self.page.click("#check")
        self.page.wait_for_selector("#preview:not([hidden]), #problem:not([hidden])")


def test_an_owner_refreshes_their_session_once(site: Site, browser,
                                               capsys: pytest.CaptureFixture[str]) -> None:
    store = open_store(load_settings())
    store.set_auth_status(OWNER, "expired")  # Airbnb refused it: the invite restores it
    stored_before = store.get(OWNER).session_stored_at
    link = site.invite("--account", OWNER, "--expires", "2d", "--label", "Downtown lofts",
                       capsys=capsys)
    token = link.split("#", 1)[1]

    visit = Visit(browser, link)
    assert visit.response is not None and visit.response.status == 200
    headers = visit.response.headers
    assert headers["content-security-policy"] == CONTENT_SECURITY_POLICY
    assert headers["x-content-type-options"] == "nosniff"
    assert f"host account {OWNER} (Downtown lofts)" in visit.status()
    for browser_name in ("Chrome or Edge", "Firefox", "Safari"):
        assert visit.page.locator("summary", has_text=browser_name).count() == 1

    # Another user's paste: refused with the reason, nothing stored, the link still works.
    visit.paste_and_check(site.curl(OTHER))
    problem = visit.page.inner_text("#problem")
    assert f"belongs to Airbnb user {OTHER}, not to account {OWNER}" in problem
    assert visit.page.is_hidden("#preview")

    # The owner's own paste: what is kept, what is not, by name only.
    visit.paste_and_check(site.curl(OWNER))
    kept, dropped = visit.page.inner_text("#kept"), visit.page.inner_text("#dropped")
    assert "9 sign-in cookies: _airbed_session_id, _aaj, _aat" in kept
    assert SAMPLE_USER_AGENT in kept and "0123456789abcdef" in kept
    assert "_ga" in dropped and "bev" in dropped and "cdn_exp_0d2d7e4f0ab3" in dropped
    assert "_aat" not in dropped
    visit.page.screenshot(path=str(screenshot_path("invite-page-preview.png")), full_page=True)

    visit.page.click("#submit")
    visit.page.wait_for_selector("#result:not([hidden])")
    assert f"the Airbnb session of account {OWNER} is stored" in visit.page.inner_text("#result")
    visit.page.screenshot(path=str(screenshot_path("invite-page-done.png")), full_page=True)

    record = store.get(OWNER)
    assert record.auth_status == "unknown" and record.session_stored_at > stored_before
    assert record.session_restored_at is not None  # the restore sensor takes it from here
    assert store.session(OWNER).cookies["_aat"] in make_cookie(OWNER)

    # The page loaded its own three files and asked its own API, nothing else.
    assert all(url.startswith(site.api) for url in visit.requests), visit.requests
    assert {url.split("#")[0].removeprefix(site.api) for url in visit.requests} >= {
        "/api/v1/invite", "/api/v1/invite/invite.js", "/api/v1/invite/invite.css",
        "/api/v1/invite/favicon.svg"}
    assert visit.errors == ["Failed to load resource: the server responded with a status of "
                            "422 (Unprocessable Entity)"]  # the other user's paste, above

    # Used once: the same link now says so, in the browser and to a client.
    again = Visit(browser, link)
    assert "already used" in again.status() and again.page.is_hidden("#form")
    answer = requests.post(f"{site.api}/api/v1/invite/accept",
                           json={"token": token, "paste": site.curl(OWNER)}, timeout=10)
    assert answer.status_code == 410 and "already used" in answer.json()["detail"]

    # No answer and no request body log carried a cookie value or the token in a URL.
    secrets = [pair.split("=", 1)[1] for pair in make_cookie(OWNER).split("; ")
               if len(pair.split("=", 1)[1]) > 8]
    assert not any(token in url for url in visit.requests if "#" not in url)
    for value in secrets:
        assert value not in again.page.content()


def test_an_expired_link_refuses_at_once(site: Site, browser) -> None:
    engine = open_store(load_settings()).engine
    created = datetime.now(UTC) - timedelta(hours=3)
    _, token = InviteStore(engine, now=lambda: created).create(OWNER, timedelta(hours=2))
    visit = Visit(browser, invite_url(site.api, token))
    assert "expired on" in visit.status() and visit.page.is_hidden("#form")
    visit.page.screenshot(path=str(screenshot_path("invite-page-expired.png")))
    answer = requests.post(f"{site.api}/api/v1/invite/accept",
                           json={"token": token, "paste": site.curl(OWNER)}, timeout=10)
    assert answer.status_code == 410
    assert open_store(load_settings()).get(OWNER).session_restored_at is None

    unknown = Visit(browser, invite_url(site.api, "abi_" + "x" * 43))
    assert "not known here" in unknown.status()
    bare = Visit(browser, f"{site.api}/api/v1/invite")
    assert "needs the whole invite link" in bare.status()


def test_a_new_owner_registers_through_a_link(site: Site, browser,
                                              capsys: pytest.CaptureFixture[str]) -> None:
    link = site.invite("--new", "--label", "Seaside flats", capsys=capsys)
    visit = Visit(browser, link)
    assert "your Airbnb host account (Seaside flats)" in visit.status()
    visit.paste_and_check(site.curl(NEWCOMER))
    visit.page.click("#submit")
    visit.page.wait_for_selector("#result:not([hidden])")
    assert f"Airbnb host {NEWCOMER} is registered" in visit.page.inner_text("#result")
    record = open_store(load_settings()).get(NEWCOMER)
    assert record.label == "Seaside flats" and record.is_active

    # A new-account link refuses a host registered already, and the link stays usable.
    second = Visit(browser, site.invite("--new", capsys=capsys))
    second.paste_and_check(site.curl(OTHER))
    second.page.click("#submit")
    second.page.wait_for_selector("#problem:not([hidden])")
    assert f"Airbnb user {OTHER} is registered here already" in second.page.inner_text(
        "#problem")
    assert second.page.is_visible("#submit")


def test_no_answer_and_no_log_line_holds_a_cookie_value_or_the_link(
        site: Site, capsys: pytest.CaptureFixture[str], caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level("DEBUG")
    link = site.invite("--account", OWNER, capsys=capsys)
    token = link.split("#", 1)[1]
    secrets = [pair.split("=", 1)[1] for pair in make_cookie(OWNER).split("; ")
               if len(pair.split("=", 1)[1]) > 8] + [token, API_KEY]
    answers = [requests.get(f"{site.api}/api/v1/invite", timeout=10)]
    for path, body in (("status", {}), ("preview", {"paste": site.curl(OTHER)}),
                       ("preview", {"paste": site.curl(OWNER)}),
                       ("accept", {"paste": site.curl(OWNER)}),
                       ("accept", {"paste": site.curl(OWNER)})):
        answers.append(requests.post(f"{site.api}/api/v1/invite/{path}",
                                     json={"token": token, **body}, timeout=10))
    assert [answer.status_code for answer in answers] == [200, 200, 422, 200, 200, 410]
    for answer in answers:
        for value in secrets:
            assert value not in answer.text and value not in str(answer.headers)
    logged = capsys.readouterr().err + caplog.text
    assert "/api/v1/invite/accept" in logged  # the access lines are there
    for value in secrets:
        assert value not in logged
