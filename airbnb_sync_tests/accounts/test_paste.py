"""Reading a session out of one paste: every supported form, and the hostile ones."""

from __future__ import annotations

import os
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path

import pytest
from paste_forms import (
    API_KEY,
    CHROME_UA,
    CURL_FORMS,
    FIREFOX_UA,
    SAFARI_UA,
    VERSION,
    chrome_bash,
    chrome_cmd,
    chrome_powershell,
    firefox_bash,
    har,
    har_entry,
)

from airbnb_sync.accounts.paste import PasteError, parse_curl, parse_har
from airbnb_sync.airbnb.cookies import AUTH_COOKIES
from airbnb_sync.simulator import make_cookie

HOST = "58765432"
COOKIE = make_cookie(HOST)
EXPECTED_COOKIES = {name: value for name, value in
                    (pair.split("=", 1) for pair in COOKIE.split("; ")) if name in AUTH_COOKIES}
AGENTS = {"firefox": FIREFOX_UA, "safari": SAFARI_UA}


@pytest.mark.parametrize("form", sorted(CURL_FORMS))
def test_every_curl_form_yields_the_account_its_auth_cookies_and_headers(form: str) -> None:
    session = parse_curl(CURL_FORMS[form](COOKIE))

    assert session.account_id == HOST
    assert session.cookies == EXPECTED_COOKIES  # bev, _ga and the experiment cookie dropped
    assert session.user_agent == AGENTS.get(form, CHROME_UA)
    assert session.x_client_version == VERSION
    assert session.api_key == API_KEY
    assert session.expires == {}


@pytest.mark.parametrize("lower_case", [True, False], ids=["chrome", "firefox"])
def test_a_har_yields_its_newest_api_request(lower_case: bool) -> None:
    older_host = "41234567"
    older = [har_entry(make_cookie(older_host), "2026-12-01T09:00:00.000Z")]
    session = parse_har(har(COOKIE, lower_case=lower_case, older=older,
                            cookie_expires="2027-01-01T00:00:00.000Z"))

    assert session.account_id == HOST
    assert session.cookies == EXPECTED_COOKIES
    assert (session.user_agent, session.x_client_version, session.api_key) == (
        CHROME_UA, VERSION, API_KEY)
    assert session.expires["_aat"] == datetime(2027, 1, 1, tzinfo=UTC)
    assert set(session.expires) == set(EXPECTED_COOKIES)


def test_a_har_with_only_the_cookies_array_still_has_its_cookies() -> None:
    import json

    document = json.loads(har(COOKIE))
    request = document["log"]["entries"][-2]["request"]
    request["headers"] = [h for h in request["headers"] if h["name"] != "cookie"]
    assert parse_har(json.dumps(document)).cookies == EXPECTED_COOKIES


def test_shell_metacharacters_stay_literal_and_nothing_is_run(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)
    hostile_aat = "abc$(touch${IFS}pwned1)`touch${IFS}pwned2`&&|>pwned3<"
    cookie = COOKIE.replace(EXPECTED_COOKIES["_aat"], hostile_aat)
    agent = "Mozilla/5.0 $(touch pwned4) `id` ; rm -rf ~ | cat > pwned5 & echo 'quoted'"

    session = parse_curl(chrome_bash(cookie, agent))

    assert session.cookies["_aat"] == hostile_aat
    assert session.user_agent == agent
    assert os.listdir(tmp_path) == []


def test_the_address_may_come_last_after_options_unknown_to_the_parser() -> None:
    pasted = chrome_bash(COOKIE)
    url_word = pasted.split(" \\\n")[0][len("curl "):]
    moved = pasted.replace(url_word, "--retry 3 --compressed", 1) + f" {url_word}"
    assert parse_curl(moved).cookies == EXPECTED_COOKIES


def test_two_cookie_headers_are_merged_when_they_agree_and_refused_when_they_do_not() -> None:
    first, second = COOKIE.split("; _aat=")
    split = chrome_bash(first).replace("-H 'accept: */*'", f"-H 'Cookie: _aat={second}'")
    assert parse_curl(split).cookies == EXPECTED_COOKIES

    other = chrome_bash(COOKIE).replace("-H 'accept: */*'", "-H 'cookie: _aat=another-value'")
    with pytest.raises(PasteError, match="two Cookie headers that give _aat different values"):
        parse_curl(other)


BAD_PASTES: dict[str, tuple[Callable[[], str], Callable[[str], object], str]] = {
    "empty": (lambda: "  \n", parse_curl, "the paste is empty"),
    "truncated quote": (lambda: chrome_bash(COOKIE)[:300], parse_curl, "truncated"),
    "truncated option": (lambda: "curl 'https://www.airbnb.com/api/v3/X/1' -H", parse_curl,
                         "truncated"),
    "not curl": (lambda: COOKIE, parse_curl, "not a curl command"),
    "not airbnb": (lambda: chrome_bash(COOKIE).replace("www.airbnb.com", "evil.example"),
                   parse_curl, "not a request to Airbnb's /api/v3/"),
    "not /api/v3/": (lambda: chrome_bash(COOKIE).replace("/api/v3/", "/api/v2/"), parse_curl,
                     "not a request to Airbnb's /api/v3/"),
    "no cookie header": (lambda: "\n".join(line for line in firefox_bash(COOKIE).split(" -H ")
                                           if not line.startswith("'Cookie")),
                         parse_curl, "no session cookies"),
    "cookies without _aat": (
        lambda: chrome_bash(COOKIE.replace("_aat=", "_other=")), parse_curl,
        "no session cookies (_aat missing)"),
    "cookie file": (lambda: chrome_bash(COOKIE, cookie_option="-b").replace(
        f"-b '{COOKIE}'", "-b cookies.txt"), parse_curl, "reads cookies from a file"),
    "cmd form": (lambda: chrome_cmd(COOKIE), parse_curl, "Copy as cURL (bash)"),
    "powershell form": (lambda: chrome_powershell(COOKIE), parse_curl, "Copy as cURL (bash)"),
    "har stripped": (lambda: har(None), parse_har, "Export HAR (with sensitive data)"),
    "har truncated": (lambda: har(COOKIE)[:500], parse_har, "not valid JSON"),
    "har empty": (lambda: "", parse_har, "empty"),
    "har without api": (lambda: har(COOKIE).replace("/api/v3/", "/api/v2/"), parse_har,
                        "no request to /api/v3/"),
    "not a har": (lambda: '{"cookies": []}', parse_har, "not a HAR export"),
    "har given as curl": (lambda: har(COOKIE), parse_curl, "give it with --from-har"),
    "curl given as har": (lambda: chrome_bash(COOKIE), parse_har, "give it with --from-curl"),
}


@pytest.mark.parametrize("case", sorted(BAD_PASTES))
def test_bad_pastes_are_refused_in_one_line_without_repeating_secrets(case: str) -> None:
    make, parse, message = BAD_PASTES[case]
    with pytest.raises(PasteError, match=message.replace("(", r"\(").replace(")", r"\)")
                       .replace("$", r"\$")) as raised:
        parse(make())
    text = str(raised.value)
    assert "\n" not in text
    assert not any(value in text for value in EXPECTED_COOKIES.values() if len(value) > 3)
    assert API_KEY not in text
