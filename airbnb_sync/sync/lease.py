"""The per-account lease: whoever talks to Airbnb for an account holds it meanwhile.

The three assets may run in parallel processes, and range runs from backfills carry no
partition tags that a run queue could serialize on (README: How it works). So requests of one
account are serialized here: a PostgreSQL advisory lock, or a file lock next to a SQLite
warehouse. The account's shared request state (when it may next send, which anchor day
Airbnb counts from) lives in the `request_pacing` table, read and written under the lease.

A PostgreSQL advisory lock lives as long as the session that took it: if the database
restarts or the connection drops, the lock is gone while the run goes on. So the pacing
store checks, before it hands out each request's turn, that the session holding the
account's lease is still there, and the run stops with `LeaseLost` instead of talking to
Airbnb unserialized.
"""

from __future__ import annotations

import hashlib
import logging
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, date, datetime
from pathlib import Path

import sqlalchemy as sa
from filelock import FileLock, Timeout

from airbnb_sync.core.files import PRIVATE_FILE, usable_lock_file
from airbnb_sync.warehouse.tables import request_pacing

logger = logging.getLogger(__name__)

DEFAULT_LEASE_TIMEOUT = 6 * 3600.0


class LeaseTimeout(RuntimeError):
    """Another run kept the account's lease for longer than we were willing to wait."""

    retryable = True


class LeaseLost(RuntimeError):
    """The database session holding the account's lease ended (restart, dropped connection):
    another run may take the lease now, so this one must not send anything more."""

    retryable = True

    def __init__(self, account_id: str, cause: BaseException) -> None:
        self.account_id = account_id
        reason = str(getattr(cause, "orig", None) or cause).strip().splitlines()
        super().__init__(
            f"account {account_id}: lost its lease, because the warehouse database connection "
            f"that held it broke ({reason[0] if reason else type(cause).__name__}). Did the "
            "database restart? Nothing more was sent to Airbnb for this account; re-run the "
            "same partitions once the database is reachable."
        )


# The sessions holding this process's PostgreSQL leases: (database URL, account) -> session.
_held: dict[tuple[str, str], sa.Connection] = {}
_held_lock = threading.Lock()


def _lock_key(account_id: str) -> int:
    """A stable signed 64-bit advisory-lock key (Python's hash() differs per process)."""
    digest = hashlib.blake2b(f"airbnb-sync:account:{account_id}".encode(), digest_size=8).digest()
    return int.from_bytes(digest, "big", signed=True)


@contextmanager
def account_lease(engine: sa.Engine, account_id: str,
                  timeout: float = DEFAULT_LEASE_TIMEOUT) -> Iterator[None]:
    """Hold the account's lease for the duration of the block, waiting up to `timeout` s."""
    started = time.monotonic()
    if engine.dialect.name == "sqlite":
        # A lock file that cannot be created fails now; only a lock held elsewhere is waited on.
        lock_file = usable_lock_file(_lock_path(engine, account_id),
                                     f"account {account_id}'s lease")
        lock = FileLock(lock_file, mode=PRIVATE_FILE)
        try:
            lock.acquire(timeout=timeout)
        except Timeout:
            raise LeaseTimeout(_timeout_message(account_id, timeout)) from None
        try:
            _log_wait(account_id, started)
            yield
        finally:
            lock.release()
        return
    with engine.connect() as connection:
        connection.execute(sa.text("SELECT set_config('lock_timeout', :ms, false)"),
                           {"ms": f"{int(timeout * 1000)}ms"})
        try:
            connection.execute(sa.text("SELECT pg_advisory_lock(:key)"),
                               {"key": _lock_key(account_id)})
        except sa.exc.OperationalError as exc:
            if "lock timeout" not in str(exc):
                raise
            raise LeaseTimeout(_timeout_message(account_id, timeout)) from None
        connection.commit()
        held = (_url_key(engine), account_id)
        with _held_lock:
            _held[held] = connection
        try:
            _log_wait(account_id, started)
            yield
        finally:
            with _held_lock:
                _held.pop(held, None)
            _release(connection, account_id)


def _release(connection: sa.Connection, account_id: str) -> None:
    """Unlock. A session that is gone took the lock with it: as every request's turn checked
    the lease (DatabasePacingStore), nothing was sent unserialized, so a warning is enough."""
    if not connection.invalidated:
        try:
            connection.execute(sa.text("SELECT pg_advisory_unlock(:key)"),
                               {"key": _lock_key(account_id)})
            connection.commit()
            return
        except sa.exc.DBAPIError as exc:
            if not exc.connection_invalidated:
                raise
    logger.warning("account %s: the database session holding its lease was gone at the end; "
                   "the lease went with it", account_id)


