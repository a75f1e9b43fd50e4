"""A fourth dataset, declared in this test only, goes the whole way with nothing else edited:
fetched from the simulator over HTTP, validated, upserted, exported by the CLI, purged, and
given an asset with its checks. It asks ListingsSectionQuery through the client's generic
`query` (as a dataset with an operation of its own would) and keeps one row per listing of
the run and week, with its name, so the simulator needs nothing new either."""

from __future__ import annotations

import csv
from collections.abc import Iterator
from dataclasses import replace
from datetime import UTC, date, datetime
from pathlib import Path
from typing import Any

import dagster as dg
import pandas as pd
import pytest
import sqlalchemy as sa
from cryptography.fernet import Fernet

from airbnb_sync.accounts.secrets import build_cipher
from airbnb_sync.accounts.store import AccountStore
from airbnb_sync.airbnb.cookies import SessionCookies
from airbnb_sync.airbnb.factory import HttpClientFactory
from airbnb_sync.airbnb.operations import Operation
from airbnb_sync.airbnb.parse import parse_listings
from airbnb_sync.airbnb.recordings import RecordedClientFactory, RecordingClientFactory
from airbnb_sync.airbnb.windows import week_start_of
from airbnb_sync.cli.main import main
from airbnb_sync.core.settings import load_settings
from airbnb_sync.datasets import DATASETS, Dataset, register, sql_table, unregister
from airbnb_sync.datasets.completeness import ListingIds, every_listing
from airbnb_sync.datasets.dataset import Work
from airbnb_sync.datasets.fetch import FetchOutcome, run_listings
from airbnb_sync.defs.assets import COMPLETE, VALID_SCHEMA, dataset_asset, with_grid
from airbnb_sync.defs.partitions import sync_partitions
from airbnb_sync.simulator import Simulator, SimulatorConfig, make_cookie
from airbnb_sync.sync.accounts import SyncEnvironment
from airbnb_sync.sync.tables import LISTINGS, listing_ids_by_account, run_table, table_sync
from airbnb_sync.warehouse.declare import ID, MOMENT, SUNDAY, TEXT, Field, InsightTable
from airbnb_sync.warehouse.engine import create_warehouse_engine, dispose_warehouse_engine
from airbnb_sync.warehouse.frames import FrameValidationError, to_frame, validate_frame
from airbnb_sync.warehouse.migrate import upgrade_to_head
from airbnb_sync.warehouse.upsert import write_frames_by_account

ACCOUNT = "58765432"  # four listings in the simulator
API_KEY = "toy-dataset-key"
TOY = "listing_names"


NAMES_ARGUMENTS = {"metricType": "CONVERSION", "groupBys": ["RATING_CATEGORY"],
                   "groupByValues": ["occupancy_rate"]}


def fetch_names(work: Work, listing_ids: ListingIds | None) -> FetchOutcome:
    """The run's listings' names, one row per listing and week (ListingsSectionQuery)."""
    wanted = set(run_listings(work, listing_ids))
    answer = work.client.query(Operation.LISTINGS_SECTION, NAMES_ARGUMENTS)
    listings = [listing for listing in parse_listings(answer) if listing["listing_id"] in wanted]
    return FetchOutcome(records=[
        {"account_id": work.account_id, "listing_id": listing["listing_id"], "week_start": week,
         "listing_name": listing["listing_name"], "scraped_at": work.scraped_at}
        for week in work.plan.weeks for listing in listings])


TOY_DATASET = Dataset(
    InsightTable(TOY, "a listing's name in a week (a test's own dataset)", (
        Field("account_id", ID, key=True, references="accounts.account_id"),
        Field("listing_id", ID, key=True),
        Field("week_start", SUNDAY, key=True),
        Field("listing_name", TEXT, nullable=True),
        Field("scraped_at", MOMENT),
    )),
    description="Each listing's name per week, from ListingsSectionQuery (a test's own).",
    operations=(Operation.LISTINGS_SECTION,),
    fetch=fetch_names,
    completeness=every_listing("week_start", days_per_week=1),
    date_column="week_start",
)


