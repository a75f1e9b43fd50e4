"""Parsing Airbnb's responses: the real samples, every kind of drift, and the response schemas."""

from __future__ import annotations

import copy
import json
from collections.abc import Callable
from datetime import UTC, date, datetime, timedelta, timezone
from importlib.resources import files
from pathlib import Path
from typing import Any

import pytest
from jsonschema import Draft202012Validator

from airbnb_sync.airbnb.errors import SchemaDrift
from airbnb_sync.airbnb.parse import (
    COMPONENT_PATH,
    conversion_records,
    parse_chart,
    parse_list_of_metrics,
    parse_listings,
    schema_validator,
    visibility_record,
)

SAMPLES = Path(__file__).resolve().parent.parent / "fixtures" / "airbnb_samples"
SCRAPED_AT = datetime(2025, 2, 10, 14, 30, tzinfo=UTC)
CHARTS = f"{COMPONENT_PATH}.metricLineCharts"


def sample(name: str) -> dict[str, Any]:
    return json.loads((SAMPLES / f"{name}.json").read_text(encoding="utf-8"))


def listings_raw() -> dict[str, Any]:
    return sample("ListingsSectionQuery")


def chart_raw() -> dict[str, Any]:
    return sample("ChartQuery_CONVERSION_p3_impressions")


def metrics_raw() -> dict[str, Any]:
    return sample("ListOfMetricsQuery_CONVERSION_conversion_rate")


def component(raw: dict[str, Any]) -> dict[str, Any]:
    return raw["data"]["porygon"]["getPerformanceComponents"]["components"][0]


def impressions_metrics_raw() -> dict[str, Any]:
    """A ListOfMetricsQuery answer for p3_impressions, made of the chart sample's own units."""
    raw = metrics_raw()
    chart = component(chart_raw())
    component(raw)["metrics"] = [chart["primaryMetric"], *chart["secondaryMetrics"]]
    return raw


def conversion_chart_raw() -> dict[str, Any]:
    """A ChartQuery answer for conversion_rate: the sample's days with percentage values."""
    raw = chart_raw()
    section = component(raw)
    section["primaryMetric"] = component(metrics_raw())["metrics"][0]
    for chart in section["metricLineCharts"]:
        for point in chart["dataPoints"]:
            views = int(point["value"]["longValue"])
            point["value"] = {"__typename": "porygonDoubleWrapper", "doubleValue": views / 1000}
            point["valueType"] = "PERCENTAGE"
            point["valueString"] = f"{views / 10:.1f}%"
    return raw


# --- the real samples --------------------------------------------------------------------

def test_listings_sample_parses_to_seven_listings_with_string_ids() -> None:
    listings = parse_listings(listings_raw())
    assert len(listings) == 7
    assert all(set(row) == {"listing_id", "listing_name", "internal_name", "thumbnail_url"}
               for row in listings)
    assert all(isinstance(row["listing_id"], str) and row["listing_id"].isdigit()
               for row in listings)
    assert len({row["listing_id"] for row in listings}) == 7
    assert listings[0] == {
        "listing_id": "999161464035752799",
        "listing_name": "Thoughtfully Designed and Fully Equipped",
        "internal_name": "510 Schuyler Street Apt 1",
        "thumbnail_url": component(listings_raw())["tableRows"][0]["thumbnailUrl"],
    }
    assert listings[0]["thumbnail_url"].startswith("https://a0.muscache.com/")


def test_chart_sample_has_28_consecutive_days_of_integer_page_views() -> None:
    series = parse_chart(chart_raw(), "p3_impressions")
    days = list(series)
    assert days[0] == date(2025, 1, 12)
    assert days[-1] == date(2025, 2, 8)
    assert days == [date(2025, 1, 12) + timedelta(days=i) for i in range(28)]
    assert all(isinstance(value, int) for pair in series.values() for value in pair)
    assert series[date(2025, 1, 12)] == (15, 6)


def test_chart_sample_daily_figures_add_up_to_its_primary_metric_and_change() -> None:
    """Your daily views sum to the window's 460, and exceed similar listings' by 222."""
    series = parse_chart(chart_raw(), "p3_impressions")
    your_total = sum(your for your, _ in series.values())
    similar_total = sum(similar for _, similar in series.values())
    assert your_total == 460
    assert your_total - similar_total == 222


