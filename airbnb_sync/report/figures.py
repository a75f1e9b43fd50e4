"""The report's charts: matplotlib drawn as inline SVG.

Static SVG needs no JavaScript and nothing from the network, renders the same every time
(fixed hash salt, no date in the metadata), and stays small. Every plotted series carries a
stable id (`gid`) so that a browser can count series and points: `series-<listing>-<figure>`
holds one marker (`<use>`) per known day, and `missing-<listing>-<figure>-<whose>` one marker
per day Airbnb showed as "-" (NULL): a gap in the line and a cross above the plot, never a
zero.

A chart is an image to a screen reader: each one is `role="img"` with a `<title>` (what it
shows, for which listing) and is described in words by `chart_description`, which the page
shows under it and the chart names as its description (`aria-describedby`).
"""

from __future__ import annotations

import io
import math
import re
from dataclasses import dataclass
from datetime import date, timedelta
from html import escape

import matplotlib

matplotlib.use("svg")  # no display, no GUI toolkit: the SVG backend only

import matplotlib.dates as mdates
import matplotlib.pyplot as plt
import pandas as pd
from matplotlib.axes import Axes
from matplotlib.figure import Figure

from airbnb_sync.report.data import ReportRange

YOURS = "#d9480f"
SIMILAR = "#5c7cfa"
MISSING = "#868e96"
FUTURE = "#f1f3f5"
TITLE_LIMIT = 120  # characters of a listing's name in a chart's title


@dataclass(frozen=True)
class Panel:
    """One chart of a listing's daily figures: yours against similar listings'."""

    key: str  # the id part: "views" or "conversion"
    title: str
    your_column: str
    similar_column: str
    scale: float  # 100 shows fractions as percent


PANELS = (
    Panel("views", "Page views per stay date", "p3_impressions_your",
          "p3_impressions_similar", 1.0),
    Panel("conversion", "Conversion rate per stay date (%)", "conversion_rate_your",
          "conversion_rate_similar", 100.0),
)

# matplotlib numbers its SVG elements per figure (axes_1, line2d_1, ...): several charts
# inlined in one page would repeat those ids, so they are dropped (nothing refers to them).
_AUTOMATIC_ID = re.compile(r' id="(?:[A-Za-z]+[A-Za-z.]*_\d+)"')


def series_id(listing_id: str, panel: str, whose: str) -> str:
    return f"series-{listing_id}-{panel}-{whose}"


def missing_id(listing_id: str, panel: str, whose: str) -> str:
    return f"missing-{listing_id}-{panel}-{whose}"


def _days(span: ReportRange) -> list[date]:
    return [span.start + timedelta(days=offset)
            for offset in range((span.end - span.start).days + 1)]


def _style(axes: Axes, panel: Panel) -> None:
    axes.set_title(panel.title, loc="left", fontsize=10, color="#212529", pad=12)
    axes.spines[["top", "right"]].set_visible(False)
    axes.grid(axis="y", color="#e9ecef", linewidth=0.8)
    axes.set_axisbelow(True)
    axes.tick_params(labelsize=8, colors="#495057")
    axes.set_ylim(bottom=0)


def _mark_time(axes: Axes, span: ReportRange) -> None:
    """Shade the future stay dates and draw a line at today (both named in the legend)."""
    end = pd.Timestamp(span.end) + pd.Timedelta(hours=12)
    if span.today < span.end:
        axes.axvspan(pd.Timestamp(span.today) + pd.Timedelta(hours=12), end, color=FUTURE,
                     zorder=0, gid="future", label="future stay dates")
    if span.start <= span.today <= span.end:
        axes.axvline(pd.Timestamp(span.today), color="#212529", linewidth=1, linestyle=":",
                     gid="today", label=f"today ({span.today:%b %d})")
    axes.set_xlim(pd.Timestamp(span.start) - pd.Timedelta(hours=12), end)


def _plot_panel(axes: Axes, listing_id: str, panel: Panel, rows: pd.DataFrame,
                span: ReportRange) -> None:
    days = pd.DataFrame({"metric_date": _days(span)})
    series = days.merge(rows, on="metric_date", how="left")
    x = pd.to_datetime(series["metric_date"])
    _mark_time(axes, span)
    for whose, column, color, style in (("similar", panel.similar_column, SIMILAR, "--"),
                                        ("your", panel.your_column, YOURS, "-")):
        values = series[column] * panel.scale  # NaN stays NaN: a gap in the line
        axes.plot(x, values, linestyle=style, color=color, linewidth=1.4, marker="o",
                  markersize=2.6, gid=series_id(listing_id, panel.key, whose),
                  label="similar listings" if whose == "similar" else "this listing")
    # Days fetched with no figure ("-" in Airbnb): a cross above the plot, never a zero.
    for whose, column, color in (("similar", panel.similar_column, SIMILAR),
                                 ("your", panel.your_column, YOURS)):
        null_days = series[series["scraped_on"].notna() & series[column].isna()]
        if null_days.empty:
            continue
        axes.plot(pd.to_datetime(null_days["metric_date"]), [1.03] * len(null_days),
                  transform=axes.get_xaxis_transform(), linestyle="none", marker="x",
                  markersize=4, markeredgewidth=1.2, color=color, clip_on=False,
                  gid=missing_id(listing_id, panel.key, whose),
                  label="no data (\N{EN DASH})" if whose == "your" else None)
    _style(axes, panel)


