"""Hostile `Set-Cookie` through whole Dagster runs: the simulator answers every request of
one host with the other registered host's session cookies, an `_aat` whose Max-Age no
calendar holds, and an empty `_aat`. The runs succeed, the stored session stays the host's,
the warehouse holds that host's own listings only, and no cookie value reaches the logs."""

from __future__ import annotations

import logging
from urllib.parse import unquote

import pytest
import sqlalchemy as sa
from pipeline_helpers import HOSTS, run_range, weeks_ending_now

from airbnb_sync.accounts.store import open_store
from airbnb_sync.core.settings import load_settings
from airbnb_sync.simulator import Simulator, make_cookie
from airbnb_sync.simulator.data import listings_for
from airbnb_sync.warehouse.engine import create_warehouse_engine
from airbnb_sync.warehouse.tables import listings

HOST, OTHER = HOSTS[1], HOSTS[0]  # 4 listings and 1 listing in the simulator


def _cookies(account_id: str) -> dict[str, str]:
    return dict(pair.split("=", 1) for pair in make_cookie(account_id).split("; "))


def _listing_ids(account_id: str) -> set[str]:
    engine = create_warehouse_engine(load_settings().database_url)
    with engine.connect() as connection:
        return set(connection.execute(sa.select(listings.c.listing_id)
                                      .where(listings.c.account_id == account_id)).scalars())


@pytest.mark.slow
@pytest.mark.parametrize("database_url", ["sqlite"], indirect=True)
def test_runs_answered_with_another_hosts_cookies_keep_the_hosts_identity(
        pipeline_env: Simulator, caplog: pytest.LogCaptureFixture) -> None:
    simulator = pipeline_env
    other = _cookies(OTHER)
    simulator.configure(set_cookies=(
        f"_user_attributes={other['_user_attributes']}; Path=/",
        f"_aat={other['_aat']}; Path=/; Max-Age=99999999999999",
        "_aat=; Path=/api"))
    caplog.set_level(logging.DEBUG)
    store = open_store(load_settings())
    stored = dict(store.session(HOST).cookies)
    first, last = weeks_ending_now(2)

    assert run_range(HOST, first, last).success
    simulator.configure(set_cookies=())
    assert run_range(HOST, first, last).success

    assert dict(store.session(HOST).cookies) == stored
    assert store.get(HOST).auth_status == "ok"
    assert {record["account_id"] for record in simulator.requests()} == {HOST}
    assert _listing_ids(HOST) == {listing.id for listing in listings_for(HOST)}
    assert not _listing_ids(HOST) & {listing.id for listing in listings_for(OTHER)}
    assert "another user" in caplog.text
    for value in (other["_aat"], other["_user_attributes"], unquote(other["_user_attributes"])):
        assert value not in caplog.text
