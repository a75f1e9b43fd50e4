"""deploy/kubernetes/values.yaml for Dagster's Helm chart, checked without helm.

helm is not installable on the build machines (no Debian package; PyPI's helm-sdkpy needs
Python 3.12) and the chart itself cannot be fetched there, so `helm template` cannot run.
Instead the values are validated against the chart's schema for the sections they set
(fixtures/dagster-chart-values.schema.json, transcribed from the chart's pydantic models),
and checked to mean the same as the Compose deployment's production profile.
"""

from __future__ import annotations

import copy
import json
import re
from pathlib import Path
from typing import Any

import jsonschema
import pytest
import yaml
from deploy_helpers import DEPLOY, PRODUCTION_PROFILE

from airbnb_sync.core.settings import SECRET_VARIABLES

VALUES = DEPLOY / "kubernetes" / "values.yaml"
SCHEMA = Path(__file__).parent / "fixtures" / "dagster-chart-values.schema.json"


@pytest.fixture(scope="module")
def values() -> dict[str, Any]:
    return yaml.safe_load(VALUES.read_text())


@pytest.fixture(scope="module")
def validator() -> jsonschema.Draft7Validator:
    schema = json.loads(SCHEMA.read_text())
    jsonschema.Draft7Validator.check_schema(schema)
    return jsonschema.Draft7Validator(schema)


def errors(validator: jsonschema.Draft7Validator, document: dict[str, Any]) -> list[str]:
    return [f"{'/'.join(map(str, error.absolute_path))}: {error.message}"
            for error in validator.iter_errors(document)]


def test_values_match_the_chart_schema(values, validator):
    assert errors(validator, values) == []


@pytest.mark.parametrize("path, wrong", [
    (("dagsterDaemon", "runCoordinater"), {"enabled": True}),  # misspelt key
    (("runLauncher", "type"), "KubernetesRunLauncher"),
    (("runLauncher", "config", "k8sRunLauncher", "envSecret"), [{"name": "x"}]),
    (("dagsterDaemon", "runCoordinator", "config", "queuedRunCoordinator", "maxRuns"), 3),
])
def test_the_schema_catches_mistakes(values, validator, path: tuple[str, ...], wrong: object):
    broken = copy.deepcopy(values)
    node = broken
    for key in path[:-1]:
        node = node[key]
    node[path[-1]] = wrong
    assert errors(validator, broken)


def test_user_code_is_our_image_and_module_with_secrets_from_kubernetes(values):
    (deployment,) = values["dagster-user-deployments"]["deployments"]
    assert deployment["image"]["repository"].endswith("/airbnb-sync")
    assert deployment["codeServerArgs"] == ["-m", "airbnb_sync.definitions"]
    secrets = [source["name"] for source in deployment["envSecrets"]]
    launcher = values["runLauncher"]
    assert launcher["type"] == "K8sRunLauncher"
    # Run pods get the same Secret, directly and through includeConfigInLaunchedRuns.
    assert [s["name"] for s in launcher["config"]["k8sRunLauncher"]["envSecrets"]] == secrets
    assert deployment["includeConfigInLaunchedRuns"] == {"enabled": True}
    assert not SECRET_VARIABLES & set(deployment.get("env", {}))


def test_dagster_storage_is_an_external_postgresql_with_a_secret_password(values):
    postgresql = values["postgresql"]
    assert postgresql["enabled"] is False
    assert postgresql["postgresqlDatabase"] == "dagster"
    assert "postgresqlPassword" not in postgresql
    assert values["generatePostgresqlPasswordSecret"] is False
    assert values["global"]["postgresqlSecretName"]
    text = VALUES.read_text()
    assert not re.search(r"(?i)password:\s*\S", re.sub(r"#.*", "", text))


def test_same_run_policy_as_the_production_profile(values):
    production = yaml.safe_load(PRODUCTION_PROFILE.read_text())
    daemon = values["dagsterDaemon"]
    retries = production["run_retries"]
    assert daemon["runRetries"] == {
        "enabled": retries["enabled"], "maxRetries": retries["max_retries"],
        "retryOnAssetOrOpFailure": retries["retry_on_asset_or_op_failure"]}
    monitoring = production["run_monitoring"]
    assert {key: daemon["runMonitoring"][camel(key)] for key in monitoring} == monitoring
    assert values["telemetry"]["enabled"] is production["telemetry"]["enabled"] is False
    queue = daemon["runCoordinator"]["config"]["queuedRunCoordinator"]
    backfills = {limit["key"]: limit["limit"] for limit in queue["tagConcurrencyLimits"]}
    assert 0 < backfills["dagster/backfill"] < queue["maxConcurrentRuns"]
    retention = values["retention"]
    assert retention["enabled"] is True
    for kind in ("schedule", "sensor"):
        assert retention[kind]["purgeAfterDays"] == production["retention"][kind][
            "purge_after_days"]


def camel(snake: str) -> str:
    head, *rest = snake.split("_")
    return head + "".join(word.title() for word in rest)