def ensure_lease_held(engine: sa.Engine, account_id: str) -> None:
    """Raise LeaseLost if this process took the account's PostgreSQL lease on `engine` and
    the session holding it has ended. A lease not held here (SQLite, other callers) passes."""
    with _held_lock:
        connection = _held.get((_url_key(engine), account_id))
    if connection is None:
        return
    if connection.invalidated:
        raise LeaseLost(account_id, RuntimeError("the session was closed"))
    try:
        connection.execute(sa.text("SELECT 1"))
        connection.commit()
    except sa.exc.DBAPIError as exc:
        if not exc.connection_invalidated:
            raise
        raise LeaseLost(account_id, exc) from exc


def _url_key(engine: sa.Engine) -> str:
    return engine.url.render_as_string(hide_password=False)


def _lock_path(engine: sa.Engine, account_id: str) -> Path:
    database = engine.url.database
    if not database or database == ":memory:":
        raise ValueError("the per-account lease needs a file-based SQLite warehouse")
    return Path(f"{database}.account-{account_id}.lock")


def _timeout_message(account_id: str, timeout: float) -> str:
    return (f"account {account_id} is still being synced by another run after {timeout:.0f} s; "
            "wait for it to finish, or cancel it in the Dagster UI")


def _log_wait(account_id: str, started: float) -> None:
    waited = time.monotonic() - started
    if waited > 1:
        logger.info("waited %.1f s for account %s's lease held by another run", waited, account_id)


class DatabasePacingStore:
    """The account's "next request not before" time, shared between processes. Asked before
    every request, it also makes sure the account's lease is still held (see LeaseLost).

    Make one per holding of the lease, as a sync does: only the lease holder moves the time,
    so it is read from the database once and then known here (every change is written
    through for the next holder), which spares each request a round trip."""

    def __init__(self, engine: sa.Engine) -> None:
        self._engine = engine
        self._known: dict[str, float | None] = {}

    def get(self, account_id: str) -> float | None:
        ensure_lease_held(self._engine, account_id)
        if account_id not in self._known:
            self._known[account_id] = self._read(account_id)
        return self._known[account_id]

    def set(self, account_id: str, epoch: float) -> None:
        _upsert(self._engine, account_id,
                not_before=datetime.fromtimestamp(epoch, tz=UTC))
        self._known[account_id] = epoch

    def _read(self, account_id: str) -> float | None:
        with self._engine.connect() as connection:
            value = connection.execute(
                sa.select(request_pacing.c.not_before)
                .where(request_pacing.c.account_id == account_id)
            ).scalar_one_or_none()
        return None if value is None else _as_utc(value).timestamp()


class ReadOnlyPacingStore:
    """A dry run's pacing store: it honours what other runs stored (and checks the lease like
    the shared store) but keeps its own "not before" in memory, because a dry run writes no
    table. Its requests still hold the lease, so none overlaps another run's."""

    def __init__(self, shared: DatabasePacingStore) -> None:
        self._shared = shared
        self._own: dict[str, float] = {}

    def get(self, account_id: str) -> float | None:
        times = [t for t in (self._shared.get(account_id), self._own.get(account_id))
                 if t is not None]
        return max(times, default=None)

    def set(self, account_id: str, epoch: float) -> None:
        self._own[account_id] = epoch


def load_anchor_day(engine: sa.Engine, account_id: str, today: date) -> date | None:
    """The anchor day calibrated today for this account, if a run measured one."""
    with engine.connect() as connection:
        row = connection.execute(
            sa.select(request_pacing.c.anchor_day, request_pacing.c.anchor_measured_on)
            .where(request_pacing.c.account_id == account_id)
        ).one_or_none()
    if row is None or row.anchor_measured_on != today:
        return None
    return row.anchor_day


def save_anchor_day(engine: sa.Engine, account_id: str, anchor_day: date, today: date) -> None:
    _upsert(engine, account_id, anchor_day=anchor_day, anchor_measured_on=today)


def _upsert(engine: sa.Engine, account_id: str, **values: object) -> None:
    with engine.begin() as connection:
        updated = connection.execute(
            request_pacing.update().where(request_pacing.c.account_id == account_id)
            .values(**values)
        ).rowcount
        if not updated:
            connection.execute(request_pacing.insert().values(account_id=account_id, **values))


def _as_utc(value: datetime) -> datetime:
    # SQLite hands timestamps back naive; they were written in UTC.
    return value if value.tzinfo else value.replace(tzinfo=UTC)
