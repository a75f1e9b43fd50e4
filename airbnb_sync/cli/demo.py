"""`airbnb-sync demo`: the whole pipeline on a laptop, against the simulator.

Starts the simulator (which rotates the hosts' `_aat` cookie every few dozen requests, as
Airbnb may), registers two demo hosts from the "Copy as cURL" a browser would give (the way a
user registers a real host), syncs their last 8 weeks with `airbnb-sync sync` (the command a
host uses; the schedule's Dagster run), prints what was stored and the sessions kept alive,
shows the REST API (a demo token and the `curl` call that lists the demo hosts, run), and
stops the simulator. With --ui it keeps the simulator up and opens the Dagster UI on the same
data. It ends by writing the insights report (the `insights_report` asset) and printing its
path.
"""

from __future__ import annotations

import argparse
import os
import shlex
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager, suppress
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING

from airbnb_sync.cli.accounts import add_account, update_account
from airbnb_sync.cli.common import EXIT_FAILED, EXIT_OK, Command, set_handler
from airbnb_sync.cli.installation import creates_installation
from airbnb_sync.core.settings import Settings

if TYPE_CHECKING:
    from airbnb_sync.accounts.store import AccountRecord

DEMO_HOSTS = {"41234567": "Lakeside cabins", "58765432": "City lofts"}
DEMO_API_KEY = "sim-api-key"
DEMO_CLIENT_VERSION = "0123456789abcdef0123456789abcdef01234567"
DEMO_USER_AGENT = "Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 Chrome/126.0 Safari/537.36"
DEMO_WEEKS = 8
# Rotation in the demo's simulator: keep-alive carries the sessions through it.
DEMO_ROTATE_EVERY, DEMO_ROTATE_GRACE, DEMO_COOKIE_MAX_AGE = 10, 3, 14 * 86400
# Dagster's command line lives next to this interpreter, whether or not the venv is activated.
DAGSTER = str(Path(sys.executable).parent / "dagster")
DG = str(Path(sys.executable).parent / "dg")
# How long `dagster dev` gets to stop its webserver, daemon and code servers (it gives each
# of them 10 s before it kills it).
UI_STOP_SECONDS = 45
GROUP_STOP_SECONDS = 10.0
UI_PORT = 3000
# The repository's local profile (run slots, run monitoring); found beside the package in a
# checkout, which is what `make demo` and `make ui` run from.
LOCAL_PROFILE = Path(__file__).resolve().parents[2] / "dagster.yaml"
# What earlier demos wrote: replaced by the local profile. Any other file is the user's own.
OLD_DEMO_PROFILE = "telemetry:\n  enabled: false\n"
PROFILE_MARK = "# Installed by `airbnb-sync demo` from the repository's dagster.yaml.\n"


def configure(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--ui", action="store_true",
                        help="keep the simulator running and open the Dagster UI")
    parser.add_argument("--simulator-port", type=int, default=0,
                        help="port of the simulator (default: any free port)")
    parser.add_argument("--ui-port", type=int, default=UI_PORT,
                        help=f"port of the Dagster UI (default: {UI_PORT})")
    set_handler(parser, run)
    creates_installation(parser)


COMMAND = Command("sync demo hosts from the simulator into the embedded warehouse", configure,
                  own_parser=True)


def run(args: argparse.Namespace, settings: Settings) -> int:
    """The simulator's address reaches the `dagster` processes through the environment: they
    read their own settings, while this process keeps the ones it was given."""
    from airbnb_sync.simulator import Simulator, SimulatorConfig

    install_local_profile(settings.dagster_home)
    config = SimulatorConfig(port=args.simulator_port, api_key=DEMO_API_KEY,
                             rotate_every=DEMO_ROTATE_EVERY, rotate_grace=DEMO_ROTATE_GRACE,
                             cookie_max_age=DEMO_COOKIE_MAX_AGE)
    with Simulator(config) as simulator:
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
            return _open_ui(args.ui_port, settings.dagster_home)
        return _sync_and_report(settings)


