"""AIRBNB_SYNC_API_URL: where owners reach the API, the base of invite links."""

from __future__ import annotations

import pytest

from airbnb_sync.core.settings import SettingsError, load_settings


def test_the_api_url_defaults_to_api_serve_and_loses_a_trailing_slash() -> None:
    assert load_settings({}).api_url == "http://127.0.0.1:8080"
    assert load_settings({"AIRBNB_SYNC_API_URL": "https://sync.example.com/"}).api_url == (
        "https://sync.example.com")


def test_an_api_url_that_is_no_http_address_fails_naming_the_variable() -> None:
    with pytest.raises(SettingsError, match="AIRBNB_SYNC_API_URL"):
        load_settings({"AIRBNB_SYNC_API_URL": "sync.example.com"})