def test_list_of_metrics_sample_parses_to_the_four_conversion_fractions() -> None:
    figures = parse_list_of_metrics(metrics_raw(), "conversion_rate")
    assert figures == {
        "conversion_rate": 0.0011021307861866275,
        "p2_impressions_first_page_rate": pytest.approx(0.6994221185452232),
        "search_conversion_rate": pytest.approx(0.05633112907176096),
        "listing_conversion_rate": pytest.approx(0.01956521739130435),
        "conversion_rate_change": None,
    }
    assert round(figures["p2_impressions_first_page_rate"], 3) == 0.699
    assert round(figures["search_conversion_rate"], 4) == 0.0563
    assert round(figures["listing_conversion_rate"], 4) == 0.0196


def test_list_of_metrics_for_page_views_gives_integer_counts_and_a_float_change() -> None:
    figures = parse_list_of_metrics(impressions_metrics_raw(), "p3_impressions")
    assert figures == {"p3_impressions": 460, "p2_impressions": 8166,
                       "p3_impressions_change": 222.0}
    assert type(figures["p3_impressions"]) is int
    assert type(figures["p2_impressions"]) is int
    assert type(figures["p3_impressions_change"]) is float


def test_chart_of_a_rate_gives_floats() -> None:
    series = parse_chart(conversion_chart_raw(), "conversion_rate")
    assert series[date(2025, 1, 12)] == (0.015, 0.006)
    assert all(isinstance(value, float) for pair in series.values() for value in pair)


# --- "no data" ----------------------------------------------------------------------------

def test_a_dash_in_a_chart_becomes_none_not_zero() -> None:
    raw = chart_raw()
    point = component(raw)["metricLineCharts"][0]["dataPoints"][2]
    point["value"] = {"__typename": "porygonLongWrapper", "longValue": "0"}
    point["valueString"] = "-"
    series = parse_chart(raw, "p3_impressions")
    assert series[date(2025, 1, 14)][0] is None
    assert series[date(2025, 1, 14)][1] is not None


def test_a_dash_in_list_of_metrics_becomes_none_not_zero() -> None:
    raw = metrics_raw()
    unit = component(raw)["metrics"][2]
    unit["value"] = {"__typename": "porygonDoubleWrapper", "doubleValue": 0.0}
    unit["valueString"] = "-"
    figures = parse_list_of_metrics(raw, "conversion_rate")
    assert figures["search_conversion_rate"] is None
    assert figures["conversion_rate"] == 0.0011021307861866275


def test_a_real_zero_stays_zero() -> None:
    raw = chart_raw()
    point = component(raw)["metricLineCharts"][1]["dataPoints"][0]
    point["value"] = {"__typename": "porygonLongWrapper", "longValue": "0"}
    point["valueString"] = "0"
    assert parse_chart(raw, "p3_impressions")[date(2025, 1, 12)] == (15, 0)


def test_a_dash_change_becomes_none() -> None:
    raw = impressions_metrics_raw()
    component(raw)["metrics"][0]["valueChangeString"] = "-"
    assert parse_list_of_metrics(raw, "p3_impressions")["p3_impressions_change"] is None


# --- drift --------------------------------------------------------------------------------

Mutation = Callable[[dict[str, Any]], None]


def _rename(container: dict[str, Any], old: str, new: str) -> None:
    container[new] = container.pop(old)


def _points(raw: dict[str, Any], chart: int = 1) -> list[dict[str, Any]]:
    return component(raw)["metricLineCharts"][chart]["dataPoints"]