def _register_hosts(settings: Settings) -> None:
    """From a paste, as a user would: `airbnb-sync accounts add --from-curl -`."""
    from airbnb_sync.accounts.paste import parse_curl
    from airbnb_sync.accounts.store import open_store
    from airbnb_sync.simulator.paste_sample import sample_curl

    existing = {account.account_id: account
                for account in open_store(settings).list(include_deleted=True)}
    shown = False
    for account_id, label in DEMO_HOSTS.items():
        if account_id in existing and _usable(existing[account_id]):
            continue  # already there: its auth status and last sync stay as they are
        paste = sample_curl(account_id, DEMO_API_KEY)
        if not shown:
            shown = True
            print("A browser's Copy as cURL (bash) of a request on the Insights page, as the "
                  "simulator makes it (values shortened):")
            print("\n".join(f"    {_shortened(line)}" for line in paste.splitlines()))
            print(f"$ airbnb-sync accounts add --from-curl - --label {shlex.quote(label)}"
                  "   # the paste on stdin")
        session = parse_curl(paste)
        if account_id in existing:
            update_account(settings, account_id, cookies=session.cookies,
                           x_client_version=session.x_client_version,
                           user_agent=session.user_agent, label=label, api_key=session.api_key)
        else:
            add_account(settings, account_id, session.cookies,
                        session.x_client_version or DEMO_CLIENT_VERSION,
                        session.user_agent or DEMO_USER_AGENT, label=label,
                        api_key=session.api_key)
    print(f"registered demo hosts from their pastes: {', '.join(DEMO_HOSTS)}")


def _shortened(line: str, width: int = 96) -> str:
    return line if len(line) <= width else line[:width - 5] + "...' \\"


def _usable(account: AccountRecord) -> bool:
    """A registered demo host that needs no new cookie: active and not refused."""
    return account.is_active and account.auth_status != "expired"


def install_local_profile(dagster_home: Path) -> None:
    """Put the repository's dagster.yaml (run slots, run monitoring) in DAGSTER_HOME, unless
    the user keeps a profile of their own there."""
    target = dagster_home / "dagster.yaml"
    current = target.read_text() if target.exists() else None
    if current is not None and current != OLD_DEMO_PROFILE and not current.startswith(
            PROFILE_MARK):
        print(f"keeping your own {target}")
        return
    if not LOCAL_PROFILE.exists():  # not a checkout: Dagster's defaults, without telemetry
        target.write_text(current or OLD_DEMO_PROFILE)
        return
    target.write_text(PROFILE_MARK + LOCAL_PROFILE.read_text())


def _sync_and_report(settings: Settings) -> int:
    """Each host's last DEMO_WEEKS weeks with `airbnb-sync sync`, the command a host uses."""
    for account_id in DEMO_HOSTS:
        arguments = ["sync", account_id, "--weeks", str(DEMO_WEEKS)]
        print(f"$ airbnb-sync {' '.join(arguments)}")
        result = subprocess.run([sys.executable, "-m", "airbnb_sync.cli.main", *arguments],
                                capture_output=True, text=True)
        if result.returncode != 0:
            sys.stderr.write(result.stdout[-4000:] + result.stderr[-4000:])
            print(f"sync of {account_id} failed (exit code {result.returncode})", file=sys.stderr)
            return EXIT_FAILED
        print(f"  {result.stdout.strip().splitlines()[-1]}")
    _print_report(settings.database_url)
    _print_sessions(settings)
    from airbnb_sync.cli.demo_api import show_api

    show_api(settings)
    return _write_insights_report(settings)


def _print_sessions(settings: Settings) -> None:
    from airbnb_sync.accounts.session_times import describe
    from airbnb_sync.accounts.store import open_store

    now = datetime.now(UTC)
    print("\nSessions (the simulator rotated _aat; keep-alive stored the new values):")
    for record in open_store(settings).list():
        if record.account_id in DEMO_HOSTS:
            print(f"  {record.account_id}: {describe(record, now)}")


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


