"""Pandera schemas of the three tables: good frames pass, each broken rule is named, with rows."""

from __future__ import annotations

import json
from collections.abc import Callable
from datetime import UTC, date, datetime
from pathlib import Path
from typing import Any

import pandas as pd
import pytest

from airbnb_sync.airbnb.parse import (
    conversion_records,
    parse_chart,
    parse_list_of_metrics,
    parse_listings,
    visibility_record,
)
from airbnb_sync.datasets import DATASETS
from airbnb_sync.warehouse.frames import (
    FrameValidationError,
    frame_columns,
    frame_schemas,
    to_frame,
    validate_frame,
)
from airbnb_sync.warehouse.tables import METRIC_TABLES

SAMPLES = Path(__file__).resolve().parents[1] / "fixtures" / "airbnb_samples"
SCRAPED_AT = datetime(2025, 2, 10, 14, 30, tzinfo=UTC)
ACCOUNT = "123456"


def sample(name: str) -> dict[str, Any]:
    return json.loads((SAMPLES / f"{name}.json").read_text(encoding="utf-8"))


def listing_records() -> list[dict[str, Any]]:
    return [
        {"account_id": ACCOUNT, "week_start": date(2025, 1, 12), "scraped_at": SCRAPED_AT, **row}
        for row in parse_listings(sample("ListingsSectionQuery"))
    ]


def conversion_metric_records() -> list[dict[str, Any]]:
    impressions = parse_chart(sample("ChartQuery_CONVERSION_p3_impressions"), "p3_impressions")
    rates = {day: (your / 1000, None if similar == 0 else similar / 1000)
             for day, (your, similar) in impressions.items()}
    return conversion_records(ACCOUNT, "999161464035752799", rates, impressions, SCRAPED_AT)


def visibility_metric_records() -> list[dict[str, Any]]:
    conversion = parse_list_of_metrics(
        sample("ListOfMetricsQuery_CONVERSION_conversion_rate"), "conversion_rate")
    impressions = {"p3_impressions": 460, "p2_impressions": None, "p3_impressions_change": 222.0}
    return [
        visibility_record(ACCOUNT, listing, date(2025, 1, 12), conversion, impressions, SCRAPED_AT)
        for listing in ("1", "2", "3")
    ]


RECORDS: dict[str, Callable[[], list[dict[str, Any]]]] = {
    "listings": listing_records,
    "conversion_metrics": conversion_metric_records,
    "visibility_metrics": visibility_metric_records,
}


def good_frame(kind: str) -> pd.DataFrame:
    return to_frame(kind, RECORDS[kind]())  # type: ignore[arg-type]


# --- good frames --------------------------------------------------------------------------

@pytest.mark.parametrize("kind", sorted(RECORDS))
def test_a_frame_built_from_parsed_records_passes(kind: str) -> None:
    frame = good_frame(kind)
    assert list(frame.columns) == list(frame_columns(kind))
    assert len(frame) == len(RECORDS[kind]())
    assert validate_frame(kind, frame) is not None  # type: ignore[arg-type]


@pytest.mark.parametrize("kind", sorted(RECORDS))
def test_an_empty_frame_has_the_right_dtypes_and_passes(kind: str) -> None:
    frame = to_frame(kind, [])  # type: ignore[arg-type]
    assert frame.empty
    validate_frame(kind, frame)  # type: ignore[arg-type]


def test_frames_use_the_documented_dtypes() -> None:
    frame = good_frame("conversion_metrics")
    assert str(frame["metric_date"].dtype) == "datetime64[ns]"
    assert str(frame["scraped_on"].dtype) == "datetime64[ns]"
    assert str(frame["scraped_at"].dtype) == "datetime64[ns, UTC]"
    assert str(frame["p3_impressions_your"].dtype) == "Int64"
    assert str(frame["conversion_rate_similar"].dtype) == "float64"
    assert frame["account_id"].map(type).eq(str).all()
    visibility = good_frame("visibility_metrics")
    assert visibility["p2_impressions"].isna().all()
    assert str(visibility["p2_impressions"].dtype) == "Int64"
    assert visibility["conversion_rate_change"].isna().all()


