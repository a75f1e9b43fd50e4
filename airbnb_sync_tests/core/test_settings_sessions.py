"""The keep-alive settings: documented defaults, valid values, one-line errors."""

from __future__ import annotations

import pytest

from airbnb_sync.core.settings import SettingsError, load_settings


def test_keep_alive_is_on_and_alerts_come_24_hours_ahead_by_default() -> None:
    settings = load_settings({})
    assert settings.session_keepalive is True
    assert settings.session_alert_hours == 24.0


@pytest.mark.parametrize(("variable", "raw", "attribute", "value"), [
    ("AIRBNB_SYNC_SESSION_KEEPALIVE", "false", "session_keepalive", False),
    ("AIRBNB_SYNC_SESSION_KEEPALIVE", "1", "session_keepalive", True),
    ("AIRBNB_SYNC_SESSION_ALERT_HOURS", "0", "session_alert_hours", 0.0),
    ("AIRBNB_SYNC_SESSION_ALERT_HOURS", "48.5", "session_alert_hours", 48.5),
])
def test_valid_values(variable: str, raw: str, attribute: str, value: object) -> None:
    assert getattr(load_settings({variable: raw}), attribute) == value


@pytest.mark.parametrize(("variable", "raw"), [
    ("AIRBNB_SYNC_SESSION_KEEPALIVE", "maybe"),
    ("AIRBNB_SYNC_SESSION_ALERT_HOURS", "-1"),
    ("AIRBNB_SYNC_SESSION_ALERT_HOURS", "soon"),
])
def test_invalid_values_name_the_variable(variable: str, raw: str) -> None:
    with pytest.raises(SettingsError, match=variable):
        load_settings({variable: raw})
