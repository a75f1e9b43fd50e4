"""A simulated sign-in to Airbnb, for browser tests (the companion).

`GET /_sim/sign-in?user_id=ID` answers an HTML page that sets the host's cookies the way a
real sign-in does: the nine authentication cookies (a fresh `_aat` each time) and tracking
cookies, `Secure`, with `Domain=.airbnb.com` when the page is served under airbnb.com (the
browser maps Airbnb's host names to the simulator), host-only otherwise. Signing in also gives
the account a fresh session in the simulator: from then on only the newest `_aat` of a sign-in
authenticates it, so a sync that succeeds proves it carries the browser's new cookie.

`GET /_sim/set-cookie?name=N&value=V` sets one host-only cookie on whatever host serves it:
a canary on another domain, which nothing may ever send to airbnb-sync.
"""

from __future__ import annotations

import html
import re
from collections.abc import Callable
from dataclasses import dataclass, field
from urllib.parse import parse_qs

from airbnb_sync.simulator.cookies import make_cookie

COOKIE_MAX_AGE = 365 * 24 * 3600
AIRBNB_DOMAIN = "airbnb.com"
_USER_ID = re.compile(r"[0-9]{1,20}")
_COOKIE_PART = re.compile(r"[A-Za-z0-9_.%-]{1,200}")
# Airbnb marks its session cookies HttpOnly: page scripts cannot read them, extensions can.
_HTTP_ONLY = frozenset({"_aat", "_airbed_session_id", "_aaj", "auth_jitney_session_id"})


@dataclass
class Page:
    status: int
    body: bytes
    headers: list[tuple[str, str]] = field(default_factory=list)


def _page(status: int, title: str, text: str, headers: list[tuple[str, str]] | None = None
          ) -> Page:
    body = (f"<!doctype html><html lang=en><head><meta charset=utf-8><title>{html.escape(title)}"
            f"</title></head><body><h1>{html.escape(title)}</h1><p>{html.escape(text)}</p>"
            "</body></html>")
    return Page(status, body.encode(), [("Content-Type", "text/html; charset=utf-8"),
                                        ("Cache-Control", "no-store"), *(headers or [])])


def _domain_attribute(host_header: str | None) -> str:
    host = (host_header or "").split(":")[0].lower()
    if host == AIRBNB_DOMAIN or host.endswith("." + AIRBNB_DOMAIN):
        return f"; Domain=.{AIRBNB_DOMAIN}"
    return ""


def sign_in_page(query: str, host_header: str | None, sign_in: Callable[[str], str]) -> Page:
    """The page that signs the browser in; `sign_in(user_id)` issues the fresh `_aat`."""
    user_id = parse_qs(query).get("user_id", [""])[0]
    if not _USER_ID.fullmatch(user_id):
        return _page(400, "Sign-in failed", "give ?user_id=DIGITS")
    fresh_aat = sign_in(user_id)
    domain = _domain_attribute(host_header)
    headers = []
    for pair in make_cookie(user_id).split("; "):
        name, _, value = pair.partition("=")
        if name == "_aat":
            value = fresh_aat
        flags = "; HttpOnly" if name in _HTTP_ONLY else ""
        headers.append(("Set-Cookie", f"{name}={value}{domain}; Path=/; Max-Age={COOKIE_MAX_AGE}"
                                      f"; Secure; SameSite=Lax{flags}"))
    return _page(200, "Welcome back", f"Signed in to the simulated Airbnb as host {user_id}.",
                 headers)


def set_cookie_page(query: str) -> Page:
    values = parse_qs(query)
    name, value = values.get("name", [""])[0], values.get("value", [""])[0]
    if not (_COOKIE_PART.fullmatch(name) and _COOKIE_PART.fullmatch(value)):
        return _page(400, "No cookie set", "give ?name=N&value=V (letters, digits, _ . % -)")
    return _page(200, "Cookie set", f"set {name} on this host",
                 [("Set-Cookie", f"{name}={value}; Path=/; Max-Age={COOKIE_MAX_AGE}; Secure; "
                                 "SameSite=Lax")])
