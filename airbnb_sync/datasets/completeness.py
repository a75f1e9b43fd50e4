"""Completeness rules: which rows a complete run of a dataset has, as gaps per account.

A rule is built for a run (the listings it covers, when the dataset is per listing) and then
given the run's frame and weeks; the `complete` check reports what it returns.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from datetime import date, timedelta

import pandas as pd

WeeksByAccount = dict[str, list[date]]
Gaps = dict[str, list[str]]
Completeness = Callable[[pd.DataFrame, WeeksByAccount], Gaps]
ListingIds = Mapping[str, list[str]]
# A dataset's rule: given the run's listings (None for a dataset that is not per listing).
CompletenessRule = Callable[[ListingIds | None], Completeness]


def missing_weeks(frame: pd.DataFrame, weeks_by_account: WeeksByAccount) -> Gaps:
    """Account -> weeks of the run without a single row."""
    present = set(zip(frame["account_id"], pd.to_datetime(frame["week_start"]).dt.date,
                      strict=True))
    gaps = {account: [week.isoformat() for week in weeks if (account, week) not in present]
            for account, weeks in weeks_by_account.items()}
    return {account: weeks for account, weeks in gaps.items() if weeks}


def every_week(_listing_ids: ListingIds | None) -> Completeness:
    """The rule of a dataset with rows for every week of the run (listings)."""
    return missing_weeks


def missing_per_listing(listing_ids: ListingIds, date_column: str,
                        days_per_week: int) -> Completeness:
    """A completeness rule: every stored listing has a row for each of the first
    `days_per_week` days of every week of the run (7 for daily series, 1 for weekly rows)."""

    def missing(frame: pd.DataFrame, weeks_by_account: WeeksByAccount) -> Gaps:
        present = set(zip(frame["account_id"], frame["listing_id"],
                          pd.to_datetime(frame[date_column]).dt.date, strict=True))
        gaps: Gaps = {}
        for account, weeks in weeks_by_account.items():
            wanted = [week + timedelta(days=day) for week in weeks for day in range(days_per_week)]
            for listing in listing_ids[account]:
                absent = [day.isoformat() for day in wanted
                          if (account, listing, day) not in present]
                if absent:
                    gaps[f"{account}/{listing}"] = absent
        return gaps

    return missing


def every_listing(date_column: str, days_per_week: int) -> CompletenessRule:
    """The rule of a per-listing dataset: `missing_per_listing` over the run's listings."""

    def rule(listing_ids: ListingIds | None) -> Completeness:
        if listing_ids is None:
            raise ValueError("a per-listing dataset needs the run's listings")
        return missing_per_listing(listing_ids, date_column, days_per_week)

    return rule
