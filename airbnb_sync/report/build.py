"""Build the report: read each account, compute its figures, draw its charts, and write its
page and the portfolio index into one folder.

Pages are written to a temporary name and renamed into place, so a browser (or a person
reloading the index) never sees half a page while a new report is being written.
"""

from __future__ import annotations

import os
import time
from datetime import UTC, datetime
from pathlib import Path

import sqlalchemy as sa

from airbnb_sync.report import metrics
from airbnb_sync.report.data import ReportRange, list_accounts, load_account
from airbnb_sync.report.figures import daily_chart
from airbnb_sync.report.render import ACCOUNT_TEMPLATE, INDEX_TEMPLATE, STYLE
from airbnb_sync.report.result import AccountSummary, ReportResult
from airbnb_sync.report.summary import summary_markdown

INDEX_PAGE = "index.html"


class ReportError(ValueError):
    """The report cannot be built as asked (an unknown account); retrying will not help."""

    retryable = False


def account_page(account_id: str) -> str:
    return f"account-{account_id}.html"


def _write(path: Path, text: str) -> None:
    partial = path.with_name(f".{path.name}.partial")
    partial.write_text(text, encoding="utf-8")
    os.replace(partial, path)


def build_report(engine: sa.Engine, folder: Path, span: ReportRange,
                 account_ids: list[str] | None = None,
                 built_at: datetime | None = None) -> ReportResult:
    """Write one page per account (all, or `account_ids`) and the index into `folder`."""
    started = time.monotonic()
    accounts = list_accounts(engine, account_ids)
    unknown = sorted(set(account_ids or []) - {account.account_id for account in accounts})
    if unknown:
        raise ReportError(f"no such account: {', '.join(unknown)} (see `airbnb-sync accounts "
                          "list`)")
    folder.mkdir(parents=True, exist_ok=True)
    built = f"{(built_at or datetime.now(UTC)):%Y-%m-%d %H:%M} UTC"
    common = {"style": STYLE, "span": span, "today": span.today, "built_at": built,
              "funnel_columns": metrics.FUNNEL}
    pages, summaries, all_gaps, all_movers = [], [], [], []
    for account in accounts:
        data = load_account(engine, account, span)
        daily, weekly = metrics.daily_latest(data), metrics.weekly_latest(data)
        week = metrics.latest_complete_week(weekly, span.today)
        all_gaps += metrics.gaps(data, daily, span)
        all_movers += metrics.movers(data, weekly, week)
        pickups = metrics.pickup(data, span)
        listings = [{
            "listing_id": listing_id, "name": name,
            "chart": daily_chart(listing_id, daily[daily["listing_id"] == listing_id], span),
            "funnel": metrics.funnel(weekly, listing_id),
            "pickup": [row for row in pickups if row.listing_id == listing_id],
        } for listing_id, name in metrics.listing_names(data).items()]
        coverage = metrics.coverage(data, span)
        page = folder / account_page(account.account_id)
        _write(page, ACCOUNT_TEMPLATE.render(
            **common, title=f"Insights: {account.title}", account=account, coverage=coverage,
            listings=listings))
        pages.append(page)
        summaries.append(AccountSummary(account, page.name, len(listings), coverage, week))
    ranking = metrics.rank_by_gap(all_gaps)
    movers = metrics.biggest_movers(all_movers)
    index = folder / INDEX_PAGE
    _write(index, INDEX_TEMPLATE.render(
        **common, title="Insights: portfolio", accounts=summaries, ranking=ranking,
        movers=movers, pages={summary.account.account_id: summary.page
                              for summary in summaries}))
    result = ReportResult(folder, index, pages, summaries, ranking, movers,
                          seconds=time.monotonic() - started)
    result.summary = summary_markdown(result)
    return result
