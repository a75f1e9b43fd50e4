"""The three persisted GraphQL operations behind Airbnb's host insights dashboard.

Request bodies live here, in one place, so that the client and the simulator agree on them.
Hashes rotate on Airbnb's side: the defaults are the last seen ones, and settings override them.
"""

from __future__ import annotations

from collections.abc import Mapping
from enum import StrEnum
from typing import Any


class Operation(StrEnum):
    LISTINGS_SECTION = "ListingsSectionQuery"
    CHART = "ChartQuery"
    LIST_OF_METRICS = "ListOfMetricsQuery"


DEFAULT_HASHES: dict[Operation, str] = {
    Operation.LISTINGS_SECTION: "7a646c07b45ad35335b2cde4842e5c5bf69ccebde508b2ba60276832bfb1816b",
    Operation.CHART: "aa6e318cc066bbf19511b86acdce32fc59219d8596448b861d794491f46631c5",
    Operation.LIST_OF_METRICS: "b22a5ded5e6c6d168f1d224b78f34182e7366e5cc65203ec04f1e718286a09e1",
}

CLIENT_NAMES: dict[Operation, str] = {
    Operation.LISTINGS_SECTION: "web-performance-dash-listings",
    Operation.CHART: "web-performance-dash-chart",
    Operation.LIST_OF_METRICS: "web-performance-dash-metrics",
}

# The two metric groups that ChartQuery and ListOfMetricsQuery are asked for.
METRIC_GROUPS: tuple[str, str] = ("conversion_rate", "p3_impressions")

# Which metrics ListOfMetricsQuery returns for each group (README: The warehouse column names).
LIST_OF_METRICS_NAMES: dict[str, tuple[str, ...]] = {
    "conversion_rate": (
        "conversion_rate",
        "p2_impressions_first_page_rate",
        "search_conversion_rate",
        "listing_conversion_rate",
    ),
    "p3_impressions": ("p3_impressions", "p2_impressions"),
}


def request_path(operation: Operation, sha256_hash: str) -> str:
    return f"/api/v3/{operation.value}/{sha256_hash}"


def _body(operation: Operation, sha256_hash: str, arguments: dict[str, Any]) -> dict[str, Any]:
    return {
        "operationName": operation.value,
        "locale": "en",
        "currency": "USD",
        "variables": {
            "request": {
                "clientName": CLIENT_NAMES[operation],
                "arguments": arguments,
                "useStubbedData": False,
            }
        },
        "extensions": {"persistedQuery": {"version": 1, "sha256Hash": sha256_hash}},
    }


def query_body(operation: Operation, sha256_hash: str,
               arguments: Mapping[str, Any]) -> dict[str, Any]:
    """The body of any persisted operation with these arguments: what a dataset that asks an
    operation of its own sends (`AirbnbClient.query`)."""
    return _body(operation, sha256_hash, dict(arguments))


def listings_section_body(sha256_hash: str) -> dict[str, Any]:
    return _body(
        Operation.LISTINGS_SECTION,
        sha256_hash,
        {"metricType": "CONVERSION", "groupBys": ["RATING_CATEGORY"],
         "groupByValues": ["occupancy_rate"]},
    )


def _metric_arguments(listing_id: str, metric: str, relative_start: int,
                      relative_end: int) -> dict[str, Any]:
    if metric not in METRIC_GROUPS:
        raise ValueError(f"unknown metric group {metric!r}; expected one of {METRIC_GROUPS}")
    return {
        "relativeDsStart": relative_start,
        "relativeDsEnd": relative_end,
        "filters": {"listingIds": [listing_id]},
        "metricType": "CONVERSION",
        "groupBys": ["RATING_CATEGORY"],
        "groupByValues": [metric],
    }


def chart_body(sha256_hash: str, listing_id: str, metric: str, relative_start: int,
               relative_end: int) -> dict[str, Any]:
    arguments = _metric_arguments(listing_id, metric, relative_start, relative_end)
    arguments["metricComparisonType"] = "MARKET"
    return _body(Operation.CHART, sha256_hash, arguments)


def list_of_metrics_body(sha256_hash: str, listing_id: str, metric: str, relative_start: int,
                         relative_end: int) -> dict[str, Any]:
    return _body(
        Operation.LIST_OF_METRICS,
        sha256_hash,
        _metric_arguments(listing_id, metric, relative_start, relative_end),
    )
