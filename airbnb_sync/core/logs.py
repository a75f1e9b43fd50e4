"""Log lines of airbnb-sync: readable text by default, one JSON object per line on request.

Operators ship logs to collectors that parse JSON (`AIRBNB_SYNC_LOG_FORMAT=json`), and a
line is only useful there if it says which run, account and partition it belongs to without
parsing the message: `log_context` sets those for a block of code and every record of an
`airbnb_sync.*` logger written meanwhile carries them (null when unknown); the REST API adds
the request id of the request being served. The handler also
carries redact's SecretFilter, so no cookie or key reaches either format.

The formatter is a few lines over `json.dumps` rather than python-json-logger: the field set
is fixed and small, and one dependency fewer is one less thing to pin next to Dagster.
"""

from __future__ import annotations

import json
import logging
import os
import sys
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from contextvars import ContextVar
from datetime import UTC, datetime
from typing import Any, TextIO

from airbnb_sync.core.redact import attach_secret_filter, install_secret_filter, redact
from airbnb_sync.core.settings import Settings, SettingsError, read_log_format

ROOT_LOGGER = "airbnb_sync"
# Record attributes that log_context fills in; JSON lines always have them (null if unset).
CONTEXT_FIELDS = ("run_id", "account", "partition", "request_id")

_context: ContextVar[Mapping[str, str] | None] = ContextVar("airbnb_sync_log_context",
                                                           default=None)


def _values() -> Mapping[str, str]:
    return _context.get() or {}


@contextmanager
def log_context(*, run_id: str | None = None, account: str | None = None,
                partition: str | None = None,
                request_id: str | None = None) -> Iterator[None]:
    """Tag every airbnb_sync record logged inside the block (this thread or task only).

    Nested blocks add to the outer values; a None keeps the outer value.
    """
    given = {"run_id": run_id, "account": account, "partition": partition,
             "request_id": request_id}
    token = _context.set({**_values(),
                          **{name: str(value) for name, value in given.items()
                             if value is not None}})
    try:
        yield
    finally:
        _context.reset(token)


def current_log_context() -> dict[str, str | None]:
    values = _values()
    return {name: values.get(name) for name in CONTEXT_FIELDS}


class ContextFilter(logging.Filter):
    """Copies the log_context values onto each record (values passed with `extra=` win),
    scrubbed like the message: they are ids, but nothing reaches a log unscrubbed."""

    def filter(self, record: logging.LogRecord) -> bool:
        values = _values()
        for name in CONTEXT_FIELDS:
            value = getattr(record, name, None)
            if value is None:
                value = values.get(name)
            setattr(record, name, None if value is None else redact(str(value)))
        return True


def _timestamp(record: logging.LogRecord) -> str:
    moment = datetime.fromtimestamp(record.created, UTC)
    return moment.isoformat(timespec="milliseconds").replace("+00:00", "Z")


class JsonFormatter(logging.Formatter):
    """One JSON object per record: timestamp (UTC), level, logger, message, the context
    fields, and exception / stack when there is one. ASCII only, so one record is one line
    whatever the message holds."""

    def format(self, record: logging.LogRecord) -> str:
        entry: dict[str, Any] = {
            "timestamp": _timestamp(record),
            "level": record.levelname,
            "logger": record.name,
            "message": record.getMessage(),
        }
        entry.update({name: getattr(record, name, None) for name in CONTEXT_FIELDS})
        if record.exc_info and not record.exc_text:
            record.exc_text = self.formatException(record.exc_info)
        if record.exc_text:
            entry["exception"] = record.exc_text
        if record.stack_info:
            entry["stack"] = self.formatStack(record.stack_info)
        return json.dumps(entry, default=str)


class TextFormatter(logging.Formatter):
    """`2026-05-01T10:00:00.123Z WARNING airbnb_sync.x [account=1 run_id=ab] message`."""

    def format(self, record: logging.LogRecord) -> str:
        tags = " ".join(f"{name}={value}" for name in CONTEXT_FIELDS
                        if (value := getattr(record, name, None)) is not None)
        line = (f"{_timestamp(record)} {record.levelname} {record.name}"
                f"{f' [{tags}]' if tags else ''} {record.getMessage()}")
        if record.exc_info and not record.exc_text:
            record.exc_text = self.formatException(record.exc_info)
        if record.exc_text:
            line = f"{line}\n{record.exc_text}"
        if record.stack_info:
            line = f"{line}\n{self.formatStack(record.stack_info)}"
        return line


class StderrHandler(logging.StreamHandler):  # type: ignore[type-arg]
    """Writes to whatever sys.stderr is at the time (pytest and daemons swap it)."""

    def __init__(self) -> None:
        super().__init__()

    @property  # type: ignore[override]
    def stream(self) -> TextIO:
        return sys.stderr

    @stream.setter
    def stream(self, _value: TextIO) -> None:
        pass


def _log_format_from_environment() -> str:
    """AIRBNB_SYNC_LOG_FORMAT alone, "text" when it is invalid: for the commands that need
    no settings and must run whatever the others say (`airbnb-sync simulator`, `airbnb-sync
    accounts generate-key`, which makes the key a broken AIRBNB_SYNC_SECRET_KEY lacks)."""
    try:
        return read_log_format(os.environ)
    except SettingsError:
        return "text"


def configure_logging(settings: Settings | None = None) -> logging.Handler:
    """Send every airbnb_sync.* record to stderr in the configured format, context added
    and secrets scrubbed. Idempotent: one handler, whose formatter follows the settings
    the entry point loaded (None: read AIRBNB_SYNC_LOG_FORMAT alone, for commands that load
    no settings).

    Records still propagate, so handlers on the root logger (pytest's, Dagster's managed
    loggers) keep seeing them. The level becomes INFO unless someone set one already.
    """
    log_format = settings.log_format if settings is not None else _log_format_from_environment()
    logger = logging.getLogger(ROOT_LOGGER)
    handler = next((h for h in logger.handlers if isinstance(h, StderrHandler)), None)
    if handler is None:
        handler = StderrHandler()
        handler.addFilter(ContextFilter())
        attach_secret_filter(handler)
        logger.addHandler(handler)
    handler.setFormatter(JsonFormatter() if log_format == "json" else TextFormatter())
    if logger.level == logging.NOTSET:
        logger.setLevel(logging.INFO)
    install_secret_filter()
    return handler