@pytest.fixture
def toy() -> Iterator[Dataset]:
    register(TOY_DATASET)
    try:
        yield TOY_DATASET
    finally:
        unregister(TOY)


@pytest.fixture
def env(toy: Dataset, database_url: str, dagster_home: Path,
        monkeypatch: pytest.MonkeyPatch) -> Iterator[tuple[SyncEnvironment, Simulator]]:
    monkeypatch.setenv("AIRBNB_SYNC_DATABASE_URL", database_url)
    with Simulator(SimulatorConfig(api_key=API_KEY)) as simulator:
        settings = load_settings({
            "DAGSTER_HOME": str(dagster_home), "AIRBNB_SYNC_DATABASE_URL": database_url,
            "AIRBNB_BASE_URL": simulator.url, "AIRBNB_API_KEY": API_KEY,
            "AIRBNB_SYNC_MIN_REQUEST_INTERVAL": "0", "AIRBNB_SYNC_MAX_RETRIES": "0"})
        engine = create_warehouse_engine(database_url)
        upgrade_to_head(engine)
        sql_table(TOY).create(engine)  # what the dataset's migration would do
        store = AccountStore(engine, build_cipher((Fernet.generate_key().decode(),)))
        store.add(ACCOUNT, SessionCookies.parse(make_cookie(ACCOUNT)), "0" * 40,
                  "Mozilla/5.0 toy dataset test")
        try:
            yield SyncEnvironment(settings=settings, warehouse=engine, accounts=store,
                                  airbnb=HttpClientFactory(settings),
                                  now=datetime.now(UTC)), simulator
        finally:
            dispose_warehouse_engine(database_url)


def toy_rows(engine: sa.Engine) -> list[Any]:
    table = sql_table(TOY)
    with engine.connect() as connection:
        return list(connection.execute(sa.select(table).order_by(table.c.listing_id)))


def test_a_fourth_dataset_is_fetched_validated_upserted_exported_and_purged(
        env: tuple[SyncEnvironment, Simulator], tmp_path: Path,
        capsys: pytest.CaptureFixture[str]) -> None:
    sync_env, simulator = env
    week = week_start_of(datetime.now(UTC).date())
    weeks = {ACCOUNT: [week]}

    # Fetch (over HTTP, from the simulator) and validation, for the listings stored first.
    listings = run_table(sync_env, LISTINGS, weeks)
    ids = listing_ids_by_account(listings.frame, [ACCOUNT])
    before = simulator.stats()["accounts"][ACCOUNT]["requests"]
    result = run_table(sync_env, table_sync(TOY_DATASET, ids), weeks)
    assert simulator.stats()["accounts"][ACCOUNT]["requests"] == before + 1
    assert len(ids[ACCOUNT]) == 4 and len(result.frame) == 4
    assert result.gaps == {} and not result.report.incomplete
    assert list(result.frame.columns) == list(TOY_DATASET.table.columns)
    names = dict(zip(listings.frame["listing_id"], listings.frame["listing_name"], strict=True))
    assert dict(zip(result.frame["listing_id"], result.frame["listing_name"],
                    strict=True)) == names
    # The completeness rule names a listing of the run that has no row.
    missing = table_sync(TOY_DATASET, {ACCOUNT: [*ids[ACCOUNT], "99"]}).missing(
        result.frame, weeks)
    assert missing == {f"{ACCOUNT}/99": [week.isoformat()]}
    # The table's Pandera schema, derived from the declaration, refuses what breaks it.
    broken = {**result.frame.iloc[0].to_dict(), "listing_id": "not-digits"}
    with pytest.raises(FrameValidationError, match="digits_only"):
        validate_frame(TOY, to_frame(TOY, [broken]))

    # Upsert: new rows once, then the same key updates in place.
    engine = sync_env.warehouse
    first = write_frames_by_account(engine, TOY, result.frame)[ACCOUNT]
    again = write_frames_by_account(engine, TOY, result.frame)[ACCOUNT]
    assert (first.rows, first.inserted, again.rows, again.inserted) == (4, 4, 4, 0)
    assert [row.listing_name for row in toy_rows(engine)] == [names[i] for i in sorted(names)]

    # Export: the CLI offers the table and filters on its date column.
    output = tmp_path / "names.csv"
    assert main(["export", "--table", TOY, "--format", "csv", "--output", str(output),
                 "--from", week.isoformat(), "--to", week.isoformat()]) == 0
    with output.open(newline="") as exported:
        rows = list(csv.DictReader(exported))
    assert [row["listing_id"] for row in rows] == sorted(names)
    assert {row["week_start"] for row in rows} == {week.isoformat()}
    empty = tmp_path / "none.csv"
    assert main(["export", "--table", TOY, "--format", "csv", "--output", str(empty),
                 "--to", date(2000, 1, 1).isoformat()]) == 0
    assert list(csv.DictReader(empty.open(newline=""))) == []
    capsys.readouterr()

    # Purge removes the dataset's rows with the account.
    removed = sync_env.accounts.purge(ACCOUNT)
    assert removed[TOY] == 4
    assert toy_rows(engine) == []


