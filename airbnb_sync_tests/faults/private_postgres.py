"""A throwaway PostgreSQL cluster that a test may restart without disturbing anyone else.

The shared test servers (scripts/postgres.sh, scripts/timescaledb.sh) serve every test of the
suite at once; restarting them would break other tests. This one lives in a temporary
folder on a free loopback port, with the machine's PostgreSQL binaries, run as the
`postgres` user when the tests run as root (initdb refuses root).
"""

from __future__ import annotations

import contextlib
import os
import shutil
import socket
import subprocess
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest
import sqlalchemy as sa
from database_servers import maintenance_engine, running_in_ci

PG_VERSIONS = ("15", "16", "17")
BIN_VARIABLE = "AIRBNB_SYNC_TEST_PG_BIN"
TIMEOUT_SECONDS = 60


def find_bin_dir() -> Path:
    """The folder of initdb and pg_ctl: $AIRBNB_SYNC_TEST_PG_BIN or Debian's layout.
    Missing, the test skips locally and fails under CI, like a missing server URL."""
    candidates = [Path(os.environ[BIN_VARIABLE])] if os.environ.get(BIN_VARIABLE) else [
        Path(f"/usr/lib/postgresql/{version}/bin") for version in PG_VERSIONS]
    for folder in candidates:
        if (folder / "initdb").is_file() and (folder / "pg_ctl").is_file():
            return folder
    message = (f"the database-restart test needs PostgreSQL's initdb and pg_ctl (looked in "
               f"{', '.join(map(str, candidates))}); install postgresql-15 or set {BIN_VARIABLE}")
    if running_in_ci(os.environ):
        pytest.fail(f"CI=true: {message}", pytrace=False)
    pytest.skip(message)


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


class PrivateCluster:
    """initdb + pg_ctl on a folder of its own; `restart()` is the fault the test injects."""

    def __init__(self, bin_dir: Path, folder: Path) -> None:
        self.bin_dir = bin_dir
        self.folder = folder
        self.data = folder / "data"
        self.port = free_port()

    def _run(self, *command: str) -> None:
        as_user = ["runuser", "-u", "postgres", "--"] if os.geteuid() == 0 else []
        done = subprocess.run([*as_user, str(self.bin_dir / command[0]), *command[1:]],
                              capture_output=True, text=True, timeout=TIMEOUT_SECONDS,
                              check=False)
        if done.returncode != 0:
            raise RuntimeError(f"{command[0]} failed ({done.returncode}): "
                               f"{done.stdout[-2000:]}{done.stderr[-2000:]}")

    def init(self) -> None:
        if os.geteuid() == 0:
            shutil.chown(self.folder, "postgres", "postgres")
        self._run("initdb", "-D", str(self.data), "-A", "trust", "-U", "postgres",
                  "-E", "UTF8", "--no-sync")

    def _pg_ctl(self, action: str, *extra: str) -> None:
        options = (f"-p {self.port} -c listen_addresses=127.0.0.1 "
                   f"-c unix_socket_directories={self.data} -c fsync=off")
        self._run("pg_ctl", action, "-D", str(self.data), "-l", str(self.folder / "server.log"),
                  "-w", "-t", str(TIMEOUT_SECONDS), "-o", options, *extra)

    def start(self) -> None:
        self._pg_ctl("start")

    def restart(self) -> None:
        """A fast restart: every session is terminated, the server is back when it returns."""
        self._pg_ctl("restart", "-m", "fast")

    def stop(self) -> None:
        self._run("pg_ctl", "stop", "-D", str(self.data), "-m", "immediate", "-w")

    def url(self, database: str = "postgres") -> str:
        return f"postgresql+psycopg2://postgres@127.0.0.1:{self.port}/{database}"

    @contextmanager
    def database(self, name: str) -> Iterator[str]:
        """A new database of the cluster, dropped afterwards."""
        admin = maintenance_engine(self.url())
        with admin.connect() as connection:
            connection.execute(sa.text(f'CREATE DATABASE "{name}"'))
        try:
            yield self.url(name)
        finally:
            with admin.connect() as connection:
                connection.execute(sa.text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))


@contextmanager
def private_cluster() -> Iterator[PrivateCluster]:
    bin_dir = find_bin_dir()
    folder = Path(tempfile.mkdtemp(prefix="airbnb-sync-pg-"))
    cluster = PrivateCluster(bin_dir, folder)
    try:
        cluster.init()
        cluster.start()
        yield cluster
    finally:
        with contextlib.suppress(RuntimeError, subprocess.TimeoutExpired):
            cluster.stop()  # unless it never started
        shutil.rmtree(folder, ignore_errors=True)
