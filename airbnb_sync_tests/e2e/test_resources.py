"""Where Airbnb's answers come from is chosen through resources alone, as Dagster's
`project_fully_featured` swaps its Hacker News clients: Airbnb over HTTP (here the simulator,
which speaks the same HTTP), a recording of it replayed with no network, and live Airbnb,
which refuses to start without its API key. The IO manager and the assets share one
warehouse resource."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

import dagster as dg
import pytest
from pipeline_helpers import API_KEY, HOSTS, TABLES, table, weeks_ending_now

from airbnb_sync.core.settings import load_settings
from airbnb_sync.defs.assets import IO_MANAGER_KEY
from airbnb_sync.defs.definitions import build_definitions
from airbnb_sync.defs.partitions import range_tags
from airbnb_sync.defs.resources import AirbnbResource, LiveAirbnb, RecordedAirbnb
from airbnb_sync.simulator import Simulator

pytestmark = pytest.mark.parametrize("database_url", ["sqlite"], indirect=True)
ACCOUNT = HOSTS[1]  # four listings


def run_with(airbnb: AirbnbResource) -> dg.ExecuteInProcessResult:
    job = build_definitions(load_settings(), airbnb=airbnb).resolve_implicit_global_asset_job_def()
    first, last = weeks_ending_now(2)
    return job.execute_in_process(
        instance=dg.DagsterInstance.get(), tags=range_tags(ACCOUNT, first, last),
        raise_on_error=False,
        run_config={"resources": {"clock": {"config": {
            "today": datetime.now(UTC).date().isoformat()}}}})


def figures() -> dict[str, list[tuple]]:
    """Every stored row but when it was fetched: a replay stores the same figures again."""
    return {name: [tuple(row) for row in table(name).drop(columns="scraped_at").astype(object)
                   .pipe(lambda f: f.where(f.notna(), None)).itertuples(index=False)]
            for name in TABLES}


def test_simulator_then_its_recording_then_live_airbnb(pipeline_env: Simulator,
                                                       tmp_path: Path) -> None:
    recording = tmp_path / "recording"
    recorded = run_with(LiveAirbnb(base_url=pipeline_env.url, api_key=API_KEY,
                                   record_to=str(recording)))
    assert recorded.success
    sent = pipeline_env.stats()["accounts"][ACCOUNT]["requests"]
    stored = figures()
    assert sent > 0 and all(stored[name] for name in TABLES)
    assert sorted(path.name for path in recording.iterdir()) == [f"{ACCOUNT}.jsonl"]

    pipeline_env.stop()  # the replay must not need any network
    replayed = run_with(RecordedAirbnb(recording=str(recording)))

    assert replayed.success
    assert figures() == stored
    assert pipeline_env.stats()["accounts"][ACCOUNT]["requests"] == sent

    live = run_with(LiveAirbnb())  # https://www.airbnb.com, no API key

    assert not live.success
    failure = next(event for event in live.all_events if event.is_step_failure)
    assert "AIRBNB_API_KEY is not set" in failure.step_failure_data.error.message
    assert not any(event.event_type == dg.DagsterEventType.STEP_UP_FOR_RETRY
                   for event in live.all_events)


def test_a_recording_without_the_asked_week_fails_once_and_names_it(
        pipeline_env: Simulator, tmp_path: Path) -> None:
    empty = tmp_path / "empty"
    empty.mkdir()
    result = run_with(RecordedAirbnb(recording=str(empty)))

    assert not result.success
    failure = next(event for event in result.all_events if event.is_step_failure)
    assert "no recorded answer for account" in failure.step_failure_data.error.message
    assert pipeline_env.stats()["accounts"].get(ACCOUNT, {}).get("requests", 0) == 0


def test_assets_and_io_manager_share_one_warehouse_and_settings(
        pipeline_env: Simulator, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("AIRBNB_SYNC_DRY_RUN", "1")
    defs = build_definitions(load_settings())
    resources = defs.resources

    assert resources[IO_MANAGER_KEY].warehouse is resources["warehouse"]
    assert resources[IO_MANAGER_KEY].run_settings is resources["run_settings"]
    assert dg.validate_run_config(defs.resolve_implicit_global_asset_job_def(), {})[
        "resources"]["run_settings"]["config"]["dry_run"] is True
    # Secrets reach Dagster as environment variable names, never as values.
    assert isinstance(resources["airbnb"].api_key, dg.EnvVar)
    assert isinstance(resources["warehouse"].database_url, dg.EnvVar)
