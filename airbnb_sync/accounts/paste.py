"""Read a host's session out of one paste: a browser's "Copy as cURL" or a HAR export.

Nothing here executes anything: a curl command is only split into words, a HAR is only
parsed as JSON. What a paste yields is the account id (from `_user_attributes`), the
authentication cookies and nothing else, the User-Agent, X-Client-Version and the
X-Airbnb-API-Key. Every error is one line that says what to copy instead; error texts never
repeat a value from the paste. Everything is checked here, before the caller opens (or
creates) a warehouse or a key: the address (domains.is_airbnb_host), the shape of a HAR, each
cookie (cookies.refused_cookies, the rule keep-alive applies to Airbnb's Set-Cookie too) and
each expiry.
"""

from __future__ import annotations

import json
import re
import shlex
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any
from urllib.parse import urlparse

from airbnb_sync.airbnb.cookies import (
    AUTH_COOKIES,
    REQUIRED_COOKIES,
    ConflictingCookie,
    InvalidCookie,
    SessionCookies,
    cookie_expiry,
    parse_cookie_text,
    refused_cookies,
    user_id,
)
from airbnb_sync.airbnb.domains import is_airbnb_host

API_PATH = "/api/v3/"
_ACCOUNT_ID = re.compile(r"[0-9]{1,20}")
# curl options whose next word is their value; any other option is a flag.
_OPTIONS_WITH_VALUE = frozenset({
    "-H", "--header", "-b", "--cookie", "-A", "--user-agent", "-d", "--data", "--data-raw",
    "--data-binary", "--data-ascii", "--data-urlencode", "-X", "--request", "-e", "--referer",
    "-u", "--user", "-o", "--output", "-x", "--proxy", "-m", "--max-time", "--connect-timeout",
    "-F", "--form", "--url", "-c", "--cookie-jar", "-w", "--write-out",
})
_HOW_TO_COPY = ("in the browser's developer tools (Network tab), right-click a request to "
                "/api/v3/ on the Insights page and choose Copy > Copy as cURL (bash)")


class PasteError(ValueError):
    """The paste cannot register a host; the message says what to copy instead."""


# The headers a paste's session is made of; the others are dropped (and named in a preview).
KEPT_HEADERS = ("cookie", "user-agent", "x-client-version", "x-airbnb-api-key")


@dataclass(frozen=True)
class PastedSession:
    """What a paste yields, read once: the account's checked authentication cookies, which
    validation and storage take as they are, and the names (never values) of what was left
    out, for the invite page's preview."""

    account_id: str
    cookies: SessionCookies = field(repr=False)
    user_agent: str | None
    x_client_version: str | None
    api_key: str | None = field(repr=False)
    # Expiry of cookies whose expiry the paste tells (a HAR does; a curl command does not).
    expires: dict[str, datetime] = field(default_factory=dict)
    dropped_cookies: tuple[str, ...] = ()
    dropped_headers: tuple[str, ...] = ()


@dataclass
class _Request:
    url: str | None
    headers: list[tuple[str, str]]  # (lower-case name, value), in order


# --- curl -----------------------------------------------------------------------------------


def parse_curl(text: str, extra_hosts: tuple[str, ...] = ()) -> PastedSession:
    """A session from a "Copy as cURL (bash)" of Chrome, Edge, Firefox or Safari."""
    text = text.strip()
    if not text:
        raise PasteError(f"the paste is empty: {_HOW_TO_COPY}")
    if text[0] in "[{":
        raise PasteError("this looks like a HAR file, not a curl command: give it with "
                         "--from-har FILE")
    _refuse_windows_forms(text)
    words = _split_bash(text)
    if not words or words[0] != "curl":
        raise PasteError(f"the paste is not a curl command (it must start with `curl`): "
                         f"{_HOW_TO_COPY}")
    return _session(_curl_request(words[1:]), extra_hosts, expires={})


def _refuse_windows_forms(text: str) -> None:
    lowered = text.lower()
    if "invoke-webrequest" in lowered or "invoke-restmethod" in lowered \
            or "webrequestsession" in lowered:
        raise PasteError("this is the PowerShell form, which is not supported: choose Copy > "
                         "Copy as cURL (bash) instead (on Windows too), or save a HAR")
    if lowered.startswith("curl ^") or ' ^"' in text or "^\n" in text or "^\r\n" in text:
        raise PasteError("this is the Windows cmd form (Copy as cURL (cmd)), which is not "
                         "supported: choose Copy > Copy as cURL (bash) instead (on Windows too), "
                         "or save a HAR")


