"""docker-compose.yml is checked statically here (no Docker engine on the build machines)."""

from pathlib import Path

import yaml

COMPOSE = Path(__file__).resolve().parents[1] / "docker-compose.yml"


def test_compose_binds_timescaledb_to_loopback_with_a_health_check_and_no_secret():
    compose = yaml.safe_load(COMPOSE.read_text())
    database = compose["services"]["timescaledb"]
    assert database["image"].startswith("timescale/timescaledb:")
    assert all(port.startswith("127.0.0.1:") for port in database["ports"])
    assert "pg_isready" in " ".join(database["healthcheck"]["test"])
    assert database["environment"]["POSTGRES_PASSWORD"].startswith("${POSTGRES_PASSWORD")
    assert "timescaledb-data" in compose["volumes"]
