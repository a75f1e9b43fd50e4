"""Airbnb's domains, by the Public Suffix List: country domains and their subdomains pass,
lookalikes do not (the paste, keep-alive and the client share this rule)."""

from __future__ import annotations

import pytest

from airbnb_sync.airbnb.domains import is_airbnb_host

AIRBNB = ["airbnb.com", "www.airbnb.com", "www.airbnb.co.uk", "airbnb.com.au", "fr.airbnb.ca",
          "www.airbnb.de", "airbnb.mx", "www.airbnb.com.mx", "airbnb.co.in", "airbnb.cn",
          "a.b.airbnb.fr", "WWW.AIRBNB.COM", "www.airbnb.com."]
LOOKALIKES = ["www.airbnb.com.evil.example", "airbnb.evil", "airbnb.com.de", "airbnb.co.de",
              "airbnb.co.com", "airbnb.github.io", "airbnb.blogspot.com", "notairbnb.com",
              "airbnb-com.example", "xn--airbnb-9ua.com", "\u0430irbnb.com", "airbnb.co.evil",
              "airbnb.com.evil", "airbnb.net", "airbnb", "com", "", ".", ".airbnb.com",
              "airbnb.com..", "www..airbnb.com", "127.0.0.1", "airbnb.com.au.evil.com"]


@pytest.mark.parametrize("host", AIRBNB)
def test_airbnbs_domains_pass(host: str) -> None:
    assert is_airbnb_host(host)


@pytest.mark.parametrize("host", LOOKALIKES)
def test_lookalikes_do_not(host: str) -> None:
    assert not is_airbnb_host(host)
