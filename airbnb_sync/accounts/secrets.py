"""The Fernet keys that encrypt account credentials at rest.

Keys come from AIRBNB_SYNC_SECRET_KEY (comma-separated: the first encrypts, all decrypt, so
a new key can be put in front and `airbnb-sync accounts rotate-key` re-encrypts). A shared
PostgreSQL warehouse must never get an implicit key: whoever runs the next process would not
have it. The embedded SQLite warehouse is single-machine, so for it a key is generated once
into `<DAGSTER_HOME>/secret.key` (mode 0600) and reused, which keeps the demo zero-setup.
It is generated only while no account is stored: a lost key file with accounts in the
warehouse is refused, since a new key would leave every stored session unreadable.
"""

from __future__ import annotations

import contextlib
import os
import tempfile
from pathlib import Path
from typing import TYPE_CHECKING

from cryptography.fernet import Fernet, MultiFernet

from airbnb_sync.core.redact import register_secret
from airbnb_sync.core.settings import Settings, SettingsError

if TYPE_CHECKING:
    import sqlalchemy as sa

KEY_VARIABLE = "AIRBNB_SYNC_SECRET_KEY"
KEY_FILE_NAME = "secret.key"


class MissingSecretKey(SettingsError):
    """No key is configured for a warehouse that needs an explicit one."""


def generate_key() -> str:
    return Fernet.generate_key().decode("ascii")


def key_file_path(settings: Settings) -> Path:
    return settings.dagster_home / KEY_FILE_NAME


def secret_keys(settings: Settings, engine: sa.Engine) -> tuple[str, ...]:
    """The configured keys, or for SQLite the generated key file's (created on first use, while
    the warehouse `engine` holds no account)."""
    if settings.secret_keys:
        return settings.secret_keys
    if not settings.is_sqlite:
        raise MissingSecretKey(
            f"{KEY_VARIABLE} is not set, and a PostgreSQL warehouse needs it to encrypt account "
            "credentials: create a key with `airbnb-sync accounts generate-key` and set "
            f"{KEY_VARIABLE} to it in the environment of every airbnb-sync and Dagster process"
        )
    return _read_or_create_key_file(key_file_path(settings), engine)


def set_aside_key_file(settings: Settings) -> tuple[Path, MultiFernet] | None:
    """The SQLite key file and its keys when AIRBNB_SYNC_SECRET_KEY is set, which sets the
    file aside: the accounts stored before the variable was set are encrypted with it. None
    when there is no such file, or it holds no usable key."""
    if not settings.secret_keys or not settings.is_sqlite:
        return None
    path = key_file_path(settings)
    try:
        text = path.read_text(encoding="ascii")
        keys = tuple(k.strip() for k in text.replace("\n", ",").split(",") if k.strip())
        return path, build_cipher(keys)
    except (OSError, UnicodeDecodeError, ValueError, TypeError, MissingSecretKey):
        return None


def cipher_for(settings: Settings, engine: sa.Engine) -> MultiFernet:
    return build_cipher(secret_keys(settings, engine))


def build_cipher(keys: tuple[str, ...]) -> MultiFernet:
    if not keys:
        raise MissingSecretKey(f"no Fernet key given: set {KEY_VARIABLE}")
    for key in keys:
        register_secret(key)  # a key must never reach a log line either
    return MultiFernet([Fernet(key.encode("ascii")) for key in keys])


def _read_or_create_key_file(path: Path, engine: sa.Engine) -> tuple[str, ...]:
    if not path.exists():
        _refuse_when_accounts_are_stored(path, engine)
        _create_key_file(path)
    try:
        text = path.read_text(encoding="ascii")
    except (OSError, UnicodeDecodeError) as exc:
        raise SettingsError(
            f"cannot read the key file {path} ({type(exc).__name__}); fix its permissions or set "
            f"{KEY_VARIABLE}"
        ) from None
    keys = tuple(k.strip() for k in text.replace("\n", ",").split(",") if k.strip())
    try:
        build_cipher(keys)
    except (ValueError, TypeError):
        raise SettingsError(
            f"the key file {path} does not hold Fernet keys; restore it from a backup (credentials "
            f"encrypted with the lost key cannot be read) or set {KEY_VARIABLE}"
        ) from None
    return keys


def _refuse_when_accounts_are_stored(path: Path, engine: sa.Engine) -> None:
    import sqlalchemy as sa

    from airbnb_sync.warehouse.tables import accounts

    with engine.connect() as connection:
        if not sa.inspect(connection).has_table(accounts.name):
            return
        stored = connection.execute(sa.select(sa.func.count()).select_from(accounts)).scalar_one()
    if stored:
        raise SettingsError(
            f"the key file {path} is missing, but the warehouse holds {stored} account(s) "
            "encrypted with its key: restore the file from a backup, or set "
            f"{KEY_VARIABLE} to that key; no new key was generated, since it could not read them"
        )


def _create_key_file(path: Path) -> None:
    """Write a fresh key so that it appears complete or not at all, even with racing processes:
    the key goes into a private temporary file that is then hard-linked into place, which fails
    if another process linked its key first (theirs wins, and both then read it)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    descriptor, temporary = tempfile.mkstemp(prefix=".secret-", dir=path.parent)  # mode 0600
    try:
        with os.fdopen(descriptor, "w", encoding="ascii") as handle:
            handle.write(generate_key() + "\n")
            handle.flush()
            os.fsync(handle.fileno())
        with contextlib.suppress(FileExistsError):
            os.link(temporary, path)
    finally:
        os.unlink(temporary)
