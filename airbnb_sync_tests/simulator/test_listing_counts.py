"""The simulator serves hosts of any size: `--listings N` for every synthetic host,
`--listings-for ACCOUNT=N` or `"listings": N` in the accounts file for one, over real HTTP."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
import requests

from airbnb_sync.airbnb import parse
from airbnb_sync.airbnb.operations import (
    DEFAULT_HASHES,
    Operation,
    listings_section_body,
    request_path,
)
from airbnb_sync.simulator import Simulator, SimulatorConfig, load_accounts_file, make_cookie
from airbnb_sync.simulator.cli import build_parser, config_from_args
from airbnb_sync.simulator.data import listing_count, listings_for

BIG, SMALL, OTHER = "41234567", "58765432", "61111111"


def listed(simulator: Simulator, account: str) -> list[str]:
    operation = Operation.LISTINGS_SECTION
    response = requests.post(
        simulator.url + request_path(operation, DEFAULT_HASHES[operation]),
        json=listings_section_body(DEFAULT_HASHES[operation]),
        headers={"X-Airbnb-API-Key": "sim-api-key", "Cookie": make_cookie(account)}, timeout=30)
    response.raise_for_status()
    return [listing["listing_id"] for listing in parse.parse_listings(response.json())]


def test_a_listing_count_for_every_host_and_one_per_account() -> None:
    config = SimulatorConfig(listings=200, listings_for={SMALL: 3})
    with Simulator(config) as simulator:
        big = listed(simulator, BIG)
        assert len(big) == len(set(big)) == 200
        assert len(listed(simulator, SMALL)) == 3
        simulator.configure(listings=None)
        assert len(listed(simulator, OTHER)) == listing_count(OTHER)  # 1..8 by default


def test_a_host_that_grows_keeps_its_listings() -> None:
    assert listings_for(BIG, 10)[:5] == listings_for(BIG, 5)


def test_the_accounts_file_takes_a_count(tmp_path: Path) -> None:
    path = tmp_path / "accounts.json"
    path.write_text(json.dumps({"accounts": [{"account_id": BIG, "listings": 1000}]}))
    accounts = load_accounts_file(path)
    assert len(accounts[BIG]) == 1000
    path.write_text(json.dumps({"accounts": [{"account_id": BIG, "listings": -1}]}))
    with pytest.raises(ValueError, match=r"accounts\[0\]: a listing count must be"):
        load_accounts_file(path)


def test_the_command_line_options() -> None:
    args = build_parser().parse_args(["--listings", "1000", "--listings-for", f"{SMALL}=2"])
    config = config_from_args(args)
    assert config.listings == 1000 and dict(config.listings_for) == {SMALL: 2}
    cli = Path(sys.executable).with_name("airbnb-sync")
    bad = subprocess.run([str(cli), "simulator", "--listings", "many"], capture_output=True,
                         text=True, timeout=60, env={**os.environ, "PYTHONWARNINGS": "ignore"})
    assert bad.returncode == 2 and "--listings" in bad.stderr
    with pytest.raises(ValueError, match="listings must be"):
        SimulatorConfig(listings=-5)
