"""Response bodies in Airbnb's exact shapes: the same keys and `__typename`s as the samples.

Pure functions from figures (data.py) to JSON-ready dicts; the server decides which to send.
"""

from __future__ import annotations

import base64
import copy
import os
from collections.abc import Sequence
from datetime import date
from typing import Any

from airbnb_sync.airbnb.operations import LIST_OF_METRICS_NAMES, Operation
from airbnb_sync.simulator import data
from airbnb_sync.simulator.data import Number, SimListing

NO_DATA = "-"
YOUR_CHART_LABEL = "Your performance"
YOUR_POINT_LABEL = "Your listings"
SIMILAR_LABEL = "Similar listings"
COUNT_METRICS = frozenset({"p3_impressions", "p2_impressions"})

LABELS: dict[str, str] = {
    "conversion_rate": "Overall conversion rate",
    "p2_impressions_first_page_rate": "First-page search impression rate",
    "search_conversion_rate": "Search-to-listing conversion",
    "listing_conversion_rate": "Listing-to-booking conversion",
    "p3_impressions": "Total page views",
    "p2_impressions": "Total first-page search impressions",
}
CHART_SECONDARY: dict[str, tuple[str, ...]] = {
    "p3_impressions": ("p2_impressions",),
    "conversion_rate": ("search_conversion_rate", "listing_conversion_rate"),
}
CHART_DESCRIPTION_NOUN: dict[str, str] = {
    "p3_impressions": "total page views",
    "conversion_rate": "overall conversion rate",
}
EMPTY_STATE_MESSAGES: dict[str, str] = {
    "p3_impressions": "Your total page views will show here within 48 hours of your first booking.",
    "conversion_rate": "Your conversion rate will show here within 48 hours of your first booking.",
}
# The container key of each component, renamed when a response "drifts" (a fault).
CONTAINER_KEYS: dict[Operation, str] = {
    Operation.LISTINGS_SECTION: "tableRows",
    Operation.CHART: "metricLineCharts",
    Operation.LIST_OF_METRICS: "metrics",
}


# --- values ------------------------------------------------------------------------------------

def new_trace_id() -> str:
    return base64.b64encode(os.urandom(16)).decode()


def long_wrapper(value: int) -> dict[str, Any]:
    return {"__typename": "porygonLongWrapper", "longValue": str(value)}


def double_wrapper(value: float) -> dict[str, Any]:
    return {"__typename": "porygonDoubleWrapper", "doubleValue": float(value)}


def percent_string(fraction: float) -> str:
    """Airbnb's rendering: two decimals below 10 % ("0.11%"), one above ("69.9%")."""
    percent = fraction * 100
    return f"{percent:.1f}%" if abs(percent) >= 10 else f"{percent:.2f}%"


def _wrapped(value: Number, is_count: bool) -> tuple[dict[str, Any], str]:
    """(value wrapper, valueString); no data is 0 shown as "-"."""
    if is_count:
        return long_wrapper(0 if value is None else int(value)), (
            NO_DATA if value is None else str(int(value)))
    return double_wrapper(0.0 if value is None else value), (
        NO_DATA if value is None else percent_string(value))


def metric_unit(name: str, value: Number, change: float | None = None,
                change_is_count: bool = False) -> dict[str, Any]:
    is_count = name in COUNT_METRICS
    wrapped, shown = _wrapped(value, is_count)
    if change is None:
        change_value, change_shown = None, None
    elif change_is_count:
        change_value, change_shown = double_wrapper(change), str(round(change))
    else:
        change_value, change_shown = double_wrapper(change), percent_string(change)
    return {
        "__typename": "porygonPMetricUnit",
        "value": wrapped,
        "valueType": "NUMBER" if is_count else "PERCENTAGE",
        "valueChange": change_value,
        "valueChangeType": "NUMBER" if change_is_count else "PERCENTAGE",
        "valueString": shown,
        "currency": None,
        "label": LABELS.get(name),
        "valueChangeString": change_shown,
        "metricName": name,
    }


def data_point(day: date, value: Number, metric: str, label: str | None) -> dict[str, Any]:
    wrapped, shown = _wrapped(value, metric in COUNT_METRICS)
    return {
        "__typename": "porygonPDataPoint",
        "ds": day.isoformat(),
        "value": wrapped,
        "valueType": "NUMBER" if metric in COUNT_METRICS else "PERCENTAGE",
        "valueString": shown,
        "label": label,
    }