CHART_DRIFT: list[tuple[str, Mutation, str]] = [
    ("renamed getPerformanceComponents",
     lambda raw: _rename(raw["data"]["porygon"], "getPerformanceComponents", "performance"),
     "data.porygon.getPerformanceComponents"),
    ("renamed metricLineCharts",
     lambda raw: _rename(component(raw), "metricLineCharts", "lineCharts"),
     CHARTS),
    ("renamed dataPoints",
     lambda raw: _rename(component(raw)["metricLineCharts"][0], "dataPoints", "points"),
     f"{CHARTS}[0].dataPoints"),
    ("data point without ds",
     lambda raw: _points(raw)[3].pop("ds"),
     f"{CHARTS}[1].dataPoints[3].ds"),
    ("impossible date",
     lambda raw: _points(raw)[3].update(ds="2025-02-30"),
     f"{CHARTS}[1].dataPoints[3].ds"),
    ("US-style date",
     lambda raw: _points(raw)[3].update(ds="01/15/2025"),
     f"{CHARTS}[1].dataPoints[3].ds"),
    ("timestamp instead of a date",
     lambda raw: _points(raw)[3].update(ds=1736640000),
     f"{CHARTS}[1].dataPoints[3].ds"),
    ("unwrapped number",
     lambda raw: _points(raw)[3].update(value=15),
     f"{CHARTS}[1].dataPoints[3].value"),
    ("wrapper without a value",
     lambda raw: _points(raw)[3].update(value={"__typename": "porygonLongWrapper"}),
     f"{CHARTS}[1].dataPoints[3].value"),
    ("longValue that is not a number",
     lambda raw: _points(raw)[3].update(
         value={"__typename": "porygonLongWrapper", "longValue": "15 views"}),
     f"{CHARTS}[1].dataPoints[3].value.longValue"),
    ("data point without valueString",
     lambda raw: _points(raw)[3].pop("valueString"),
     f"{CHARTS}[1].dataPoints[3].valueString"),
    ("unwrapped primary metric",
     lambda raw: component(raw)["primaryMetric"].update(value=460),
     f"{COMPONENT_PATH}.primaryMetric.value"),
    ("missing primary metric",
     lambda raw: component(raw).pop("primaryMetric"),
     f"{COMPONENT_PATH}.primaryMetric"),
    ("empty components",
     lambda raw: raw["data"]["porygon"]["getPerformanceComponents"].update(components=[]),
     "data.porygon.getPerformanceComponents.components"),
    ("null getPerformanceComponents",
     lambda raw: raw["data"]["porygon"].update(getPerformanceComponents=None),
     "data.porygon.getPerformanceComponents"),
    ("a different component",
     lambda raw: component(raw).update(componentName="PIVOT_TABLE_SECTION"),
     f"{COMPONENT_PATH}.componentName"),
    ("weekly granularity",
     lambda raw: component(raw)["metricLineCharts"][0].update(granularity="WEEK"),
     f"{CHARTS}[0].granularity"),
]


@pytest.mark.parametrize(("mutate", "path"), [case[1:] for case in CHART_DRIFT],
                         ids=[case[0] for case in CHART_DRIFT])
def test_chart_drift_is_rejected_with_its_path(mutate: Mutation, path: str) -> None:
    raw = chart_raw()
    mutate(raw)
    with pytest.raises(SchemaDrift) as caught:
        parse_chart(raw, "p3_impressions")
    assert caught.value.operation == "ChartQuery"
    assert caught.value.path == path
    assert path in str(caught.value)


LISTINGS_DRIFT: list[tuple[str, Mutation, str]] = [
    ("renamed tableRows", lambda raw: _rename(component(raw), "tableRows", "rows"),
     f"{COMPONENT_PATH}.tableRows"),
    ("row without id", lambda raw: component(raw)["tableRows"][4].pop("id"),
     f"{COMPONENT_PATH}.tableRows[4].id"),
    ("numeric id", lambda raw: component(raw)["tableRows"][4].update(id=745515258634591476),
     f"{COMPONENT_PATH}.tableRows[4].id"),
    ("id that is not digits", lambda raw: component(raw)["tableRows"][4].update(id="abc-1"),
     f"{COMPONENT_PATH}.tableRows[4].id"),
    ("renamed listingName",
     lambda raw: _rename(component(raw)["tableRows"][2], "listingName", "name"),
     f"{COMPONENT_PATH}.tableRows[2].listingName"),
    ("empty components",
     lambda raw: raw["data"]["porygon"]["getPerformanceComponents"].update(components=[]),
     "data.porygon.getPerformanceComponents.components"),
    ("renamed data", lambda raw: _rename(raw, "data", "payload"), "data"),
]


@pytest.mark.parametrize(("mutate", "path"), [case[1:] for case in LISTINGS_DRIFT],
                         ids=[case[0] for case in LISTINGS_DRIFT])