def test_a_fourth_dataset_is_recorded_and_replayed(env: tuple[SyncEnvironment, Simulator],
                                                   tmp_path: Path) -> None:
    """Its operation goes through the recording client, and a replay without the network
    builds the same frame."""
    sync_env, simulator = env
    weeks = {ACCOUNT: [week_start_of(datetime.now(UTC).date())]}
    ids = listing_ids_by_account(run_table(sync_env, LISTINGS, weeks).frame, [ACCOUNT])
    folder = tmp_path / "recording"
    recording = replace(sync_env, airbnb=RecordingClientFactory(sync_env.airbnb, folder))
    recorded = run_table(recording, table_sync(TOY_DATASET, ids), weeks)
    requests = simulator.stats()["accounts"][ACCOUNT]["requests"]
    replay = replace(sync_env, airbnb=RecordedClientFactory(folder))
    replayed = run_table(replay, table_sync(TOY_DATASET, ids), weeks)
    assert simulator.stats()["accounts"][ACCOUNT]["requests"] == requests
    assert len(recorded.frame) == 4
    pd.testing.assert_frame_equal(replayed.frame.drop(columns="scraped_at"),
                                  recorded.frame.drop(columns="scraped_at"))


def test_a_fourth_dataset_gets_an_asset_with_its_checks(toy: Dataset, dagster_home: Path) -> None:
    settings = load_settings({"DAGSTER_HOME": str(dagster_home)})
    assert list(DATASETS)[-1] == TOY
    [toy_asset] = with_grid([dataset_asset(toy)], sync_partitions(settings))
    assert toy_asset.partitions_def == sync_partitions(settings)
    assert {check.name for check in toy_asset.check_specs} == {VALID_SCHEMA, COMPLETE}
    assert set(toy_asset.dependency_keys) == {dg.AssetKey("listings")}
    assert toy_asset.descriptions_by_key[dg.AssetKey(TOY)] == TOY_DATASET.description


def test_a_dataset_is_registered_once() -> None:
    twin = Dataset(DATASETS["listings"].table, description="twin", operations=(),
                   fetch=fetch_names, completeness=every_listing("week_start", 1),
                   date_column="week_start")
    with pytest.raises(ValueError, match="already registered"):
        register(twin)
    with pytest.raises(ValueError, match="no such date column"):
        Dataset(TOY_DATASET.table, description="", operations=(), fetch=fetch_names,
                completeness=every_listing("week_start", 1), date_column="metric_date")
    assert TOY not in DATASETS
