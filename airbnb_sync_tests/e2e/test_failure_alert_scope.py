"""sync_failure_alerts watches every code location (command-line runs have none) and posts
only the runs of its own location's jobs, so a workspace with other code locations does not
page about their runs."""

from __future__ import annotations

import dagster as dg
import pytest
from automation_helpers import resources
from pipeline_helpers import HOSTS, run_range, weeks_ending_now
from webhook_receiver import WebhookReceiver

from airbnb_sync.core.settings import load_settings
from airbnb_sync.defs.definitions import build_definitions
from airbnb_sync.simulator import Simulator

pytestmark = [pytest.mark.slow, pytest.mark.parametrize("database_url", ["sqlite"],
                                                        indirect=True)]


@dg.op
def other_op() -> None:
    pass


@dg.job
def other_job() -> None:
    other_op()


def evaluate(result: dg.ExecuteInProcessResult, repository: dg.RepositoryDefinition) -> None:
    instance = dg.DagsterInstance.get()
    context = dg.build_run_status_sensor_context(
        sensor_name="sync_failure_alerts", dagster_event=result.get_run_failure_event(),
        dagster_instance=instance, dagster_run=instance.get_run_by_id(result.run_id),
        resources=resources(), repository_def=repository).for_run_failure()
    build_definitions(load_settings()).get_sensor_def("sync_failure_alerts")(context)


def test_runs_of_this_location_alert_and_others_do_not(pipeline_env: Simulator,
                                                        receiver: WebhookReceiver) -> None:
    pipeline_env.expire(HOSTS[0])
    failed = run_range(HOSTS[0], *weeks_ending_now(1))
    assert not failed.success
    ours = build_definitions(load_settings()).get_repository_def()
    theirs = dg.Definitions(jobs=[other_job]).get_repository_def()

    evaluate(failed, theirs)
    assert receiver.posts == []
    evaluate(failed, ours)
    assert {post["event"] for post in receiver.posts} == {"run_failed", "session_expired"}