def chart_text_id(listing_id: str) -> str:
    return f"chart-text-{listing_id}"


def _mean(rows: pd.DataFrame, column: str) -> float:
    return float(rows[column].mean()) if column in rows and not rows.empty else math.nan


def _figure(value: float, unit: str, scale: float = 1.0, digits: int = 1) -> str:
    return "no figure" if math.isnan(value) else f"{value * scale:,.{digits}f}{unit}"


def chart_description(rows: pd.DataFrame, span: ReportRange) -> str:
    """The chart in words (its text alternative): the range, the means of each series over
    the days with a figure, and how many days had none."""
    days = len(_days(span))
    known = int(rows["p3_impressions_your"].notna().sum()) if not rows.empty else 0
    fetched = int(rows["metric_date"].nunique()) if not rows.empty else 0
    return (
        f"Stay dates {span.start} to {span.end} ({days} days, today {span.today}). "
        f"Page views per stay date: this listing "
        f"{_figure(_mean(rows, 'p3_impressions_your'), '', digits=1)} on average, similar "
        f"listings {_figure(_mean(rows, 'p3_impressions_similar'), '', digits=1)}. "
        f"Conversion rate: this listing "
        f"{_figure(_mean(rows, 'conversion_rate_your'), '%', 100.0, 2)} on average, similar "
        f"listings {_figure(_mean(rows, 'conversion_rate_similar'), '%', 100.0, 2)}. "
        f"{known} days with figures, {fetched - known} days Airbnb showed without one, "
        f"{days - fetched} days not fetched.")


def _accessible(svg: str, listing_id: str, title: str) -> str:
    """The SVG as an image with a name (`<title>`) and a description (the page's text)."""
    opening_end = svg.index(">") + 1
    opening = svg[:opening_end].replace(
        "<svg ", f'<svg role="img" aria-describedby="{chart_text_id(listing_id)}" ', 1)
    return f"{opening}<title>{escape(title)}</title>{svg[opening_end:]}"


def daily_chart(listing_id: str, rows: pd.DataFrame, span: ReportRange,
                title: str | None = None) -> str:
    """The listing's daily page views and conversion, yours against similar listings', as an
    SVG element for inlining (ids unique per listing), named after `title` (the listing)."""
    plt.rcParams["svg.hashsalt"] = f"chart-{listing_id}"  # unique clip-path/marker ids
    plt.rcParams["svg.fonttype"] = "none"  # text stays text: smaller, selectable
    figure: Figure = plt.figure(figsize=(10, 4.6))
    try:
        axes_views, axes_conversion = figure.subplots(2, 1, sharex=True)
        for axes, panel in zip((axes_views, axes_conversion), PANELS, strict=True):
            _plot_panel(axes, listing_id, panel, rows, span)
        axes_conversion.xaxis.set_major_locator(mdates.WeekdayLocator(byweekday=mdates.SU))
        axes_conversion.xaxis.set_major_formatter(mdates.DateFormatter("%b %d"))
        handles, labels = axes_views.get_legend_handles_labels()
        missing = [(h, t) for axes in (axes_views, axes_conversion)
                   for h, t in zip(*axes.get_legend_handles_labels(), strict=True)
                   if t.startswith("no data")]
        if missing and not any(t.startswith("no data") for t in labels):
            handles, labels = [*handles, missing[0][0]], [*labels, missing[0][1]]
        figure.legend(handles, labels, loc="upper right", ncol=len(labels), fontsize=8,
                      frameon=False)
        # Fixed margins: tight_layout measures every label, a large part of the build's time
        # (README: Performance).
        figure.subplots_adjust(left=0.06, right=0.99, top=0.87, bottom=0.08, hspace=0.4)
        buffer = io.StringIO()
        figure.savefig(buffer, format="svg", metadata={"Date": None})
    finally:
        plt.close(figure)
    svg = buffer.getvalue()
    svg = svg[svg.index("<svg"):]  # drop the XML prolog and DOCTYPE: it goes inside HTML
    shown = title or listing_id
    if len(shown) > TITLE_LIMIT:
        shown = shown[:TITLE_LIMIT - 1] + "\N{HORIZONTAL ELLIPSIS}"
    name = f"Page views and conversion rate per stay date: {shown}"
    return _accessible(_AUTOMATIC_ID.sub("", svg), listing_id, name)
