"""A run's dry run, retries and pacing are fields of the `run_settings` resource: they default
from the documented AIRBNB_SYNC_* variables, the launchpad shows and checks them, and the assets
and the IO manager read the one resource (no closure over the settings)."""

from __future__ import annotations

from typing import Any

import dagster as dg
import pytest

from airbnb_sync.core.settings import Settings, load_settings
from airbnb_sync.defs.assets import IO_MANAGER_KEY, SYNC_ASSETS, SYNCED_ASSETS
from airbnb_sync.defs.definitions import build_definitions
from airbnb_sync.defs.io_manager import WarehouseIOManager
from airbnb_sync.defs.resources import RUN_FIELDS, RunSettings, run_fields

ENVIRONMENT = {
    "AIRBNB_SYNC_DRY_RUN": ("dry_run", "yes", True),
    "AIRBNB_SYNC_RUN_RETRIES": ("run_retries", "7", 7),
    "AIRBNB_SYNC_RUN_RETRY_DELAY": ("run_retry_delay", "2.5", 2.5),
    "AIRBNB_SYNC_MIN_REQUEST_INTERVAL": ("min_request_interval", "1.25", 1.25),
    "AIRBNB_SYNC_REQUEST_TIMEOUT": ("request_timeout", "12", 12.0),
    "AIRBNB_SYNC_MAX_RETRIES": ("max_retries", "9", 9),
    "AIRBNB_SYNC_MAX_RETRY_AFTER": ("max_retry_after", "45", 45.0),
    "AIRBNB_SYNC_RETRY_BUDGET": ("retry_budget_seconds", "120", 120.0),
}


def job_of(defs: dg.Definitions) -> dg.JobDefinition:
    return defs.resolve_implicit_global_asset_job_def()


def run_settings_of(job: dg.JobDefinition, run_config: dict[str, Any] | None = None
                    ) -> dict[str, Any]:
    """The run_settings config a run gets, from what the launchpad sends (Dagster fills in
    every field left out)."""
    resolved = dg.validate_run_config(job, run_config or {})
    return resolved["resources"]["run_settings"]["config"]


def deployment_run(settings: Settings, **changes: Any) -> RunSettings:
    return RunSettings(deployment=settings, **{**run_fields(settings), **changes})


def test_every_run_field_defaults_from_its_variable(monkeypatch: pytest.MonkeyPatch) -> None:
    assert sorted(field for field, _, _ in ENVIRONMENT.values()) == sorted(RUN_FIELDS)
    for variable, (_, raw, _) in ENVIRONMENT.items():
        monkeypatch.setenv(variable, raw)
    defs = build_definitions(load_settings())

    assert run_settings_of(job_of(defs)) == {
        field: value for field, _, value in ENVIRONMENT.values()}
    # One source of truth: the IO manager's dry run and retries are this same resource,
    # configured once per run.
    io_manager = defs.resources[IO_MANAGER_KEY]
    assert isinstance(io_manager, WarehouseIOManager)
    assert io_manager.run_settings is defs.resources["run_settings"]


def test_a_run_changes_only_the_fields_it_names(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("AIRBNB_SYNC_RUN_RETRIES", "4")
    monkeypatch.setenv("AIRBNB_SYNC_MIN_REQUEST_INTERVAL", "2")
    job = job_of(build_definitions(load_settings()))

    one_run = run_settings_of(job, {"resources": {"run_settings": {"config": {
        "dry_run": True}}}})
    assert one_run["dry_run"] is True
    assert one_run["run_retries"] == 4 and one_run["min_request_interval"] == 2.0


def test_the_settings_a_run_reads_are_the_deployments_with_the_runs_knobs() -> None:
    deployment = load_settings({"AIRBNB_SYNC_RUN_RETRIES": "1",
                                "AIRBNB_SYNC_FIRST_SYNC_WEEKS": "3"})
    run = deployment_run(deployment, dry_run=True, min_request_interval=0.5)
    applied = run.settings()
    assert applied.dry_run is True and applied.min_request_interval == 0.5
    assert applied.run_retries == 1 and applied.first_sync_weeks == 3
    assert deployment.dry_run is False  # the deployment's own settings are left alone
    assert run.step_retries().max_retries == 1
    assert run.step_retries().delay == deployment.run_retry_delay


def test_the_launchpad_shows_and_checks_the_run_fields() -> None:
    job = job_of(build_definitions(load_settings({})))
    fields = job.run_config_schema.config_type.fields["resources"].config_type.fields
    shown = fields["run_settings"].config_type.fields["config"].config_type.fields
    assert set(shown) == set(RUN_FIELDS)
    assert all(not field.is_required for field in shown.values())  # defaults: the environment
    assert "AIRBNB_SYNC_DRY_RUN" in (shown["dry_run"].description or "")
    with pytest.raises(dg.DagsterInvalidConfigError, match="run_retries"):
        run_settings_of(job, {"resources": {"run_settings": {"config": {
            "run_retries": "three"}}}})


def test_a_value_out_of_range_is_refused_by_name() -> None:
    settings = load_settings({})
    with pytest.raises(ValueError, match="run_retries"):
        deployment_run(settings, run_retries=11)
    with pytest.raises(ValueError, match="min_request_interval"):
        deployment_run(settings, min_request_interval=float("inf"))


def test_the_synced_assets_are_module_level_definitions_on_the_load_time_grid() -> None:
    assert [asset.key.path[-1] for asset in SYNC_ASSETS] == list(SYNCED_ASSETS)
    assert all(asset.partitions_def is None for asset in SYNC_ASSETS)  # until with_grid
    assert all("run_settings" in asset.required_resource_keys for asset in SYNC_ASSETS)
    defs = build_definitions(load_settings({}))
    assert all(defs.get_assets_def(name).partitions_def is not None for name in SYNCED_ASSETS)
