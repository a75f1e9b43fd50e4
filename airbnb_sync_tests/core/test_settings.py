"""Settings: documented defaults, every variable's valid and invalid values, secrets kept out.

Every test passes its own environment to load_settings, so the real one never leaks in.
"""

from __future__ import annotations

import traceback
from datetime import date
from pathlib import Path

import pytest
from cryptography.fernet import Fernet

from airbnb_sync.airbnb.operations import DEFAULT_HASHES, Operation
from airbnb_sync.core.settings import HASH_VARIABLES, SettingsError, load_settings

OTHER_HASH = "0123456789abcdef" * 4

# Every variable of README: Settings plus the extra tuning ones, with its documented default.
DEFAULTS: dict[str, tuple[str, object]] = {
    "AIRBNB_SYNC_SECRET_KEY": ("secret_keys", ()),
    "AIRBNB_BASE_URL": ("airbnb_base_url", "https://www.airbnb.com"),
    "AIRBNB_API_KEY": ("airbnb_api_key", None),
    "AIRBNB_SYNC_MIN_REQUEST_INTERVAL": ("min_request_interval", 6.0),
    "AIRBNB_SYNC_FIRST_WEEK": ("first_week", date(2025, 1, 5)),
    "AIRBNB_SYNC_LOOKAHEAD_WEEKS": ("lookahead_weeks", 25),
    "AIRBNB_SYNC_HORIZON_DAYS": ("horizon_days", 180),
    "AIRBNB_SYNC_FIRST_SYNC_WEEKS": ("first_sync_weeks", 25),
    "AIRBNB_SYNC_DAILY_LOOKBACK_WEEKS": ("daily_lookback_weeks", 1),
    "AIRBNB_SYNC_DRY_RUN": ("dry_run", False),
    "AIRBNB_SYNC_ALERT_WEBHOOK": ("alert_webhook", None),
    "AIRBNB_SYNC_LOG_FORMAT": ("log_format", "text"),
    "AIRBNB_SYNC_ANCHOR_LAG_DAYS": ("anchor_lag_days", 3),
    "AIRBNB_SYNC_REQUEST_TIMEOUT": ("request_timeout", 30.0),
    "AIRBNB_SYNC_MAX_RETRY_AFTER": ("max_retry_after", 300.0),
    "AIRBNB_SYNC_RETRY_BUDGET": ("retry_budget_seconds", 900.0),
    "AIRBNB_SYNC_MAX_RETRIES": ("max_retries", 5),
    "AIRBNB_SYNC_KEEP_WEEK_HISTORY": ("keep_week_history", False),
}
ALL_VARIABLES = ["DAGSTER_HOME", "AIRBNB_SYNC_DATABASE_URL", *DEFAULTS, *HASH_VARIABLES.values()]

KEY_1 = Fernet.generate_key().decode()
KEY_2 = Fernet.generate_key().decode()

