"""What one sync pass over some accounts produced, and whether its failures may pass.

Whether a retry can help is the error's own word: every error of ours carries a class
attribute `retryable` (Airbnb unavailable, rate limits and lost leases are transient; an
expired session, drift or a refused key fail the same way again). An error without that
attribute is one we did not foresee for an account (no such account, unreadable
credentials), and is not retried.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from airbnb_sync.airbnb.stats import RequestStats


def is_retryable(error: BaseException) -> bool:
    return bool(getattr(error, "retryable", False))


def describe(error: BaseException) -> str:
    return f"{type(error).__name__}: {error}"


@dataclass
class SyncReport:
    """Records fetched for one table across the accounts of a run, and what failed."""

    scraped_at: datetime
    records: list[dict[str, Any]] = field(default_factory=list)
    stats: RequestStats = field(default_factory=RequestStats)
    # account -> listing -> the error that stopped that listing (the others went on)
    failed_listings: dict[str, dict[str, BaseException]] = field(default_factory=dict)
    # account -> the error that stopped the whole account
    account_errors: dict[str, BaseException] = field(default_factory=dict)
    anchor_shifts: dict[str, int] = field(default_factory=dict)

    def failed(self, account_id: str, error: BaseException) -> None:
        self.account_errors[account_id] = error

    @property
    def incomplete(self) -> bool:
        return bool(self.failed_listings or self.account_errors)

    @property
    def retryable(self) -> bool:
        """Whether a new attempt of the same partitions could succeed."""
        errors = [*self.account_errors.values(),
                  *(error for listings in self.failed_listings.values()
                    for error in listings.values())]
        return any(is_retryable(error) for error in errors)

    def error_classes(self) -> dict[str, str]:
        """account -> the class names of what went wrong there, for alerts and run metadata."""
        classes = {account: type(error).__name__ for account, error in self.account_errors.items()}
        for account, listings in self.failed_listings.items():
            classes.setdefault(account, ", ".join(sorted(
                {type(error).__name__ for error in listings.values()})))
        return classes

    def problems(self) -> str:
        """One line per failed account or listing, and what to do about them."""
        lines = [f"account {account}: {describe(error)}"
                 for account, error in self.account_errors.items()]
        lines += [f"account {account}, listing {listing}: {describe(error)}"
                  for account, listings in self.failed_listings.items()
                  for listing, error in listings.items()]
        lines.append("What was fetched was kept; re-run the same partitions to complete them.")
        return "\n".join(lines)
