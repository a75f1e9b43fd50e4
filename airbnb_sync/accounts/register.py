"""Register an account, or give it a fresh session, from one paste: the one code path that
`airbnb-sync accounts add/update --from-curl/--from-har` and the REST API share.

Reading a paste (parse_curl / parse_har), checking whose session it is, filling the headers a
paste lacks, validating everything before the warehouse is touched, and storing it: whoever
calls this gets the same checks, the same refusals (one sentence each) and the same storage.
A paste is parsed once, into a `PastedSession`; its `SessionCookies` go on, as they are, into
the `SessionInput` that the store validates and keeps.
The callers only differ in how they name their inputs in a refusal (`--x-client-version` on
the command line, nothing in the API), which `Overrides.names` carries.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime
from urllib.parse import urlparse

from airbnb_sync.accounts.paste import (
    PastedSession,
    PasteError,
    parse_curl,
    parse_har,
)
from airbnb_sync.accounts.store import (
    AccountRecord,
    AccountStore,
    InvalidAccountInput,
)
from airbnb_sync.airbnb.cookies import REQUIRED_COOKIES, SessionCookies, user_id
from airbnb_sync.airbnb.domains import is_airbnb_host
from airbnb_sync.core.settings import Settings

# A curl command is one request: a megabyte is far more than any browser copies.
MAX_CURL_BYTES = 1 << 20
# A HAR holds every request of the page, bodies included.
MAX_HAR_BYTES = 256 << 20


class PasteRefused(InvalidAccountInput):
    """A paste that cannot register or refresh the account; the message says what to copy."""


@dataclass(frozen=True)
class Overrides:
    """Values given next to a paste, which win over what it says (the CLI's flags), and the
    names a refusal uses for them (None: the caller has no such input)."""

    account_id: str | None = None
    x_client_version: str | None = None
    user_agent: str | None = None
    names: Mapping[str, str] = field(default_factory=dict)


@dataclass(frozen=True)
class SessionInput:
    """Everything needed to store a session, validated; never logged (the repr hides it)."""

    account_id: str
    cookies: SessionCookies = field(repr=False)
    x_client_version: str
    user_agent: str
    api_key: str | None = field(default=None, repr=False)
    expires: Mapping[str, datetime] = field(default_factory=dict)


def paste_hosts(settings: Settings) -> tuple[str, ...]:
    """Besides Airbnb's own, a paste may name the configured AIRBNB_BASE_URL's host (the
    simulator, a proxy)."""
    return tuple(filter(None, [urlparse(settings.airbnb_base_url).hostname]))


def read_paste(text: str, settings: Settings, kind: str = "auto") -> PastedSession:
    """The session of a "Copy as cURL" (kind "curl") or a HAR export ("har"); "auto" tells
    them apart by the first character (a HAR is a JSON object). Raises PasteRefused."""
    if kind == "auto":
        kind = "har" if text.lstrip().startswith("{") else "curl"
    limit = MAX_HAR_BYTES if kind == "har" else MAX_CURL_BYTES
    if len(text) > limit:
        raise PasteRefused(f"the paste is larger than {limit} bytes: give only one request (a "
                           "HAR of the Insights page alone is much smaller)")
    try:
        if kind == "har":
            return parse_har(text, paste_hosts(settings))
        return parse_curl(text, paste_hosts(settings))
    except PasteError as exc:
        raise PasteRefused(str(exc)) from None


def session_input(paste: PastedSession, overrides: Overrides = Overrides(),
                  *, require_headers: bool = True) -> SessionInput:
    """What a paste stores, with the overrides applied. `require_headers`: a new account needs
    the User-Agent and X-Client-Version; a fresh session of a known one keeps its old ones."""
    names = overrides.names
    if overrides.account_id is not None and overrides.account_id != paste.account_id:
        hint = (f", or drop {names['account_id']}" if "account_id" in names else "")
        raise PasteRefused(f"the paste belongs to Airbnb user {paste.account_id}, not to account "
                           f"{overrides.account_id}: log in to Airbnb as that host and copy "
                           f"again{hint}")
    version = overrides.x_client_version or paste.x_client_version
    agent = overrides.user_agent or paste.user_agent
    if require_headers:
        _require(version, "X-Client-Version", names.get("x_client_version"))
        _require(agent, "User-Agent", names.get("user_agent"))
    return SessionInput(paste.account_id, paste.cookies, version or "", agent or "",
                        paste.api_key, dict(paste.expires))


def _require(value: str | None, header: str, option: str | None) -> None:
    if value is None:
        given = f" and {option} is not given" if option else ""
        instead = f", or give {option}" if option else ""
        raise PasteRefused(f"the paste has no {header} header{given}: copy a request to /api/v3/ "
                           f"(not the page itself){instead}")


def register(store: AccountStore, session: SessionInput, *, customer_id: str | None = None,
             label: str | None = None) -> AccountRecord:
    """Store a new account; the store validates every input before the database is written."""
    return store.add(session.account_id, session.cookies, session.x_client_version,
                     session.user_agent, customer_id=customer_id, label=label,
                     api_key=session.api_key, expires=session.expires)


def replace_session(store: AccountStore, session: SessionInput, *,
                    customer_id: str | None = None,
                    label: str | None = None) -> AccountRecord:
    """Store a fresh session of a known account (its auth status becomes 'unknown' until a
    check or sync confirms it); an empty header keeps the stored one. The store validates
    every input before the database is written."""
    return store.update(session.account_id, cookies=session.cookies,
                        x_client_version=session.x_client_version or None,
                        user_agent=session.user_agent or None, customer_id=customer_id,
                        label=label, api_key=session.api_key, expires=session.expires)


# --- the browser companion's form: cookies read with chrome.cookies -------------------------


@dataclass(frozen=True)
class BrowserCookie:
    name: str
    value: str = field(repr=False)
    domain: str
    expires: datetime | None = None


def is_airbnb_domain(domain: str, settings: Settings) -> bool:
    """Airbnb's own domains (airbnb.com, www.airbnb.fr, ...), or the host of AIRBNB_BASE_URL."""
    host = domain.strip().lstrip(".").lower()
    return is_airbnb_host(host) or host in paste_hosts(settings)


def session_from_cookies(account_id: str, cookies: list[BrowserCookie],
                         user_agent: str | None,
                         settings: Settings) -> tuple[SessionInput, int]:
    """The session of cookies a browser holds, and how many were not kept: cookies of other
    domains are never read, and of Airbnb's only the authentication cookies are kept. When
    two Airbnb domains hold a cookie of the same name, the one of AIRBNB_BASE_URL's domain
    wins. The cookies' user must be `account_id`."""
    base_host = (urlparse(settings.airbnb_base_url).hostname or "").lower()

    def serves_base(cookie: BrowserCookie) -> bool:
        domain = cookie.domain.strip().lstrip(".").lower()
        return base_host == domain or base_host.endswith(f".{domain}")

    airbnb = sorted((cookie for cookie in cookies if is_airbnb_domain(cookie.domain, settings)),
                    key=lambda cookie: not serves_base(cookie))
    chosen: dict[str, BrowserCookie] = {}
    for cookie in airbnb:
        chosen.setdefault(cookie.name, cookie)
    values = SessionCookies({name: cookie.value for name, cookie in chosen.items()})
    missing = [name for name in REQUIRED_COOKIES if name not in values]
    if missing:
        raise PasteRefused(f"the cookies hold no Airbnb session ({', '.join(missing)} missing): "
                           "sign in to Airbnb as the host in this browser, then send again")
    owner = user_id(values)
    if owner is None:
        raise PasteRefused("the _user_attributes cookie names no user id: sign in to Airbnb as "
                           "the host in this browser, then send again")
    if owner != account_id:
        raise PasteRefused(f"the cookies belong to Airbnb user {owner}, not to account "
                           f"{account_id}: sign in to Airbnb as that host, or use the token "
                           f"of account {owner}")
    expires = {name: when for name in values
               if (when := chosen[name].expires) is not None}
    return (SessionInput(account_id, values, "", user_agent or "", None, expires),
            len(cookies) - len(values))
