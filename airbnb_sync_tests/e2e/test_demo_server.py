"""`airbnb-sync demo` against a PostgreSQL warehouse, as a user runs it: the sync succeeds,
the report reads the tables in their `airbnb` schema, the warehouse URL is printed with its
password hidden, and what the demo created in DAGSTER_HOME is the owner's only."""

from __future__ import annotations

import os
import stat
import subprocess
import sys
from pathlib import Path

import pytest
import sqlalchemy as sa
from database_servers import fresh_server_database

from airbnb_sync.accounts.secrets import generate_key

pytestmark = [pytest.mark.slow, pytest.mark.postgres]


@pytest.mark.parametrize("server", ["postgres", "timescaledb"])
def test_demo_on_a_server_warehouse_reports_and_hides_the_password(tmp_path: Path,
                                                                   server: str) -> None:
    with fresh_server_database(server) as url:
        password = sa.make_url(url).password or "no-password-in-this-url"
        env = {name: value for name, value in os.environ.items()
               if not name.startswith("AIRBNB_") or name.startswith("AIRBNB_SYNC_TEST_")}
        home = tmp_path / "home"
        env.update(DAGSTER_HOME=str(home), AIRBNB_SYNC_DATABASE_URL=url,
                   AIRBNB_SYNC_SECRET_KEY=generate_key())
        ran = subprocess.run([sys.executable, "-m", "airbnb_sync.cli.main", "demo"],
                             capture_output=True, text=True, cwd=tmp_path, env=env, timeout=900)
        output = ran.stdout + ran.stderr
        assert ran.returncode == 0, output[-3000:]
        assert "Traceback" not in output
        assert f":{password}@" not in output
        shown = sa.make_url(url).render_as_string(hide_password=True)
        assert f"Stored in {shown}" in ran.stdout
        report = ran.stdout.split("Stored in", 1)[1].splitlines()
        rows = {line.split()[0]: line.split()[1:] for line in report[2:] if line.strip()
                and line.split()[0].isdigit()}
        assert set(rows) == {"41234567", "58765432"}
        assert all(int(count) > 0 for values in rows.values() for count in values[:3])
    for path in [home, *home.rglob("*")]:
        mode = stat.S_IMODE(path.lstat().st_mode)
        assert mode & 0o077 == 0, f"{path} is {oct(mode)}"
