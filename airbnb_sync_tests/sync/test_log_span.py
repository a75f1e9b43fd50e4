"""The log context names an account's weeks as the orchestrator names them: Dagster's
partition keys when the Dagster layer says how (README: Logs), the weeks alone otherwise; the
sync core itself knows no key format."""

from __future__ import annotations

from datetime import UTC, date, datetime
from pathlib import Path

from airbnb_sync.core.settings import load_settings
from airbnb_sync.defs.partitions import partition_key
from airbnb_sync.sync.accounts import SyncEnvironment, partitions_span

WEEKS = [date(2026, 11, 22), date(2026, 11, 29), date(2026, 12, 6)]


def environment(tmp_path: Path, **named: object) -> SyncEnvironment:
    return SyncEnvironment(settings=load_settings({"DAGSTER_HOME": str(tmp_path)}),
                           warehouse=None, accounts=None, airbnb=None,  # type: ignore[arg-type]
                           now=datetime.now(UTC), **named)  # type: ignore[arg-type]


def test_the_span_is_dagster_partition_keys_when_the_dagster_layer_names_them(
        tmp_path: Path) -> None:
    env = environment(tmp_path, partition_key=partition_key)
    assert partitions_span(env, "41234567", WEEKS) == \
        "41234567|2026-11-22...41234567|2026-12-06"


def test_without_a_key_format_the_span_names_the_weeks(tmp_path: Path) -> None:
    assert partitions_span(environment(tmp_path), "41234567", WEEKS) == \
        "2026-11-22...2026-12-06"
