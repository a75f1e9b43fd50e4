"""What the benchmark scripts share: output, fresh databases, statistics, process memory.

Every benchmark prints exactly one JSON object on stdout; progress goes to stderr. Each run
works in a database (or DAGSTER_HOME) of its own, created here and dropped afterwards, so a
benchmark never touches anyone else's rows.
"""

from __future__ import annotations

import contextlib
import functools
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
import uuid
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, date, datetime
from pathlib import Path
from typing import Any

import sqlalchemy as sa
from sqlalchemy.pool import NullPool

SERVER_VARIABLES = {
    "postgres": "AIRBNB_SYNC_TEST_POSTGRES_URL",
    "timescaledb": "AIRBNB_SYNC_TEST_TIMESCALEDB_URL",
}
BENCH_DATABASE_PREFIX = "airbnb_sync_bench_"
SIMULATOR_API_KEY = "sim-api-key"
CLIENT_VERSION = "0123456789abcdef0123456789abcdef01234567"
USER_AGENT = "Mozilla/5.0 (X11; Linux x86_64) Chrome/126.0 Safari/537.36"
ASSETS = "listings,conversion_metrics,visibility_metrics"
DAGSTER = str(Path(sys.executable).parent / "dagster")
PAGE_SIZE = os.sysconf("SC_PAGE_SIZE")


def log(message: str) -> None:
    print(message, file=sys.stderr, flush=True)


def emit(result: dict[str, Any]) -> None:
    """The benchmark's one JSON object, on stdout."""
    print(json.dumps(result, indent=2, default=str), flush=True)


def machine() -> dict[str, Any]:
    """Enough about the machine to compare figures between runs."""
    load1, load5, _ = os.getloadavg()
    return {"cpus": os.cpu_count(), "load_average_1m": round(load1, 2),
            "load_average_5m": round(load5, 2), "python": sys.version.split()[0]}


def summary(values: Sequence[float], digits: int = 4) -> dict[str, Any]:
    """Median, min, max and the count of repeated measurements."""
    return {"median": round(statistics.median(values), digits),
            "min": round(min(values), digits), "max": round(max(values), digits),
            "runs": len(values)}


def server_url(kind: str, given: str | None) -> str:
    """The maintenance URL of a database server: the argument, else the test variable."""
    url = given or os.environ.get(SERVER_VARIABLES[kind], "").strip()
    if not url:
        raise SystemExit(f"no URL for {kind}: pass --{kind}-url or set "
                         f"{SERVER_VARIABLES[kind]} (e.g. $(scripts/{kind}.sh url))")
    return url


def safe(url: str) -> str:
    return sa.make_url(url).render_as_string(hide_password=True)


def _admin(url: str | sa.URL) -> sa.Engine:
    return sa.create_engine(url, isolation_level="AUTOCOMMIT", poolclass=NullPool)


@contextmanager
def fresh_database(server: str, timescaledb: bool = False) -> Iterator[str]:
    """CREATE DATABASE with a unique name on `server`, yield its URL, then drop it."""
    name = f"{BENCH_DATABASE_PREFIX}{uuid.uuid4().hex[:12]}"
    admin = _admin(server)
    with admin.connect() as connection:
        connection.exec_driver_sql(f'CREATE DATABASE "{name}"')
    url = sa.make_url(server).set(database=name)
    try:
        if timescaledb:
            with _admin(url).connect() as connection:
                connection.exec_driver_sql("CREATE EXTENSION IF NOT EXISTS timescaledb")
        yield url.render_as_string(hide_password=False)
    finally:
        from airbnb_sync.warehouse.engine import dispose_warehouse_engine

        dispose_warehouse_engine(url.render_as_string(hide_password=False))
        _drop_database(admin, name)