def _split_bash(text: str) -> list[str]:
    # shlex is the standard library's POSIX shell word splitter; no maintained library parses
    # curl command lines better, and shlex only splits: nothing is expanded or run. Two bash
    # features shlex lacks are rewritten first: line continuations (backslash-newline), and
    # the ANSI-C strings ($'...') Chrome and Edge write values with special characters as.
    try:
        return shlex.split(_normalize_bash(text), comments=False, posix=True)
    except ValueError:
        raise PasteError(f"the paste is truncated (a quote is never closed): copy it again "
                         f"whole; {_HOW_TO_COPY}") from None


def _normalize_bash(text: str) -> str:
    """Outside quotes, turn backslash-newline into a space and every $'...' into the same
    value in plain single quotes; the rest is copied as it is."""
    out: list[str] = []
    i, n = 0, len(text)
    while i < n:
        char = text[i]
        if char == "\\" and text.startswith(("\\\n", "\\\r\n"), i):
            out.append(" ")
            i += 2 if text[i + 1] == "\n" else 3
        elif char == "\\" and i + 1 < n:
            out.append(text[i:i + 2])
            i += 2
        elif char == "'":
            end = text.find("'", i + 1)
            end = n - 1 if end < 0 else end
            out.append(text[i:end + 1])
            i = end + 1
        elif char == '"':
            j = i + 1
            while j < n and text[j] != '"':
                j += 2 if text[j] == "\\" else 1
            out.append(text[i:j + 1])
            i = j + 1
        elif text.startswith("$'", i):
            j, raw = i + 2, []
            while j < n and text[j] != "'":
                if text[j] == "\\" and j + 1 < n:
                    raw.append(text[j:j + 2])
                    j += 2
                else:
                    raw.append(text[j])
                    j += 1
            if j >= n:
                raise PasteError(f"the paste is truncated (a quote is never closed): copy it "
                                 f"again whole; {_HOW_TO_COPY}")
            out.append(shlex.quote(_ansi_c_value("".join(raw))))
            i = j + 1
        else:
            out.append(char)
            i += 1
    return "".join(out)


_ANSI_C_ESCAPES = {"n": "\n", "t": "\t", "r": "\r", "\\": "\\", "'": "'", '"': '"', "?": "?",
                   "a": "\a", "b": "\b", "e": "\x1b", "E": "\x1b", "f": "\f", "v": "\v"}
_ANSI_C_NUMERIC = re.compile(r"\\(x[0-9a-fA-F]{1,2}|u[0-9a-fA-F]{1,4}|U[0-9a-fA-F]{1,8}|"
                             r"[0-7]{1,3}|.)", re.DOTALL)


def _ansi_c_value(raw: str) -> str:
    def decode(match: re.Match[str]) -> str:
        code = match.group(1)
        if code[0] in "xuU" and len(code) > 1:
            return chr(int(code[1:], 16))
        if code[0] in "01234567":
            return chr(int(code, 8))
        return _ANSI_C_ESCAPES.get(code, "\\" + code)

    return _ANSI_C_NUMERIC.sub(decode, raw)


def _curl_request(words: list[str]) -> _Request:
    request = _Request(url=None, headers=[])
    positional: list[str] = []
    i = 0
    while i < len(words):
        word = words[i]
        if word in _OPTIONS_WITH_VALUE:
            if i + 1 >= len(words):
                raise PasteError(f"the paste is truncated (`{word}` has no value): copy it again "
                                 f"whole; {_HOW_TO_COPY}")
            _curl_option(request, word, words[i + 1])
            i += 2
            continue
        if word.startswith("--") and "=" in word:  # --header=..., rare but valid
            name, _, value = word.partition("=")
            if name in _OPTIONS_WITH_VALUE:
                _curl_option(request, name, value)
        elif not word.startswith("-"):
            positional.append(word)
        i += 1
    if request.url is None and positional:
        # The address, wherever it stands; a value of an option we do not know is not one.
        urls = [word for word in positional if word.lower().startswith(("http://", "https://"))]
        request.url = (urls or positional)[0]
    return request