def envelope(component: dict[str, Any]) -> dict[str, Any]:
    return {
        "data": {
            "porygon": {
                "__typename": "porygonQuery",
                "getPerformanceComponents": {
                    "__typename": "porygonGetPerformanceComponentsResponse",
                    "components": [component],
                },
            }
        },
        "extensions": {"traceId": new_trace_id()},
    }


# --- ListingsSectionQuery ------------------------------------------------------------------------

def _occupancy(account_id: str, listing_id: str) -> dict[str, Any]:
    """The occupancy rate the listings table shows; a third of listings show "-"."""
    if data.unit("occupancy-none", account_id, listing_id) < 1 / 3:
        unit = metric_unit("occupancy_rate", None)
        unit["valueChangeType"] = None
        return unit
    nights = 31
    rate = int(data.unit("occupancy", account_id, listing_id) * nights) / nights
    before = int(data.unit("occupancy-before", account_id, listing_id) * nights) / nights
    return metric_unit("occupancy_rate", rate, change=rate - before)


def listings_section(account_id: str, listings: Sequence[SimListing]) -> dict[str, Any]:
    rows = [
        {
            "__typename": "porygonPListingMetric",
            "id": listing.id,
            "thumbnailUrl": listing.thumbnail_url,
            "metricUnit": _occupancy(account_id, listing.id),
            "listingName": listing.listing_name,
            "internalName": listing.internal_name,
            "summary": listing.summary,
        }
        for listing in listings
    ]
    return envelope({
        "__typename": "porygonPPivotListingsSection",
        "title": "Listing overview",
        "subtitle": ("Compare 5-star ratings by listing, and we\u2019ll show you if ratings have "
                     "changed since the previous month."),
        "ratingSortBySelectors": [
            {"__typename": "porygonPRatingSortBySelector", "label": "Lowest",
             "sortOrder": "ASC", "isActive": True},
            {"__typename": "porygonPRatingSortBySelector", "label": "Highest",
             "sortOrder": "DESC", "isActive": False},
        ],
        "tableHeaders": ["Listing name", "Change", "Rate"],
        "tableRows": rows,
        "totalCount": len(rows),
        "resultsCount": len(rows),
        "componentName": "PIVOT_LISTINGS_SECTION",
    })


# --- ChartQuery --------------------------------------------------------------------------------

def _extreme_point(points: list[tuple[date, Number]], metric: str,
                   pick: Any) -> dict[str, Any] | None:
    known = [(day, value) for day, value in points if value is not None]
    if not known:
        return None
    day, value = pick(known, key=lambda item: item[1])
    return data_point(day, value, metric, None)


def _chart_figures(account_id: str, listing_id: str, days: list[date],
                   metric: str) -> dict[str, Number]:
    """The window's figures over the days shown: the primary metric and its secondaries."""
    totals = data.totals_over(account_id, listing_id, days)
    figures: dict[str, Number] = dict(data.rates(totals))
    figures["p3_impressions"] = totals.views
    figures["p2_impressions"] = totals.first_page
    return figures


def _description(metric: str, difference: float | None) -> str:
    noun = CHART_DESCRIPTION_NOUN[metric]
    if difference is None:
        return f"There is not enough data to compare the {noun} with similar listings."
    shown = str(abs(round(difference))) if metric in COUNT_METRICS else percent_string(
        abs(difference))
    direction = "higher" if difference >= 0 else "lower"
    return (f"The {noun} for selected listings is {shown} {direction} than similar listings "
            "in the area.")