VALID: list[tuple[str, str, str, object]] = [
    ("AIRBNB_SYNC_DATABASE_URL", "postgresql+psycopg2://sync:pw@db:5432/airbnb",
     "database_url", "postgresql+psycopg2://sync:pw@db:5432/airbnb"),
    ("AIRBNB_SYNC_DATABASE_URL", "sqlite:////srv/warehouse.db", "database_url",
     "sqlite:////srv/warehouse.db"),
    ("AIRBNB_SYNC_SECRET_KEY", KEY_1, "secret_keys", (KEY_1,)),
    ("AIRBNB_BASE_URL", "http://127.0.0.1:8765/", "airbnb_base_url", "http://127.0.0.1:8765"),
    ("AIRBNB_API_KEY", "d306zoyjsyarp7ifhu67rjxn52tv0t20", "airbnb_api_key",
     "d306zoyjsyarp7ifhu67rjxn52tv0t20"),
    ("AIRBNB_SYNC_MIN_REQUEST_INTERVAL", "0", "min_request_interval", 0.0),
    ("AIRBNB_SYNC_MIN_REQUEST_INTERVAL", "2.5", "min_request_interval", 2.5),
    ("AIRBNB_SYNC_FIRST_WEEK", "2026-05-03", "first_week", date(2026, 5, 3)),
    ("AIRBNB_SYNC_LOOKAHEAD_WEEKS", "26", "lookahead_weeks", 26),
    ("AIRBNB_SYNC_LOOKAHEAD_WEEKS", "0", "lookahead_weeks", 0),
    ("AIRBNB_SYNC_HORIZON_DAYS", "175", "horizon_days", 175),
    ("AIRBNB_SYNC_FIRST_SYNC_WEEKS", "4", "first_sync_weeks", 4),
    ("AIRBNB_SYNC_DAILY_LOOKBACK_WEEKS", "26", "daily_lookback_weeks", 26),
    ("AIRBNB_SYNC_DRY_RUN", "true", "dry_run", True),
    ("AIRBNB_SYNC_DRY_RUN", "YES", "dry_run", True),
    ("AIRBNB_SYNC_DRY_RUN", "1", "dry_run", True),
    ("AIRBNB_SYNC_DRY_RUN", "off", "dry_run", False),
    ("AIRBNB_SYNC_ALERT_WEBHOOK", "https://hooks.example.com/T0/B1", "alert_webhook",
     "https://hooks.example.com/T0/B1"),
    ("AIRBNB_SYNC_LOG_FORMAT", "JSON", "log_format", "json"),
    ("AIRBNB_SYNC_ANCHOR_LAG_DAYS", "-7", "anchor_lag_days", -7),
    ("AIRBNB_SYNC_ANCHOR_LAG_DAYS", "14", "anchor_lag_days", 14),
    ("AIRBNB_SYNC_REQUEST_TIMEOUT", "0.5", "request_timeout", 0.5),
    ("AIRBNB_SYNC_MAX_RETRY_AFTER", "0", "max_retry_after", 0.0),
    ("AIRBNB_SYNC_RETRY_BUDGET", "60", "retry_budget_seconds", 60.0),
    ("AIRBNB_SYNC_MAX_RETRIES", "20", "max_retries", 20),
    ("AIRBNB_SYNC_MAX_RETRIES", "0", "max_retries", 0),
    ("AIRBNB_SYNC_KEEP_WEEK_HISTORY", "true", "keep_week_history", True),
    ("AIRBNB_SYNC_KEEP_WEEK_HISTORY", "0", "keep_week_history", False),
]

# (variable, bad value, words of the message that say what is allowed)
INVALID: list[tuple[str, str, str]] = [
    ("AIRBNB_SYNC_DATABASE_URL", "mysql://sync:pw@db/airbnb", "postgresql+psycopg2://"),
    ("AIRBNB_SYNC_SECRET_KEY", "not-a-fernet-key", "Fernet"),
    ("AIRBNB_BASE_URL", "www.airbnb.com", "http(s) URL"),
    ("AIRBNB_SYNC_MIN_REQUEST_INTERVAL", "-1", "seconds >= 0"),
    ("AIRBNB_SYNC_MIN_REQUEST_INTERVAL", "nan", "seconds >= 0"),
    ("AIRBNB_SYNC_MIN_REQUEST_INTERVAL", "fast", "seconds >= 0"),
    ("AIRBNB_SYNC_FIRST_WEEK", "05/01/2025", "a Sunday as YYYY-MM-DD"),
    ("AIRBNB_SYNC_LOOKAHEAD_WEEKS", "27", "0..26"),
    ("AIRBNB_SYNC_HORIZON_DAYS", "6", "7..366"),
    ("AIRBNB_SYNC_HORIZON_DAYS", "1e3", "7..366"),
    ("AIRBNB_SYNC_LOOKAHEAD_WEEKS", "2.5", "0..26"),
    ("AIRBNB_SYNC_FIRST_SYNC_WEEKS", "-1", "0..26"),
    ("AIRBNB_SYNC_DAILY_LOOKBACK_WEEKS", "many", "0..26"),
    ("AIRBNB_SYNC_DRY_RUN", "maybe", "true/false"),
    ("AIRBNB_SYNC_ALERT_WEBHOOK", "hooks.example.com/T0/B1", "http(s) URL"),
    ("AIRBNB_SYNC_LOG_FORMAT", "xml", "text or json"),
    ("AIRBNB_SYNC_HASH_LISTINGS_SECTION", "abc123", "sha256"),
    ("AIRBNB_SYNC_HASH_CHART", OTHER_HASH.upper(), "sha256"),
    ("AIRBNB_SYNC_HASH_LIST_OF_METRICS", OTHER_HASH[:-1] + "g", "sha256"),
    ("AIRBNB_SYNC_ANCHOR_LAG_DAYS", "15", "-7..14"),
    ("AIRBNB_SYNC_ANCHOR_LAG_DAYS", "-8", "-7..14"),
    ("AIRBNB_SYNC_REQUEST_TIMEOUT", "0", "seconds > 0"),
    ("AIRBNB_SYNC_MAX_RETRY_AFTER", "-0.1", "seconds >= 0"),
    ("AIRBNB_SYNC_RETRY_BUDGET", "soon", "seconds >= 0"),
    ("AIRBNB_SYNC_MAX_RETRIES", "21", "0..20"),
    ("AIRBNB_SYNC_KEEP_WEEK_HISTORY", "always", "true/false"),
]


