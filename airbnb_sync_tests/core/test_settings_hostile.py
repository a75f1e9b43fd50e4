"""Hostile values of the settings: not-a-number and infinite numbers, and warehouse URLs that
SQLAlchemy cannot use. Each must be refused at load time with a SettingsError naming the
variable (the CLI turns it into one line and exit 2), never later with a traceback."""

from __future__ import annotations

import pytest

from airbnb_sync.core.settings import SettingsError, load_settings

FLOAT_VARIABLES = ["AIRBNB_SYNC_MIN_REQUEST_INTERVAL", "AIRBNB_SYNC_REQUEST_TIMEOUT",
                   "AIRBNB_SYNC_MAX_RETRY_AFTER", "AIRBNB_SYNC_RETRY_BUDGET",
                   "AIRBNB_SYNC_RUN_RETRY_DELAY"]


@pytest.mark.parametrize("value", ["inf", "Infinity", "-inf", "nan", "NaN", "1e400"])
@pytest.mark.parametrize("variable", FLOAT_VARIABLES)
def test_numbers_that_are_not_finite_are_refused(variable: str, value: str) -> None:
    with pytest.raises(SettingsError, match=variable) as caught:
        load_settings({variable: value})
    assert "finite" in str(caught.value) or "negative" in str(caught.value)


PASSWORD = "Pw0rdN0tShown"
BAD_URLS = {
    "bad port": (f"postgresql+psycopg2://sync:{PASSWORD}@db:99999/airbnb", "port"),
    "port not a number": (f"postgresql+psycopg2://sync:{PASSWORD}@db:5x/airbnb", "port"),
    "unknown driver": (f"postgresql+nodriver://sync:{PASSWORD}@db/airbnb", "driver"),
    "sqlite driver": ("sqlite+pysqlcipher:///tmp/w.db", "sqlite:///"),
    "postgresql driver": ("postgresql+asyncpg://u@db/airbnb", "driver"),
    "sqlite garbage": ("sqlite:garbage", "sqlite:////"),
    "sqlite no path": ("sqlite://", "file path"),
    "sqlite memory": ("sqlite:///:memory:", "file path"),
    "no scheme": (f"sync:{PASSWORD}@db/airbnb", "postgresql+psycopg2://"),
}


@pytest.mark.parametrize("case", list(BAD_URLS))
def test_a_database_url_sqlalchemy_cannot_use_is_refused_without_its_password(case: str) -> None:
    url, words = BAD_URLS[case]
    with pytest.raises(SettingsError, match="AIRBNB_SYNC_DATABASE_URL") as caught:
        load_settings({"AIRBNB_SYNC_DATABASE_URL": url})
    message = str(caught.value)
    assert words in message
    assert PASSWORD not in message and "\n" not in message


@pytest.mark.parametrize("url", ["postgresql+psycopg2://sync:pw@db:5432/airbnb",
                                 "postgresql://sync@db/airbnb", "sqlite:////srv/warehouse.db",
                                 "sqlite:///relative/warehouse.db"])
def test_usable_database_urls_are_kept_as_given(url: str) -> None:
    assert load_settings({"AIRBNB_SYNC_DATABASE_URL": url}).database_url == url
