"""The idempotent upsert and the typed read-back, on every database."""

from __future__ import annotations

import math
from concurrent.futures import ThreadPoolExecutor
from datetime import date, timedelta

import pandas as pd
import pytest
import sqlalchemy as sa
from warehouse_rows import (
    ACCOUNT,
    LISTING,
    OTHER_ACCOUNT,
    SCRAPED_AT,
    WEEK,
    conversion_records,
    frame_of,
    listing_record,
    table_dump,
    visibility_record,
)

from airbnb_sync.warehouse.frames import validate_frame
from airbnb_sync.warehouse.upsert import (
    WriteResult,
    read_latest,
    write_frame,
    write_frames_by_account,
)


def test_fresh_insert_counts_every_row(warehouse: sa.Engine) -> None:
    frame = frame_of("conversion_metrics", conversion_records())
    assert write_frame(warehouse, "conversion_metrics", frame) == WriteResult(inserted=7)
    assert len(table_dump(warehouse, "conversion_metrics")) == 7


@pytest.mark.parametrize("table_name", ["listings", "conversion_metrics", "visibility_metrics"])
def test_same_day_rerun_leaves_the_table_byte_for_byte_the_same(
        warehouse: sa.Engine, table_name: str) -> None:
    def rows(scraped_at: pd.Timestamp) -> pd.DataFrame:
        records = {
            "listings": [listing_record(scraped_at=scraped_at),
                         listing_record(listing_id="7", scraped_at=scraped_at)],
            "conversion_metrics": conversion_records(scraped_at=scraped_at),
            "visibility_metrics": [visibility_record(scraped_at=scraped_at),
                                   visibility_record(listing_id="7", scraped_at=scraped_at)],
        }[table_name]
        return frame_of(table_name, records)

    first = write_frame(warehouse, table_name, rows(SCRAPED_AT))
    before = table_dump(warehouse, table_name)
    # Same figures fetched again three hours later the same day.
    again = write_frame(warehouse, table_name, rows(SCRAPED_AT + timedelta(hours=3)))

    assert again == WriteResult(unchanged=first.inserted)
    assert table_dump(warehouse, table_name) == before


def test_a_changed_figure_updates_only_its_row_and_its_scraped_at(warehouse: sa.Engine) -> None:
    write_frame(warehouse, "conversion_metrics", frame_of("conversion_metrics",
                                                          conversion_records()))
    later = SCRAPED_AT + timedelta(hours=2)
    records = conversion_records(scraped_at=later)
    records[3]["p3_impressions_your"] = 999
    result = write_frame(warehouse, "conversion_metrics", frame_of("conversion_metrics", records))

    assert result == WriteResult(updated=1, unchanged=6)
    stored = read_latest(warehouse, "conversion_metrics", {ACCOUNT: [WEEK]})
    changed = stored["metric_date"] == pd.Timestamp(WEEK + timedelta(days=3))
    assert stored.loc[changed, "p3_impressions_your"].tolist() == [999]
    assert stored.loc[changed, "scraped_at"].tolist() == [pd.Timestamp(later)]
    assert set(stored.loc[~changed, "scraped_at"]) == {pd.Timestamp(SCRAPED_AT)}


def test_a_change_to_null_is_an_update(warehouse: sa.Engine) -> None:
    write_frame(warehouse, "visibility_metrics", frame_of("visibility_metrics",
                                                          [visibility_record()]))
    result = write_frame(warehouse, "visibility_metrics", frame_of(
        "visibility_metrics", [visibility_record(conversion_rate=None)]))
    assert result == WriteResult(updated=1)
    stored = read_latest(warehouse, "visibility_metrics", {ACCOUNT: [WEEK]})
    assert math.isnan(stored.loc[0, "conversion_rate"])


def test_a_later_day_adds_a_snapshot_and_keeps_the_earlier_one(warehouse: sa.Engine) -> None:
    write_frame(warehouse, "visibility_metrics", frame_of(
        "visibility_metrics", [visibility_record(p3_impressions=5)]))
    next_day = SCRAPED_AT + timedelta(days=1)
    result = write_frame(warehouse, "visibility_metrics", frame_of(
        "visibility_metrics", [visibility_record(scraped_at=next_day, p3_impressions=5)]))

    assert result == WriteResult(inserted=1)
    assert len(table_dump(warehouse, "visibility_metrics")) == 2
    latest = read_latest(warehouse, "visibility_metrics", {ACCOUNT: [WEEK]})
    assert latest["scraped_on"].tolist() == [pd.Timestamp(next_day.date())]


def test_duplicates_in_a_batch_keep_the_last_row(warehouse: sa.Engine) -> None:
    records = [visibility_record(p3_impressions=1), visibility_record(p3_impressions=2),
               visibility_record(listing_id="7", p3_impressions=3)]
    frame = pd.concat([frame_of("visibility_metrics", [record]) for record in records],
                      ignore_index=True)
    result = write_frame(warehouse, "visibility_metrics", frame)

    assert result == WriteResult(inserted=2)
    stored = read_latest(warehouse, "visibility_metrics", {ACCOUNT: [WEEK]})
    assert dict(zip(stored["listing_id"], stored["p3_impressions"], strict=True)) == {
        LISTING: 2, "7": 3}


