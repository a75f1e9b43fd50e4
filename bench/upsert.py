"""Warehouse upsert benchmark: rows per second of the IO manager's write path against a raw
COPY of the same rows into an unindexed table, same process, same server.

For each database (PostgreSQL, TimescaleDB) and size (10k, 100k, 1M rows of
`conversion_metrics`), in a fresh database of its own, each repetition:
1. raw COPY: the rows, already in COPY's format, into a plain table with the same columns and
   no key, index or foreign key (the physical limit of the server for these rows); and the
   same COPY straight into the empty warehouse table (its primary key, week index and
   foreign key: what the schema costs before any upsert logic, on TimescaleDB a hypertable);
2. fresh insert: the IO manager's write path (`refuse_rows_outside` + `write_frames_by_account`,
   as `handle_output` calls them) into the empty warehouse table;
3. re-upsert, same figures: every row conflicts, nothing changed (a re-run on the same day);
4. re-upsert, changed figures: every row conflicts and is updated.
Rows per second and ratios to the raw COPY are medians over the repetitions.

The frames look like real ones: accounts of 20 listings with 51 weeks of daily rows (7,140
rows per account and run), 19-digit ids, rates with some "no data" NaN, counts as Int64.
"""

from __future__ import annotations

import argparse
import io
import statistics
import time
from datetime import UTC, date, datetime, timedelta
from typing import Any

import numpy as np
import pandas as pd
import sqlalchemy as sa
from common import emit, fresh_database, log, machine, safe, server_url, summary

from airbnb_sync.datasets import sql_table
from airbnb_sync.defs.io_manager import refuse_rows_outside
from airbnb_sync.warehouse.engine import create_warehouse_engine
from airbnb_sync.warehouse.frames import frame_columns, validate_frame
from airbnb_sync.warehouse.migrate import forget_upgrades, upgrade_to_head
from airbnb_sync.warehouse.tables import PG_SCHEMA, accounts
from airbnb_sync.warehouse.upsert import (
    COPY_OPTIONS,
    _csv_rows,
    _normalize,
    write_frames_by_account,
)

TABLE = "conversion_metrics"
conversion_metrics = sql_table(TABLE)
LISTINGS_PER_ACCOUNT = 20
WEEKS = 51
DAYS = WEEKS * 7
FIRST_WEEK = date(2025, 11, 2)
GOALS = {"fresh_insert": 0.5, "reupsert_changed": 0.3}
DEFAULT_SIZES = (10_000, 100_000, 1_000_000)


