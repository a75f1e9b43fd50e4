"""Airbnb response JSON -> tidy records with the warehouse's column names (README: The warehouse).

Nothing from Airbnb is trusted: every raw response is validated against its JSON Schema in
`schemas/` before it is read, and the records built from it are checked as a frame against
their table's Pandera schema (`warehouse.frames`) before they go anywhere. A response of the
wrong shape raises `SchemaDrift` with the JSON path of the first offending value, so that a
change on Airbnb's side stops the sync instead of storing wrong numbers. Airbnb shows "no data"
as "-" with a value of 0: that is None here (NULL in the warehouse), never 0.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import UTC, date, datetime
from functools import cache, cached_property
from importlib.resources import files
from typing import TYPE_CHECKING, Any

import jsonschema_rs

if TYPE_CHECKING:
    from jsonschema import Draft202012Validator
    from jsonschema.exceptions import ValidationError

from airbnb_sync.airbnb.errors import SchemaDrift
from airbnb_sync.airbnb.operations import LIST_OF_METRICS_NAMES, METRIC_GROUPS, Operation
from airbnb_sync.airbnb.windows import week_end, week_start_of

Number = float | int | None

COMPONENT_PATH = "data.porygon.getPerformanceComponents.components[0]"
NO_DATA = "-"
SIMILAR_LABEL = "Similar listings"
# Metrics that count things (page views, impressions): stored as integers.
COUNT_METRICS = frozenset({"p3_impressions", "p2_impressions"})

RAW_SCHEMAS: dict[Operation, str] = {
    Operation.LISTINGS_SECTION: "listings_section.schema.json",
    Operation.CHART: "chart_query.schema.json",
    Operation.LIST_OF_METRICS: "list_of_metrics.schema.json",
}
_MAX_REASON = 200


# --- schemas ---------------------------------------------------------------------------------

@cache
def _schemas() -> dict[str, dict[str, Any]]:
    """Every schema file by name, loaded once; schemas refer to each other by file name."""
    folder = files("airbnb_sync") / "schemas"
    return {
        entry.name: json.loads(entry.read_text(encoding="utf-8"))
        for entry in folder.iterdir()
        if entry.name.endswith(".json")
    }


@dataclass(frozen=True)
class SchemaValidator:
    """A schema compiled twice: Rust for the fast yes/no, `jsonschema` to explain a no.

    Pure-Python validation is hundreds of times slower than jsonschema-rs (README:
    Performance), so valid responses (nearly all) take the fast path and only a rejected one
    pays for `best_match`, whose path and reason are the clearest available. The
    `jsonschema` side is imported and compiled on the first rejection only: its import would
    cost every process (every Dagster run) for answers that are nearly always valid.
    """

    file_name: str
    fast: jsonschema_rs.Validator

    @cached_property
    def full(self) -> Draft202012Validator:
        from jsonschema import Draft202012Validator
        from referencing import Registry, Resource

        schemas = _schemas()
        return Draft202012Validator(
            schemas[self.file_name],
            registry=Registry().with_resources(
                (schema["$id"], Resource.from_contents(schema)) for schema in schemas.values()
            ),
            format_checker=Draft202012Validator.FORMAT_CHECKER,
        )

    def first_error(self, instance: Any) -> tuple[list[str | int], str] | None:
        """None when valid, else the path (as parts) and message of the most relevant error."""
        try:
            if self.fast.is_valid(instance):
                return None
        except (TypeError, ValueError):
            pass  # a value JSON cannot hold (e.g. a numpy number): let jsonschema name it
        from jsonschema.exceptions import best_match

        error = best_match(self.full.iter_errors(instance))
        if error is not None:
            return _describe(error)
        # The two implementations disagree (should not happen): trust the stricter one.
        try:
            rs_error = next(iter(self.fast.iter_errors(instance)))
        except (TypeError, ValueError, StopIteration) as failure:
            return [], f"cannot be validated: {failure!r}"
        return list(rs_error.instance_path), rs_error.message


@cache
def schema_validator(file_name: str) -> SchemaValidator:
    """The compiled validators of one schema file, built once per process."""
    schemas = _schemas()
    fast = jsonschema_rs.Draft202012Validator(
        schemas[file_name],
        registry=jsonschema_rs.Registry([(schema["$id"], schema) for schema in schemas.values()]),
        validate_formats=True,
        offline=True,
    )
    return SchemaValidator(file_name, fast)


def json_path(parts: Iterable[str | int], root: str = "") -> str:
    """['data', 'components', 0, 'ds'] -> 'data.components[0].ds' (appended to `root`)."""
    path = root
    for part in parts:
        if isinstance(part, int):
            path += f"[{part}]"
        else:
            path += f".{part}" if path else part
    return path or "$"


def _describe(error: ValidationError) -> tuple[list[str | int], str]:
    """The path and reason of a validation error; a missing key is named in the path."""
    parts: list[str | int] = list(error.absolute_path)
    if error.validator == "required" and isinstance(error.instance, Mapping):
        missing = [key for key in error.validator_value if key not in error.instance]
        if missing:
            return [*parts, missing[0]], "required key is missing"
    return parts, error.message


def _short(reason: str) -> str:
    return reason if len(reason) <= _MAX_REASON else reason[: _MAX_REASON - 3] + "..."


def _validate_raw(operation: Operation, raw: Any) -> None:
    if isinstance(raw, Mapping) and raw.get("errors"):
        raise SchemaDrift(
            operation.value, "errors",
            "the response carries GraphQL errors instead of data (the client should have "
            "reported them)",
        )
    error = schema_validator(RAW_SCHEMAS[operation]).first_error(raw)
    if error is not None:
        parts, reason = error
        raise SchemaDrift(operation.value, json_path(parts), _short(reason))


def _component(operation: Operation, raw: Any) -> dict[str, Any]:
    _validate_raw(operation, raw)
    return raw["data"]["porygon"]["getPerformanceComponents"]["components"][0]


# --- values ----------------------------------------------------------------------------------

class _FractionalCount(ValueError):
    """A count metric carried a fractional number."""


def _number(value: Mapping[str, Any] | None, value_string: str | None, as_count: bool) -> Number:
    """A wrapped number: an int for counts, a float otherwise; "-" or null -> None."""
    if value is None or value_string == NO_DATA:
        return None
    if "longValue" in value:
        number = int(value["longValue"])
        return number if as_count else float(number)
    double = value["doubleValue"]
    if not as_count:
        return float(double)
    if isinstance(double, float):
        if not double.is_integer():
            raise _FractionalCount(f"count {double!r} is not a whole number")
        return int(double)
    return double


def _metric_number(unit: Mapping[str, Any], as_count: bool, operation: Operation,
                   path: str) -> Number:
    try:
        return _number(unit["value"], unit["valueString"], as_count)
    except _FractionalCount as error:
        raise SchemaDrift(operation.value, path, str(error)) from None


def _require_metric_group(metric: str) -> None:
    if metric not in METRIC_GROUPS:
        raise ValueError(f"unknown metric group {metric!r}; expected one of {METRIC_GROUPS}")


# --- responses -------------------------------------------------------------------------------

def parse_listings(raw: dict[str, Any]) -> list[dict[str, Any]]:
    """ListingsSectionQuery -> one record per listing (ids stay strings: they near bigint)."""
    operation = Operation.LISTINGS_SECTION
    component = _component(operation, raw)
    rows = component["tableRows"]
    total = component.get("totalCount")
    if isinstance(total, int) and total > len(rows):
        raise SchemaDrift(
            operation.value, f"{COMPONENT_PATH}.totalCount",
            f"the response lists {len(rows)} of {total} listings; paging is not supported",
        )
    return [
        {
            "listing_id": row["id"],
            "listing_name": row["listingName"],
            "internal_name": row.get("internalName"),
            "thumbnail_url": row.get("thumbnailUrl"),
        }
        for row in rows
    ]


def _series(metric: str, chart: Mapping[str, Any], path: str) -> dict[str, Number]:
    """{ds: number} of one line chart; days stay ISO strings until both series are merged."""
    as_count = metric in COUNT_METRICS
    points = chart["dataPoints"]
    series: dict[str, Number] = {}
    for index, point in enumerate(points):
        try:
            series[point["ds"]] = _number(point["value"], point["valueString"], as_count)
        except _FractionalCount as error:
            raise SchemaDrift(
                Operation.CHART.value, f"{path}.dataPoints[{index}].value", str(error)
            ) from None
    if len(series) != len(points):
        seen: set[str] = set()
        for index, point in enumerate(points):
            if point["ds"] in seen:
                raise SchemaDrift(
                    Operation.CHART.value, f"{path}.dataPoints[{index}].ds",
                    f"day {point['ds']} appears twice",
                )
            seen.add(point["ds"])
    return series


def parse_chart(raw: dict[str, Any], metric: str) -> dict[date, tuple[Number, Number]]:
    """ChartQuery -> {day: (your, similar)} for every day either series has."""
    _require_metric_group(metric)
    operation = Operation.CHART
    component = _component(operation, raw)
    charted = component["primaryMetric"]["metricName"]
    if charted != metric:
        raise SchemaDrift(
            operation.value, f"{COMPONENT_PATH}.primaryMetric.metricName",
            f"the chart is for {charted!r}, but {metric!r} was asked for",
        )
    charts = component["metricLineCharts"]
    similar_at = [i for i, chart in enumerate(charts) if chart["label"] == SIMILAR_LABEL]
    your_at = [i for i, chart in enumerate(charts) if chart["label"] != SIMILAR_LABEL]
    if len(similar_at) != 1 or len(your_at) != 1:
        labels = [chart["label"] for chart in charts]
        raise SchemaDrift(
            operation.value, f"{COMPONENT_PATH}.metricLineCharts",
            f"expected one {SIMILAR_LABEL!r} chart and one of this listing, got labels {labels}",
        )
    base = f"{COMPONENT_PATH}.metricLineCharts"
    your = _series(metric, charts[your_at[0]], f"{base}[{your_at[0]}]")
    similar = _series(metric, charts[similar_at[0]], f"{base}[{similar_at[0]}]")
    # ISO dates sort like dates; the schema has checked that they are real dates.
    return {
        date.fromisoformat(day): (your.get(day), similar.get(day))
        for day in sorted(your.keys() | similar.keys())
    }


def parse_list_of_metrics(raw: dict[str, Any], metric: str) -> dict[str, Number]:
    """ListOfMetricsQuery -> the group's metrics plus `<metric>_change`, by column name."""
    _require_metric_group(metric)
    operation = Operation.LIST_OF_METRICS
    component = _component(operation, raw)
    units = {unit["metricName"]: (index, unit) for index, unit in enumerate(component["metrics"])}
    figures: dict[str, Number] = {}
    for name in LIST_OF_METRICS_NAMES[metric]:
        if name not in units:
            raise SchemaDrift(
                operation.value, f"{COMPONENT_PATH}.metrics",
                f"metric {name!r} is missing (got {sorted(units)})",
            )
        index, unit = units[name]
        path = f"{COMPONENT_PATH}.metrics[{index}].value"
        figures[name] = _metric_number(unit, name in COUNT_METRICS, operation, path)
    _, unit = units[metric]
    figures[f"{metric}_change"] = _number(
        unit.get("valueChange"), unit.get("valueChangeString"), as_count=False
    )
    return figures