def _write_insights_report(settings: Settings) -> int:
    """Materialize `insights_report` through Dagster too, so the UI shows it with its
    metadata, and print where its pages are."""
    command = [DAGSTER, "asset", "materialize", "-m", "airbnb_sync.definitions",
               "--select", "insights_report"]
    print(f"\n$ dagster {' '.join(shlex.quote(part) for part in command[1:])}")
    started = time.monotonic()
    result = subprocess.run(command, capture_output=True, text=True)
    index = settings.reports_dir / "index.html"
    if result.returncode != 0 or not index.is_file():
        sys.stderr.write(result.stdout[-4000:] + result.stderr[-4000:])
        print(f"the insights report failed (exit code {result.returncode})", file=sys.stderr)
        return EXIT_FAILED
    print(f"  wrote the insights report in {time.monotonic() - started:.1f} s; open it in a "
          "browser (it loads nothing from the network):")
    print(f"insights report: {index}")
    return EXIT_OK


def _open_ui(port: int, dagster_home: Path) -> int:
    """`dagster dev` (through `dg dev`, Dagster's direction) until Ctrl-C, SIGTERM or SIGHUP,
    whichever reaches this process: the UI runs in a process group of its own, which is
    stopped as a whole, so no webserver, daemon or code server outlives the command (`make ui`
    forwards a SIGTERM to it)."""
    print(f"Dagster UI on http://127.0.0.1:{port} (Ctrl-C to stop). Launch backfills from the "
          "asset graph (group airbnb_insights: Materialize selected > partitions).", flush=True)
    # Started in DAGSTER_HOME: from the checkout, `dagster dev` warns that the repository's
    # dagster.yaml is not used (it is: install_local_profile put it in DAGSTER_HOME).
    ui = subprocess.Popen([DG, "dev", "-m", "airbnb_sync.definitions",
                           "-h", "127.0.0.1", "-p", str(port)], cwd=dagster_home,
                          env={**os.environ, "DAGSTER_HOME": str(dagster_home)},
                          start_new_session=True)
    with _stopping_signals() as received:
        try:
            code = ui.wait()
        except (KeyboardInterrupt, _Stop):
            _stop_group(ui)
            print("\nDagster UI stopped.", flush=True)
            return EXIT_OK if received.get("signal") in (None, signal.SIGINT) else \
                128 + received["signal"]
        finally:
            if ui.poll() is None:  # anything else that ends this process ends the UI too
                _stop_group(ui)
    return code


class _Stop(Exception):
    """SIGTERM or SIGHUP reached this process."""


@contextmanager
def _stopping_signals() -> Iterator[dict[str, int]]:
    """SIGTERM and SIGHUP raise `_Stop` (Python's default would end the process at once and
    leave the UI's processes running); the handlers are restored after."""
    received: dict[str, int] = {}

    def stop(signum: int, _frame: object) -> None:
        received["signal"] = signum
        raise _Stop

    previous = {sig: signal.signal(sig, stop) for sig in (signal.SIGTERM, signal.SIGHUP)}
    try:
        yield received
    finally:
        for sig, handler in previous.items():
            signal.signal(sig, handler)


def _stop_group(ui: subprocess.Popen[bytes]) -> None:
    """SIGTERM to `dagster dev`, which stops its webserver and daemon; then SIGTERM to what
    is left of its process group (it leaves its code server, and the run workers launched
    from it, running), and SIGKILL to whatever outlives GROUP_STOP_SECONDS."""
    with suppress(ProcessLookupError):
        os.kill(ui.pid, signal.SIGTERM)
    with suppress(subprocess.TimeoutExpired):
        ui.wait(timeout=UI_STOP_SECONDS)
    # The group keeps its id while any member lives, even after its leader is gone.
    for sig, grace in ((signal.SIGTERM, GROUP_STOP_SECONDS), (signal.SIGKILL, 0.0)):
        deadline = time.monotonic() + grace
        try:
            os.killpg(ui.pid, sig)
            while time.monotonic() < deadline:
                time.sleep(0.2)
                os.killpg(ui.pid, 0)  # ProcessLookupError once no member is left
        except ProcessLookupError:
            break
    ui.wait()