def conversion_frame(rows: int, seed: int = 7) -> pd.DataFrame:
    """`rows` realistic conversion_metrics rows, typed like `frames.to_frame` makes them."""
    rng = np.random.default_rng(seed)
    per_account = LISTINGS_PER_ACCOUNT * DAYS
    index = np.arange(rows)
    account_no, rest = np.divmod(index, per_account)
    listing_no, day_no = np.divmod(rest, DAYS)
    account_ids = np.array([f"{40_000_000 + n}" for n in range(account_no.max() + 1)],
                           dtype=object)
    listing_ids = np.array([f"{1_192_066_365_893_342_558 + n * 7_919}"
                            for n in range(LISTINGS_PER_ACCOUNT)], dtype=object)
    days = pd.Timestamp(FIRST_WEEK) + pd.to_timedelta(day_no, unit="D")
    week_starts = pd.Timestamp(FIRST_WEEK) + pd.to_timedelta(day_no // 7 * 7, unit="D")
    scraped_at = datetime.now(UTC).replace(microsecond=123456)
    scraped_on = pd.Timestamp(scraped_at.date())

    def rates(high: float) -> np.ndarray:
        values = rng.uniform(0, high, rows)
        values[rng.random(rows) < 0.08] = np.nan
        return values

    def counts(high: int) -> pd.arrays.IntegerArray:
        values = pd.array(rng.integers(0, high, rows), dtype="Int64")
        values[rng.random(rows) < 0.08] = pd.NA
        return values

    frame = pd.DataFrame({
        "account_id": account_ids[account_no],
        "listing_id": listing_ids[listing_no],
        "metric_date": days.astype("datetime64[ns]"),
        "scraped_on": pd.Series(scraped_on, index=index).astype("datetime64[ns]"),
        "week_start": week_starts.astype("datetime64[ns]"),
        "conversion_rate_your": rates(0.05),
        "conversion_rate_similar": rates(0.04),
        "p3_impressions_your": counts(60),
        "p3_impressions_similar": counts(20),
        "scraped_at": pd.Series(pd.Timestamp(scraped_at), index=index)
        .astype("datetime64[ns, UTC]"),
    })
    return frame[list(frame_columns(TABLE))]


def changed(frame: pd.DataFrame) -> pd.DataFrame:
    """The same keys with every row's figures different (a later fetch on the same day)."""
    other = frame.copy()
    other["p3_impressions_your"] = (other["p3_impressions_your"].fillna(0) + 1).astype("Int64")
    return other


def weeks_by_account(frame: pd.DataFrame) -> dict[str, list[date]]:
    weeks = [FIRST_WEEK + timedelta(weeks=n) for n in range(WEEKS)]
    return {str(account): weeks for account in frame["account_id"].unique()}


def add_accounts(engine: sa.Engine, account_ids: list[str]) -> None:
    now = datetime.now(UTC)
    with engine.begin() as connection:
        connection.execute(accounts.insert(), [
            {"account_id": account, "credentials": "bench", "created_at": now, "updated_at": now}
            for account in account_ids
        ])


def raw_copy_rows(frame: pd.DataFrame) -> bytes:
    """The rows exactly as the write path sends them to COPY (built once, not timed)."""
    return _csv_rows(conversion_metrics, _normalize(conversion_metrics, frame))


def time_raw_copy(engine: sa.Engine, rows: bytes,
                  table: str = "bench_raw.conversion_metrics") -> float:
    """Seconds of one COPY of `rows` into `table` (emptied first, not timed)."""
    with engine.begin() as connection:
        connection.exec_driver_sql(f"TRUNCATE {table}")
    raw = engine.raw_connection()
    try:
        cursor = raw.cursor()
        started = time.perf_counter()
        cursor.copy_expert(f"COPY {table} {COPY_OPTIONS}", io.BytesIO(rows))
        raw.commit()
        elapsed = time.perf_counter() - started
        cursor.close()
    finally:
        raw.close()
    return elapsed


def time_write(engine: sa.Engine, frame: pd.DataFrame,
               weeks: dict[str, list[date]]) -> tuple[float, dict[str, int]]:
    """Seconds of the IO manager's write path for `frame`, and what it did with the rows."""
    started = time.perf_counter()
    refuse_rows_outside(TABLE, frame, weeks)
    results = write_frames_by_account(engine, TABLE, frame)
    elapsed = time.perf_counter() - started
    totals = {"inserted": 0, "updated": 0, "unchanged": 0}
    for result in results.values():
        totals["inserted"] += result.inserted
        totals["updated"] += result.updated
        totals["unchanged"] += result.unchanged
    return elapsed, totals


def expect(what: str, got: dict[str, int], **wanted: int) -> None:
    mismatch = {key: (got[key], value) for key, value in wanted.items() if got[key] != value}
    if mismatch:
        raise SystemExit(f"{what}: unexpected row outcome {got} (wanted {wanted})")


def bench_size(url: str, rows: int, repeats: int) -> dict[str, Any]:
    frame = conversion_frame(rows)
    validate_frame(TABLE, frame)  # the write path gets frames that passed their model
    again = changed(frame)
    weeks = weeks_by_account(frame)
    engine = create_warehouse_engine(url)
    upgrade_to_head(engine)
    add_accounts(engine, sorted(weeks))
    with engine.begin() as connection:
        connection.exec_driver_sql("CREATE SCHEMA bench_raw")
        connection.exec_driver_sql(
            f'CREATE TABLE bench_raw.conversion_metrics (LIKE "{PG_SCHEMA}".conversion_metrics)')
    copy_rows = raw_copy_rows(frame)
    seconds: dict[str, list[float]] = {"raw_copy": [], "copy_into_warehouse_table": [],
                                        "fresh_insert": [], "reupsert_same": [],
                                        "reupsert_changed": []}
    warehouse_table = f'"{PG_SCHEMA}".conversion_metrics'
    for repeat in range(repeats):
        seconds["raw_copy"].append(time_raw_copy(engine, copy_rows))
        seconds["copy_into_warehouse_table"].append(
            time_raw_copy(engine, copy_rows, warehouse_table))
        with engine.begin() as connection:
            connection.exec_driver_sql(f"TRUNCATE {warehouse_table}")
        elapsed, got = time_write(engine, frame, weeks)
        expect("fresh insert", got, inserted=rows, updated=0, unchanged=0)
        seconds["fresh_insert"].append(elapsed)
        elapsed, got = time_write(engine, frame, weeks)
        expect("re-upsert (same figures)", got, inserted=0, updated=0, unchanged=rows)
        seconds["reupsert_same"].append(elapsed)
        elapsed, got = time_write(engine, again, weeks)
        expect("re-upsert (changed figures)", got, inserted=0, updated=rows, unchanged=0)
        seconds["reupsert_changed"].append(elapsed)
        log(f"  {rows:>9} rows, repeat {repeat + 1}/{repeats}: " + ", ".join(
            f"{name} {values[-1]:.3f} s" for name, values in seconds.items()))
    raw_median = statistics.median(seconds["raw_copy"])
    result: dict[str, Any] = {"rows": rows, "accounts": len(weeks), "repeats": repeats}
    for name, values in seconds.items():
        rates = [rows / value for value in values]
        result[name] = {
            "seconds": summary(values),
            "rows_per_second": round(statistics.median(rates)),
        }
        if name != "raw_copy":
            # Ratio of medians of the same repetitions' times (the runs are interleaved).
            ratio = raw_median / statistics.median(values)
            result[name]["ratio_to_raw_copy"] = round(ratio, 3)
            if name in GOALS:
                result[name]["goal"] = GOALS[name]
                result[name]["meets_goal"] = ratio >= GOALS[name]
    return result


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--postgres-url", help="maintenance URL of the PostgreSQL server "
                        "(default: AIRBNB_SYNC_TEST_POSTGRES_URL)")
    parser.add_argument("--timescaledb-url", help="maintenance URL of the TimescaleDB server "
                        "(default: AIRBNB_SYNC_TEST_TIMESCALEDB_URL)")
    parser.add_argument("--databases", default="postgres,timescaledb",
                        help="comma-separated: postgres, timescaledb (default: both)")
    parser.add_argument("--sizes", default=",".join(str(size) for size in DEFAULT_SIZES),
                        help="comma-separated row counts (default: 10000,100000,1000000)")
    parser.add_argument("--repeats", type=int, default=3,
                        help="repetitions per size; medians are reported (default: 3)")
    args = parser.parse_args()
    sizes = [int(size) for size in args.sizes.split(",")]
    results: dict[str, Any] = {}
    for kind in [name.strip() for name in args.databases.split(",") if name.strip()]:
        if kind not in ("postgres", "timescaledb"):
            raise SystemExit(f"unknown database {kind!r}: use postgres or timescaledb")
        server = server_url(kind, getattr(args, f"{kind}_url"))
        log(f"{kind}: {safe(server)}")
        results[kind] = []
        for rows in sizes:
            with fresh_database(server, timescaledb=kind == "timescaledb") as url:
                forget_upgrades()
                results[kind].append(bench_size(url, rows, args.repeats))
    emit({
        "benchmark": "warehouse_upsert",
        "table": TABLE,
        "write_path": "io_manager.refuse_rows_outside + upsert.write_frames_by_account",
        "baseline": "psycopg2 copy_expert of the same rows (the write path's COPY CSV, "
                    "prepared in advance) into an unindexed table with the same columns",
        "goals": {"fresh_insert_ratio_at_least": GOALS["fresh_insert"],
                  "reupsert_ratio_at_least": GOALS["reupsert_changed"]},
        "machine": machine(),
        "results": results,
    })


if __name__ == "__main__":
    main()
