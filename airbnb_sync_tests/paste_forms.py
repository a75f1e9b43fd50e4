"""Pastes as browsers write them: "Copy as cURL" of Chrome, Edge, Firefox and Safari (bash),
Chrome's cmd and PowerShell forms, and HAR exports. Built from a host's Cookie header."""

from __future__ import annotations

import json
import shlex
from collections.abc import Callable

URL = ("https://www.airbnb.com/api/v3/ChartQuery/aa6e318cc066bbf19511b86acdce32fc59219d8596448b"
       "861d794491f46631c5?operationName=ChartQuery&locale=en&currency=USD")
VERSION = "0123456789abcdef0123456789abcdef01234567"
CHROME_UA = ("Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) "
             "Chrome/131.0.0.0 Safari/537.36")
FIREFOX_UA = "Mozilla/5.0 (X11; Linux x86_64; rv:133.0) Gecko/20100101 Firefox/133.0"
SAFARI_UA = ("Mozilla/5.0 (Macintosh; Intel Mac OS X 10_15_7) AppleWebKit/605.1.15 (KHTML, like "
             "Gecko) Version/18.1 Safari/605.1.15")
API_KEY = "d306zoyjsyarp7ifhu67rjxn52tv0t20"
BODY = '{"operationName":"ChartQuery","variables":{"request":{"arguments":{}}},"extensions":{}}'


def _q(value: str) -> str:
    return shlex.quote(value)


def chrome_bash(cookie: str, user_agent: str = CHROME_UA, *, cookie_option: str = "-H") -> str:
    """Chrome and Edge: lower-case headers, `-b` for cookies in recent versions."""
    cookie_part = (f"-b {_q(cookie)}" if cookie_option == "-b"
                   else f"-H {_q('cookie: ' + cookie)}")
    return " \\\n  ".join([
        f"curl {_q(URL)}", "-H 'accept: */*'", "-H 'accept-language: en-US,en;q=0.9'",
        "-H 'content-type: application/json'", cookie_part,
        "-H 'origin: https://www.airbnb.com'", "-H 'priority: u=1, i'",
        f"-H {_q('user-agent: ' + user_agent)}", f"-H {_q('x-airbnb-api-key: ' + API_KEY)}",
        "-H 'x-airbnb-graphql-platform: web'", f"-H {_q('x-client-version: ' + VERSION)}",
        f"--data-raw {_q(BODY)}",
    ])


def chrome_ansi_c(cookie: str) -> str:
    """Chrome writes values with special characters as $'...' strings."""
    body = BODY.replace('"ChartQuery"', '"Chart\\u00e9 it\\\'s"')
    return " \\\n  ".join([
        f"curl {_q(URL)}", f"-H $'cookie: {cookie}'", f"-H $'user-agent: {CHROME_UA}'",
        f"-H 'x-client-version: {VERSION}'", f"-H 'x-airbnb-api-key: {API_KEY}'",
        f"--data-raw $'{body}'",
    ])


def firefox_bash(cookie: str) -> str:
    """Firefox: Title-Case headers, --compressed and -X POST first."""
    return " ".join([
        f"curl {_q(URL)}", "--compressed", "-X POST", f"-H {_q('User-Agent: ' + FIREFOX_UA)}",
        "-H 'Accept: */*'", "-H 'Accept-Language: en-US,en;q=0.5'",
        f"-H {_q('X-Airbnb-API-Key: ' + API_KEY)}", f"-H {_q('X-Client-Version: ' + VERSION)}",
        "-H 'Content-Type: application/json'", "-H 'Connection: keep-alive'",
        f"-H {_q('Cookie: ' + cookie)}", f"--data-raw {_q(BODY)}",
    ])


def safari_bash(cookie: str) -> str:
    """Safari: every value quoted, -X 'POST', Title-Case headers."""
    return " \\\n".join([
        f"curl {_q(URL)}", "-X 'POST'", "-H 'Content-Type: application/json'",
        "-H 'Accept: */*'", f"-H {_q('Cookie: ' + cookie)}",
        f"-H {_q('User-Agent: ' + SAFARI_UA)}", f"-H {_q('X-Client-Version: ' + VERSION)}",
        f"-H {_q('X-Airbnb-Api-Key: ' + API_KEY)}", f"--data-raw {_q(BODY)}",
    ])


def chrome_cmd(cookie: str) -> str:
    return " ^\n  ".join([f'curl ^"{URL}^"', f'-H ^"cookie: {cookie}^"',
                          f'-H ^"user-agent: {CHROME_UA}^"'])


def chrome_powershell(cookie: str) -> str:
    return "\n".join([
        "$session = New-Object Microsoft.PowerShell.Commands.WebRequestSession",
        f'$session.UserAgent = "{CHROME_UA}"',
        f'Invoke-WebRequest -UseBasicParsing -Uri "{URL}" -Method "POST" -WebSession $session',
    ])


def har(cookie: str | None, *, user_agent: str = CHROME_UA, lower_case: bool = True,
        older: list[dict] | None = None, cookie_expires: str | None = None) -> str:
    """A HAR 1.2 export: the API request last, a page request and `older` entries before it.
    `cookie` None: exported without sensitive data (Chrome's default)."""
    def name(text: str) -> str:
        return text.lower() if lower_case else text

    headers = [{"name": name("User-Agent"), "value": user_agent},
               {"name": name("X-Client-Version"), "value": VERSION},
               {"name": name("X-Airbnb-API-Key"), "value": API_KEY}]
    cookies = []
    if cookie is not None:
        headers.append({"name": name("Cookie"), "value": cookie})
        for pair in cookie.split("; "):
            key, _, value = pair.partition("=")
            entry = {"name": key, "value": value}
            if cookie_expires:
                entry["expires"] = cookie_expires
            cookies.append(entry)
    entries = [*(older or []), {
        "startedDateTime": "2026-12-01T10:00:05.000Z",
        "request": {"method": "POST", "url": URL, "httpVersion": "http/2.0",
                    "headers": headers, "cookies": cookies, "queryString": [],
                    "postData": {"mimeType": "application/json", "text": BODY}},
        "response": {"status": 200},
    }, {
        "startedDateTime": "2026-12-01T10:00:01.000Z",
        "request": {"method": "GET", "url": "https://www.airbnb.com/performance/conversion",
                    "headers": headers, "cookies": cookies},
        "response": {"status": 200},
    }]
    return json.dumps({"log": {"version": "1.2", "creator": {"name": "WebInspector"},
                               "entries": entries}})


def har_entry(cookie: str, started: str) -> dict:
    return {"startedDateTime": started,
            "request": {"method": "POST", "url": URL,
                        "headers": [{"name": "cookie", "value": cookie},
                                    {"name": "user-agent", "value": CHROME_UA},
                                    {"name": "x-client-version", "value": VERSION}],
                        "cookies": []}}


CURL_FORMS: dict[str, Callable[[str], str]] = {
    "chrome -H cookie": chrome_bash,
    "chrome -b": lambda cookie: chrome_bash(cookie, cookie_option="-b"),
    "chrome $'...'": chrome_ansi_c,
    "firefox": firefox_bash,
    "safari": safari_bash,
}
