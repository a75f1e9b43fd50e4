"""The simulator rotates `_aat` every K requests of an account, accepts the previous value for
G more, can give the cookie expiry attributes; and prints a sample "Copy as cURL"."""

from __future__ import annotations

import subprocess
import sys
from collections.abc import Iterator
from email.utils import parsedate_to_datetime

import pytest
import requests

from airbnb_sync.accounts.paste import parse_curl
from airbnb_sync.airbnb.operations import (
    DEFAULT_HASHES,
    Operation,
    listings_section_body,
    request_path,
)
from airbnb_sync.simulator import Simulator, SimulatorConfig, make_cookie
from airbnb_sync.simulator.cli import build_parser, config_from_args
from airbnb_sync.simulator.rotation import rotated_aat

HOST = "58765432"
KEY = "rotation-key"


@pytest.fixture
def sim() -> Iterator[Simulator]:
    config = SimulatorConfig(api_key=KEY, rotate_every=3, rotate_grace=2, cookie_max_age=600)
    with Simulator(config) as simulator:
        yield simulator


def _send(sim: Simulator, aat: str | None = None) -> requests.Response:
    cookie = make_cookie(HOST)
    if aat is not None:
        original = next(p for p in cookie.split("; ") if p.startswith("_aat="))
        cookie = cookie.replace(original, f"_aat={aat}")
    operation = Operation.LISTINGS_SECTION
    return requests.post(sim.url + request_path(operation, DEFAULT_HASHES[operation]),
                         json=listings_section_body(DEFAULT_HASHES[operation]),
                         headers={"Cookie": cookie, "X-Airbnb-API-Key": KEY}, timeout=10)


def test_every_third_request_sets_a_new_aat_and_the_old_one_has_a_grace_of_two(
        sim: Simulator) -> None:
    first, second, third = (_send(sim) for _ in range(3))
    assert "Set-Cookie" not in first.headers and "Set-Cookie" not in second.headers
    set_cookie = third.headers["Set-Cookie"]
    new = rotated_aat(0, HOST, 1)
    assert set_cookie.startswith(f"_aat={new}; Path=/") and "Max-Age=600" in set_cookie
    expires = parsedate_to_datetime(set_cookie.split("Expires=")[1])
    assert expires.tzinfo is not None

    graced = [_send(sim).status_code for _ in range(3)]  # the old value: 2 more, then refused
    assert graced == [200, 200, 401]
    assert _send(sim, new).status_code == 200  # the new value works
    assert sim.state.rotation.generations(HOST) == 1


def test_restore_forgets_the_rotation(sim: Simulator) -> None:
    for _ in range(6):
        _send(sim)
    assert _send(sim).status_code == 401
    sim.restore(HOST)
    assert _send(sim).status_code == 200


def test_rotation_knobs_from_the_command_line_and_their_errors() -> None:
    args = build_parser().parse_args(["--rotate-every", "7", "--rotate-grace", "2",
                                      "--cookie-max-age", "3600"])
    config = config_from_args(args)
    assert (config.rotate_every, config.rotate_grace, config.cookie_max_age) == (7, 2, 3600)
    with pytest.raises(ValueError, match="rotate_every must be at least 1"):
        SimulatorConfig(rotate_every=0)
    with pytest.raises(ValueError, match="rotate_grace must not be negative"):
        SimulatorConfig(rotate_grace=-1)


def test_print_curl_gives_a_paste_that_registers_the_host() -> None:
    printed = subprocess.run([sys.executable, "-m", "airbnb_sync.cli.main", "simulator",
                              "--print-curl", HOST], capture_output=True, text=True, timeout=60)
    assert printed.returncode == 0, printed.stderr
    session = parse_curl(printed.stdout)
    assert session.account_id == HOST and session.api_key == "sim-api-key"
    refused = subprocess.run([sys.executable, "-m", "airbnb_sync.cli.main", "simulator",
                              "--print-curl", "12ab"], capture_output=True, text=True, timeout=60)
    assert refused.returncode == 2 and refused.stderr.count("\n") == 1