def chart_section(account_id: str, listing_id: str, metric: str,
                  days: list[date]) -> dict[str, Any]:
    """Two line charts (this listing, similar listings), one point per day in `days`."""
    your = [(day, *data.daily_point(account_id, listing_id, day, metric)) for day in days]
    figures = _chart_figures(account_id, listing_id, days, metric)
    primary = figures[metric]
    similar = data.similar_total(account_id, listing_id, days, metric)
    difference = None if primary is None or similar is None else float(primary - similar)
    your_points = [(day, value) for day, value, _ in your]
    return envelope({
        "__typename": "porygonPPivotChartSection",
        "title": LABELS[metric],
        "subtitle": "Compare",
        "comparisonTypeSelectors": [
            {"__typename": "porygonPComparisonTypeSelector", "label": "Over time",
             "type": "YOY", "isActive": False},
            {"__typename": "porygonPComparisonTypeSelector", "label": SIMILAR_LABEL,
             "type": "MARKET", "isActive": True},
        ],
        "metricLineCharts": [
            {
                "__typename": "porygonPMetricLineChart",
                "dataPoints": [data_point(day, value, metric, YOUR_POINT_LABEL)
                               for day, value, _ in your],
                "label": YOUR_CHART_LABEL,
                "granularity": "DAY",
            },
            {
                "__typename": "porygonPMetricLineChart",
                "dataPoints": [data_point(day, value, metric, SIMILAR_LABEL)
                               for day, _, value in your],
                "label": SIMILAR_LABEL,
                "granularity": "DAY",
            },
        ],
        "description": _description(metric, difference),
        "link": {
            "__typename": "porygonPLink",
            "url": "https://www.airbnb.com/help/article/2652?locale=en",
            "label": "Learn how we compare listings",
        },
        "componentName": "PIVOT_CHART_SECTION",
        "primaryMetric": metric_unit(metric, primary, change=difference,
                                     change_is_count=metric in COUNT_METRICS),
        "secondaryMetrics": [
            metric_unit(name, figures[name], change_is_count=name in COUNT_METRICS)
            for name in CHART_SECONDARY[metric]
        ],
        "minPoint": _extreme_point(your_points, metric, min),
        "maxPoint": _extreme_point(your_points, metric, max),
        "emptyState": {
            "__typename": "porygonPEmptyState",
            "actionUrl": None,
            "message": EMPTY_STATE_MESSAGES[metric],
        },
    })


# --- ListOfMetricsQuery ---------------------------------------------------------------------------

def list_of_metrics_section(account_id: str, listing_id: str, group: str, start: date,
                            end: date, served: bool = True) -> dict[str, Any]:
    """The group's metrics over start..end; a window Airbnb does not serve shows "-" only."""
    names = LIST_OF_METRICS_NAMES[group]
    if served:
        figures = data.window_metrics(account_id, listing_id, start, end, group)
    else:
        figures = dict.fromkeys([*names, f"{group}_change"])
    metrics = [
        metric_unit(name, figures[name],
                    change=figures[f"{group}_change"] if name == group else None,
                    change_is_count=False)
        for name in names
    ]
    if group == "p3_impressions":
        # Counts without a change carry NUMBER, like the chart's secondary metric does.
        for unit in metrics[1:]:
            unit["valueChangeType"] = "NUMBER"
    return envelope({
        "__typename": "porygonPListOfMetricsSection",
        "metrics": metrics,
        "componentName": "LIST_OF_METRICS_SECTION",
    })


# --- faults and errors ---------------------------------------------------------------------------

def drifted(payload: dict[str, Any], operation: Operation) -> dict[str, Any]:
    """The same answer after an imagined Airbnb deploy: the container key is renamed."""
    changed = copy.deepcopy(payload)
    component = changed["data"]["porygon"]["getPerformanceComponents"]["components"][0]
    key = CONTAINER_KEYS[operation]
    component[f"{key}V2"] = component.pop(key)
    return changed


def drifted_path(operation: Operation) -> str:
    """The JSON path that `drifted` takes away, as a client's error should name it."""
    return f"data.porygon.getPerformanceComponents.components[0].{CONTAINER_KEYS[operation]}"


def authentication_required() -> dict[str, Any]:
    """Exactly what Airbnb answers for an expired or missing session (API README)."""
    return {
        "errors": [{
            "message": "Please login to continue.",
            "extensions": {
                "errorType": "authentication_required",
                "errorClass": "ServiceApiAuthenticationError",
                "response": {"statusCode": 401},
            },
        }],
        "data": {"porygon": {"getPerformanceComponents": None}},
    }


def persisted_query_not_found() -> dict[str, Any]:
    return {"errors": [{"message": "PersistedQueryNotFound",
                        "extensions": {"code": "PERSISTED_QUERY_NOT_FOUND"}}]}


def error(message: str, code: str) -> dict[str, Any]:
    """A GraphQL-style error body for everything else (bad request, invalid key, 5xx...)."""
    return {"errors": [{"message": message, "extensions": {"code": code}}], "data": None}