def test_nulls_are_allowed_in_metrics_and_optional_names() -> None:
    records = conversion_metric_records()
    for key in ("conversion_rate_your", "conversion_rate_similar",
                "p3_impressions_your", "p3_impressions_similar"):
        records[0][key] = None
    validate_frame("conversion_metrics", to_frame("conversion_metrics", records))
    listings = listing_records()
    listings[0].update(listing_name=None, internal_name=None, thumbnail_url=None)
    validate_frame("listings", to_frame("listings", listings))


def test_frame_schemas_are_exported_by_table_with_the_table_columns() -> None:
    schemas = frame_schemas()
    assert {kind: schema.name for kind, schema in schemas.items()} == {
        "listings": "ListingsFrame",
        "conversion_metrics": "ConversionMetricsFrame",
        "visibility_metrics": "VisibilityMetricsFrame",
    }
    assert set(schemas) == set(METRIC_TABLES) == set(DATASETS)
    for kind, schema in schemas.items():
        assert list(schema.columns) == list(frame_columns(kind))
        assert list(frame_columns(kind)) == [column.name for column in METRIC_TABLES[kind].columns]
        assert schema.unique == [column.name for column in METRIC_TABLES[kind].primary_key]
    assert "scraped_on" not in frame_columns("listings")


def test_values_that_cannot_take_their_dtype_are_named_by_to_frame() -> None:
    records = conversion_metric_records()
    records[3]["week_start"] = "last Sunday"
    with pytest.raises(FrameValidationError) as caught:
        to_frame("conversion_metrics", records)
    message = str(caught.value)
    assert "column=week_start" in message
    assert "coerce_dtype('datetime64[ns]')" in message
    assert "'last Sunday'" in message


# --- each rule, broken ----------------------------------------------------------------------

Breakage = Callable[[pd.DataFrame], pd.DataFrame]


def _set(column: str, row: int, value: Any) -> Breakage:
    def breakage(frame: pd.DataFrame) -> pd.DataFrame:
        frame.loc[row, column] = value
        return frame
    return breakage


def _duplicate_row(row: int) -> Breakage:
    def breakage(frame: pd.DataFrame) -> pd.DataFrame:
        return pd.concat([frame, frame.iloc[[row]]], ignore_index=True)
    return breakage


def _retype(column: str, dtype: str) -> Breakage:
    def breakage(frame: pd.DataFrame) -> pd.DataFrame:
        frame[column] = frame[column].astype(dtype)
        return frame
    return breakage


def _naive_scraped_at(frame: pd.DataFrame) -> pd.DataFrame:
    frame["scraped_at"] = frame["scraped_at"].dt.tz_localize(None)
    return frame


def _extra_column(frame: pd.DataFrame) -> pd.DataFrame:
    frame["occupancy_rate"] = 0.5
    return frame


def _drop(column: str) -> Breakage:
    return lambda frame: frame.drop(columns=[column])