def _drop_database(admin: sa.Engine, name: str, attempts: int = 30) -> None:
    """DROP DATABASE ... WITH (FORCE), retried: a role that is not superuser cannot end an
    autovacuum worker (busy after a million updates), so wait for it to finish."""
    for attempt in range(attempts):
        try:
            with admin.connect() as connection:
                connection.exec_driver_sql(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
            return
        except sa.exc.DBAPIError as error:
            if attempt == attempts - 1:
                log(f"could not drop benchmark database {name}; drop it by hand ({error.orig})")
                return
            time.sleep(2)


# The Dagster instance profiles a benchmark can run on: the repository's dagster.yaml (what
# `make demo` and `make ui` install, and the README tells users to copy), or Dagster's own
# defaults with telemetry off.
PROFILES = ("local", "dagster-defaults")


def add_sync_run_arguments(parser: Any, executor: bool = True) -> None:
    """What the benchmarks that sync through Dagster's command line choose alike: the
    warehouse, the Dagster instance profile (see PROFILES) and the executor."""
    parser.add_argument("--database", choices=("sqlite", "postgres", "timescaledb"),
                        default="sqlite", help="the warehouse (default: the embedded SQLite)")
    parser.add_argument("--server-url", help="maintenance URL of the PostgreSQL/TimescaleDB "
                        "server (default: AIRBNB_SYNC_TEST_POSTGRES_URL / _TIMESCALEDB_URL)")
    parser.add_argument("--profile", choices=PROFILES, default="local",
                        help="local: the repository's dagster.yaml, as `make demo`/`make ui` "
                        "install it (default); dagster-defaults: no dagster.yaml but telemetry "
                        "off (Dagster's default launcher, no run queue settings)")
    if executor:
        parser.add_argument("--executor", choices=EXECUTORS, default="default",
                            help="default: the executor of the definitions (the only one)")


def write_dagster_home(folder: Path, profile: str = "local") -> Path:
    """A Dagster instance folder with the chosen profile (see PROFILES)."""
    if profile not in PROFILES:
        raise ValueError(f"unknown profile {profile!r}; expected one of {PROFILES}")
    from airbnb_sync.cli.demo import LOCAL_PROFILE

    folder.mkdir(parents=True, exist_ok=True)
    (folder / "dagster.yaml").write_text(LOCAL_PROFILE.read_text() if profile == "local"
                                         else "telemetry:\n  enabled: false\n")
    return folder


# --- process memory ------------------------------------------------------------------------

def _children(pid: int) -> list[int]:
    found: list[int] = []
    try:
        tasks = os.listdir(f"/proc/{pid}/task")
    except OSError:
        return found
    for task in tasks:
        try:
            found.extend(int(child) for child in
                         Path(f"/proc/{pid}/task/{task}/children").read_text().split())
        except OSError:
            continue
    return found


def _rss_bytes(pid: int) -> int:
    try:
        resident = int(Path(f"/proc/{pid}/statm").read_text().split()[1])
    except (OSError, IndexError, ValueError):
        return 0
    return resident * PAGE_SIZE


def _cmdline(pid: int) -> bytes | None:
    try:
        return Path(f"/proc/{pid}/cmdline").read_bytes()
    except OSError:
        return None


def tree_rss_bytes(pid: int, exclude_forks: bool = False) -> int:
    """Resident memory of a process and all its descendants, summed (Linux /proc).

    With `exclude_forks`, a child still running its parent's command line (forked, not yet
    exec'd) is not added, its own children are: until it execs, its pages are the parent's,
    shared copy-on-write, and its RSS counts them a second time. A run forks `tail -F` and
    Dagster's watch_orphans.py this way; on a busy machine a sample can land between fork and
    exec. (A child that forks and never execs, as multiprocessing's "fork" start method does,
    would not be counted at all: Dagster's multiprocess executor spawns, so it execs.)"""
    total, pending = 0, [(pid, None if exclude_forks else b"")]
    while pending:
        current, parent_cmdline = pending.pop()
        cmdline = _cmdline(current) if exclude_forks else b""
        if not (exclude_forks and parent_cmdline is not None and cmdline == parent_cmdline):
            total += _rss_bytes(current)
        pending.extend((child, cmdline) for child in _children(current))
    return total


class TreeMemorySampler:
    """The peak summed RSS of each of several process trees, over the samples taken, and the
    peak of all of them together (the trees' RSS summed at the same sample); `exclude_forks`
    as in tree_rss_bytes."""

    def __init__(self, exclude_forks: bool = False) -> None:
        self.peaks: dict[int, int] = {}
        self.peak_total = 0
        self.exclude_forks = exclude_forks

    def sample(self, pids: Sequence[int]) -> None:
        total = 0
        for pid in pids:
            rss = tree_rss_bytes(pid, self.exclude_forks)
            total += rss
            self.peaks[pid] = max(self.peaks.get(pid, 0), rss)
        self.peak_total = max(self.peak_total, total)


def meminfo_bytes() -> dict[str, int]:
    """/proc/meminfo in bytes (MemTotal, MemAvailable, ...), for what a machine can hold."""
    found: dict[str, int] = {}
    for line in Path("/proc/meminfo").read_text().splitlines():
        name, _, rest = line.partition(":")
        fields = rest.split()
        if fields and fields[0].isdigit():
            found[name] = int(fields[0]) * (1024 if fields[1:] == ["kB"] else 1)
    return found


def mib(count: int | float) -> float:
    return round(count / 2**20, 1)


# --- syncing through Dagster's command line against the simulator ---------------------------

def bench_listings(account_id: str, count: int) -> list[Any]:
    """`count` simulated listings of a host, with Airbnb-like 19-digit ids."""
    from airbnb_sync.simulator import SimListing

    base = 1_100_000_000_000_000_000 + int(account_id) * 1_000
    return [SimListing(id=str(base + index), listing_name=f"Bench listing {index + 1}",
                       internal_name=f"{index + 1} Bench St")
            for index in range(count)]


def first_sync_weeks(today: date | None = None) -> tuple[date, date]:
    """The weeks the accounts sensor asks for in a host's first sync (refresh.py):
    AIRBNB_SYNC_FIRST_SYNC_WEEKS back through the lookahead end, as far as Airbnb serves."""
    from airbnb_sync.core.settings import load_settings
    from airbnb_sync.sync.refresh import RefreshPolicy

    settings = load_settings()
    return RefreshPolicy.from_settings(settings).first_sync_range(
        today or datetime.now(UTC).date(), settings.first_sync_weeks)


# The definitions run every step in the run's process (Dagster's in-process executor); run
# config picks no other.
EXECUTORS = ("default",)


def materialize_command(account_id: str, first: date, last: date,
                        executor: str = "default") -> list[str]:
    """The documented way to sync a range of weeks of one account (README: Syncing); an executor
    other than "default" would be picked by run config (see EXECUTORS)."""
    from airbnb_sync.defs.partitions import partition_key

    command = [DAGSTER, "asset", "materialize", "-m", "airbnb_sync.definitions",
               "--select", ASSETS, "--partition-range",
               f"{partition_key(account_id, first)}...{partition_key(account_id, last)}"]
    if executor not in EXECUTORS:
        raise ValueError(f"unknown executor {executor!r}; expected one of {EXECUTORS}")
    if executor != "default":
        command += ["--config-json", json.dumps({"execution": {"config": {executor: {}}}})]
    return command


@functools.cache
def default_executor() -> str:
    """The name of the executor the definitions give the sync job."""
    from airbnb_sync.defs.definitions import defs

    return str(defs.resolve_implicit_global_asset_job_def().executor_def.name)


@dataclass
class RunOutcome:
    """One CLI run: exit code, wall time from start to exit, its memory, and the CPU time of
    the process and the descendants it waited for (user + system)."""

    account_id: str
    exit_code: int
    seconds: float
    peak_tree_rss: int
    peak_process_rss: int
    output_tail: str
    cpu_seconds: float = 0.0


class SyncBench:
    """A fresh DAGSTER_HOME and warehouse, the simulator, registered hosts, and the
    environment every `dagster` subprocess gets (it is this process's environment too)."""

    def __init__(self, folder: Path, database_url: str | None, latency_ms: float,
                 min_request_interval: float, accounts: dict[str, int],
                 profile: str = "local") -> None:
        from cryptography.fernet import Fernet

        from airbnb_sync.simulator import Simulator, SimulatorConfig

        self.folder = folder
        home = write_dagster_home(folder / "dagster_home", profile)
        self.simulator = Simulator(SimulatorConfig(
            api_key=SIMULATOR_API_KEY, latency_ms=latency_ms,
            accounts={account: bench_listings(account, count)
                      for account, count in accounts.items()},
        )).start()
        for name in [name for name in os.environ if name.startswith("AIRBNB_SYNC_")
                     and not name.startswith("AIRBNB_SYNC_TEST_")]:
            del os.environ[name]  # the benchmark's settings only
        os.environ.update({
            "DAGSTER_HOME": str(home),
            "AIRBNB_BASE_URL": self.simulator.url,
            "AIRBNB_API_KEY": SIMULATOR_API_KEY,
            "AIRBNB_SYNC_SECRET_KEY": Fernet.generate_key().decode(),
            "AIRBNB_SYNC_MIN_REQUEST_INTERVAL": str(min_request_interval),
            "AIRBNB_SYNC_DATABASE_URL": database_url or f"sqlite:///{home / 'warehouse.db'}",
        })
        for account in accounts:
            self._register(account)

    def _register(self, account_id: str) -> None:
        from airbnb_sync.cli.main import main as cli
        from airbnb_sync.simulator import make_cookie

        cookie = self.folder / f"{account_id}.cookie"
        cookie.write_text(make_cookie(account_id))
        with contextlib.redirect_stdout(sys.stderr):  # stdout carries only the JSON result
            code = cli(["accounts", "add", "--account-id", account_id, "--cookie-file",
                        str(cookie), "--x-client-version", CLIENT_VERSION,
                        "--user-agent", USER_AGENT])
        cookie.unlink()
        if code != 0:
            raise SystemExit(f"could not register bench account {account_id}")

    def close(self) -> None:
        self.simulator.stop()

    def requests_of(self, account_id: str) -> int:
        """Requests the simulator received from the account (its own statistics)."""
        entry = self.simulator.stats()["accounts"].get(account_id)
        return 0 if entry is None else int(entry["requests"])

    def run_all_successfully(self, commands: dict[str, list[str]],
                             sampler: TreeMemorySampler | None = None,
                             ) -> tuple[list[RunOutcome], float]:
        """`run_all`, and its wall time; stop the benchmark if any run failed."""
        started = time.monotonic()
        outcomes = self.run_all(commands, sampler=sampler)
        wall = time.monotonic() - started
        failed = [outcome for outcome in outcomes if outcome.exit_code != 0]
        if failed:
            raise SystemExit(f"{len(failed)} run(s) failed, e.g. {failed[0].account_id}:\n"
                             f"{failed[0].output_tail}")
        return outcomes, wall

    def run_all(self, commands: dict[str, list[str]], sample_every: float = 0.2,
                sampler: TreeMemorySampler | None = None) -> list[RunOutcome]:
        """Start every command at once, as a run queue would launch them, and wait for all;
        each run's wall time is measured from its start to its exit. Pass a sampler to read
        more than each run's peak afterwards (e.g. the peak of all runs together)."""
        sampler = sampler if sampler is not None else TreeMemorySampler()
        started: dict[int, tuple[str, float, Any]] = {}
        for account_id, command in commands.items():
            output = open(self.folder / f"run-{account_id}.log", "w+b")  # noqa: SIM115
            process = subprocess.Popen(command, stdout=output, stderr=subprocess.STDOUT,
                                       env=os.environ.copy())
            started[process.pid] = (account_id, time.monotonic(), output)
        outcomes: list[RunOutcome] = []
        running = set(started)
        while running:
            sampler.sample(sorted(running))
            pid, status, usage = os.wait4(-1, os.WNOHANG)
            if pid == 0:
                time.sleep(sample_every)
                continue
            if pid not in running:
                continue
            running.discard(pid)
            account_id, began, output = started[pid]
            output.seek(0)
            tail = output.read().decode(errors="replace")[-3000:]
            output.close()
            outcomes.append(RunOutcome(
                account_id, os.waitstatus_to_exitcode(status), time.monotonic() - began,
                sampler.peaks.get(pid, 0), usage.ru_maxrss * 1024, tail,
                usage.ru_utime + usage.ru_stime))
        return outcomes


def in_fresh_workspace(args: Any, measure: Callable[[Path, str | None, Any], dict[str, Any]]
                       ) -> dict[str, Any]:
    """Run `measure(folder, warehouse_url, args)` in a temporary folder, with a fresh database
    on the chosen server (None: the embedded SQLite warehouse)."""
    with tempfile.TemporaryDirectory(prefix="airbnb-sync-bench-") as folder:
        if args.database == "sqlite":
            return measure(Path(folder), None, args)
        with fresh_database(server_url(args.database, args.server_url),
                            timescaledb=args.database == "timescaledb") as url:
            return measure(Path(folder), url, args)