def _curl_option(request: _Request, option: str, value: str) -> None:
    if option in ("-H", "--header"):
        name, sep, header_value = value.partition(":")
        if sep:
            request.headers.append((name.strip().lower(), header_value.strip()))
    elif option in ("-b", "--cookie"):
        if "=" not in value:
            raise PasteError("the curl command reads cookies from a file (-b FILE): copy the "
                             "request from the browser again, which puts the cookies inline")
        request.headers.append(("cookie", value.strip()))
    elif option in ("-A", "--user-agent"):
        request.headers.append(("user-agent", value.strip()))
    elif option == "--url":
        request.url = value


# --- HAR ------------------------------------------------------------------------------------


def parse_har(text: str, extra_hosts: tuple[str, ...] = ()) -> PastedSession:
    """A session from the newest /api/v3/ request of a HAR 1.2 export."""
    if not text.strip():
        raise PasteError("the HAR file is empty: in the Network tab, save all requests as HAR "
                         "(Chrome: Export HAR (with sensitive data))")
    if text.lstrip().startswith("curl"):
        raise PasteError("this is a curl command, not a HAR file: give it with --from-curl")
    try:
        document = json.loads(text)
    except RecursionError:  # json has no depth limit of its own; Python's stack is the limit
        raise PasteError("the HAR file is nested too deeply to be a browser's export: save the "
                         "Network tab as HAR again") from None
    except json.JSONDecodeError:
        raise PasteError("the HAR file is not valid JSON (truncated?): save it again from the "
                         "Network tab") from None
    except ValueError:  # a number longer than Python reads (4300 digits)
        raise PasteError("the HAR file holds a number too long to be a browser's export: save "
                         "the Network tab as HAR again") from None
    log = document.get("log") if isinstance(document, dict) else None
    entries = log.get("entries") if isinstance(log, dict) else None
    if not isinstance(entries, list):
        raise PasteError("the file is not a HAR export (no log.entries): save the Network tab "
                         "as HAR")
    api = [entry for entry in entries if isinstance(entry, dict)
           and API_PATH in urlparse(str(_request_of(entry).get("url", ""))).path]
    if not api:
        raise PasteError("the HAR holds no request to /api/v3/: open the Insights page with the "
                         "Network tab recording, then save the HAR again")
    # Other sites' /api/v3/ requests may be newer (an embedded widget, an extension).
    airbnb = [entry for entry in api
              if _is_airbnb(str(_request_of(entry).get("url", "")), extra_hosts)]
    if not airbnb:
        raise PasteError(f"the HAR holds no request to Airbnb's {API_PATH} (its /api/v3/ "
                         f"requests go to other hosts): {_HOW_TO_COPY}, or save the HAR of the "
                         "Insights page")
    newest = max(airbnb, key=_started)
    request = _request_of(newest)
    headers = [(str(h.get("name", "")).strip().lower(), str(h.get("value", "")).strip())
               for h in _list_of(request, "headers") if isinstance(h, dict)]
    har_cookies = [c for c in _list_of(request, "cookies") if isinstance(c, dict)]
    if not any(name == "cookie" for name, _ in headers) and har_cookies:
        headers.append(("cookie", "; ".join(f"{c.get('name')}={c.get('value')}"
                                            for c in har_cookies)))
    if not any(name == "cookie" and value for name, value in headers):
        raise PasteError("the HAR has its cookies stripped: Chrome leaves them out unless you "
                         "choose Export HAR (with sensitive data) (the download button's menu in "
                         "the Network tab); Firefox: Save All As HAR")
    return _session(_Request(str(request.get("url", "")), headers), extra_hosts,
                    expires=_har_expiries(har_cookies),
                    listed_cookies={str(cookie.get("name")) for cookie in har_cookies})


def _request_of(entry: dict[str, Any]) -> dict[str, Any]:
    request = entry.get("request")
    return request if isinstance(request, dict) else {}


def _list_of(request: dict[str, Any], key: str) -> list[Any]:
    value = request.get(key, [])
    if not isinstance(value, list):
        raise PasteError(f"the HAR's request has {key} that are not a list, as no browser "
                         "writes them: save the Network tab as HAR again")
    return value


def _started(entry: dict[str, Any]) -> datetime:
    try:
        started = datetime.fromisoformat(str(entry.get("startedDateTime", "")))
        # In UTC, so that entries compare; a time outside the calendar there sorts first.
        return (started if started.tzinfo else started.replace(tzinfo=UTC)).astimezone(UTC)
    except (ValueError, OverflowError):
        return datetime.min.replace(tzinfo=UTC)


