"""The README's examples, run as a first-time user would run them after `make demo`.

The shell examples are taken from README.md as written and run with bash in a folder laid out
like the checkout (`.venv`, `.dagster_home` with the demo hosts registered), against the
simulator; the SQL examples run on every database their first line names, on synced data.
A README edit that breaks an example breaks these tests.
"""

from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path

import pytest
import sqlalchemy as sa
from pipeline_helpers import HOSTS, add_account, run_range, weeks_ending_now
from sqlalchemy.pool import NullPool

from airbnb_sync.simulator import Simulator

pytestmark = pytest.mark.slow

README = Path(__file__).resolve().parents[2] / "README.md"
VENV = Path(sys.executable).parent.parent  # the venv running the tests, as .venv
DEMO_PORT = "8765"  # the README's simulator port; replaced by the test simulator's
SQL_DIALECTS = {"PostgreSQL": "postgres", "TimescaleDB": "timescaledb", "SQLite": "sqlite"}


def fenced_blocks(language: str) -> list[str]:
    """The README's ``` blocks of `language`, indentation (inside list items) removed."""
    pattern = re.compile(rf"^([ \t]*)```{language}\n(.*?)^\1```", re.MULTILINE | re.DOTALL)
    blocks = []
    for indent, body in pattern.findall(README.read_text()):
        blocks.append("".join(line[len(indent):] if line.startswith(indent) else line
                              for line in body.splitlines(keepends=True)))
    return blocks


def shell_example(containing: str) -> str:
    matches = [block for block in fenced_blocks("bash") if containing in block]
    assert len(matches) == 1, f"README.md has {len(matches)} bash blocks with {containing!r}"
    return matches[0]


@pytest.fixture
def checkout(tmp_path: Path, simulator: Simulator, monkeypatch: pytest.MonkeyPatch,
             tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A folder like the checkout after `make demo`: `.venv`, and `.dagster_home` with the
    demo hosts registered."""
    folder = tmp_path / "checkout"
    home = folder / ".dagster_home"
    home.mkdir(parents=True)
    (home / "dagster.yaml").write_text("telemetry:\n  enabled: false\n")
    (folder / ".venv").symlink_to(VENV)
    for name in list(os.environ):
        if name.startswith("AIRBNB_") and not name.startswith("AIRBNB_SYNC_TEST_"):
            monkeypatch.delenv(name)
    monkeypatch.setenv("DAGSTER_HOME", str(home))
    cookies = tmp_path_factory.mktemp("cookies")
    for account_id in HOSTS:
        add_account(cookies, account_id)
    return folder


def run_example(script: str, folder: Path, simulator: Simulator) -> subprocess.CompletedProcess:
    """bash -e in `folder`, with nothing of this test's environment but PATH and HOME."""
    port = simulator.url.rsplit(":", 1)[1]
    env = {"PATH": "/usr/local/bin:/usr/bin:/bin", "HOME": str(folder), "LANG": "C.UTF-8"}
    return subprocess.run(["bash", "-euo", "pipefail", "-c", script.replace(DEMO_PORT, port)],
                          cwd=folder, env=env, capture_output=True, text=True, timeout=240,
                          check=False)


def test_after_make_demo_the_commands_are_found_and_see_the_demo(checkout: Path,
                                                                 simulator: Simulator) -> None:
    result = run_example(shell_example("airbnb-sync accounts list"), checkout, simulator)
    assert result.returncode == 0, result.stdout + result.stderr
    for account_id in HOSTS:
        assert account_id in result.stdout


def stored_weeks(checkout: Path) -> int:
    engine = sa.create_engine(f"sqlite:///{checkout / '.dagster_home' / 'warehouse.db'}",
                              poolclass=NullPool)
    with engine.connect() as connection:
        return connection.exec_driver_sql(
            "SELECT COUNT(DISTINCT week_start) FROM visibility_metrics "
            "WHERE account_id = '41234567'").scalar()


def test_the_command_line_sync_example_syncs_four_weeks_from_the_simulator(
        checkout: Path, simulator: Simulator) -> None:
    result = run_example(shell_example("airbnb-sync sync 41234567"), checkout, simulator)
    assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-3000:]
    assert "Traceback" not in result.stderr
    assert result.stdout.strip().splitlines()[-1].startswith("synced account 41234567, weeks ")
    assert "(4 weeks)" in result.stdout.strip().splitlines()[-1]
    assert stored_weeks(checkout) == 4
    assert simulator.stats()["total_requests"] > 0


