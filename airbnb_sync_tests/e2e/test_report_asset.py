"""The `insights_report` asset on a real Dagster instance: it sits downstream of the three
synced assets, its materialization carries the report's path and a Markdown summary, and
declarative automation asks for it again after a sync (one week of one simulator host)."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

import dagster as dg
import pytest
from pipeline_helpers import HOSTS

from airbnb_sync.airbnb.windows import week_start_of
from airbnb_sync.core.settings import load_settings
from airbnb_sync.defs.assets import SYNCED_ASSETS
from airbnb_sync.defs.definitions import build_definitions
from airbnb_sync.defs.partitions import ACCOUNTS, range_tags

pytestmark = [pytest.mark.slow,
              pytest.mark.parametrize("database_url", ["sqlite"], indirect=True)]
REPORT = dg.AssetKey("insights_report")


@pytest.fixture
def reports_dir(pipeline_env, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    folder = tmp_path / "reports"
    monkeypatch.setenv("AIRBNB_SYNC_REPORTS_DIR", str(folder))
    return folder


def _requested(defs: dg.Definitions, instance: dg.DagsterInstance,
               cursor=None) -> dg.EvaluateAutomationConditionsResult:
    return dg.evaluate_automation_conditions(defs=defs, instance=instance, cursor=cursor,
                                             asset_selection=dg.AssetSelection.assets(REPORT))


def test_report_is_downstream_of_the_synced_assets(reports_dir: Path) -> None:
    defs = build_definitions(load_settings())
    graph = defs.resolve_asset_graph()
    assert graph.get(REPORT).parent_keys == {dg.AssetKey(name) for name in SYNCED_ASSETS}
    assert graph.get(REPORT).automation_condition is not None
    # The sensor that evaluates it runs from the start (Dagster's default one would not).
    sensor = defs.resolve_sensor_def("insights_report_automation")
    assert isinstance(sensor, dg.AutomationConditionSensorDefinition)
    assert sensor.default_status == dg.DefaultSensorStatus.RUNNING


def test_materialization_carries_path_and_summary_and_a_sync_triggers_it(
        reports_dir: Path) -> None:
    instance = dg.DagsterInstance.get()
    defs = build_definitions(load_settings())
    job = defs.resolve_implicit_global_asset_job_def()
    instance.add_dynamic_partitions(ACCOUNTS.name, [HOSTS[0]])
    week = week_start_of(datetime.now(UTC).date())

    first = _requested(defs, instance)
    assert first.get_num_requested(REPORT) == 0  # no sync yet: nothing to report

    built = job.execute_in_process(instance=instance, asset_selection=[REPORT])
    assert built.success
    (materialization,) = built.asset_materializations_for_node("insights_report")
    metadata = materialization.metadata
    index = Path(metadata["path"].value)
    assert index == reports_dir / "index.html" and index.is_file()
    assert isinstance(metadata["summary"], dg.MarkdownMetadataValue)
    assert metadata["summary"].value.startswith("| account | listings | latest week |")
    assert metadata["size_bytes"].value == sum(
        path.stat().st_size for path in reports_dir.glob("*.html"))

    quiet = _requested(defs, instance, first.cursor)
    assert quiet.get_num_requested(REPORT) == 0  # nothing new: nothing to do

    sync = job.execute_in_process(
        instance=instance, tags=range_tags(HOSTS[0], week, week),
        asset_selection=[dg.AssetKey(name) for name in SYNCED_ASSETS])
    assert sync.success
    after_sync = _requested(defs, instance, quiet.cursor)
    assert after_sync.get_num_requested(REPORT) == 1

    rebuilt = job.execute_in_process(instance=instance, asset_selection=[REPORT])
    assert rebuilt.success
    summary = rebuilt.asset_materializations_for_node("insights_report")[0].metadata["summary"]
    assert f"| {HOSTS[0]} | 1 |" in summary.value  # the synced host and its one listing


def test_a_sync_run_holding_every_asset_leaves_the_report_to_automation(
        reports_dir: Path) -> None:
    instance = dg.DagsterInstance.get()
    instance.add_dynamic_partitions(ACCOUNTS.name, [HOSTS[0]])
    week = week_start_of(datetime.now(UTC).date())
    job = build_definitions(load_settings()).resolve_implicit_global_asset_job_def()
    result = job.execute_in_process(instance=instance, tags=range_tags(HOSTS[0], week, week))
    assert result.success
    assert result.asset_materializations_for_node("insights_report") == []
    assert not reports_dir.exists()
