"""What a paste gives airbnb-sync and what it does not: shown to an owner before they submit
(the invite page), by name only, never a cookie's value.

The paste has been read already (`accounts.register.read_paste`, which refuses a bad one);
this only lists, for the same request, the cookies and headers that are dropped.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import urlparse

from airbnb_sync.accounts import paste as paste_module
from airbnb_sync.accounts.paste import PastedSession
from airbnb_sync.airbnb.cookies import InvalidCookie, parse_cookie_text

KEPT_HEADERS = ("cookie", "user-agent", "x-client-version", "x-airbnb-api-key")


@dataclass(frozen=True)
class PasteSummary:
    account_id: str
    kept_cookies: list[str]
    user_agent: str | None
    x_client_version: str | None
    has_api_key: bool
    known_expiries: int
    dropped_cookies: list[str] = field(default_factory=list)
    dropped_headers: list[str] = field(default_factory=list)

    def as_dict(self) -> dict[str, Any]:
        return {
            "account_id": self.account_id,
            "kept": {"cookies": self.kept_cookies, "user_agent": self.user_agent,
                     "x_client_version": self.x_client_version, "api_key": self.has_api_key,
                     "cookie_expiries": self.known_expiries},
            "dropped": {"cookies": self.dropped_cookies, "headers": self.dropped_headers,
                        "address_and_body": True},
        }


def _headers(text: str) -> list[tuple[str, str]]:
    """The headers of the request a paste holds (lower-case names), read with paste.py's own
    helpers so that the list is of the very request whose session is kept."""
    stripped = text.strip()
    if stripped.startswith("{"):
        entries = json.loads(stripped).get("log", {}).get("entries", [])
        api = [entry for entry in entries if isinstance(entry, dict) and paste_module.API_PATH
               in urlparse(str(paste_module._request_of(entry).get("url", ""))).path]
        request = paste_module._request_of(max(api, key=paste_module._started))
        headers = [(str(h.get("name", "")).strip().lower(), str(h.get("value", "")))
                   for h in request.get("headers", []) if isinstance(h, dict)]
        names = [str(c.get("name")) for c in request.get("cookies", []) if isinstance(c, dict)]
        return [*headers, ("cookie", "; ".join(f"{name}=x" for name in names))]
    words = paste_module._split_bash(stripped)
    return paste_module._curl_request(words[1:]).headers


def summarize(text: str, pasted: PastedSession) -> PasteSummary:
    headers = _headers(text)
    cookie_names: set[str] = set()
    for name, value in headers:
        if name == "cookie" and value:
            try:
                cookie_names.update(parse_cookie_text(value))
            except InvalidCookie:
                continue
    kept = list(pasted.cookies)
    return PasteSummary(
        account_id=pasted.account_id, kept_cookies=kept, user_agent=pasted.user_agent,
        x_client_version=pasted.x_client_version, has_api_key=pasted.api_key is not None,
        known_expiries=len(pasted.expires),
        dropped_cookies=sorted(cookie_names - set(kept)),
        dropped_headers=sorted({name for name, _ in headers if name and name not in KEPT_HEADERS}),
    )
