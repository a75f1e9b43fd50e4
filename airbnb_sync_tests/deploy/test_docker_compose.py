"""docker-compose.yml and .env.example, checked without a Docker engine (the build machines
have none): parsed with PyYAML, and validated by Compose itself (`docker compose config`, or
Debian's docker-compose) with the secrets given and without them.
"""

from __future__ import annotations

import re
import shutil
import subprocess
from pathlib import Path
from typing import Any

import pytest
import yaml
from deploy_helpers import CADDYFILE, REPO, require_tool

from airbnb_sync.core.settings import SECRET_VARIABLES

COMPOSE = REPO / "docker-compose.yml"
ENV_EXAMPLE = REPO / ".env.example"
DAGSTER_SERVICES = ("user-code", "dagster-webserver", "dagster-daemon")
# Secrets of the deployment itself, besides airbnb-sync's own.
DEPLOYMENT_SECRETS = {"POSTGRES_PASSWORD", "PROXY_PASSWORD_HASH", "AIRBNB_API_KEY",
                      "GRAFANA_DB_PASSWORD"}
SECRETS = SECRET_VARIABLES | DEPLOYMENT_SECRETS
REQUIRED_SECRETS = ("POSTGRES_PASSWORD", "AIRBNB_SYNC_SECRET_KEY", "PROXY_USER",
                    "PROXY_PASSWORD_HASH")
PACKAGE_VARIABLE = re.compile(r"[\"'](AIRBNB_(?!SYNC_TEST_)[A-Z0-9_]+)[\"']")


@pytest.fixture(scope="module")
def compose() -> dict[str, Any]:
    return yaml.safe_load(COMPOSE.read_text())


def services(compose: dict[str, Any]) -> dict[str, dict[str, Any]]:
    return compose["services"]


def env_example() -> dict[str, str]:
    """NAME -> value of every `NAME=value` line of .env.example."""
    pairs = (line.split("=", 1) for line in ENV_EXAMPLE.read_text().splitlines()
             if re.match(r"^[A-Z][A-Z0-9_]*=", line))
    return {name: value for name, value in pairs}


def package_variables() -> set[str]:
    """Every AIRBNB_* variable that the package reads (settings.py and any other module)."""
    return {match for path in (REPO / "airbnb_sync").rglob("*.py")
            for match in PACKAGE_VARIABLE.findall(path.read_text())}


def test_the_stack_and_its_demo_profile(compose):
    assert set(services(compose)) == {"timescaledb", *DAGSTER_SERVICES, "proxy", "api",
                                      "simulator", "grafana"}
    profiled = {name: service["profiles"] for name, service in services(compose).items()
                if "profiles" in service}
    assert profiled == {"simulator": ["demo"], "grafana": ["dashboards"]}


def test_timescaledb_on_postgresql_17_with_a_volume_and_dagsters_own_database(compose):
    database = services(compose)["timescaledb"]
    image, tag = database["image"].split(":")
    assert image == "timescale/timescaledb"
    assert tag.endswith("-pg17")
    assert "timescaledb-data:/var/lib/postgresql/data" in database["volumes"]
    assert "timescaledb-data" in compose["volumes"]
    init = next(volume for volume in database["volumes"] if "docker-entrypoint-initdb.d" in volume)
    script = REPO / init.split(":")[0]
    assert "CREATE DATABASE dagster" in script.read_text()
    assert "/dagster" in services(compose)["user-code"]["environment"]["DAGSTER_PG_URL"]


def test_every_service_has_a_health_check(compose):
    dockerfile = (REPO / "Dockerfile").read_text()
    for name, service in services(compose).items():
        if name == "user-code":  # the image's own HEALTHCHECK
            assert "healthcheck" not in service
            assert re.search(r"^HEALTHCHECK .*grpc-health-check", dockerfile, re.M | re.S)
            continue
        check = service["healthcheck"]
        assert check["test"][0] in {"CMD", "CMD-SHELL"}, name
        assert check["retries"] >= 3, name
    assert "pg_isready" in " ".join(services(compose)["timescaledb"]["healthcheck"]["test"])


