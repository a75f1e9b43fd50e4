"""The host's session cookie: parsing, the authentication subset, and whose session it is.

Only the cookies Airbnb uses for authentication are ever stored or sent; analytics and
tracking cookies a browser export contains are dropped on the way in, in one place: making a
`SessionCookies`. Validation, storage and the Cookie header take that type, so cookies that
were parsed and filtered once are never parsed or filtered again.

One validator (`refused_cookies`, `cookie_expiry`) decides what may be stored, whether the
cookies come from a person's paste or from Airbnb's `Set-Cookie` (keep-alive): a paste with a
refused cookie is refused whole, a refused `Set-Cookie` is ignored and the run goes on.
"""

from __future__ import annotations

import json
from collections.abc import Container, Iterator, Mapping
from datetime import UTC, datetime, timedelta
from http.cookies import CookieError, SimpleCookie
from urllib.parse import unquote

from airbnb_sync.core.redact import register_cookie_names
from airbnb_sync.core.text import SHOWN_LIMIT, escaped

AUTH_COOKIES: tuple[str, ...] = (
    "_airbed_session_id",
    "_aaj",
    "_aat",
    "auth_jitney_session_id",
    "hli",
    "li",
    "_user_attributes",
    "_pt",
    "rclu",
)
register_cookie_names(AUTH_COOKIES)  # their `name=value` pairs never reach a log
# Without these two Airbnb cannot tell who is asking; the others vary between sessions.
REQUIRED_COOKIES: tuple[str, ...] = ("_aat", "_user_attributes")
# Browsers keep at most 4096 bytes per cookie (name, value and attributes): a longer value
# is not a browser's, whoever sends it.
MAX_COOKIE_VALUE = 4096
# Browsers cap a cookie's lifetime at 400 days, however far Max-Age or Expires points.
MAX_COOKIE_LIFETIME = timedelta(days=400)


class InvalidCookie(ValueError):
    """The cookie text cannot authenticate the account it was given for."""


class ConflictingCookie(InvalidCookie):
    """One Cookie header gives an authentication cookie twice, with different values."""


def parse_cookie_text(text: str) -> dict[str, str]:
    """Read a Cookie header ("a=1; b=2", optionally prefixed "Cookie:") or a JSON export.

    JSON exports are either a list of {"name", "value"} objects (browser extensions) or a
    {"name": "value"} object.
    """
    text = text.strip()
    if not text:
        raise InvalidCookie(
            "the cookie is empty: paste the Cookie header of a request to airbnb.com")
    if text[0] in "[{":
        return _parse_json_cookies(text)
    if text.lower().startswith("cookie:"):
        text = text[len("cookie:"):].strip()
    cookies: dict[str, str] = {}
    for part in text.replace("\n", ";").split(";"):
        name, sep, value = part.strip().partition("=")
        if not sep:
            continue
        name, value = name.strip(), value.strip()
        if name in AUTH_COOKIES and cookies.get(name, value) != value:
            # Which one would Airbnb read? Keeping either could store the wrong session.
            raise ConflictingCookie(
                f"the Cookie header gives {name} twice, with different values: copy the "
                "request again from the browser, unchanged")
        cookies[name] = value
    if not cookies:
        raise InvalidCookie("no name=value pairs found: expected a Cookie header like 'a=1; b=2'")
    return cookies


def _parse_json_cookies(text: str) -> dict[str, str]:
    try:
        data = json.loads(text)
    except json.JSONDecodeError as exc:
        raise InvalidCookie(
            f"the cookie looks like JSON but is not valid JSON ({exc.msg})") from None
    except RecursionError:  # json has no depth limit of its own; Python's stack is the limit
        raise InvalidCookie("the cookie's JSON is nested too deeply to be a cookie export: give "
                            "the Cookie header, or a list of {name, value} objects") from None
    except ValueError:  # a number longer than Python reads (4300 digits)
        raise InvalidCookie("the cookie's JSON holds a number too long to be a cookie export: "
                            "give the Cookie header") from None
    if isinstance(data, dict):
        return {str(k): str(v) for k, v in data.items()}
    if not isinstance(data, list):
        raise InvalidCookie("a JSON cookie export must be a list of {name, value} objects")
    cookies: dict[str, str] = {}
    for item in data:
        if not isinstance(item, dict) or "name" not in item or "value" not in item:
            raise InvalidCookie("a JSON cookie export must be a list of {name, value} objects")
        name, value = str(item["name"]), str(item["value"])
        if name in AUTH_COOKIES and cookies.get(name, value) != value:
            raise ConflictingCookie(
                f"the cookie export gives {name} twice, with different values: export the "
                "cookies of airbnb.com again")
        cookies[name] = value
    return cookies


class SessionCookies(Mapping[str, str]):
    """The authentication cookies of one session (in AUTH_COOKIES' order) and nothing else.

    The one place cookies are filtered: whatever the source (a paste, a cookie file, the
    browser companion, Airbnb's Set-Cookie, the store), the other cookies are dropped here,
    and code that takes a `SessionCookies` knows there is nothing left to drop. Read-only, so
    a session checked once stays the session that was checked; the repr never shows a value.
    """

    __slots__ = ("_values",)

    def __init__(self, cookies: Mapping[str, str] | None = None) -> None:
        if isinstance(cookies, SessionCookies):
            self._values: dict[str, str] = cookies._values
        else:
            given = cookies or {}
            self._values = {name: given[name] for name in AUTH_COOKIES if name in given}

    @classmethod
    def parse(cls, text: str) -> SessionCookies:
        """The authentication cookies of a Cookie header or JSON export (parse_cookie_text)."""
        return cls(parse_cookie_text(text))

    def __getitem__(self, name: str) -> str:
        return self._values[name]

    def __iter__(self) -> Iterator[str]:
        return iter(self._values)

    def __len__(self) -> int:
        return len(self._values)

    def __repr__(self) -> str:
        return f"SessionCookies({', '.join(self._values)})"

    def without(self, names: Container[str]) -> SessionCookies:
        """These cookies but `names` (already filtered: nothing to drop twice)."""
        kept = SessionCookies()
        kept._values = {name: value for name, value in self._values.items()
                        if name not in names}
        return kept

    def header(self) -> str:
        """The Cookie header that sends them."""
        return cookie_header(self)