def test_nulls_stay_null_and_big_values_stay_exact(warehouse: sa.Engine) -> None:
    records = conversion_records(conversion_rate_your=None, p3_impressions_your=None,
                                 p3_impressions_similar=2**63 - 1)
    write_frame(warehouse, "conversion_metrics", frame_of("conversion_metrics", records))
    with warehouse.connect() as connection:
        prefix = "airbnb." if warehouse.dialect.name == "postgresql" else ""
        raw = connection.exec_driver_sql(
            "SELECT count(*), count(conversion_rate_your), count(p3_impressions_your), "
            f"min(p3_impressions_similar), min(conversion_rate_similar) "
            f"FROM {prefix}conversion_metrics"
        ).one()
    assert tuple(raw) == (7, 0, 0, 2**63 - 1, 0.1 + 0.2)

    stored = read_latest(warehouse, "conversion_metrics", {ACCOUNT: [WEEK]})
    assert stored["p3_impressions_your"].isna().all()
    assert stored["conversion_rate_your"].isna().all()
    assert stored["p3_impressions_similar"].tolist() == [2**63 - 1] * 7


def test_ids_are_kept_as_exact_text(warehouse: sa.Engine) -> None:
    ids = ["9223372036854775807", "0012345", "1000000000000000001"]
    write_frame(warehouse, "listings", frame_of(
        "listings", [listing_record(listing_id=listing_id) for listing_id in ids]))
    stored = read_latest(warehouse, "listings", {ACCOUNT: [WEEK]})
    assert sorted(stored["listing_id"]) == sorted(ids)
    assert stored["account_id"].unique().tolist() == [ACCOUNT]


def test_texts_survive_every_special_character(warehouse: sa.Engine) -> None:
    names = {"1": "tab\there, back\\slash \\N and \"quotes\"", "2": "", "3": "\\N",
             "4": "line\nbreak\r\nand ünïcödé 🏠", "5": None}
    write_frame(warehouse, "listings", frame_of("listings", [
        listing_record(listing_id=listing_id, listing_name=name, internal_name=name)
        for listing_id, name in names.items()
    ]))
    stored = read_latest(warehouse, "listings", {ACCOUNT: [WEEK]})
    assert dict(zip(stored["listing_id"], stored["listing_name"], strict=True)) == names
    assert dict(zip(stored["listing_id"], stored["internal_name"], strict=True)) == names


def test_read_latest_is_typed_like_the_pandera_models_and_limited_to_the_weeks(
        warehouse: sa.Engine) -> None:
    other_week = WEEK + timedelta(days=7)
    write_frame(warehouse, "conversion_metrics", frame_of(
        "conversion_metrics", conversion_records() + conversion_records(week=other_week)))
    write_frame(warehouse, "conversion_metrics", frame_of(
        "conversion_metrics", conversion_records(account_id=OTHER_ACCOUNT)))

    stored = read_latest(warehouse, "conversion_metrics", {ACCOUNT: [WEEK]})

    assert len(stored) == 7
    assert set(stored["week_start"]) == {pd.Timestamp(WEEK)}
    assert set(stored["account_id"]) == {ACCOUNT}
    assert validate_frame("conversion_metrics", stored) is not None
    assert str(stored["scraped_at"].dtype) == "datetime64[ns, UTC]"
    assert str(stored["p3_impressions_your"].dtype) == "Int64"
    expected = frame_of("conversion_metrics", conversion_records())
    pd.testing.assert_frame_equal(stored, expected)


def test_read_latest_of_nothing_is_an_empty_typed_frame(warehouse: sa.Engine) -> None:
    stored = read_latest(warehouse, "visibility_metrics", {ACCOUNT: [date(2024, 1, 7)]})
    assert stored.empty
    assert list(stored.columns) == list(frame_of("visibility_metrics", []).columns)


def test_write_frames_by_account_writes_each_account(warehouse: sa.Engine) -> None:
    frame = frame_of("visibility_metrics", [visibility_record(), visibility_record(
        account_id=OTHER_ACCOUNT)])
    results = write_frames_by_account(warehouse, "visibility_metrics", frame)
    assert results == {ACCOUNT: WriteResult(inserted=1), OTHER_ACCOUNT: WriteResult(inserted=1)}


def test_a_failing_batch_writes_nothing(warehouse: sa.Engine) -> None:
    records = conversion_records(account_id="555")  # no such account: the foreign key fails
    with pytest.raises(sa.exc.IntegrityError):
        write_frame(warehouse, "conversion_metrics", frame_of("conversion_metrics", records))
    assert table_dump(warehouse, "conversion_metrics") == []
    # The connection and its staging table are usable again afterwards.
    assert write_frame(warehouse, "conversion_metrics", frame_of(
        "conversion_metrics", conversion_records())) == WriteResult(inserted=7)


def test_frames_that_do_not_fit_the_table_are_refused(warehouse: sa.Engine) -> None:
    frame = frame_of("listings", [listing_record()])
    with pytest.raises(ValueError, match="unexpected columns \\['extra'\\]"):
        write_frame(warehouse, "listings", frame.assign(extra=1))
    with pytest.raises(ValueError, match="missing columns \\['scraped_at'\\]"):
        write_frame(warehouse, "listings", frame.drop(columns="scraped_at"))
    with pytest.raises(ValueError, match="not a warehouse table"):
        write_frame(warehouse, "accounts", frame)
    with pytest.raises(TypeError, match="must hold strings"):
        write_frame(warehouse, "listings", frame.assign(listing_id=[9.2e18]))
    assert table_dump(warehouse, "listings") == []


def test_concurrent_writers_of_the_same_rows_all_succeed(warehouse: sa.Engine) -> None:
    """Runs of the same partition may overlap: each write must wait its turn, not fail,
    and the rows must be inserted exactly once."""
    frame = frame_of("conversion_metrics", conversion_records())
    with ThreadPoolExecutor(max_workers=4) as pool:
        results = list(pool.map(
            lambda _: write_frame(warehouse, "conversion_metrics", frame), range(4)))
    assert sum(results, WriteResult()) == WriteResult(inserted=7, unchanged=21)
    assert len(table_dump(warehouse, "conversion_metrics")) == 7