# --- records ---------------------------------------------------------------------------------

def _utc(scraped_at: datetime) -> tuple[datetime, date]:
    """`scraped_at` in UTC and its UTC day; a naive time is refused rather than guessed."""
    if scraped_at.tzinfo is None or scraped_at.utcoffset() is None:
        raise ValueError("scraped_at must be timezone-aware")
    utc = scraped_at.astimezone(UTC)
    return utc, utc.date()


def conversion_records(
    account_id: str,
    listing_id: str,
    conversion: Mapping[date, tuple[Number, Number]],
    impressions: Mapping[date, tuple[Number, Number]],
    scraped_at: datetime,
) -> list[dict[str, Any]]:
    """Daily `conversion_metrics` rows from the two ChartQuery series of one listing."""
    scraped_utc, scraped_on = _utc(scraped_at)
    missing: tuple[Number, Number] = (None, None)
    records = []
    for day in sorted(conversion.keys() | impressions.keys()):
        rate_your, rate_similar = conversion.get(day, missing)
        views_your, views_similar = impressions.get(day, missing)
        records.append({
            "account_id": account_id,
            "listing_id": listing_id,
            "metric_date": day,
            "week_start": week_start_of(day),
            "conversion_rate_your": rate_your,
            "conversion_rate_similar": rate_similar,
            "p3_impressions_your": views_your,
            "p3_impressions_similar": views_similar,
            "scraped_on": scraped_on,
            "scraped_at": scraped_utc,
        })
    return records


def visibility_record(
    account_id: str,
    listing_id: str,
    week_start: date,
    conversion: Mapping[str, Number],
    impressions: Mapping[str, Number],
    scraped_at: datetime,
) -> dict[str, Any]:
    """One `visibility_metrics` row from the two ListOfMetricsQuery answers of one week."""
    if week_start.weekday() != 6:
        raise ValueError(f"week_start {week_start} is a {week_start:%A}, not a Sunday")
    scraped_utc, scraped_on = _utc(scraped_at)
    return {
        "account_id": account_id,
        "listing_id": listing_id,
        "week_start": week_start,
        "week_end": week_end(week_start),
        **{name: conversion[name] for name in LIST_OF_METRICS_NAMES["conversion_rate"]},
        **{name: impressions[name] for name in LIST_OF_METRICS_NAMES["p3_impressions"]},
        "conversion_rate_change": conversion["conversion_rate_change"],
        "p3_impressions_change": impressions["p3_impressions_change"],
        "scraped_on": scraped_on,
        "scraped_at": scraped_utc,
    }
