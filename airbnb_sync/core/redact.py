"""Keeping cookies, API keys and Fernet tokens out of logs.

A host's session cookie is as good as their password, so nothing airbnb-sync logs may carry
one: values are registered as secrets when they are loaded, and a logging filter scrubs them
(and anything that looks like a Cookie or API-key header, or a Fernet token) from every
record before a handler writes it.
"""

from __future__ import annotations

import logging
import re
import threading
from collections.abc import Iterable

REDACTED = "[REDACTED]"
# Shorter values (cookie flags such as `li=1`) are not secret, and scrubbing them would
# mangle ordinary text.
MIN_SECRET_LENGTH = 8

_HEADER = re.compile(
    r"(?i)\b((?:set-)?cookie|x-airbnb-api-key)(['\"]?\s*[:=]\s*['\"]?)([^'\"\r\n]+)"
)
# A Fernet token is base64url of 0x80 + a 64-bit timestamp whose high bytes are zero.
_FERNET_TOKEN = re.compile(r"gAAAAA[0-9A-Za-z_\-]{20,}={0,2}")

_secrets: set[str] = set()
_secrets_lock = threading.Lock()
_ordered: tuple[str, ...] = ()
# `name=value` pairs of the cookies registered below, wherever they appear.
_cookie_names: frozenset[str] = frozenset()
_cookie_pair: re.Pattern[str] | None = None


def register_cookie_names(names: Iterable[str]) -> None:
    """Cookies whose `name=value` pairs are scrubbed even when the value was never registered
    (in a pasted header, say). `airbnb/` registers its authentication cookies: this module
    knows no site's cookie names."""
    global _cookie_names, _cookie_pair
    with _secrets_lock:
        merged = _cookie_names | frozenset(names)
        if merged == _cookie_names:
            return
        alternatives = "|".join(re.escape(name) for name in sorted(merged, key=len, reverse=True))
        _cookie_pair = re.compile(r"\b(" + alternatives + r")=([^;\s'\"]+)")
        _cookie_names = merged


def register_secret(value: str | None) -> None:
    """Remember a value that must never be written to a log."""
    global _ordered
    if not value or len(value) < MIN_SECRET_LENGTH:
        return
    with _secrets_lock:
        if value in _secrets:
            return
        _secrets.add(value)
        # Longest first, so a secret containing another is scrubbed whole.
        _ordered = tuple(sorted(_secrets, key=len, reverse=True))


def redact(text: str) -> str:
    """`text` with registered secrets, header values and Fernet tokens replaced."""
    for secret in _ordered:
        if secret in text:
            text = text.replace(secret, REDACTED)
    text = _HEADER.sub(lambda m: f"{m.group(1)}{m.group(2)}{REDACTED}", text)
    if _cookie_pair is not None:
        text = _cookie_pair.sub(lambda m: f"{m.group(1)}={REDACTED}", text)
    return _FERNET_TOKEN.sub(REDACTED, text)


class SecretFilter(logging.Filter):
    """Scrubs secrets from a record's message, arguments and traceback; drops nothing."""

    def filter(self, record: logging.LogRecord) -> bool:
        try:
            message = record.getMessage()
        except Exception:  # a broken format string: let the handler report it as usual
            return True
        cleaned = redact(message)
        if cleaned != message:
            record.msg, record.args = cleaned, None
        if record.exc_info and not record.exc_text:
            record.exc_text = logging.Formatter().formatException(record.exc_info)
        if record.exc_text:
            record.exc_text = redact(record.exc_text)
        if record.stack_info:
            record.stack_info = redact(record.stack_info)
        return True


SCRUBBED_LOGGERS: tuple[str, ...] = (
    "airbnb_sync",
    "urllib3",
    "urllib3.connectionpool",
    "urllib3.connection",
    "urllib3.response",
    "urllib3.util.retry",
    "requests",
)


def attach_secret_filter(filterer: logging.Filterer) -> None:
    """Give a handler or logger one SecretFilter (idempotent)."""
    if not any(isinstance(existing, SecretFilter) for existing in filterer.filters):
        filterer.addFilter(SecretFilter())


def install_secret_filter() -> None:
    """Attach the filter to the root logger's handlers and to the loggers that see requests.

    Idempotent. Handlers added to the root logger later need another call: a logger's filter
    only sees records logged on that very logger, a handler's filter sees everything it
    writes, so both are covered.
    """
    for handler in logging.getLogger().handlers:
        attach_secret_filter(handler)
    names = set(SCRUBBED_LOGGERS)
    names.update(name for name in logging.root.manager.loggerDict
                 if name.startswith(("airbnb_sync.", "urllib3.")))
    for name in sorted(names):
        attach_secret_filter(logging.getLogger(name))
