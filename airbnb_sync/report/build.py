"""Build the report: read each account, compute its figures, draw its charts, and write its
page and the portfolio index into one folder.

The folder may be shared with others or planted with links, and what the warehouse holds came
from Airbnb: so each page is written to a new temporary file created exclusively in the folder
(never through a link someone left there), readable by its owner only, and renamed into place,
so a reader never sees half a page; and a page's file name is built from an account id only
when that id is an Airbnb user id (digits), any other id is left out and named.
"""

from __future__ import annotations

import os
import re
import tempfile
import time
from datetime import UTC, datetime
from pathlib import Path

import sqlalchemy as sa

from airbnb_sync.core.text import shown
from airbnb_sync.report import metrics
from airbnb_sync.report.data import ReportRange, list_accounts, load_account
from airbnb_sync.report.figures import chart_description, daily_chart
from airbnb_sync.report.render import ACCOUNT_TEMPLATE, INDEX_TEMPLATE, STYLE
from airbnb_sync.report.result import ID_LIMIT, AccountSummary, ReportResult
from airbnb_sync.report.summary import summary_markdown

INDEX_PAGE = "index.html"
PRIVATE_FOLDER = 0o700
# An Airbnb user id, the only kind of id a page's file name is made of.
SAFE_ACCOUNT_ID = re.compile(r"[0-9]{1,20}")


class ReportError(ValueError):
    """The report cannot be built as asked (an unknown account, a folder that cannot be
    written); retrying will not help."""

    retryable = False


def account_page(account_id: str) -> str:
    """The file name of an account's page; only for an id that `SAFE_ACCOUNT_ID` matches."""
    if not SAFE_ACCOUNT_ID.fullmatch(account_id):
        raise ReportError(f"account id {shown(account_id, ID_LIMIT)} is not an Airbnb user id: "
                          "no page is named after it")
    return f"account-{account_id}.html"


def _reason(exc: OSError) -> str:
    return exc.strerror or type(exc).__name__


def prepare_folder(folder: Path) -> Path:
    """Create `folder` (0700) if missing and make sure pages can be written into it, or raise
    ReportError in one line: before anything is read or drawn."""
    try:
        if folder.exists() and not folder.is_dir():
            raise ReportError(f"{folder} is not a folder: give a folder for {INDEX_PAGE} and "
                              "the account pages")
        folder.mkdir(mode=PRIVATE_FOLDER, parents=True, exist_ok=True)
        descriptor, probe = tempfile.mkstemp(dir=folder, prefix=".probe-", suffix=".partial")
        os.close(descriptor)
        os.unlink(probe)
    except OSError as exc:
        raise ReportError(f"cannot write the report into {folder} ({_reason(exc)}): choose a "
                          "folder you can write to") from None
    _refuse_folder_in_the_way(folder / INDEX_PAGE)
    return folder


def _refuse_folder_in_the_way(path: Path) -> None:
    if not path.is_symlink() and path.is_dir():
        raise ReportError(f"{path} is a folder, where the report writes a page: remove it, or "
                          "choose another folder")


def write_page(path: Path, text: str) -> None:
    """Write `path` whole or not at all, 0600, through a temporary file that is created new
    (O_EXCL, never following a link) in the same folder and then renamed over `path`."""
    _refuse_folder_in_the_way(path)
    try:
        descriptor, temporary = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.",
                                                 suffix=".partial")
    except OSError as exc:
        raise ReportError(f"cannot write {path} ({_reason(exc)}): choose a folder you can "
                          "write to") from None
    try:
        with os.fdopen(descriptor, "w", encoding="utf-8") as handle:
            handle.write(text)
        os.replace(temporary, path)
    except OSError as exc:
        Path(temporary).unlink(missing_ok=True)
        raise ReportError(f"cannot write {path} ({_reason(exc)}): choose a folder you can "
                          "write to") from None
    except BaseException:
        Path(temporary).unlink(missing_ok=True)
        raise


def build_report(engine: sa.Engine, folder: Path, span: ReportRange,
                 account_ids: list[str] | None = None,
                 built_at: datetime | None = None) -> ReportResult:
    """Write one page per account (all, or `account_ids`) and the index into `folder`."""
    started = time.monotonic()
    found = list_accounts(engine, account_ids)
    unknown = sorted(set(account_ids or []) - {account.account_id for account in found})
    if unknown:
        names = ", ".join(shown(value, ID_LIMIT) for value in unknown)
        raise ReportError(f"no such account: {names} (see "
                          "`airbnb-sync accounts list`)")
    accounts = [account for account in found if SAFE_ACCOUNT_ID.fullmatch(account.account_id)]
    skipped = [account.account_id for account in found if account not in accounts]
    prepare_folder(folder)
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
        listings = []
        for listing_id, name in metrics.listing_names(data).items():
            rows = daily[daily["listing_id"] == listing_id]
            listings.append({
                "listing_id": listing_id, "name": name,
                "chart": daily_chart(listing_id, rows, span, title=name),
                "chart_text": chart_description(rows, span),
                "funnel": metrics.funnel(weekly, listing_id, span.today),
                "pickup": [row for row in pickups if row.listing_id == listing_id],
            })
        coverage = metrics.coverage(data, span)
        page = folder / account_page(account.account_id)
        write_page(page, ACCOUNT_TEMPLATE.render(
            **common, title=f"Insights: {account.title}", account=account, coverage=coverage,
            listings=listings))
        pages.append(page)
        summaries.append(AccountSummary(account, page.name, len(listings), coverage, week))
    ranking = metrics.rank_by_gap(all_gaps)
    movers = metrics.biggest_movers(all_movers)
    index = folder / INDEX_PAGE
    write_page(index, INDEX_TEMPLATE.render(
        **common, title="Insights: portfolio", accounts=summaries, ranking=ranking,
        movers=movers, skipped=skipped,
        pages={summary.account.account_id: summary.page for summary in summaries},
        labels={summary.account.account_id: summary.account.label or summary.account.account_id
                for summary in summaries}))
    result = ReportResult(folder, index, pages, summaries, ranking, movers,
                          seconds=time.monotonic() - started, skipped=skipped)
    result.summary = summary_markdown(result)
    return result
