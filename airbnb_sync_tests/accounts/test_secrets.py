"""Where the Fernet keys come from: the environment, or a generated key file for SQLite only."""

from __future__ import annotations

import stat
import threading
from pathlib import Path

import pytest
from cryptography.fernet import Fernet, InvalidToken, MultiFernet

from airbnb_sync.accounts import secrets
from airbnb_sync.accounts.secrets import KEY_FILE_NAME, MissingSecretKey, generate_key
from airbnb_sync.core.settings import Settings, SettingsError, load_settings
from airbnb_sync.warehouse.engine import create_warehouse_engine

POSTGRES_URL = "postgresql+psycopg2://nobody@127.0.0.1:1/none"


def _settings(home: Path, **env: str):
    return load_settings({"DAGSTER_HOME": str(home), **env})


def secret_keys(settings: Settings) -> tuple[str, ...]:
    return secrets.secret_keys(settings, create_warehouse_engine(settings.database_url))


def cipher_for(settings: Settings) -> MultiFernet:
    return secrets.cipher_for(settings, create_warehouse_engine(settings.database_url))


def test_generated_key_is_a_fernet_key() -> None:
    key = generate_key()
    assert Fernet(key.encode()).decrypt(Fernet(key.encode()).encrypt(b"x")) == b"x"
    assert generate_key() != key


def test_sqlite_without_key_generates_a_private_key_file_once(tmp_path: Path) -> None:
    settings = _settings(tmp_path / "home")
    first = secret_keys(settings)
    path = tmp_path / "home" / KEY_FILE_NAME
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    assert len(first) == 1
    assert secret_keys(settings) == first  # reused, not regenerated
    token = cipher_for(settings).encrypt(b"session")
    assert cipher_for(_settings(tmp_path / "home")).decrypt(token) == b"session"
    assert not list(path.parent.glob(".secret-*"))  # no temporary left


def test_racing_processes_agree_on_one_generated_key(tmp_path: Path) -> None:
    settings = _settings(tmp_path)
    results: list[tuple[str, ...]] = []
    threads = [threading.Thread(target=lambda: results.append(secret_keys(settings)))
               for _ in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert len(results) == 8 and len(set(results)) == 1


def test_environment_keys_win_and_rotate(tmp_path: Path) -> None:
    old, new = generate_key(), generate_key()
    token = cipher_for(_settings(tmp_path, AIRBNB_SYNC_SECRET_KEY=old)).encrypt(b"s")
    both = cipher_for(_settings(tmp_path, AIRBNB_SYNC_SECRET_KEY=f"{new}, {old}"))
    assert both.decrypt(token) == b"s"
    rotated = both.rotate(token)
    assert Fernet(new.encode()).decrypt(rotated) == b"s"
    with pytest.raises(InvalidToken):
        Fernet(old.encode()).decrypt(rotated)
    assert not (tmp_path / KEY_FILE_NAME).exists()


def test_postgres_without_key_refuses_and_says_how_to_fix(tmp_path: Path) -> None:
    settings = _settings(tmp_path, AIRBNB_SYNC_DATABASE_URL=POSTGRES_URL)
    with pytest.raises(MissingSecretKey) as raised:
        cipher_for(settings)
    message = str(raised.value)
    assert "AIRBNB_SYNC_SECRET_KEY" in message and "generate-key" in message
    assert isinstance(raised.value, SettingsError)
    assert not (tmp_path / KEY_FILE_NAME).exists()


def test_corrupt_key_file_is_reported_not_replaced(tmp_path: Path) -> None:
    path = tmp_path / KEY_FILE_NAME
    path.write_text("not-a-key\n")
    with pytest.raises(SettingsError, match="does not hold Fernet keys"):
        secret_keys(_settings(tmp_path))
    assert path.read_text() == "not-a-key\n"
