"""Secrets never reach a log line: registered values, header patterns, Fernet tokens."""

from __future__ import annotations

import logging
import secrets
from collections.abc import Iterator

import pytest
from cryptography.fernet import Fernet

from airbnb_sync.airbnb.cookies import AUTH_COOKIES
from airbnb_sync.core.redact import (
    REDACTED,
    SecretFilter,
    install_secret_filter,
    redact,
    register_cookie_names,
    register_secret,
)


@pytest.fixture(autouse=True)
def no_filter_left_on_caplog(caplog: pytest.LogCaptureFixture) -> Iterator[None]:
    """pytest keeps one capture handler for the session: leave it as it was found."""
    def strip() -> None:
        for existing in [f for f in caplog.handler.filters if isinstance(f, SecretFilter)]:
            caplog.handler.removeFilter(existing)
    strip()
    yield
    strip()


def a_secret() -> str:
    return secrets.token_urlsafe(24)


def test_registered_values_are_replaced() -> None:
    value = a_secret()
    register_secret(value)
    assert redact(f"session {value} expired") == f"session {REDACTED} expired"


def test_short_values_are_not_treated_as_secrets() -> None:
    register_secret("1")
    register_secret("")
    register_secret(None)
    assert redact("page 1 of 1; x=1") == "page 1 of 1; x=1"


def test_a_secret_containing_another_is_scrubbed_whole() -> None:
    inner = a_secret()
    outer = f"{inner}-{a_secret()}"
    register_secret(inner)
    register_secret(outer)
    assert redact(f"x {outer} y") == f"x {REDACTED} y"


@pytest.mark.parametrize("text, leaked", [
    ("Cookie: _aat=abc123secret; li=1", "abc123secret"),
    ("{'Cookie': 'hli=1; _airbed_session_id=sess1onid', 'Accept': '*/*'}", "sess1onid"),
    ('"x-airbnb-api-key": "d306zoyjsyarp7ifhu67rjxn52tv0t20"', "d306zoyjsyarp7ifhu67rjxn52tv0t20"),
    ("X-Airbnb-API-Key: k3yk3yk3y", "k3yk3yk3y"),
    ("sent _aat=t0k3nvalue and more", "t0k3nvalue"),
])
def test_header_and_cookie_patterns_are_scrubbed_without_registration(text: str,
                                                                      leaked: str) -> None:
    """Airbnb's authentication cookies: airbnb/cookies.py registers their names on import."""
    assert "_aat" in AUTH_COOKIES
    cleaned = redact(text)
    assert leaked not in cleaned
    assert REDACTED in cleaned


def test_a_registered_cookie_name_is_scrubbed_from_then_on() -> None:
    text = "sent zz_probe_cookie=v4lu3v4lu3 and more"
    assert redact(text) == text  # no name of its own: core knows no site's cookies
    register_cookie_names(["zz_probe_cookie"])
    register_cookie_names(["zz_probe_cookie"])  # again: nothing changes
    assert redact(text) == f"sent zz_probe_cookie={REDACTED} and more"
    assert redact("sent _aat=t0k3nvalue") == f"sent _aat={REDACTED}"  # earlier names stay


def test_fernet_tokens_are_scrubbed() -> None:
    token = Fernet(Fernet.generate_key()).encrypt(b"cookies").decode()
    assert redact(f"credentials={token}!") == f"credentials={REDACTED}!"


def test_the_filter_scrubs_messages_arguments_and_tracebacks(
        caplog: pytest.LogCaptureFixture) -> None:
    value = a_secret()
    register_secret(value)
    logger = logging.getLogger("airbnb_sync.test_redact")
    caplog.handler.addFilter(SecretFilter())
    with caplog.at_level(logging.DEBUG, logger="airbnb_sync"):
        logger.debug("headers %s", {"Authorization": value})
        try:
            raise RuntimeError(f"boom {value}")
        except RuntimeError:
            logger.exception("failed")
    assert value not in caplog.text
    assert caplog.text.count(REDACTED) >= 2
    assert "boom" in caplog.text  # the traceback is kept, only the secret is gone


def test_records_without_secrets_keep_their_arguments(caplog: pytest.LogCaptureFixture) -> None:
    caplog.handler.addFilter(SecretFilter())
    with caplog.at_level(logging.INFO, logger="airbnb_sync"):
        logging.getLogger("airbnb_sync.test_redact").info("%d rows", 7)
    assert caplog.records[-1].args == (7,)


def test_install_attaches_once_to_root_handlers_and_request_loggers(
        caplog: pytest.LogCaptureFixture) -> None:
    install_secret_filter()
    install_secret_filter()
    for filterer in (caplog.handler, logging.getLogger("urllib3.connectionpool"),
                     logging.getLogger("airbnb_sync")):
        assert sum(isinstance(f, SecretFilter) for f in filterer.filters) == 1
    value = a_secret()
    register_secret(value)
    with caplog.at_level(logging.DEBUG):
        logging.getLogger("urllib3.connectionpool").debug("Cookie: %s", value)
        logging.getLogger("some.library").warning("leaked %s", value)
    assert value not in caplog.text
    assert "leaked" in caplog.text
