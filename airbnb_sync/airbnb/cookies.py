"""The host's session cookie: parsing, the authentication subset, and whose session it is.

Only the cookies Airbnb uses for authentication are ever stored or sent; analytics and
tracking cookies a browser export contains are dropped on the way in.
"""

from __future__ import annotations

import json
from http.cookies import CookieError, SimpleCookie
from urllib.parse import unquote

from airbnb_sync.core.redact import register_cookie_names

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


class InvalidCookie(ValueError):
    """The cookie text cannot authenticate the account it was given for."""


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
        cookies[name.strip()] = value.strip()
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
    if isinstance(data, dict):
        return {str(k): str(v) for k, v in data.items()}
    cookies = {}
    for item in data:
        if not isinstance(item, dict) or "name" not in item or "value" not in item:
            raise InvalidCookie("a JSON cookie export must be a list of {name, value} objects")
        cookies[str(item["name"])] = str(item["value"])
    return cookies


def auth_cookies(cookies: dict[str, str]) -> dict[str, str]:
    return {name: cookies[name] for name in AUTH_COOKIES if name in cookies}


def user_id(cookies: dict[str, str]) -> str | None:
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


def cookie_header(cookies: dict[str, str]) -> str:
    return "; ".join(f"{name}={value}" for name, value in cookies.items())


def session_cookies_for(account_id: str, text: str) -> dict[str, str]:
    """Parse `text`, keep the authentication cookies, and check they belong to `account_id`."""
    cookies = auth_cookies(parse_cookie_text(text))
    missing = [name for name in REQUIRED_COOKIES if name not in cookies]
    if missing:
        raise InvalidCookie(
            f"the cookie lacks {', '.join(missing)}: copy the whole Cookie header of a request "
            "to airbnb.com/api/v3/ while logged in as the host"
        )
    owner = user_id(cookies)
    if owner is None:
        raise InvalidCookie("_user_attributes carries no user id (id_str): the cookie is not "
                            "from a logged-in session")
    if owner != account_id:
        raise InvalidCookie(
            f"the cookie belongs to Airbnb user {owner}, not to account {account_id}: log in as "
            "that host, or register the account under the id the cookie belongs to"
        )
    return cookies
