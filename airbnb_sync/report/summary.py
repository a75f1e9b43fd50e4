"""The report in a few lines of Markdown: the Dagster UI renders it in the materialization's
metadata, and `airbnb-sync report` prints the same."""

from __future__ import annotations

from typing import TYPE_CHECKING

from airbnb_sync.report.render import DASH, count, percent_change, points, rate

if TYPE_CHECKING:
    from airbnb_sync.report.result import ReportResult


def _cell(text: object) -> str:
    return str(text).replace("|", "\\|").replace("\n", " ")


def summary_markdown(result: ReportResult) -> str:
    lines = ["| account | listings | latest week | weeks missing | session |",
             "|---|---:|---|---:|---|"]
    for summary in result.accounts:
        lines.append(f"| {_cell(summary.account.title)} | {summary.listings} | "
                     f"{summary.latest_week or DASH} | {len(summary.coverage.weeks_missing)} | "
                     f"{summary.account.auth_status} |")
    lines += ["", "**Biggest movers** (page views, week over week)", ""]
    if result.movers:
        lines += ["| listing | week | page views | change | conversion | change |",
                  "|---|---|---:|---:|---:|---:|"]
        for mover in result.movers:
            lines.append(f"| {_cell(mover.listing_name)} | {mover.week_start} | "
                         f"{count(mover.views)} | {percent_change(mover.views_change)} | "
                         f"{rate(mover.conversion)} | {points(mover.conversion_change)} |")
    else:
        lines.append("No week with two weeks of figures yet.")
    return "\n".join(lines)
