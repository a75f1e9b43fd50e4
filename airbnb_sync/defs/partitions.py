"""Week (Sunday..Saturday) x account partitions of every asset (README: How it works).

Dagster orders the dimensions of a multi-partition by name, so keys read `account|week`
(`123456|2025-06-01`) and a range `A|w1...A|w2` is a run of weeks of one account, which is
what one backfill run fetches in one go.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from datetime import UTC, date, datetime, timedelta

from dagster import (
    DynamicPartitionsDefinition,
    MultiPartitionKey,
    MultiPartitionsDefinition,
    WeeklyPartitionsDefinition,
)
from dagster_shared.check import CheckError

from airbnb_sync.airbnb.windows import reachable_horizon
from airbnb_sync.core.settings import Settings

ACCOUNT = "account"
WEEK = "week"
WEEK_FORMAT = "%Y-%m-%d"
RANGE_START_TAG = "dagster/asset_partition_range_start"
RANGE_END_TAG = "dagster/asset_partition_range_end"
# A run of some of an account's listings: their ids, comma-separated (sync/planner.py).
LISTINGS_TAG = "airbnb_sync/listings"

# Host user ids, added and removed at runtime by the accounts sensor.
ACCOUNTS = DynamicPartitionsDefinition(name="accounts")
# Weeks the grid keeps before the first one Airbnb serves: a run queued (or a code location
# loaded) up to a week before that week left Airbnb's horizon still finds it in the grid, and
# is refused by the horizon check, with its message, instead of by Dagster.
GRID_SLACK_WEEKS = 1


def _require_sunday(week: date) -> None:
    if week.isoweekday() != 7:
        raise ValueError(f"weeks are named by their Sunday, but {week} is a {week:%A}")


def _require_account_id(account_id: str) -> None:
    # "|" separates dimensions and "..." separates range ends in Dagster's key strings.
    if not account_id or "|" in account_id or "..." in account_id:
        raise ValueError(f"account id {account_id!r} cannot be part of a partition key")


def week_partitions(first_week: date, lookahead_weeks: int) -> WeeklyPartitionsDefinition:
    """Weeks from `first_week` through the current week plus `lookahead_weeks`.

    With end_offset=0 Dagster's last weekly partition is the last *finished* week; each
    extra offset adds one week, so 1 + lookahead brings in the current week and the
    future weeks whose stay dates already carry data.
    """
    _require_sunday(first_week)
    if lookahead_weeks < 0:
        raise ValueError(f"lookahead_weeks must not be negative, got {lookahead_weeks}")
    return WeeklyPartitionsDefinition(
        start_date=first_week.strftime(WEEK_FORMAT),
        day_offset=0,
        fmt=WEEK_FORMAT,
        end_offset=1 + lookahead_weeks,
    )


def grid_first_week(settings: Settings, today: date) -> date:
    """The first week of the grid on `today`.

    Weeks that ended more than AIRBNB_SYNC_HORIZON_DAYS ago can never be fetched again, so
    they leave the grid (their rows stay in the warehouse): the grid keeps a constant ~53
    weeks, and the partitions per asset (weeks x accounts) no longer grow with time. It never
    starts before `settings.first_week` (the installation's, or AIRBNB_SYNC_FIRST_WEEK), and
    AIRBNB_SYNC_KEEP_WEEK_HISTORY keeps every week since it."""
    if settings.keep_week_history:
        return settings.first_week
    served = reachable_horizon(today, settings.lookahead_weeks, settings.horizon_days)
    return max(settings.first_week, served.first_week - timedelta(weeks=GRID_SLACK_WEEKS))


def sync_partitions(settings: Settings, today: date | None = None) -> MultiPartitionsDefinition:
    """The account x week grid that listings, conversion and visibility assets share, as it
    stands on `today` (default: the UTC day it is built, i.e. when the definitions load)."""
    today = today or datetime.now(UTC).date()
    return MultiPartitionsDefinition({
        ACCOUNT: ACCOUNTS,
        WEEK: week_partitions(grid_first_week(settings, today), settings.lookahead_weeks),
    })


def partition_key(account_id: str, week: date) -> str:
    """The key of one account's week, in Dagster's dimension order."""
    _require_account_id(account_id)
    _require_sunday(week)
    return str(MultiPartitionKey({ACCOUNT: account_id, WEEK: week.strftime(WEEK_FORMAT)}))


def range_tags(account_id: str, first_week: date, last_week: date) -> dict[str, str]:
    """Run tags that make one run cover a range of weeks of one account (daily schedule)."""
    if first_week > last_week:
        raise ValueError(f"range starts {first_week}, after its end {last_week}")
    return {
        RANGE_START_TAG: partition_key(account_id, first_week),
        RANGE_END_TAG: partition_key(account_id, last_week),
    }


def listings_of_tags(tags: Mapping[str, str]) -> frozenset[str] | None:
    """The listings a run is limited to (LISTINGS_TAG), None for all of them."""
    raw = tags.get(LISTINGS_TAG)
    if raw is None:
        return None
    ids = frozenset(part.strip() for part in raw.split(",") if part.strip())
    bad = sorted(listing for listing in ids if not listing.isdigit())
    if bad or not ids:
        raise ValueError(f"run tag {LISTINGS_TAG}={raw[:80]!r} must list listing ids (digits), "
                         "comma-separated")
    return ids


def decode_partition_keys(
    partitions_def: MultiPartitionsDefinition, keys: Iterable[str]
) -> dict[str, list[date]]:
    """account -> its sorted weeks, for whatever shape of keys a run holds (ranges,
    rectangles, single keys), as `context.asset_partition_keys` gives them."""
    dimensions = set(partitions_def.partition_dimension_names)
    if dimensions != {ACCOUNT, WEEK}:
        raise ValueError(
            f"expected a partitions definition with dimensions {ACCOUNT!r} and {WEEK!r}, "
            f"got {sorted(dimensions)}"
        )
    weeks_by_account: dict[str, set[date]] = {}
    for key in keys:
        try:
            by_dimension = partitions_def.get_partition_key_from_str(key).keys_by_dimension
        except CheckError as exc:  # Dagster's way of saying the key has the wrong shape
            raise ValueError(f"partition key {key!r} is not an account|week key") from exc
        try:
            week = date.fromisoformat(by_dimension[WEEK])
        except ValueError:
            raise ValueError(
                f"partition key {key!r} has week {by_dimension[WEEK]!r}, not a YYYY-MM-DD date"
            ) from None
        _require_sunday(week)
        weeks_by_account.setdefault(by_dimension[ACCOUNT], set()).add(week)
    return {account: sorted(weeks) for account, weeks in weeks_by_account.items()}


def run_totals_label(weeks: dict[str, list[date]]) -> str:
    """Dagster copies a run's output metadata onto every partition it materializes: say so,
    so that a partition's page is not read as that partition's own figures."""
    count = sum(len(account_weeks) for account_weeks in weeks.values())
    return (f"run totals over {count} partition{'s' * (count != 1)} ({len(weeks)} "
            f"account{'s' * (len(weeks) != 1)}); every partition of the run shows the same")
