"""The sync core on its own, with no Dagster: plan, lease, fetch over real HTTP from the
simulator, build and validate each table's frame, and classify what failed."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from cryptography.fernet import Fernet

from airbnb_sync.accounts.secrets import build_cipher
from airbnb_sync.accounts.store import AccountStore
from airbnb_sync.airbnb.cookies import SessionCookies
from airbnb_sync.airbnb.errors import AuthExpired, WeekOutOfRange
from airbnb_sync.airbnb.factory import HttpClientFactory
from airbnb_sync.airbnb.windows import week_start_of
from airbnb_sync.core.settings import load_settings
from airbnb_sync.simulator import Simulator, SimulatorConfig, make_cookie
from airbnb_sync.sync.accounts import SyncEnvironment
from airbnb_sync.sync.tables import (
    LISTINGS,
    ListingsNotStored,
    SyncFailed,
    conversion_sync,
    listing_ids_by_account,
    run_table,
    visibility_sync,
)
from airbnb_sync.warehouse.engine import create_warehouse_engine
from airbnb_sync.warehouse.migrate import upgrade_to_head

ACCOUNT = "58765432"  # four listings in the simulator
API_KEY = "core-test-key"


@pytest.fixture
def env(tmp_path: Path) -> Iterator[tuple[SyncEnvironment, Simulator]]:
    with Simulator(SimulatorConfig(api_key=API_KEY)) as simulator:
        settings = load_settings({
            "DAGSTER_HOME": str(tmp_path), "AIRBNB_BASE_URL": simulator.url,
            "AIRBNB_API_KEY": API_KEY, "AIRBNB_SYNC_MIN_REQUEST_INTERVAL": "0",
            "AIRBNB_SYNC_MAX_RETRIES": "0"})
        engine = create_warehouse_engine(settings.database_url)
        upgrade_to_head(engine)
        store = AccountStore(engine, build_cipher((Fernet.generate_key().decode(),)))
        store.add(ACCOUNT, SessionCookies.parse(make_cookie(ACCOUNT)), "0" * 40,
                  "Mozilla/5.0 core test")
        yield SyncEnvironment(settings=settings, warehouse=engine, accounts=store,
                              airbnb=HttpClientFactory(settings),
                              now=datetime.now(UTC)), simulator


def this_week() -> dict[str, list]:
    return {ACCOUNT: [week_start_of(datetime.now(UTC).date())]}


def test_three_tables_build_valid_complete_frames(env) -> None:
    sync_env, simulator = env

    listings = run_table(sync_env, LISTINGS, this_week())
    ids = listing_ids_by_account(listings.frame, [ACCOUNT])
    conversion = run_table(sync_env, conversion_sync(ids), this_week())
    visibility = run_table(sync_env, visibility_sync(ids), this_week())

    assert len(ids[ACCOUNT]) == 4
    assert (len(listings.frame), len(conversion.frame), len(visibility.frame)) == (4, 28, 4)
    assert not any(result.gaps or result.report.incomplete
                   for result in (listings, conversion, visibility))
    assert sync_env.accounts.get(ACCOUNT).auth_status == "ok"
    assert simulator.stats()["accounts"][ACCOUNT]["requests"] > 0


def test_an_expired_session_fails_for_good_and_is_marked(env) -> None:
    sync_env, simulator = env
    simulator.expire(ACCOUNT)

    with pytest.raises(SyncFailed) as failed:
        run_table(sync_env, LISTINGS, this_week())

    assert isinstance(failed.value.report.account_errors[ACCOUNT], AuthExpired)
    assert failed.value.retryable is False
    assert sync_env.accounts.get(ACCOUNT).auth_status == "expired"


def test_unreachable_weeks_and_unknown_listings_are_refused_before_any_request(env) -> None:
    sync_env, simulator = env
    long_ago = week_start_of(datetime.now(UTC).date() - timedelta(days=400))

    with pytest.raises(WeekOutOfRange) as out_of_range:
        run_table(sync_env, LISTINGS, {ACCOUNT: [long_ago]})
    with pytest.raises(ListingsNotStored) as no_listings:
        listing_ids_by_account(run_table(sync_env, LISTINGS, this_week()).frame.iloc[0:0],
                               [ACCOUNT])

    assert not out_of_range.value.retryable and not no_listings.value.retryable
    assert simulator.stats()["accounts"][ACCOUNT]["requests"] == 1  # the listings above