def test_listings_drift_is_rejected_with_its_path(mutate: Mutation, path: str) -> None:
    raw = listings_raw()
    mutate(raw)
    with pytest.raises(SchemaDrift) as caught:
        parse_listings(raw)
    assert caught.value.operation == "ListingsSectionQuery"
    assert caught.value.path == path


METRICS_DRIFT: list[tuple[str, Mutation, str]] = [
    ("renamed metrics", lambda raw: _rename(component(raw), "metrics", "metricUnits"),
     f"{COMPONENT_PATH}.metrics"),
    ("empty metrics", lambda raw: component(raw).update(metrics=[]),
     f"{COMPONENT_PATH}.metrics"),
    ("unwrapped value", lambda raw: component(raw)["metrics"][2].update(value=0.0563),
     f"{COMPONENT_PATH}.metrics[2].value"),
    ("string double", lambda raw: component(raw)["metrics"][2].update(
        value={"__typename": "porygonDoubleWrapper", "doubleValue": "0.0563"}),
     f"{COMPONENT_PATH}.metrics[2].value.doubleValue"),
    ("unit without metricName", lambda raw: component(raw)["metrics"][1].pop("metricName"),
     f"{COMPONENT_PATH}.metrics[1].metricName"),
    ("empty components",
     lambda raw: raw["data"]["porygon"]["getPerformanceComponents"].update(components=[]),
     "data.porygon.getPerformanceComponents.components"),
]


@pytest.mark.parametrize(("mutate", "path"), [case[1:] for case in METRICS_DRIFT],
                         ids=[case[0] for case in METRICS_DRIFT])
def test_list_of_metrics_drift_is_rejected_with_its_path(mutate: Mutation, path: str) -> None:
    raw = metrics_raw()
    mutate(raw)
    with pytest.raises(SchemaDrift) as caught:
        parse_list_of_metrics(raw, "conversion_rate")
    assert caught.value.operation == "ListOfMetricsQuery"
    assert caught.value.path == path


def test_a_missing_metric_is_drift_that_names_it() -> None:
    raw = metrics_raw()
    component(raw)["metrics"] = [
        unit for unit in component(raw)["metrics"] if unit["metricName"] != "search_conversion_rate"
    ]
    with pytest.raises(SchemaDrift, match="search_conversion_rate") as caught:
        parse_list_of_metrics(raw, "conversion_rate")
    assert caught.value.path == f"{COMPONENT_PATH}.metrics"


def test_answers_for_the_other_metric_group_are_drift() -> None:
    with pytest.raises(SchemaDrift, match="p3_impressions"):
        parse_list_of_metrics(metrics_raw(), "p3_impressions")
    with pytest.raises(SchemaDrift) as caught:
        parse_chart(chart_raw(), "conversion_rate")
    assert caught.value.path == f"{COMPONENT_PATH}.primaryMetric.metricName"


def test_an_unknown_metric_group_is_a_caller_error() -> None:
    with pytest.raises(ValueError, match="unknown metric group"):
        parse_chart(chart_raw(), "occupancy_rate")


@pytest.mark.parametrize("labels", [
    ("Your performance", "Your performance"),
    ("Similar listings", "Similar listings"),
    ("Your performance",),
    ("Your performance", "Similar listings", "Last year"),
])
def test_charts_other_than_yours_plus_similar_are_drift(labels: tuple[str, ...]) -> None:
    raw = chart_raw()
    template = component(raw)["metricLineCharts"][0]
    component(raw)["metricLineCharts"] = [
        {**copy.deepcopy(template), "label": label} for label in labels
    ]
    with pytest.raises(SchemaDrift) as caught:
        parse_chart(raw, "p3_impressions")
    assert caught.value.path == CHARTS


def test_your_series_is_found_whatever_its_label_and_position() -> None:
    raw = chart_raw()
    charts = component(raw)["metricLineCharts"]
    charts.reverse()
    charts[1]["label"] = "This listing"
    assert parse_chart(raw, "p3_impressions")[date(2025, 1, 12)] == (15, 6)


def test_a_day_listed_twice_is_drift() -> None:
    raw = chart_raw()
    points = _points(raw, 0)
    points[5]["ds"] = points[4]["ds"]
    with pytest.raises(SchemaDrift, match="twice") as caught:
        parse_chart(raw, "p3_impressions")
    assert caught.value.path == f"{CHARTS}[0].dataPoints[5].ds"