# (label, kind, breakage, column named in the error, check named in the error, row or None)
BROKEN: list[tuple[str, str, Breakage, str, str, int | None]] = [
    ("id with letters", "listings", _set("listing_id", 3, "12a4"),
     "listing_id", "digits_only", 3),
    ("empty account id", "conversion_metrics", _set("account_id", 5, ""),
     "account_id", "digits_only", 5),
    ("null listing id", "visibility_metrics", _set("listing_id", 1, None),
     "listing_id", "not_nullable", 1),
    ("null week_start", "listings", _set("week_start", 2, pd.NaT),
     "week_start", "not_nullable", 2),
    ("null metric_date", "conversion_metrics", _set("metric_date", 4, pd.NaT),
     "metric_date", "not_nullable", 4),
    ("week starting on Monday", "listings", _set("week_start", 1, pd.Timestamp("2025-01-13")),
     "week_start", "is_sunday_midnight", 1),
    ("week_start not at midnight", "visibility_metrics",
     _set("week_start", 2, pd.Timestamp("2025-01-12 06:00")),
     "week_start", "is_sunday_midnight", 2),
    ("metric date after its week", "conversion_metrics",
     _set("metric_date", 7, pd.Timestamp("2025-03-01")),
     "metric_date", "metric_date_within_week", 7),
    ("metric date before its week", "conversion_metrics",
     _set("week_start", 0, pd.Timestamp("2025-01-19")),
     "week_start", "metric_date_within_week", 0),
    ("week_end not week_start + 6", "visibility_metrics",
     _set("week_end", 0, pd.Timestamp("2025-01-19")),
     "week_end", "week_end_is_week_start_plus_6", 0),
    ("scraped_on not the UTC day of scraped_at", "conversion_metrics",
     _set("scraped_on", 9, pd.Timestamp("2025-02-11")),
     "scraped_on", "scraped_on_is_utc_day_of_scraped_at", 9),
    ("rate above 1", "conversion_metrics", _set("conversion_rate_your", 6, 1.5),
     "conversion_rate_your", "less_than_or_equal_to(1)", 6),
    ("negative rate", "visibility_metrics", _set("listing_conversion_rate", 2, -0.2),
     "listing_conversion_rate", "greater_than_or_equal_to(0)", 2),
    ("negative count", "conversion_metrics", _set("p3_impressions_similar", 11, -3),
     "p3_impressions_similar", "greater_than_or_equal_to(0)", 11),
    ("negative weekly count", "visibility_metrics", _set("p3_impressions", 1, -460),
     "p3_impressions", "greater_than_or_equal_to(0)", 1),
    ("duplicate listing week", "listings", _duplicate_row(4),
     "listing_id", "multiple_fields_uniqueness", 7),
    ("duplicate day snapshot", "conversion_metrics", _duplicate_row(3),
     "metric_date", "multiple_fields_uniqueness", 28),
    ("duplicate week snapshot", "visibility_metrics", _duplicate_row(0),
     "scraped_on", "multiple_fields_uniqueness", 3),
    ("counts as floats", "conversion_metrics", _retype("p3_impressions_your", "float64"),
     "p3_impressions_your", "dtype('Int64')", None),
    ("dates as text", "visibility_metrics", _retype("week_end", "str"),
     "week_end", "dtype('datetime64[ns]')", None),
    ("naive scraped_at", "listings", _naive_scraped_at,
     "scraped_at", "dtype('datetime64[ns, UTC]')", None),
    ("unexpected column", "conversion_metrics", _extra_column,
     "ConversionMetricsFrame", "column_in_schema", None),
    ("missing column", "visibility_metrics", _drop("p2_impressions"),
     "VisibilityMetricsFrame", "column_in_dataframe", None),
]


@pytest.mark.parametrize(("kind", "breakage", "column", "check", "row"),
                         [case[1:] for case in BROKEN], ids=[case[0] for case in BROKEN])
def test_each_broken_rule_is_reported_with_its_column_check_and_row(
    kind: str, breakage: Breakage, column: str, check: str, row: int | None,
) -> None:
    frame = breakage(good_frame(kind))
    with pytest.raises(FrameValidationError) as caught:
        validate_frame(kind, frame)  # type: ignore[arg-type]
    cases = caught.value.failure_cases
    matching = cases[(cases["column"] == column) & (cases["check"].astype(str) == check)]
    assert not matching.empty, cases
    if row is not None:
        assert row in set(matching["index"])
    message = str(caught.value)
    assert kind in message
    assert f"check={check}" in message
    assert column in message
    if row is not None:
        assert f"row={row} " in message


def test_the_message_lists_about_ten_failures_and_counts_the_rest() -> None:
    frame = good_frame("conversion_metrics")
    frame["conversion_rate_your"] = 2.0
    with pytest.raises(FrameValidationError) as caught:
        validate_frame("conversion_metrics", frame)
    lines = str(caught.value).splitlines()
    assert "28 failure(s)" in lines[0]
    assert len([line for line in lines if "check=" in line]) == 10
    assert lines[-1].strip() == "... and 18 more"
    assert "row=0 value=2.0" in lines[1]


def test_a_frame_wide_check_names_only_the_columns_it_compares() -> None:
    frame = good_frame("visibility_metrics")
    frame.loc[1, "week_end"] = pd.Timestamp("2025-01-20")
    with pytest.raises(FrameValidationError) as caught:
        validate_frame("visibility_metrics", frame)
    (line,) = [line for line in str(caught.value).splitlines() if "check=" in line]
    assert "column=week_start+week_end" in line
    assert "conversion_rate" not in line
    assert "2025-01-20" in line


def test_frame_validation_error_is_a_value_error() -> None:
    assert issubclass(FrameValidationError, ValueError)


def test_an_unknown_kind_is_refused() -> None:
    with pytest.raises(ValueError, match="unknown frame kind"):
        validate_frame("reviews", pd.DataFrame())  # type: ignore[arg-type]