def value_problem(value: str) -> str | None:
    """Why a cookie value cannot be stored and sent in a Cookie header, None when it can.
    The reason never repeats the value."""
    if not value:
        return "is empty"
    if len(value) > MAX_COOKIE_VALUE:
        return f"is longer than {MAX_COOKIE_VALUE} characters"
    if not all("!" <= char <= "~" for char in value) or ";" in value:
        return ("has characters a Cookie header cannot carry (spaces, control characters, "
                "non-ASCII or ';')")
    return None


def refused_cookies(account_id: str, cookies: SessionCookies) -> dict[str, str]:
    """Name -> why, for each cookie of `cookies` that may not be stored for `account_id`. A
    `_user_attributes` that does not name `account_id` (another user, none, or a value that
    cannot be read) refuses them all: they may be another session, and an account's identity
    never changes."""
    refused = {name: f"{name} {problem}" for name, value in cookies.items()
               if (problem := value_problem(value)) is not None}
    if "_user_attributes" in cookies:
        why = refused.get("_user_attributes")
        if why is None:
            try:
                owner = user_id({"_user_attributes": cookies["_user_attributes"]})
            except InvalidCookie:
                owner = None
            if owner != account_id:
                why = ("_user_attributes names another user" if owner is not None
                       else "_user_attributes names no user")
        if why is not None:
            refused = {name: refused.get(name, why) for name in cookies}
    return refused


def cookie_expiry(when: datetime | float, now: datetime) -> datetime | None:
    """A cookie's expiry (a time, or a Unix timestamp) in UTC, clamped to at most
    MAX_COOKIE_LIFETIME after `now` as browsers do; None when it is no time at all (before
    year 1 or after 9999 once in UTC). A naive time is UTC."""
    latest = now.astimezone(UTC) + MAX_COOKIE_LIFETIME
    try:
        if isinstance(when, datetime):
            utc = (when if when.tzinfo else when.replace(tzinfo=UTC)).astimezone(UTC)
        else:
            if when != when:  # NaN
                return None
            utc = datetime.fromtimestamp(min(when, latest.timestamp()), tz=UTC)
    except (OverflowError, ValueError, OSError):
        return None
    return min(utc, latest)


def user_id(cookies: Mapping[str, str]) -> str | None:
    """The host's user id from `_user_attributes` (URL-encoded JSON with `id_str` or `id`)."""
    raw = cookies.get("_user_attributes")
    if raw is None:
        return None
    try:
        attributes = json.loads(unquote(raw))
    except json.JSONDecodeError:
        # Some exports keep the value quoted the way http.cookies writes it.
        try:
            morsel = SimpleCookie(f"_user_attributes={raw}")["_user_attributes"].value
            attributes = json.loads(unquote(morsel))
        except (CookieError, KeyError, json.JSONDecodeError):
            return None
        except RecursionError:
            raise _too_deep() from None
    except RecursionError:
        raise _too_deep() from None
    if not isinstance(attributes, dict):
        return None
    value = attributes.get("id_str", attributes.get("id"))
    return None if value is None else str(value)


def _too_deep() -> InvalidCookie:
    return InvalidCookie("_user_attributes holds JSON nested too deeply to be Airbnb's: copy the "
                         "Cookie header again from a request to airbnb.com/api/v3/")


def cookie_header(cookies: Mapping[str, str]) -> str:
    """The one serializer of cookies, for the Cookie header (and the store's digest)."""
    return "; ".join(f"{name}={value}" for name, value in cookies.items())


def session_cookies_for(account_id: str, text: str) -> SessionCookies:
    """Parse `text`, keep the authentication cookies, and check them (`check_session`)."""
    return check_session(account_id, SessionCookies.parse(text))


def check_session(account_id: str, cookies: SessionCookies) -> SessionCookies:
    """`cookies` themselves, once checked: they hold REQUIRED_COOKIES, belong to
    `account_id`, and each value may be stored and sent; otherwise InvalidCookie says which
    rule failed and what to copy instead."""
    missing = [name for name in REQUIRED_COOKIES if name not in cookies]
    if missing:
        raise InvalidCookie(
            f"the cookie lacks {', '.join(missing)}: copy the whole Cookie header of a request "
            "to airbnb.com/api/v3/ while logged in as the host"
        )
    for name, value in cookies.items():
        if (problem := value_problem(value)) is not None:
            raise InvalidCookie(f"the cookie {name} {problem}: copy the Cookie header again, "
                                "unchanged")
    owner = user_id(cookies)
    if owner is None:
        raise InvalidCookie("_user_attributes carries no user id (id_str): the cookie is not "
                            "from a logged-in session")
    if owner != account_id:
        raise InvalidCookie(
            f"the cookie belongs to Airbnb user {escaped(owner[:SHOWN_LIMIT])}, not to account "
            f"{escaped(account_id[:SHOWN_LIMIT])}: log in as that host, or register the "
            "account under the id the cookie belongs to"
        )
    return cookies
