"""Helpers of the end-to-end tests: the hosts, running a range through Dagster, reading the
warehouse back. Plain functions (imported as `from pipeline_helpers import ...`); the
fixtures that use them live in this folder's conftest.py."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from pathlib import Path

import pandas as pd
import pytest
import sqlalchemy as sa
from dagster import DagsterInstance, ExecuteInProcessResult

from airbnb_sync.airbnb.windows import week_start_of
from airbnb_sync.cli.main import main as cli
from airbnb_sync.core.settings import load_settings
from airbnb_sync.defs.definitions import build_definitions
from airbnb_sync.defs.partitions import range_tags
from airbnb_sync.simulator import make_cookie
from airbnb_sync.warehouse.engine import create_warehouse_engine
from airbnb_sync.warehouse.tables import METRIC_TABLES

HOSTS = ("41234567", "58765432")  # the simulator gives them 1 and 4 listings
API_KEY = "sim-api-key"
CLIENT_VERSION = "0123456789abcdef0123456789abcdef01234567"
USER_AGENT = "Mozilla/5.0 (X11; Linux x86_64) Chrome/126.0 Safari/537.36"
WEEKS = 8
TABLES = ("listings", "conversion_metrics", "visibility_metrics")


def write_cookie_file(folder: Path, account_id: str) -> Path:
    """The simulator's session cookie of a host, as a file for `--cookie-file`."""
    cookie = folder / f"{account_id}.cookie"
    cookie.write_text(make_cookie(account_id))
    return cookie


def add_account(cookie_folder: Path, account_id: str) -> None:
    cookie = write_cookie_file(cookie_folder, account_id)
    assert cli(["accounts", "add", "--account-id", account_id, "--cookie-file", str(cookie),
                "--x-client-version", CLIENT_VERSION, "--user-agent", USER_AGENT]) == 0


def weeks_ending_now(count: int = WEEKS) -> tuple[date, date]:
    last = week_start_of(datetime.now(UTC).date())
    return last - timedelta(weeks=count - 1), last


def run_range(account_id: str, first: date, last: date) -> ExecuteInProcessResult:
    defs = build_definitions(load_settings())
    job = defs.resolve_implicit_global_asset_job_def()
    return job.execute_in_process(instance=DagsterInstance.get(),
                                  tags=range_tags(account_id, first, last), raise_on_error=False)


def table(name: str) -> pd.DataFrame:
    engine = create_warehouse_engine(load_settings().database_url)
    with engine.connect() as connection:
        frame = pd.read_sql(sa.select(METRIC_TABLES[name]), connection)
    key = [c for c in ("account_id", "listing_id", "metric_date", "week_start", "scraped_on")
           if c in frame.columns]
    return frame.sort_values(key).reset_index(drop=True)


def dump() -> dict[str, list[tuple]]:
    # NULL comes back as NaN, which never equals itself: compare None instead.
    return {name: [tuple(row) for row in table(name).astype(object).pipe(
                lambda f: f.where(f.notna(), None)).itertuples(index=False)]
            for name in TABLES}


def as_day(value) -> date:
    return pd.Timestamp(value).date()


def same(stored, served) -> bool:
    if served is None:
        return stored is None or pd.isna(stored)
    return stored == pytest.approx(served, rel=1e-12)
