"""What a built report holds: the build writes it, the Markdown summary and the asset's
metadata read it (a module of its own, so that neither imports the other)."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from airbnb_sync.core.text import shown
from airbnb_sync.report import metrics
from airbnb_sync.report.data import AccountInfo

# How much of an untrusted account id a message shows.
ID_LIMIT = 40


@dataclass
class AccountSummary:
    account: AccountInfo
    page: str
    listings: int
    coverage: metrics.Coverage
    latest_week: Any


@dataclass
class ReportResult:
    """What was written, and what the asset's metadata and the CLI say about it."""

    folder: Path
    index: Path
    pages: list[Path]
    accounts: list[AccountSummary]
    ranking: list[metrics.Gap]
    movers: list[metrics.Mover]
    seconds: float
    skipped: list[str] = field(default_factory=list)  # account ids that are not user ids
    summary: str = field(default="")

    @property
    def size_bytes(self) -> int:
        return sum(path.stat().st_size for path in [self.index, *self.pages])

    def skipped_message(self) -> str | None:
        """One line naming the accounts left out, or None."""
        if not self.skipped:
            return None
        return (f"left out {len(self.skipped)} account(s) whose id in the warehouse is not an "
                f"Airbnb user id: "
                f"{', '.join(shown(value, ID_LIMIT) for value in self.skipped[:5])}"
                f"{' ...' if len(self.skipped) > 5 else ''} (fix or delete those rows)")
