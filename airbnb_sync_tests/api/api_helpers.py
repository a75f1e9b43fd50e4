"""Helpers of the REST API tests: `create_app` served by uvicorn on a free loopback port in a
thread (`serve_api`), a client that keeps every response (`Api`), and what every problem
document must be (`assert_problem`). Imported as `from api_helpers import ...` (the fixtures
are in conftest.py)."""

from __future__ import annotations

import socket
import threading
import time
import uuid
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import date
from typing import Any

import requests
import uvicorn

from airbnb_sync.accounts.store import AccountStore, open_store
from airbnb_sync.airbnb.cookies import SessionCookies
from airbnb_sync.api.app import create_app
from airbnb_sync.api.tokens import TokenStore
from airbnb_sync.core.logs import configure_logging
from airbnb_sync.core.settings import Settings
from airbnb_sync.simulator import make_cookie
from airbnb_sync.warehouse.engine import dispose_warehouse_engine
from airbnb_sync.warehouse.migrate import forget_upgrades

VERSION = "0123456789abcdef0123456789abcdef01234567"
AGENT = "Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 Chrome/126.0 Safari/537.36"


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


class ThreadedServer:
    """uvicorn serving `app` on 127.0.0.1:`port` in a daemon thread."""

    def __init__(self, app: Any, port: int) -> None:
        config = uvicorn.Config(app, host="127.0.0.1", port=port, log_config=None,
                                access_log=False, lifespan="off")
        self.server = uvicorn.Server(config)
        self.thread = threading.Thread(target=self.server.run, daemon=True)

    def __enter__(self) -> ThreadedServer:
        self.thread.start()
        deadline = time.monotonic() + 60
        while not self.server.started:
            if not self.thread.is_alive() or time.monotonic() > deadline:
                raise RuntimeError("the API server did not start")
            time.sleep(0.02)
        return self

    def __exit__(self, *exc: object) -> None:
        self.server.should_exit = True
        self.thread.join(timeout=30)


@dataclass
class Api:
    url: str
    settings: Settings
    store: AccountStore
    launched: list[tuple[str, date, date]]
    responses: list[requests.Response] = field(default_factory=list)

    def call(self, method: str, path: str, token: str | None = None,
             **kwargs: Any) -> requests.Response:
        headers = dict(kwargs.pop("headers", {}))
        if token is not None:
            headers["Authorization"] = f"Bearer {token}"
        response = requests.request(method, f"{self.url}{path}", headers=headers, timeout=60,
                                    **kwargs)
        self.responses.append(response)
        return response

    def token(self, name: str, account_id: str | None = None, read_only: bool = False) -> str:
        return TokenStore(self.store.engine).create(name, account_id, read_only)[1]

    def add_account(self, account_id: str, label: str | None = None,
                    cookie: str | None = None) -> None:
        self.store.add(account_id, SessionCookies.parse(cookie or make_cookie(account_id)),
                       VERSION, AGENT, label=label)


def serve_api(settings: Settings, database_url: str,
              real_launcher: bool = False) -> Iterator[Api]:
    """Serve the app; syncs are recorded, or with `real_launcher` launched through Dagster's
    GraphQL API at AIRBNB_SYNC_DAGSTER_URL as `api serve` does."""
    configure_logging(settings)
    store = open_store(settings)
    launched: list[tuple[str, date, date]] = []

    def launch(account_id: str, first: date, last: date) -> str:
        launched.append((account_id, first, last))
        return uuid.uuid4().hex

    port = free_port()
    try:
        app = create_app(settings, store=store,
                         launch_sync=None if real_launcher else launch)
        with ThreadedServer(app, port):
            yield Api(f"http://127.0.0.1:{port}", settings, store, launched)
    finally:
        dispose_warehouse_engine(database_url)
        forget_upgrades()


def assert_problem(response: requests.Response, status: int, *phrases: str) -> dict[str, Any]:
    """An RFC 9457 problem with `status`, one sentence, no traceback, the request id."""
    assert response.status_code == status, (response.status_code, response.text[:500])
    assert response.headers["Content-Type"] == "application/problem+json", response.headers
    body = response.json()
    assert body["status"] == status and body["type"] == "about:blank" and body["title"]
    assert body["request_id"] == response.headers["X-Request-ID"]
    detail = body["detail"]
    assert isinstance(detail, str) and "\n" not in detail and "Traceback" not in response.text
    for phrase in phrases:
        assert phrase in detail, detail
    return body