def test_the_dagster_users_example_syncs_four_weeks_without_a_supersession_warning(
        checkout: Path, simulator: Simulator) -> None:
    """The `dg launch` block, in the shell the `airbnb-sync sync` block set up."""
    setup = "".join(line for line in shell_example("airbnb-sync sync 41234567")
                    .splitlines(keepends=True) if not line.startswith("airbnb-sync sync"))
    result = run_example(setup + shell_example("--partition-range"), checkout, simulator)
    assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-3000:]
    assert "DagsterInvalidSubsetError" not in result.stderr
    assert "SupersessionWarning" not in result.stdout + result.stderr
    assert stored_weeks(checkout) == 4
    assert simulator.stats()["total_requests"] > 0


def test_without_dagster_home_dagster_in_the_checkout_stops_as_the_readme_says() -> None:
    """README, Quick start: what Dagster's commands do in the checkout without DAGSTER_HOME."""
    env = {name: value for name, value in os.environ.items() if name != "DAGSTER_HOME"}
    result = subprocess.run([str(VENV / "bin" / "dg"), "launch", "-m", "airbnb_sync.definitions",
                             "--assets", "insights_report"], cwd=README.parent, env=env,
                            capture_output=True, text=True, timeout=240, check=False)
    assert result.returncode != 0
    said = ('You have attempted to fetch the environment variable "DAGSTER_HOME" which is not '
            "set")
    assert said in result.stderr and "DagsterInvalidConfigError" in result.stderr
    assert " ".join(said.split()) in " ".join(README.read_text().split())


def sql_examples() -> list[tuple[set[str], list[str]]]:
    """(databases named by the block's first line, statements) of every ```sql block."""
    examples = []
    for block in fenced_blocks("sql"):
        first, _, rest = block.partition("\n")
        assert first.startswith("-- "), f"SQL example without its databases: {first!r}"
        names = {name.strip() for name in first[3:].split(",")}
        assert names <= set(SQL_DIALECTS), f"unknown database in {first!r}"
        statements = [s.strip() for s in rest.split(";\n") if s.strip().strip(";").strip()]
        examples.append(({SQL_DIALECTS[name] for name in names}, statements))
    return examples


def test_every_sql_example_names_its_databases_and_every_database_has_them() -> None:
    examples = sql_examples()
    assert {"sqlite", "postgres", "timescaledb"} <= set().union(*(d for d, _ in examples))
    sqlite_blocks = [s for d, s in examples if "sqlite" in d]
    postgres_blocks = [s for d, s in examples if "postgres" in d]
    assert len(sqlite_blocks) == len(postgres_blocks)  # each query in both dialects


def test_every_sql_example_runs_on_its_databases(pipeline_env, database_url: str) -> None:
    dialect = ("sqlite" if database_url.startswith("sqlite")
               else "timescaledb" if _has_timescaledb(database_url) else "postgres")
    first, last = weeks_ending_now(2)
    assert run_range(HOSTS[0], first, last).success
    ran = 0
    engine = sa.create_engine(database_url, poolclass=NullPool)
    for databases, statements in sql_examples():
        if dialect not in databases:
            continue
        for number, statement in enumerate(statements):
            with engine.begin() as connection:
                rows = connection.exec_driver_sql(statement.rstrip(";")).all()
            if number == 0 and "drop_chunks" not in statement:
                assert rows, f"the README's first query returns nothing on demo data:\n{statement}"
            ran += 1
    assert ran >= 3


def _has_timescaledb(url: str) -> bool:
    with sa.create_engine(url, poolclass=NullPool).connect() as connection:
        return connection.exec_driver_sql(
            "SELECT count(*) FROM pg_extension WHERE extname = 'timescaledb'").scalar() > 0


@pytest.mark.parametrize("database_url", ["sqlite"], indirect=True)
def test_the_demos_first_fresh_failure_is_the_other_host_not_yet_synced(pipeline_env) -> None:
    """README, Quick start: what the first run's failed `fresh` check means."""
    first, last = weeks_ending_now(2)

    def fresh_checks(account_id: str) -> dict[str, tuple[bool, object]]:
        result = run_range(account_id, first, last)
        assert result.success
        return {evaluation.asset_key.path[-1]: (
                    evaluation.passed, evaluation.metadata["stale_accounts"].value)
                for evaluation in result.get_asset_check_evaluations()
                if evaluation.check_name == "fresh"}

    first_run = fresh_checks(HOSTS[0])
    assert set(first_run) == {"listings", "conversion_metrics", "visibility_metrics"}
    assert all(passed is False and stale == {HOSTS[1]: "never"}
               for passed, stale in first_run.values()), first_run
    assert all(passed and stale == {} for passed, stale in fresh_checks(HOSTS[1]).values())
