"""Which hosts are Airbnb's: where a paste may come from, and whose cookies keep-alive keeps.

The rule: the host's registrable domain, by the Public Suffix List's ICANN section (the
`publicsuffixlist` package, bundled: nothing is downloaded), is `airbnb.` followed by `com`,
a country code (`airbnb.de`, `airbnb.ca`), or `co.` or `com.` and a country code
(`airbnb.co.uk`, `airbnb.com.au`), these being public suffixes; any subdomain of it
(`www.`, `fr.`) is Airbnb's too. So `airbnb.com.evil.example` (registrable domain
`evil.example`), `airbnb.evil` (no such suffix), `airbnb.com.de` (`com.de` is a domain one
company sells names under, not a public suffix of the ICANN section) and `notairbnb.com` are
not. A pattern on the name alone cannot tell `airbnb.com.de` from `airbnb.com.au`.
"""

from __future__ import annotations

import re
from functools import cache

from publicsuffixlist import PublicSuffixList

_AIRBNB_SUFFIX = re.compile(r"com|(?:co\.|com\.)?[a-z]{2}")


@cache
def _suffixes() -> PublicSuffixList:
    # Reading the list is not free (README: Performance), and it never changes in a process.
    return PublicSuffixList(only_icann=True)


def is_airbnb_host(host: str) -> bool:
    """The host (a URL's hostname, or a cookie's domain) is one of Airbnb's domains."""
    host = host.lower().removesuffix(".")
    if not host or not host.isascii() or ".." in host or host[0] == "." or host[-1] == ".":
        return False
    suffix = _suffixes().publicsuffix(host, accept_unknown=False)
    registrable = _suffixes().privatesuffix(host, accept_unknown=False)
    return (suffix is not None and registrable == f"airbnb.{suffix}"
            and _AIRBNB_SUFFIX.fullmatch(suffix) is not None)
