"""The report in a few lines of Markdown: the Dagster UI renders it in the materialization's
metadata.

Listing names and account labels come from Airbnb (or whoever sits between it and us), so
every such text is shown as text only: a name must not become an image the UI fetches, a link,
raw HTML or a broken table. Each character that Markdown or HTML could read as syntax is
written as a numeric character reference, which CommonMark, GitHub's Markdown and HTML all
show literally and never parse again; whitespace and control characters become one space, and
long names are cut (the report's pages show them whole).
"""

from __future__ import annotations

import re
from typing import TYPE_CHECKING

from airbnb_sync.report.render import DASH, count, percent_change, points, rate

if TYPE_CHECKING:
    from airbnb_sync.report.result import ReportResult

# Backslash escapes, code, emphasis, links and images, raw HTML and autolinks (`<`, `:` of a
# scheme, `.` of `www.`, `@` of an address), entities (`&`), table cells (`|`).
_SYNTAX = frozenset("\\`*_~[]!<>&|:.@\"'")
_SPACES = re.compile(r"[\s\x00-\x1f\x7f-\x9f\u2028\u2029]+")
NAME_LIMIT = 80


def _cell(text: object, limit: int = NAME_LIMIT) -> str:
    """`text` as inert Markdown for one table cell: at most `limit` characters shown."""
    plain = _SPACES.sub(" ", str(text)).strip()
    if len(plain) > limit:
        plain = plain[:limit - 1].rstrip() + "\N{HORIZONTAL ELLIPSIS}"
    return "".join(f"&#{ord(char)};" if char in _SYNTAX else char for char in plain)


def summary_markdown(result: ReportResult) -> str:
    lines = ["| account | listings | latest week | weeks missing | session |",
             "|---|---:|---|---:|---|"]
    for summary in result.accounts:
        lines.append(f"| {_cell(summary.account.title)} | {summary.listings} | "
                     f"{summary.latest_week or DASH} | {len(summary.coverage.weeks_missing)} | "
                     f"{_cell(summary.account.auth_status)} |")
    if result.skipped:
        lines += ["", f"Left out: {len(result.skipped)} account id(s) in the warehouse that "
                  "are not Airbnb user ids."]
    lines += ["", "**Biggest movers** (page views, week over week, complete weeks)", ""]
    if result.movers:
        lines += ["| listing | account | week | page views | change | conversion | change |",
                  "|---|---|---|---:|---:|---:|---:|"]
        labels = {summary.account.account_id: summary.account.label or
                  summary.account.account_id for summary in result.accounts}
        for mover in result.movers:
            lines.append(f"| {_cell(mover.listing_name)} | "
                         f"{_cell(labels.get(mover.account_id, mover.account_id))} | "
                         f"{mover.week_start} | {count(mover.views)} | "
                         f"{percent_change(mover.views_change)} | {rate(mover.conversion)} | "
                         f"{points(mover.conversion_change)} |")
    else:
        lines.append("No two complete weeks of figures yet.")
    return "\n".join(lines)
