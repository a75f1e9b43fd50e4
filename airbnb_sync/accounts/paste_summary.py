"""What a paste gives airbnb-sync and what it does not: shown to an owner before they submit
(the invite page), by name only, never a cookie's value.

The paste has been read already, once (`accounts.register.read_paste`, which refuses a bad
one and notes the names of what it leaves out); this only lays that out.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from airbnb_sync.accounts.paste import PastedSession


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


def summarize(pasted: PastedSession) -> PasteSummary:
    return PasteSummary(
        account_id=pasted.account_id, kept_cookies=list(pasted.cookies),
        user_agent=pasted.user_agent, x_client_version=pasted.x_client_version,
        has_api_key=pasted.api_key is not None, known_expiries=len(pasted.expires),
        dropped_cookies=list(pasted.dropped_cookies),
        dropped_headers=list(pasted.dropped_headers),
    )