@pytest.fixture(autouse=True)
def in_tmp_dir(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """Relative paths resolve under a folder of the test's own."""
    monkeypatch.chdir(tmp_path)
    return tmp_path


def test_defaults_are_the_documented_ones(in_tmp_dir: Path) -> None:
    settings = load_settings({})
    home = in_tmp_dir.resolve() / ".dagster_home"
    assert settings.dagster_home == home
    assert settings.dagster_home.is_absolute()
    assert settings.database_url == f"sqlite:///{home}/warehouse.db"
    assert settings.is_sqlite
    assert dict(settings.query_hashes) == {}  # the client uses Airbnb's last seen hashes
    for attribute, default in DEFAULTS.values():
        assert getattr(settings, attribute) == default, attribute


def test_the_real_environment_is_not_read(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("AIRBNB_SYNC_LOOKAHEAD_WEEKS", "3")
    monkeypatch.setenv("AIRBNB_SYNC_LOG_FORMAT", "xml")
    assert load_settings({}).lookahead_weeks == 25


def test_relative_dagster_home_is_made_absolute_and_holds_the_sqlite_warehouse(
        in_tmp_dir: Path) -> None:
    settings = load_settings({"DAGSTER_HOME": "state/dagster"})
    home = in_tmp_dir.resolve() / "state" / "dagster"
    assert settings.dagster_home == home
    assert settings.database_url == f"sqlite:///{home}/warehouse.db"


def test_absolute_dagster_home_is_kept(tmp_path: Path) -> None:
    home = tmp_path / "elsewhere"
    assert load_settings({"DAGSTER_HOME": str(home)}).dagster_home == home


def test_database_url_overrides_the_embedded_warehouse() -> None:
    settings = load_settings({"AIRBNB_SYNC_DATABASE_URL": "postgresql+psycopg2://u@h/db"})
    assert settings.database_url == "postgresql+psycopg2://u@h/db"
    assert not settings.is_sqlite


@pytest.mark.parametrize(("variable", "raw", "attribute", "expected"), VALID,
                         ids=[f"{v}={r}" for v, r, _, _ in VALID])
def test_valid_value(variable: str, raw: str, attribute: str, expected: object) -> None:
    assert getattr(load_settings({variable: raw}), attribute) == expected


@pytest.mark.parametrize(("operation", "variable"), list(HASH_VARIABLES.items()))
def test_query_hash_override_changes_only_its_operation(operation: str,
                                                        variable: str) -> None:
    hashes = load_settings({variable: OTHER_HASH}).query_hashes
    assert dict(hashes) == {operation: OTHER_HASH}
    assert DEFAULT_HASHES[Operation(operation)] != OTHER_HASH


def test_hash_variables_cover_every_operation() -> None:
    assert set(HASH_VARIABLES) == set(Operation)


@pytest.mark.parametrize(("variable", "raw", "allowed"), INVALID,
                         ids=[f"{v}={r}" for v, r, _ in INVALID])
def test_invalid_value_names_the_variable_and_what_is_allowed(variable: str, raw: str,
                                                               allowed: str) -> None:
    with pytest.raises(SettingsError) as caught:
        load_settings({variable: raw})
    message = str(caught.value)
    assert variable in message
    assert allowed in message


@pytest.mark.parametrize("monday", ["2025-01-06", "2026-05-04"])
def test_first_week_must_be_a_sunday(monday: str) -> None:
    with pytest.raises(SettingsError, match="AIRBNB_SYNC_FIRST_WEEK") as caught:
        load_settings({"AIRBNB_SYNC_FIRST_WEEK": monday})
    assert "Monday" in str(caught.value)
    assert "Sunday" in str(caught.value)


def test_several_comma_separated_fernet_keys_are_kept_in_order() -> None:
    key_3 = Fernet.generate_key().decode()
    settings = load_settings({"AIRBNB_SYNC_SECRET_KEY": f" {KEY_1}, {KEY_2} ,{key_3},"})
    assert settings.secret_keys == (KEY_1, KEY_2, key_3)


def test_a_bad_key_among_good_ones_is_named_by_position() -> None:
    with pytest.raises(SettingsError, match="AIRBNB_SYNC_SECRET_KEY") as caught:
        load_settings({"AIRBNB_SYNC_SECRET_KEY": f"{KEY_1},{KEY_2[:-4]}"})
    assert "key #2" in str(caught.value)


def test_blank_values_mean_default() -> None:
    blank = {variable: value for variable, value in zip(
        ALL_VARIABLES, [" ", "", "\t", "  \n"] * len(ALL_VARIABLES), strict=False)}
    assert set(blank) == set(ALL_VARIABLES)
    assert load_settings(blank) == load_settings({})


def test_values_are_stripped() -> None:
    settings = load_settings({"AIRBNB_SYNC_LOOKAHEAD_WEEKS": " 7 ", "AIRBNB_API_KEY": " k1 "})
    assert settings.lookahead_weeks == 7
    assert settings.airbnb_api_key == "k1"


# Bad values of secret variables that carry a recognisable secret.
SECRET_MARK = "Sup3rSecr3tValue"
BAD_SECRETS = {
    "AIRBNB_SYNC_DATABASE_URL": f"mysql://sync:{SECRET_MARK}@db/airbnb",
    "AIRBNB_SYNC_SECRET_KEY": f"{KEY_1},{SECRET_MARK}",
    "AIRBNB_SYNC_ALERT_WEBHOOK": f"hooks.example.com/services/{SECRET_MARK}",
}


@pytest.mark.parametrize("variable", list(BAD_SECRETS))
def test_secret_values_never_appear_in_the_error(variable: str) -> None:
    with pytest.raises(SettingsError) as caught:
        load_settings({variable: BAD_SECRETS[variable]})
    shown = "".join(traceback.format_exception(caught.value))
    assert variable in shown
    assert SECRET_MARK not in shown
    assert KEY_1 not in shown


def test_secret_values_never_appear_in_the_repr() -> None:
    api_key = "d306zoyjsyarp7ifhu67rjxn52tv0t20"
    settings = load_settings({
        "AIRBNB_SYNC_DATABASE_URL": f"postgresql+psycopg2://sync:{SECRET_MARK}@db/airbnb",
        "AIRBNB_SYNC_SECRET_KEY": f"{KEY_1},{KEY_2}",
        "AIRBNB_SYNC_ALERT_WEBHOOK": f"https://hooks.example.com/services/{SECRET_MARK}",
        "AIRBNB_API_KEY": api_key,
    })
    assert settings.secret_keys == (KEY_1, KEY_2)
    shown = repr(settings) + str(settings)
    for secret in (SECRET_MARK, KEY_1, KEY_2, api_key):
        assert secret not in shown
    assert "lookahead_weeks=25" in shown


# Cron expressions on both sides of what Dagster's schedules accept.
CRONS = [
    "0 5 * * *", "*/15 * * * *", "0 0 L * *", "0 0 * * 1#2", "0 0 * * MON-FRI", "0 6 1 JAN *",
    "@daily", "@hourly", "0 0 29 2 *", "0 0 30,31 2 *", "0 0 ? * *", "0 5 * * 7", "0 0 * * L5",
    "0 0 31 4 *", "5-1 * * * *",
    "61 * * * *", "0 24 * * *", "0 0 0 * *", "0 0 * 13 *", "0 5 * * 8", "* * * *",
    "* * * * * *", "0 5 * * * 2026", "@reboot", "H * * * *", "0 0 30 2 *", "0 0 31 2 *",
    "0 0 15W * *", "0 0 LW * *", "0 0 * * 5L", "*/0 * * * *", "0 5 * * 1,,2", "daily",
]


@pytest.mark.parametrize("cron", ["61 * * * *", "0 5 * * * *", "0 0 30 2 *", "0 0 15W * *"])
def test_a_bad_cron_names_the_variable(cron: str) -> None:
    with pytest.raises(SettingsError, match="AIRBNB_SYNC_DAILY_CRON") as caught:
        load_settings({"AIRBNB_SYNC_DAILY_CRON": cron})
    assert "5-field cron expression" in str(caught.value)


@pytest.mark.parametrize("cron", CRONS)
def test_cron_is_accepted_exactly_when_dagster_accepts_it(cron: str) -> None:
    """Settings must refuse what would break the daily schedule at load time, and nothing
    Dagster would run."""
    from dagster._utils.schedules import is_valid_cron_string

    try:
        accepted = load_settings({"AIRBNB_SYNC_DAILY_CRON": cron}).daily_cron == cron
    except SettingsError:
        accepted = False
    assert accepted == is_valid_cron_string(cron)
