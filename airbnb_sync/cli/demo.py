"""`airbnb-sync demo`: the whole pipeline on a laptop, against the simulator.

Starts the simulator, registers two demo hosts, syncs their last 8 weeks through Dagster's
own command line (the same contract users rely on), prints what was stored, and stops the
simulator. With --ui it keeps the simulator up and opens the Dagster UI on the same data.
"""

from __future__ import annotations

import argparse
import os
import shlex
import subprocess
import sys
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

from airbnb_sync.airbnb.windows import week_start_of
from airbnb_sync.cli.accounts import add_account, update_account
from airbnb_sync.cli.common import EXIT_FAILED, EXIT_OK, Command, set_handler
from airbnb_sync.cli.installation import creates_installation
from airbnb_sync.core.settings import Settings

DEMO_HOSTS = {"41234567": "Lakeside cabins", "58765432": "City lofts"}
DEMO_API_KEY = "sim-api-key"
DEMO_CLIENT_VERSION = "0123456789abcdef0123456789abcdef01234567"
DEMO_USER_AGENT = "Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 Chrome/126.0 Safari/537.36"
DEMO_WEEKS = 8
# Dagster's command line lives next to this interpreter, whether or not the venv is activated.
DAGSTER = str(Path(sys.executable).parent / "dagster")
ASSETS = "listings,conversion_metrics,visibility_metrics"


def configure(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--ui", action="store_true",
                        help="keep the simulator running and open the Dagster UI")
    parser.add_argument("--simulator-port", type=int, default=0,
                        help="port of the simulator (default: any free port)")
    set_handler(parser, run)
    creates_installation(parser)


COMMAND = Command("sync demo hosts from the simulator into the embedded warehouse", configure,
                  own_parser=True)


def run(args: argparse.Namespace, settings: Settings) -> int:
    """The simulator's address reaches the `dagster` processes through the environment: they
    read their own settings, while this process keeps the ones it was given."""
    from airbnb_sync.simulator import Simulator, SimulatorConfig

    instance_yaml = settings.dagster_home / "dagster.yaml"
    if not instance_yaml.exists():
        instance_yaml.write_text("telemetry:\n  enabled: false\n")
    with Simulator(SimulatorConfig(port=args.simulator_port, api_key=DEMO_API_KEY)) as simulator:
        os.environ.update({
            "AIRBNB_BASE_URL": simulator.url,
            "AIRBNB_API_KEY": DEMO_API_KEY,
            # The simulator does not mind; against Airbnb keep the 6 s default.
            "AIRBNB_SYNC_MIN_REQUEST_INTERVAL": os.environ.get(
                "AIRBNB_SYNC_MIN_REQUEST_INTERVAL", "0.02"),
        })
        print(f"simulator: {simulator.url}   DAGSTER_HOME: {settings.dagster_home}")
        _register_hosts(settings)
        if args.ui:
            return _open_ui()
        return _sync_and_report(settings)


def _register_hosts(settings: Settings) -> None:
    from airbnb_sync.accounts.store import open_store
    from airbnb_sync.simulator import make_cookie

    existing = {account.account_id for account in open_store(settings).list(include_deleted=True)}
    for account_id, label in DEMO_HOSTS.items():
        if account_id in existing:
            update_account(settings, account_id, cookie_text=make_cookie(account_id),
                           x_client_version=DEMO_CLIENT_VERSION, user_agent=DEMO_USER_AGENT,
                           label=label)
        else:
            add_account(settings, account_id, make_cookie(account_id), DEMO_CLIENT_VERSION,
                        DEMO_USER_AGENT, label=label)
    print(f"registered demo hosts: {', '.join(DEMO_HOSTS)}")


def _sync_and_report(settings: Settings) -> int:
    from airbnb_sync.defs.partitions import partition_key

    last_week = week_start_of(datetime.now(UTC).date())
    first_week = last_week - timedelta(weeks=DEMO_WEEKS - 1)
    for account_id in DEMO_HOSTS:
        started = time.monotonic()
        partition_range = (f"{partition_key(account_id, first_week)}..."
                           f"{partition_key(account_id, last_week)}")
        command = [DAGSTER, "asset", "materialize", "-m", "airbnb_sync.definitions",
                   "--select", ASSETS, "--partition-range", partition_range]
        print(f"$ dagster {' '.join(shlex.quote(part) for part in command[1:])}")
        result = subprocess.run(command, capture_output=True, text=True)
        if result.returncode != 0:
            sys.stderr.write(result.stdout[-4000:] + result.stderr[-4000:])
            print(f"sync of {account_id} failed (exit code {result.returncode})", file=sys.stderr)
            return EXIT_FAILED
        print(f"  synced {account_id}, weeks {first_week}..{last_week}, "
              f"in {time.monotonic() - started:.1f} s")
    _print_report(settings.database_url)
    return EXIT_OK


def _print_report(database_url: str) -> None:
    import sqlalchemy as sa

    from airbnb_sync.cli.installation import hidden_url
    from airbnb_sync.warehouse.engine import create_warehouse_engine
    from airbnb_sync.warehouse.tables import PG_SCHEMA

    engine = create_warehouse_engine(database_url)
    # Plain SQL is not schema-translated: on PostgreSQL the tables live in schema `airbnb`.
    s = f"{PG_SCHEMA}." if engine.dialect.name == "postgresql" else ""
    query = sa.text(f"""
        SELECT l.account_id, COUNT(DISTINCT l.listing_id) AS listings,
               (SELECT COUNT(*) FROM {s}conversion_metrics c WHERE c.account_id = l.account_id)
                   AS daily_rows,
               (SELECT COUNT(*) FROM {s}visibility_metrics v WHERE v.account_id = l.account_id)
                   AS weekly_rows,
               (SELECT SUM(v.p3_impressions) FROM {s}visibility_metrics_latest v
                 WHERE v.account_id = l.account_id) AS page_views
        FROM {s}listings l GROUP BY l.account_id ORDER BY l.account_id
    """)
    with engine.connect() as connection:
        rows = connection.execute(query).all()
    header = (f"{'account':>10} {'listings':>8} {'daily rows':>10} {'weekly rows':>11} "
              f"{'page views':>10}")
    print("\nStored in", hidden_url(database_url))  # never the password
    print(header)
    for row in rows:
        print(f"{row.account_id:>10} {row.listings:>8} {row.daily_rows:>10} "
              f"{row.weekly_rows:>11} {row.page_views or 0:>10}")
    print("\nOpen the same data in the Dagster UI with: make ui")


def _open_ui() -> int:
    print("Dagster UI on http://127.0.0.1:3000 (Ctrl-C to stop). Launch backfills from the "
          "asset graph (Materialize > partitions), not from a job's Partitions tab.")
    return subprocess.call([DAGSTER, "dev", "-m", "airbnb_sync.definitions",
                            "-h", "127.0.0.1", "-p", "3000"])
