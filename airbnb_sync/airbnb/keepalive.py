"""Keeping a host's session alive the way a browser does: accept the cookies Airbnb rotates.

Airbnb may answer with `Set-Cookie` for an authentication cookie (a new `_aat`, a longer
expiry). A browser keeps the new value and sends it from then on; so does the client, with
the standard library's cookie jar deciding what a `Set-Cookie` means (Domain, Path,
Max-Age, Expires) and `AuthCookiePolicy` deciding what may be kept: authentication cookies
only, and only from the host the client talks to (Airbnb's domain, or the simulator).
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from http.cookiejar import Cookie, DefaultCookiePolicy
from typing import Any

from airbnb_sync.airbnb.cookies import AUTH_COOKIES

_AIRBNB_DOMAIN = re.compile(r"(^|\.)airbnb\.[a-z.]+$")


class AuthCookiePolicy(DefaultCookiePolicy):
    """Accept Set-Cookie of the authentication cookies, for `host`'s domain only.

    The jar never sends anything itself (`return_ok` is False): the client builds the Cookie
    header from the session, so what is sent is always what would be stored.
    """

    def __init__(self, host: str) -> None:
        super().__init__()
        self.host = host.lower()

    def set_ok(self, cookie: Cookie, request: Any) -> bool:
        return (cookie.name in AUTH_COOKIES and domain_allowed(cookie.domain, self.host)
                and super().set_ok(cookie, request))

    def return_ok(self, cookie: Cookie, request: Any) -> bool:
        return False


def domain_allowed(cookie_domain: str, host: str) -> bool:
    """The cookie is for `host` itself, or for Airbnb's domain that `host` belongs to."""
    domain = cookie_domain.lower().lstrip(".")
    if domain in (host, f"{host}.local"):  # http.cookiejar names a dotless host "host.local"
        return True
    return host.endswith("." + domain) and bool(_AIRBNB_DOMAIN.search(domain)) \
        and domain.count(".") >= 1


@dataclass
class SessionChanges:
    """What Airbnb changed in a session during a run: new values, and known expiries."""

    started_with: dict[str, str] = field(repr=False)
    rotated: dict[str, str] = field(default_factory=dict, repr=False)
    expires: dict[str, datetime] = field(default_factory=dict)

    def __bool__(self) -> bool:
        return bool(self.rotated or self.expires)

    def absorb(self, current: dict[str, str], jar: Iterable[Cookie]) -> list[str]:
        """Take the jar's authentication cookies into `current`; the names whose value changed."""
        changed = []
        for cookie in jar:
            if cookie.name not in AUTH_COOKIES or cookie.value is None:
                continue
            if cookie.expires is not None:
                self.expires[cookie.name] = datetime.fromtimestamp(cookie.expires, tz=UTC)
            if current.get(cookie.name) != cookie.value:
                current[cookie.name] = cookie.value
                if self.started_with.get(cookie.name) != cookie.value:
                    self.rotated[cookie.name] = cookie.value
                else:
                    self.rotated.pop(cookie.name, None)
                changed.append(cookie.name)
        return changed