def test_a_fractional_count_is_drift() -> None:
    raw = chart_raw()
    _points(raw, 0)[6]["value"] = {"__typename": "porygonDoubleWrapper", "doubleValue": 1.5}
    with pytest.raises(SchemaDrift, match="whole number") as caught:
        parse_chart(raw, "p3_impressions")
    assert caught.value.path == f"{CHARTS}[0].dataPoints[6].value"


def test_a_whole_double_count_becomes_an_int() -> None:
    raw = chart_raw()
    _points(raw, 0)[0]["value"] = {"__typename": "porygonDoubleWrapper", "doubleValue": 15.0}
    your, _ = parse_chart(raw, "p3_impressions")[date(2025, 1, 12)]
    assert your == 15
    assert type(your) is int


def test_series_with_different_days_are_merged_with_none() -> None:
    raw = chart_raw()
    del _points(raw, 0)[0]
    del _points(raw, 1)[-1]
    series = parse_chart(raw, "p3_impressions")
    assert len(series) == 28
    assert series[date(2025, 1, 12)] == (None, 6)
    assert series[date(2025, 2, 8)][1] is None


def test_more_listings_than_returned_is_drift() -> None:
    raw = listings_raw()
    component(raw)["totalCount"] = 9
    with pytest.raises(SchemaDrift, match="7 of 9") as caught:
        parse_listings(raw)
    assert caught.value.path == f"{COMPONENT_PATH}.totalCount"


def test_a_graphql_error_payload_is_drift_not_a_crash() -> None:
    raw = {
        "errors": [{"message": "Please login to continue.",
                    "extensions": {"errorType": "authentication_required"}}],
        "data": {"porygon": {"getPerformanceComponents": None}},
    }
    for parse in (parse_listings, lambda r: parse_chart(r, "p3_impressions"),
                  lambda r: parse_list_of_metrics(r, "conversion_rate")):
        with pytest.raises(SchemaDrift) as caught:
            parse(raw)
        assert caught.value.path == "errors"


@pytest.mark.parametrize("raw", [None, [], "oops", 42])
def test_a_body_that_is_not_an_object_is_drift(raw: Any) -> None:
    with pytest.raises(SchemaDrift) as caught:
        parse_listings(raw)
    assert caught.value.path == "$"


def test_permissive_where_responses_vary() -> None:
    """Extra keys, null labels/currency/changes and a missing componentName are accepted."""
    raw = chart_raw()
    raw["data"]["porygon"]["getPerformanceComponents"]["newField"] = {"x": 1}
    section = component(raw)
    section.pop("componentName")
    section["brandNewWidget"] = [1, 2, 3]
    section["secondaryMetrics"] = None
    section["primaryMetric"].update(label=None, currency="USD", valueChange=None,
                                    valueChangeString=None, extra="yes")
    _points(raw)[0].update(label=None, newKey=True)
    _points(raw)[1]["value"] = None
    _points(raw)[2]["value"]["longValue"] = 6  # an integer instead of a digit string
    series = parse_chart(raw, "p3_impressions")
    assert series[date(2025, 1, 13)] == (14, None)
    assert series[date(2025, 1, 14)][1] == 6

    listings = listings_raw()
    row = component(listings)["tableRows"][0]
    row.update(internalName=None, thumbnailUrl=None, metricUnit=None, badge="new")
    component(listings).pop("totalCount")
    assert parse_listings(listings)[0]["internal_name"] is None


def test_an_empty_listings_table_is_no_listings() -> None:
    raw = listings_raw()
    component(raw).update(tableRows=[], totalCount=0, resultsCount=0)
    assert parse_listings(raw) == []


# --- records ------------------------------------------------------------------------------

def sample_conversion_records() -> list[dict[str, Any]]:
    return conversion_records(
        "123456", "999161464035752799",
        parse_chart(conversion_chart_raw(), "conversion_rate"),
        parse_chart(chart_raw(), "p3_impressions"),
        SCRAPED_AT,
    )


