"""Week x account partitions, checked against Dagster's real partition objects."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, date, datetime, time, timedelta
from itertools import pairwise

import pytest
from dagster import (
    DagsterInstance,
    DynamicPartitionsDefinition,
    MultiPartitionsDefinition,
    PartitionKeyRange,
    StaticPartitionsDefinition,
    WeeklyPartitionsDefinition,
)

from airbnb_sync.airbnb.windows import reachable_horizon, week_start_of
from airbnb_sync.core.settings import load_settings
from airbnb_sync.defs.partitions import (
    ACCOUNTS,
    GRID_SLACK_WEEKS,
    decode_partition_keys,
    grid_first_week,
    partition_key,
    range_tags,
    sync_partitions,
    week_partitions,
)

FIRST_WEEK = date(2025, 1, 5)
WEEK = timedelta(days=7)
# The day the grids of the range tests are built on: weeks of 2025 are still in them.
IN_2025 = date(2025, 6, 4)


def at(day: date, hour: int = 12) -> datetime:
    return datetime.combine(day, time(hour), tzinfo=UTC)


@pytest.fixture
def instance() -> Iterator[DagsterInstance]:
    with DagsterInstance.ephemeral() as dagster_instance:
        dagster_instance.add_dynamic_partitions("accounts", ["111", "222", "333"])
        yield dagster_instance


def test_accounts_is_the_dynamic_accounts_partition_set(instance: DagsterInstance) -> None:
    assert isinstance(ACCOUNTS, DynamicPartitionsDefinition)
    assert ACCOUNTS.name == "accounts"
    assert ACCOUNTS.get_partition_keys(dynamic_partitions_store=instance) == ["111", "222", "333"]


def test_week_partitions_start_on_the_first_week_and_are_sundays() -> None:
    weeks = week_partitions(FIRST_WEEK, lookahead_weeks=25)
    assert isinstance(weeks, WeeklyPartitionsDefinition)
    keys = weeks.get_partition_keys(current_time=at(date(2025, 6, 4)))
    assert keys[0] == "2025-01-05"
    parsed = [date.fromisoformat(k) for k in keys]
    assert all(day.isoweekday() == 7 for day in parsed)
    assert all(b - a == WEEK for a, b in pairwise(parsed))


@pytest.mark.parametrize("lookahead", [0, 1, 25, 26])
def test_last_week_is_this_week_plus_lookahead_on_a_wednesday(lookahead: int) -> None:
    today = date(2025, 6, 4)  # Wednesday; its week starts 2025-06-01
    keys = week_partitions(FIRST_WEEK, lookahead).get_partition_keys(current_time=at(today))
    assert keys[-1] == (date(2025, 6, 1) + lookahead * WEEK).isoformat()


@pytest.mark.parametrize("weekday", range(7))
def test_last_week_for_every_day_of_the_week(weekday: int) -> None:
    today = date(2025, 6, 1) + timedelta(days=weekday)
    for hour in (0, 12, 23):
        keys = week_partitions(FIRST_WEEK, 25).get_partition_keys(current_time=at(today, hour))
        assert keys[-1] == (week_start_of(today) + 25 * WEEK).isoformat(), (today, hour)


def test_last_week_across_a_year_end() -> None:
    today = date(2025, 1, 1)  # Wednesday of the week starting 2024-12-29
    keys = week_partitions(date(2024, 12, 1), 0).get_partition_keys(current_time=at(today))
    assert keys == ["2024-12-01", "2024-12-08", "2024-12-15", "2024-12-22", "2024-12-29"]


def test_week_partitions_refuse_bad_input() -> None:
    with pytest.raises(ValueError, match="Sunday"):
        week_partitions(date(2025, 1, 6), 25)
    with pytest.raises(ValueError, match="lookahead"):
        week_partitions(FIRST_WEEK, -1)


def test_sync_partitions_from_settings(instance: DagsterInstance) -> None:
    settings = load_settings({"AIRBNB_SYNC_FIRST_WEEK": "2025-03-02",
                              "AIRBNB_SYNC_LOOKAHEAD_WEEKS": "2"})
    partitions = sync_partitions(settings, date(2025, 3, 12))
    assert isinstance(partitions, MultiPartitionsDefinition)
    assert partitions.partition_dimension_names == ["account", "week"]
    keys = partitions.get_partition_keys(current_time=at(date(2025, 3, 12)),
                                         dynamic_partitions_store=instance)
    weeks = ["2025-03-02", "2025-03-09", "2025-03-16", "2025-03-23"]
    assert sorted(keys) == sorted(f"{a}|{w}" for a in ("111", "222", "333") for w in weeks)
    assert partition_key("222", date(2025, 3, 16)) in keys


def test_a_range_of_one_account_is_a_run_of_its_weeks(instance: DagsterInstance) -> None:
    partitions = sync_partitions(load_settings({}), IN_2025)
    start = partition_key("222", date(2025, 5, 4))
    end = partition_key("222", date(2025, 6, 29))
    keys = partitions.get_partition_keys_in_range(PartitionKeyRange(start, end),
                                                  dynamic_partitions_store=instance)
    expected = [date(2025, 5, 4) + i * WEEK for i in range(9)]
    assert decode_partition_keys(partitions, keys) == {"222": expected}


def test_range_tags_name_both_ends_and_round_trip(instance: DagsterInstance) -> None:
    tags = range_tags("333", date(2025, 1, 5), date(2025, 1, 26))
    assert tags == {
        "dagster/asset_partition_range_start": "333|2025-01-05",
        "dagster/asset_partition_range_end": "333|2025-01-26",
    }
    partitions = sync_partitions(load_settings({}), IN_2025)
    keys = partitions.get_partition_keys_in_range(
        PartitionKeyRange(tags["dagster/asset_partition_range_start"],
                          tags["dagster/asset_partition_range_end"]),
        dynamic_partitions_store=instance,
    )
    assert decode_partition_keys(partitions, keys) == {
        "333": [date(2025, 1, 5), date(2025, 1, 12), date(2025, 1, 19), date(2025, 1, 26)]
    }
    with pytest.raises(ValueError, match="after"):
        range_tags("333", date(2025, 1, 26), date(2025, 1, 5))


def test_decode_a_rectangle_unsorted_with_duplicates(instance: DagsterInstance) -> None:
    partitions = sync_partitions(load_settings({}), IN_2025)
    keys = partitions.get_partition_keys_in_range(
        PartitionKeyRange("111|2025-02-02", "333|2025-02-09"), dynamic_partitions_store=instance
    )
    decoded = decode_partition_keys(partitions, [*reversed(keys), keys[0]])
    weeks = [date(2025, 2, 2), date(2025, 2, 9)]
    assert decoded == {"111": weeks, "222": weeks, "333": weeks}
    assert decode_partition_keys(partitions, []) == {}


def test_partition_key_matches_dagsters_dimension_order() -> None:
    partitions = sync_partitions(load_settings({}), IN_2025)
    key = partition_key("1234567890123456789", date(2025, 6, 1))
    assert key == "1234567890123456789|2025-06-01"
    by_dimension = partitions.get_partition_key_from_str(key).keys_by_dimension
    assert by_dimension == {"account": "1234567890123456789", "week": "2025-06-01"}


def test_partition_key_refuses_bad_input() -> None:
    with pytest.raises(ValueError, match="Sunday"):
        partition_key("111", date(2025, 6, 2))
    for bad in ("", "1|2", "1...2"):
        with pytest.raises(ValueError, match="account"):
            partition_key(bad, date(2025, 6, 1))


def test_decode_refuses_malformed_keys_and_foreign_definitions() -> None:
    partitions = sync_partitions(load_settings({}), IN_2025)
    with pytest.raises(ValueError, match="'2025-06-01'"):
        decode_partition_keys(partitions, ["2025-06-01"])
    with pytest.raises(ValueError, match=r"2025-06-02 is a Monday"):
        decode_partition_keys(partitions, ["111|2025-06-02"])
    with pytest.raises(ValueError, match="not-a-date"):
        decode_partition_keys(partitions, ["111|not-a-date"])
    other = MultiPartitionsDefinition({
        "host": StaticPartitionsDefinition(["1"]),
        "week": week_partitions(FIRST_WEEK, 1),
    })
    with pytest.raises(ValueError, match="account"):
        decode_partition_keys(other, ["1|2025-06-01"])


# --- a grid of constant size (issue 20) -----------------------------------------------------

ISSUE_DAY = date(2026, 12, 6)  # a Sunday


def grid_weeks(settings_env: dict[str, str], day: date, hour: int = 5) -> list[date]:
    """The week grid of the definitions loaded on `day`, as Dagster lists it then."""
    partitions = sync_partitions(load_settings(settings_env), day)
    week = partitions.get_partitions_def_for_dimension("week")
    return [date.fromisoformat(key) for key in week.get_partition_keys(current_time=at(day, hour))]


@pytest.mark.parametrize("today", [ISSUE_DAY, ISSUE_DAY + timedelta(days=3),
                                   date(2027, 2, 26), date(2028, 12, 31)])
def test_the_grid_has_as_many_weeks_a_year_from_now_as_today(today: date) -> None:
    now, in_a_year = grid_weeks({}, today), grid_weeks({}, today + timedelta(weeks=52))
    assert len(in_a_year) == len(now)
    assert len(grid_weeks({}, today + timedelta(days=365))) in {len(now) - 1, len(now),
                                                                len(now) + 1}
    # Two years: no drift either.
    assert len(grid_weeks({}, today + timedelta(weeks=104))) == len(now)


def test_the_grid_keeps_52_or_53_weeks_every_day_of_four_years_and_every_served_week() -> None:
    settings = load_settings({})
    sizes = set()
    for offset in range(4 * 365 + 1):
        day = date(2026, 1, 1) + timedelta(days=offset)
        weeks = grid_weeks({}, day)
        sizes.add(len(weeks))
        assert all(b - a == WEEK for a, b in pairwise(weeks))
        served = reachable_horizon(day, settings.lookahead_weeks, settings.horizon_days).weeks()
        assert set(served) <= set(weeks), day  # whatever Airbnb serves can still be synced
        # Only the slack week before them is kept of what Airbnb no longer serves.
        assert weeks[0] == served[0] - WEEK * GRID_SLACK_WEEKS, day
    assert sizes == {52, 53}
    # Dagster recommends at most 100,000 partitions per asset: accounts x weeks.
    assert 100_000 // max(sizes) == 1_886


def test_keeping_the_history_keeps_every_week_since_the_first_week() -> None:
    keep = {"AIRBNB_SYNC_KEEP_WEEK_HISTORY": "true"}
    now = grid_weeks(keep, ISSUE_DAY)
    in_a_year = grid_weeks(keep, ISSUE_DAY + timedelta(weeks=52))
    assert now[0] == in_a_year[0] == FIRST_WEEK  # the installation's first week stays
    assert len(in_a_year) == len(now) + 52
    assert len(now) == 126  # 2025-01-05 through 2027-05-30
    assert len(grid_weeks({}, ISSUE_DAY)) == 53


def test_the_grid_never_starts_before_the_first_week() -> None:
    # A young installation (or an explicit AIRBNB_SYNC_FIRST_WEEK): its grid starts there until
    # the weeks before it would have left the grid anyway.
    young = {"AIRBNB_SYNC_FIRST_WEEK": "2026-10-04"}
    assert grid_weeks(young, ISSUE_DAY)[0] == date(2026, 10, 4)
    assert grid_weeks(young, date(2027, 6, 6))[0] == date(2026, 11, 29)
    settings = load_settings(young)
    assert grid_first_week(settings, ISSUE_DAY) == date(2026, 10, 4)


def test_the_grid_on_the_day_of_the_issue() -> None:
    weeks = grid_weeks({}, ISSUE_DAY)
    # Airbnb serves 2026-06-09 onwards (180 days back): its week starts 2026-06-07; one
    # week of slack before it; through the current week plus 25.
    assert weeks[0] == date(2026, 5, 31)
    assert weeks[-1] == date(2027, 5, 30)
