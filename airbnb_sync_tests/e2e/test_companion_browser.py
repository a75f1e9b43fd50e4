"""The browser companion (companion/) loaded in Chromium (Debian's, new headless mode, a
persistent profile with --load-extension), with Airbnb's host names mapped to the simulator on
TLS (a certificate made here): a simulated sign-in sets the host's cookies, the extension posts
them to the REST API over real HTTP, the account's session is the browser's new one, and a
sync through Dagster then succeeds. No cookie of another domain, and no cookie but the nine
authentication cookies, ever reaches the API; automatic sends wait hours, a click does not."""

from __future__ import annotations

import json
import shutil
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from browsers import CHROMIUM_ARGS, require_chromium, screenshot_path
from live_api import RecordingApp, live_api
from pipeline_helpers import HOSTS, run_range, weeks_ending_now
from tls_cert import server_context

from airbnb_sync.accounts.store import open_store
from airbnb_sync.airbnb.cookies import AUTH_COOKIES
from airbnb_sync.cli.main import main as cli
from airbnb_sync.core.settings import load_settings
from airbnb_sync.simulator import Simulator

pytestmark = pytest.mark.slow
COMPANION = Path(__file__).resolve().parents[2] / "companion"
OWNER, OTHER = HOSTS
# Other sites the browser reaches (mapped to the simulator too): their cookies, named like
# Airbnb's, must never leave the browser.
OTHER_SITES = ("www.notairbnb.com", "airbnb.com.evil.test")
CANARIES = {"www.notairbnb.com": "canaryNotAirbnb0001", "airbnb.com.evil.test":
            "canaryEvilTest0002"}


def _wait(condition, timeout: float = 30.0, what: str = "condition") -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out waiting for {what}")
        time.sleep(0.1)


def session_posts(recorder: RecordingApp, account_id: str) -> list[dict]:
    path = f"/api/v1/accounts/{account_id}/session"
    return [json.loads(body) for where, body in recorder.bodies if where == path]


def companion_copy(folder: Path, api: str) -> Path:
    """The companion as shipped, plus the permission for the API's origin that the options
    page asks for: Chromium's permission prompt is browser UI no test can click, so the copy
    holds the grant the user would give (permissions.request then resolves at once)."""
    copy = folder / "companion"
    shutil.copytree(COMPANION, copy)
    manifest = json.loads((copy / "manifest.json").read_text())
    manifest["host_permissions"].append(f"{api}/*")
    (copy / "manifest.json").write_text(json.dumps(manifest))
    return copy


@pytest.fixture
def browser_context(pipeline_env: Simulator, tmp_path: Path) -> Iterator[tuple]:
    """A Chromium profile with the companion, Airbnb mapped to the simulator, and the API."""
    require_chromium()
    from playwright.sync_api import sync_playwright

    simulator = pipeline_env
    context, _ = server_context(tmp_path, ["www.airbnb.com", *OTHER_SITES])
    port = simulator.serve_tls(context).rsplit(":", 1)[1]
    rules = ", ".join(f"MAP {host} 127.0.0.1:{port}" for host in ("www.airbnb.com",
                                                                   *OTHER_SITES))
    with live_api(load_settings()) as (api, recorder):
        extension = companion_copy(tmp_path, api)
        with sync_playwright() as playwright:
            browser = playwright.chromium.launch_persistent_context(
                str(tmp_path / "profile"), executable_path=require_chromium(), headless=False,
                args=["--headless=new", *CHROMIUM_ARGS,
                      f"--disable-extensions-except={extension}",
                      f"--load-extension={extension}", f"--host-resolver-rules={rules}",
                      "--ignore-certificate-errors"])
            try:
                worker = (browser.service_workers[0] if browser.service_workers
                          else browser.wait_for_event("serviceworker", timeout=30_000))
                extension_id = worker.url.split("/")[2]
                yield browser, extension_id, api, recorder
            finally:
                browser.close()


def open_popup(browser, extension_id: str):
    popup = browser.new_page()
    popup.set_viewport_size({"width": 380, "height": 330})  # about a popup's size
    popup.goto(f"chrome-extension://{extension_id}/popup.html")
    popup.wait_for_selector("#account")
    return popup