def sample_visibility_record() -> dict[str, Any]:
    return visibility_record(
        "123456", "999161464035752799", date(2025, 1, 12),
        parse_list_of_metrics(metrics_raw(), "conversion_rate"),
        parse_list_of_metrics(impressions_metrics_raw(), "p3_impressions"),
        SCRAPED_AT,
    )


def test_conversion_records_carry_both_series_per_day_with_their_sunday() -> None:
    records = sample_conversion_records()
    assert len(records) == 28
    first = records[0]
    assert first == {
        "account_id": "123456",
        "listing_id": "999161464035752799",
        "metric_date": date(2025, 1, 12),
        "week_start": date(2025, 1, 12),
        "conversion_rate_your": 0.015,
        "conversion_rate_similar": 0.006,
        "p3_impressions_your": 15,
        "p3_impressions_similar": 6,
        "scraped_on": date(2025, 2, 10),
        "scraped_at": SCRAPED_AT,
    }
    for record in records:
        assert record["week_start"].isoweekday() == 7
        assert 0 <= (record["metric_date"] - record["week_start"]).days <= 6
    assert records[-1]["metric_date"] == date(2025, 2, 8)
    assert records[-1]["week_start"] == date(2025, 2, 2)


def test_conversion_records_cover_days_of_either_series() -> None:
    conversion = {date(2025, 3, 1): (0.1, 0.2)}
    impressions = {date(2025, 3, 2): (5, 7)}
    records = conversion_records("1", "2", conversion, impressions, SCRAPED_AT)
    assert [(r["metric_date"], r["week_start"]) for r in records] == [
        (date(2025, 3, 1), date(2025, 2, 23)),  # a Saturday closes the week of Feb 23
        (date(2025, 3, 2), date(2025, 3, 2)),   # a Sunday opens its own week
    ]
    assert (records[0]["p3_impressions_your"], records[1]["conversion_rate_similar"]) == (
        None, None)


def test_scraped_on_is_the_utc_day_of_scraped_at() -> None:
    new_york_evening = datetime(2025, 2, 10, 21, 30, tzinfo=timezone(timedelta(hours=-5)))
    record = conversion_records("1", "2", {date(2025, 2, 9): (0.1, 0.2)}, {},
                                new_york_evening)[0]
    assert record["scraped_on"] == date(2025, 2, 11)
    assert record["scraped_at"] == new_york_evening
    assert record["scraped_at"].utcoffset() == timedelta(0)


def test_a_naive_scrape_time_is_refused() -> None:
    with pytest.raises(ValueError, match="timezone-aware"):
        conversion_records("1", "2", {}, {}, datetime(2025, 2, 10, 12, 0))


def test_visibility_record_joins_both_groups_for_the_week() -> None:
    record = sample_visibility_record()
    assert record["week_end"] == date(2025, 1, 18)
    assert record["conversion_rate"] == 0.0011021307861866275
    assert (record["p3_impressions"], record["p2_impressions"]) == (460, 8166)
    assert (record["conversion_rate_change"], record["p3_impressions_change"]) == (None, 222.0)
    assert record["scraped_on"] == date(2025, 2, 10)


def test_visibility_week_must_start_on_a_sunday() -> None:
    with pytest.raises(ValueError, match="Monday"):
        visibility_record("1", "2", date(2025, 1, 13), {}, {}, SCRAPED_AT)


# --- the schema files ---------------------------------------------------------------------

SCHEMA_FILES = (
    "listings_section.schema.json", "chart_query.schema.json", "list_of_metrics.schema.json",
)


@pytest.mark.parametrize("name", SCHEMA_FILES)
def test_schemas_are_package_resources_and_valid_draft_2020_12(name: str) -> None:
    resource = files("airbnb_sync") / "schemas" / name
    schema = json.loads(resource.read_text(encoding="utf-8"))
    assert schema["$schema"] == "https://json-schema.org/draft/2020-12/schema"
    Draft202012Validator.check_schema(schema)
    assert schema_validator(name) is schema_validator(name)


def test_the_package_schemas_are_the_top_level_schemas() -> None:
    top_level = Path(__file__).resolve().parents[2] / "schemas"
    packaged = Path(str(files("airbnb_sync") / "schemas"))
    assert {p.name for p in packaged.glob("*.json")} == {p.name for p in top_level.glob("*.json")}
    assert packaged.resolve() == top_level.resolve()