def test_dagster_services_share_one_instance_and_wait_for_healthy_dependencies(compose):
    dagster = [services(compose)[name] for name in DAGSTER_SERVICES]
    assert len({service["image"] for service in dagster}) == 1
    assert len({service["environment"]["DAGSTER_PG_URL"] for service in dagster}) == 1
    for service in dagster:
        assert "dagster-storage:/opt/dagster/home/storage" in service["volumes"]
        assert service["depends_on"]["timescaledb"]["condition"] == "service_healthy"
    for name in ("dagster-webserver", "dagster-daemon"):
        service = services(compose)[name]
        assert service["command"][-2:] == ["-w", "/opt/dagster/workspace.yaml"]
        assert service["depends_on"]["user-code"]["condition"] == "service_healthy"
        # Neither runs user code, so neither gets airbnb-sync's secrets.
        assert not SECRETS & set(service["environment"]), name
    assert services(compose)["proxy"]["depends_on"]["dagster-webserver"] == {
        "condition": "service_healthy"}


def test_the_api_runs_behind_the_proxy_with_the_settings_and_reaches_dagster_inside(compose):
    api = services(compose)["api"]
    assert api["image"] == services(compose)["user-code"]["image"]
    assert "ports" not in api and api["expose"] == ["8080"]
    command = " ".join(api["command"])
    assert "airbnb-sync db upgrade && exec airbnb-sync api serve --host 0.0.0.0 --port 8080" \
        in command
    environment = api["environment"]
    user_code = services(compose)["user-code"]["environment"]
    # The same warehouse and key as the runs, and the webserver by its service name.
    for name in ("AIRBNB_SYNC_DATABASE_URL", "AIRBNB_SYNC_SECRET_KEY", "AIRBNB_BASE_URL"):
        assert environment[name] == user_code[name], name
    assert environment["AIRBNB_SYNC_DAGSTER_URL"] == "http://dagster-webserver:3000"
    assert "DAGSTER_PG_URL" not in environment  # it talks to Dagster over GraphQL only
    assert api["depends_on"]["timescaledb"] == {"condition": "service_healthy"}
    assert "/api/v1/health" in " ".join(api["healthcheck"]["test"])
    proxy = services(compose)["proxy"]
    assert proxy["environment"]["API_UPSTREAM"] == "api:8080"
    assert proxy["depends_on"]["api"] == {"condition": "service_started"}


def test_only_the_proxy_and_the_database_are_published_and_only_on_loopback(compose):
    published = {name: service["ports"] for name, service in services(compose).items()
                 if "ports" in service}
    assert set(published) == {"proxy", "timescaledb"}
    for ports in published.values():
        assert all(port.startswith("127.0.0.1:") for port in ports), ports
    assert published["proxy"] == ["127.0.0.1:${DAGSTER_UI_PORT:-3000}:8080"]
    assert services(compose)["dagster-webserver"]["expose"] == ["3000"]


def test_the_proxy_runs_the_tested_caddyfile_with_credentials_from_the_env_file(compose):
    proxy = services(compose)["proxy"]
    mounted = {volume.split(":")[1]: REPO / volume.split(":")[0] for volume in proxy["volumes"]}
    assert mounted["/etc/caddy/Caddyfile"].resolve() == CADDYFILE
    assert "/etc/caddy/Caddyfile" in proxy["command"]
    assert proxy["environment"]["DAGSTER_UPSTREAM"] == "dagster-webserver:3000"
    for name in ("PROXY_USER", "PROXY_PASSWORD_HASH"):
        assert proxy["environment"][name].startswith(f"${{{name}:?")


def environment_values(compose: dict[str, Any]) -> list[tuple[str, str, str]]:
    return [(service_name, name, str(value))
            for service_name, service in services(compose).items()
            for name, value in (service.get("environment") or {}).items()]


