"""The simulated sign-in over TLS: it sets the host's cookies for Airbnb's domain, and from
then on only its fresh `_aat` authenticates the account; a canary cookie stays on its host."""

from __future__ import annotations

from pathlib import Path

import requests
from tls_cert import server_context

from airbnb_sync.airbnb.operations import (
    DEFAULT_HASHES,
    Operation,
    listings_section_body,
    request_path,
)
from airbnb_sync.simulator import Simulator, SimulatorConfig, make_cookie

HOST = "41234567"


def listings(base_url: str, cookie: str, verify: Path | bool = True) -> requests.Response:
    operation = Operation.LISTINGS_SECTION
    return requests.post(base_url + request_path(operation, DEFAULT_HASHES[operation]),
                         headers={"Cookie": cookie, "X-Airbnb-API-Key": "k"},
                         json=listings_section_body(DEFAULT_HASHES[operation]),
                         timeout=10, verify=verify)


def authenticated(answer: requests.Response) -> bool:
    return answer.status_code == 200 and "authentication_required" not in answer.text


def with_aat(cookie: str, aat: str) -> str:
    return "; ".join(f"_aat={aat}" if pair.startswith("_aat=") else pair
                     for pair in cookie.split("; "))


def test_sign_in_sets_airbnb_cookies_and_only_its_aat_authenticates(tmp_path: Path) -> None:
    context, certificate = server_context(tmp_path, ["www.airbnb.com", "127.0.0.1"])
    with Simulator(SimulatorConfig(api_key="k")) as simulator:
        tls_url = simulator.serve_tls(context)
        old_cookie = make_cookie(HOST)
        assert authenticated(listings(simulator.url, old_cookie))

        page = requests.get(f"{tls_url}/_sim/sign-in", params={"user_id": HOST},
                            headers={"Host": "www.airbnb.com"}, verify=certificate, timeout=10)

        assert page.status_code == 200 and "text/html" in page.headers["Content-Type"]
        set_cookies = page.raw.headers.getlist("Set-Cookie")
        names = {header.split("=", 1)[0] for header in set_cookies}
        assert {"_aat", "_user_attributes", "_airbed_session_id", "_ga"} <= names
        assert all("Domain=.airbnb.com" in header and "Secure" in header
                   for header in set_cookies)
        fresh = simulator.state.signed_in_aat(HOST)
        assert fresh and f"_aat={fresh};" in " ".join(set_cookies)
        assert fresh not in old_cookie
        # The old session no longer authenticates the host; the browser's new one does.
        assert not authenticated(listings(simulator.url, old_cookie))
        assert authenticated(listings(tls_url, with_aat(old_cookie, fresh), certificate))

        canary = requests.get(f"{tls_url}/_sim/set-cookie",
                              params={"name": "_aat", "value": "canary-value"},
                              headers={"Host": "www.not-airbnb.test"}, verify=certificate,
                              timeout=10)
        assert canary.status_code == 200
        assert "Domain" not in canary.headers["Set-Cookie"]


def test_sign_in_without_a_user_id_is_refused(tmp_path: Path) -> None:
    with Simulator() as simulator:
        answer = requests.get(f"{simulator.url}/_sim/sign-in", params={"user_id": "x1"},
                              timeout=10)
        assert answer.status_code == 400 and "Set-Cookie" not in answer.headers