def _har_expiries(cookies: list[dict[str, Any]]) -> dict[str, datetime]:
    """The expiry the HAR tells of each cookie, clamped like keep-alive's; a browser writes
    none for session cookies, and an unreadable one is left unknown. A time that does not
    exist in UTC (year 1 at +14:00) is no browser's: refused."""
    expires: dict[str, datetime] = {}
    now = datetime.now(UTC)
    for cookie in cookies:
        try:
            when = datetime.fromisoformat(str(cookie.get("expires") or ""))
        except ValueError:
            continue
        name = str(cookie.get("name"))
        if name not in AUTH_COOKIES:
            continue
        utc = cookie_expiry(when, now)
        if utc is None:
            raise PasteError(f"the HAR gives the cookie {name} an expiry outside the calendar, "
                             "as no browser writes it: save the Network tab as HAR again")
        expires[name] = utc
    return expires


# --- both -----------------------------------------------------------------------------------


def _session(request: _Request, extra_hosts: tuple[str, ...], expires: dict[str, datetime],
             listed_cookies: set[str] | None = None) -> PastedSession:
    """`listed_cookies`: the names a HAR lists besides its Cookie header."""
    _check_url(request.url, extra_hosts)
    cookies, names = _cookies(request.headers)
    missing = [name for name in REQUIRED_COOKIES if name not in cookies]
    if missing:
        raise PasteError(f"the paste has no session cookies ({', '.join(missing)} missing): "
                         "copy a request made while logged in as the host, with its cookies")
    try:
        account_id = user_id(cookies)
    except InvalidCookie as exc:
        raise PasteError(str(exc)) from None
    if account_id is None or not _ACCOUNT_ID.fullmatch(account_id):
        raise PasteError("the paste's _user_attributes cookie names no user id (1 to 20 digits): "
                         "copy a request made while logged in as the host")
    for problem in refused_cookies(account_id, cookies).values():
        raise PasteError(f"the paste's cookie {problem}: copy the request again from the "
                         "browser, unchanged")
    found = {name: value for name, value in request.headers
             if name in ("user-agent", "x-client-version", "x-airbnb-api-key")}
    return PastedSession(
        account_id=account_id, cookies=cookies, user_agent=found.get("user-agent") or None,
        x_client_version=found.get("x-client-version") or None,
        api_key=found.get("x-airbnb-api-key") or None,
        expires={name: when for name, when in expires.items() if name in cookies},
        dropped_cookies=tuple(sorted((names | (listed_cookies or set())) - set(cookies))),
        dropped_headers=tuple(sorted({name for name, _ in request.headers
                                      if name and name not in KEPT_HEADERS})),
    )


def _is_airbnb(url: str, extra_hosts: tuple[str, ...]) -> bool:
    """The address is on one of Airbnb's domains (domains.py), or on the configured
    AIRBNB_BASE_URL's host (the simulator, a proxy)."""
    try:
        host = (urlparse(url).hostname or "").lower()
    except ValueError:  # an address urllib cannot read (a bad port, brackets)
        return False
    return is_airbnb_host(host) or (bool(host) and host in extra_hosts)


def _check_url(url: str | None, extra_hosts: tuple[str, ...]) -> None:
    try:
        path = urlparse(url or "").path
    except ValueError:
        path = ""
    if not _is_airbnb(url or "", extra_hosts) or API_PATH not in path:
        raise PasteError(f"the paste is not a request to Airbnb's {API_PATH} (its address is "
                         f"another host or path): {_HOW_TO_COPY}")


def _cookies(headers: list[tuple[str, str]]) -> tuple[SessionCookies, set[str]]:
    """The authentication cookies of every Cookie header (two headers must not disagree), and
    the names of all the cookies the headers give."""
    sessions: list[SessionCookies] = []
    names: set[str] = set()
    for name, value in headers:
        if name != "cookie" or not value:
            continue
        try:
            parsed = parse_cookie_text(value)
        except ConflictingCookie as exc:
            raise PasteError(str(exc)) from None
        except InvalidCookie:
            continue
        names.update(parsed)
        sessions.append(SessionCookies(parsed))
    if len(sessions) == 1:  # every browser's copy: one Cookie header
        return sessions[0], names
    merged: dict[str, str] = {}
    for session in sessions:
        for cookie, cookie_value in session.items():
            if merged.get(cookie, cookie_value) != cookie_value:
                raise PasteError(f"the paste has two Cookie headers that give {cookie} different "
                                 "values: copy one request again, unchanged")
            merged[cookie] = cookie_value
    return SessionCookies(merged), names
