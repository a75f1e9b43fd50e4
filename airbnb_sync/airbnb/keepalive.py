"""Keeping a host's session alive the way a browser does: accept the cookies Airbnb rotates.

Airbnb may answer with `Set-Cookie` for an authentication cookie (a new `_aat`, a longer
expiry). A browser keeps the new value and sends it from then on; so does the client, with
the standard library's cookie jar deciding what a `Set-Cookie` means (Domain, Path,
Max-Age, Expires) and `AuthCookiePolicy` deciding what may be kept: authentication cookies
only, and only from the host the client talks to (Airbnb's domain, or the simulator).

What Airbnb sends is checked like a paste (cookies.refused_cookies, cookies.cookie_expiry):
an unusable value is ignored and logged by name, an expiry out of range is clamped, and an
answer whose `_user_attributes` names another user is ignored whole, so the session the run
sends (and later stores) is always the account's own. Nothing here raises on what Airbnb
sent: the run goes on with the session it had.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from http.cookiejar import Cookie, DefaultCookiePolicy
from typing import Any

from airbnb_sync.airbnb.cookies import AUTH_COOKIES, SessionCookies, cookie_expiry, refused_cookies
from airbnb_sync.airbnb.domains import is_airbnb_host

logger = logging.getLogger(__name__)


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
    return host.endswith("." + domain) and is_airbnb_host(domain)


@dataclass
class SessionChanges:
    """What Airbnb changed in a session during a run: new values, and known expiries."""

    account_id: str
    started_with: dict[str, str] = field(repr=False)
    rotated: dict[str, str] = field(default_factory=dict, repr=False)
    expires: dict[str, datetime] = field(default_factory=dict)

    def __bool__(self) -> bool:
        return bool(self.rotated or self.expires)

    def absorb(self, current: dict[str, str], jar: Iterable[Cookie]) -> list[str]:
        """Take the jar's acceptable authentication cookies (one answer's) into `current`;
        the names whose value changed. The others are logged by name and left out."""
        now = datetime.now(UTC)
        offered: dict[str, list[Cookie]] = {}
        for cookie in jar:  # AuthCookiePolicy let in authentication cookies only
            if cookie.value is not None:
                offered.setdefault(cookie.name, []).append(cookie)
        values: dict[str, str] = {}
        for name, cookies in offered.items():
            if len({cookie.value for cookie in cookies}) > 1:  # which one would a browser send?
                _ignore(self.account_id, name, f"{name} was set twice with different values")
            else:
                values[name] = str(cookies[0].value)
        kept = SessionCookies(values)
        refused = refused_cookies(self.account_id, kept)
        for name, why in refused.items():
            _ignore(self.account_id, name, why)
        changed = []
        for name, value in kept.without(refused).items():
            expires = offered[name][0].expires
            if expires is not None:
                when = cookie_expiry(expires, now)
                if when is not None:
                    self.expires[name] = when
            if current.get(name) != value:
                current[name] = value
                if self.started_with.get(name) != value:
                    self.rotated[name] = value
                else:
                    self.rotated.pop(name, None)
                changed.append(name)
        return changed


def _ignore(account_id: str, name: str, why: str) -> None:
    logger.warning("account %s: the %s Airbnb set is ignored (%s); the run goes on with the "
                   "session it has", account_id, name, why)