def test_the_companion_sends_the_new_session_and_a_sync_succeeds(
        pipeline_env: Simulator, browser_context, capsys: pytest.CaptureFixture[str]) -> None:
    simulator = pipeline_env
    browser, extension_id, api, recorder = browser_context
    capsys.readouterr()
    assert cli(["api", "token", "create", "--name", "companion", "--account", OWNER]) == 0
    token = capsys.readouterr().out.strip().splitlines()[-1]
    store = open_store(load_settings())
    stored_before = store.get(OWNER).session_stored_at

    # Options: the server and the token; a token the server refuses is not saved, and the
    # account id is the token's own when left empty.
    page = browser.new_page()
    page.goto(f"chrome-extension://{extension_id}/options.html")
    page.fill("#server", api)
    page.fill("#token", "abs_not-a-token")
    page.click("#save")
    page.wait_for_selector("#message.failed")
    assert "the server does not accept this token" in page.inner_text("#message")
    page.fill("#token", token)
    page.click("#save")
    page.wait_for_selector("#message.ok")
    assert page.inner_text("#message").startswith(f"Saved for account {OWNER}.")
    assert page.input_value("#accountId") == OWNER

    # Canaries on other sites, with the names of Airbnb's session cookies.
    for host, value in CANARIES.items():
        page.goto(f"https://{host}/_sim/set-cookie?name=_aat&value={value}")
        page.goto(f"https://{host}/_sim/set-cookie?name=_user_attributes&value={value}")
    assert session_posts(recorder, OWNER) == []  # not on Airbnb, not signed in: nothing

    # The host signs in on (the simulated) airbnb.com: the companion sends by itself.
    page.goto(f"https://www.airbnb.com/_sim/sign-in?user_id={OWNER}")
    assert "Welcome back" in page.content()
    _wait(lambda: session_posts(recorder, OWNER), what="the companion's post")
    [post] = session_posts(recorder, OWNER)
    fresh = simulator.state.signed_in_aat(OWNER)
    assert {cookie["name"] for cookie in post["cookies"]} == set(AUTH_COOKIES)
    assert {cookie["domain"] for cookie in post["cookies"]} == {".airbnb.com"}
    assert {cookie["value"] for cookie in post["cookies"] if cookie["name"] == "_aat"} == {fresh}
    assert post["user_agent"].startswith("Mozilla/5.0")
    assert all(isinstance(cookie["expires"], float) for cookie in post["cookies"])

    # The account's session is the browser's new one.
    _wait(lambda: store.session(OWNER).cookies.get("_aat") == fresh, what="the stored session")
    record = store.get(OWNER)
    assert record.session_stored_at > stored_before and record.auth_status == "unknown"

    popup = open_popup(browser, extension_id)
    popup.wait_for_selector(".result.ok")
    assert f"Sent: session stored for account {OWNER}" in popup.inner_text("#result")
    popup.screenshot(path=str(screenshot_path("companion-popup.png")))

    # Another visit within hours sends nothing; the button always sends.
    page.goto("https://www.airbnb.com/_sim/sign-in?user_id=" + OWNER)
    time.sleep(3)
    assert len(session_posts(recorder, OWNER)) == 1
    popup.click("#send")
    _wait(lambda: len(session_posts(recorder, OWNER)) == 2, what="the clicked post")
    popup.wait_for_selector("text=on your click")
    _wait(lambda: store.session(OWNER).cookies.get("_aat") ==
          simulator.state.signed_in_aat(OWNER), what="the newest session")

    # A sync with the stored session succeeds: only the browser's new _aat authenticates.
    first, last = weeks_ending_now(1)
    result = run_range(OWNER, first, last)
    assert result.success
    assert store.get(OWNER).auth_status == "ok"

    # Signed in as another host: the companion refuses to send that session for this account.
    page.goto(f"https://www.airbnb.com/_sim/sign-in?user_id={OTHER}")
    popup.reload()
    popup.click("#send")
    popup.wait_for_selector(f"text=signed in to Airbnb as user {OTHER}")
    assert len(session_posts(recorder, OWNER)) == 2 and session_posts(recorder, OTHER) == []

    # Nothing of another domain, and no tracking cookie, ever reached the API.
    everything = b"".join(body for _, body in recorder.bodies).decode()
    for value in CANARIES.values():
        assert value not in everything
    assert "_ga" not in everything and "cdn_exp" not in everything
