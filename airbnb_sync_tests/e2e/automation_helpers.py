"""Driving the schedule and the sensors with Dagster's test APIs, and running what they ask."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import UTC, date, datetime, time

import dagster as dg
from dagster._core.definitions.sensor_definition import SensorExecutionData

from airbnb_sync.core.settings import load_settings
from airbnb_sync.defs.definitions import build_definitions
from airbnb_sync.defs.resources import SyncClock, WarehouseResource


def resources(today: date | None = None) -> dict[str, dg.ConfigurableResource]:
    """What the daemon hands schedules and sensors, on the pinned day."""
    return {"warehouse": WarehouseResource(database_url=load_settings().database_url),
            "clock": SyncClock(today=None if today is None else today.isoformat())}


def tick_schedule(day: date) -> dg.ScheduleExecutionData:
    schedule = build_definitions(load_settings(), today=day).get_schedule_def(
        "daily_insights_sync")
    # A context with resources enters the instance: `with` leaves it, or Dagster's
    # definitions-state context variable keeps pointing at it after it is gone.
    with dg.build_schedule_context(
            instance=dg.DagsterInstance.get(), resources=resources(day),
            scheduled_execution_time=datetime.combine(day, time(5), tzinfo=UTC)) as context:
        return schedule.evaluate_tick(context)


def tick_accounts_sensor(today: date, cursor: str | None = None) -> SensorExecutionData:
    """One tick; its partition requests are applied to the instance as the daemon would."""
    instance = dg.DagsterInstance.get()
    sensor = build_definitions(load_settings(), today=today).get_sensor_def("accounts_sensor")
    with dg.build_sensor_context(instance=instance, cursor=cursor,
                                 resources=resources(today)) as context:
        result = sensor.evaluate_tick(context)
    for request in result.dynamic_partitions_requests or []:
        if isinstance(request, dg.AddDynamicPartitionsRequest):
            instance.add_dynamic_partitions(request.partitions_def_name,
                                            list(request.partition_keys))
        else:
            for key in request.partition_keys:
                instance.delete_dynamic_partition(request.partitions_def_name, key)
    return result


def run_request(request: dg.RunRequest, today: date) -> dg.ExecuteInProcessResult:
    """Execute a requested run in process, as the run launcher would, on the pinned day (the
    week grid included: the run process would load it on that day)."""
    defs = build_definitions(load_settings(), today=today)
    job = defs.resolve_implicit_global_asset_job_def()
    return job.execute_in_process(
        instance=dg.DagsterInstance.get(), tags=request.tags, raise_on_error=False,
        run_config={"resources": {"clock": {"config": {"today": today.isoformat()}}}})


def alert_on_failure(result: dg.ExecuteInProcessResult) -> None:
    """Evaluate sync_failure_alerts for a failed run, as the daemon does."""
    instance = dg.DagsterInstance.get()
    context = dg.build_run_status_sensor_context(
        sensor_name="sync_failure_alerts", dagster_event=result.get_run_failure_event(),
        dagster_instance=instance, dagster_run=instance.get_run_by_id(result.run_id),
        resources=resources(),
    ).for_run_failure()
    build_definitions(load_settings()).get_sensor_def("sync_failure_alerts")(context)


def accounts_of(requests: Sequence[dg.RunRequest]) -> list[str]:
    return [request.tags["airbnb_sync/account"] for request in requests]
