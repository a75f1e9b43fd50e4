"""What the metric assets take from the `listings` asset of the same partitions."""

from __future__ import annotations

import dagster as dg
import pandas as pd


def listing_ids_by_account(listings: pd.DataFrame, accounts: list[str]) -> dict[str, list[str]]:
    """Account -> its listing ids stored for the run's weeks; refuse accounts with none,
    because fetching metrics without knowing the listings would silently store nothing."""
    by_account = {
        account: sorted(group["listing_id"].unique())
        for account, group in listings.groupby("account_id")
    }
    missing = [account for account in accounts if not by_account.get(account)]
    if missing:
        raise dg.Failure(
            description=(
                f"no listings are stored for account(s) {', '.join(missing)} in these weeks: "
                "materialize `listings` for the same partitions first (select all three assets)."
            )
        )
    return {account: by_account[account] for account in accounts}