def test_no_secret_is_written_in_the_compose_file(compose):
    for service, name, value in environment_values(compose):
        # A URL with credentials takes its password from the env file...
        credentials = re.search(r"://[^:/@]+:([^@]+)@", value)
        if credentials:
            assert credentials.group(1).startswith("${POSTGRES_PASSWORD"), (service, name)
        # ... and any other secret is the env file's value itself.
        elif name in SECRETS:
            assert re.fullmatch(rf"\$\{{{name}(:[-?].*)?\}}", value), (service, name)
    text = COMPOSE.read_text()
    assert not re.search(r"\$2[aby]\$\d\d\$", text)  # a bcrypt hash
    assert not re.search(r"[A-Za-z0-9_-]{43}=", text)  # a Fernet key


def test_every_setting_reaches_user_code_and_is_documented(compose):
    variables = package_variables()
    assert {"AIRBNB_SYNC_DATABASE_URL", "AIRBNB_SYNC_SECRET_KEY"} <= variables
    user_code = set(services(compose)["user-code"]["environment"])
    assert variables <= user_code, sorted(variables - user_code)
    documented = set(env_example()) | set(
        re.findall(r"^# ([A-Z][A-Z0-9_]+) ", ENV_EXAMPLE.read_text(), re.M))
    assert variables <= documented, sorted(variables - documented)
    # The compose file interpolates nothing that .env.example leaves unexplained.
    interpolated = set(re.findall(r"\$\{([A-Z][A-Z0-9_]*)", COMPOSE.read_text()))
    assert interpolated <= set(env_example()), sorted(interpolated - set(env_example()))


def test_the_env_file_ships_no_secret_and_is_never_committed():
    example = env_example()
    for name in REQUIRED_SECRETS + tuple(DEPLOYMENT_SECRETS | SECRET_VARIABLES):
        if name in example:
            assert example[name] in {"", "''"}, name
    assert ".env" in (REPO / ".gitignore").read_text().splitlines()
    ignored = subprocess.run(["git", "check-ignore", "-q", ".env"], cwd=REPO)
    assert ignored.returncode == 0


def compose_command() -> list[str]:
    """Compose v2 when the docker client has the plugin, else Debian's docker-compose."""
    docker = shutil.which("docker")
    if docker and subprocess.run([docker, "compose", "version"],
                                 capture_output=True).returncode == 0:
        return [docker, "compose"]
    return [require_tool("docker-compose", "apt-get install docker-compose (.ci/run does)")]


def compose_config(env_file: Path, *arguments: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [*compose_command(), "--env-file", str(env_file), "-f", str(COMPOSE), *arguments,
         "config", "--services"],
        cwd=REPO, capture_output=True, text=True, timeout=120,
        env={"PATH": "/usr/local/bin:/usr/bin:/bin", "HOME": str(env_file.parent)})


def test_compose_validates_the_file_and_demands_every_required_secret(tmp_path: Path):
    filled = dict(env_example())
    filled.update(POSTGRES_PASSWORD="0123abcd", AIRBNB_SYNC_SECRET_KEY="a-key",
                  PROXY_USER="operator", PROXY_PASSWORD_HASH="'$2a$14$abcdefghijkl'")
    env_file = tmp_path / ".env"

    def write(values: dict[str, str]) -> Path:
        env_file.write_text("".join(f"{name}={value}\n" for name, value in values.items()))
        return env_file

    valid = compose_config(write(filled))
    assert valid.returncode == 0, valid.stderr
    assert {"timescaledb", *DAGSTER_SERVICES, "proxy", "api"} <= set(valid.stdout.split())
    demo = compose_config(env_file, "--profile", "demo")
    assert demo.returncode == 0, demo.stderr
    assert "simulator" in demo.stdout.split()
    for secret in REQUIRED_SECRETS:
        missing = compose_config(write({**filled, secret: ""}))
        assert missing.returncode != 0, secret
        assert f"set {secret} in .env" in missing.stderr
