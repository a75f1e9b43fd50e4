"""Grafana behind the proxy (profile `dashboards`): deploy/proxy/Caddyfile serves /grafana/
with the same login as the Dagster UI, and signs the user in to Grafana with the auth-proxy
header, which only the proxy sets: one a client sends is replaced. The upstream here is a
small HTTP server that echoes the path and that header (Grafana cannot run here)."""

from __future__ import annotations

import json
import subprocess
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest
import requests
from deploy_helpers import (
    CADDYFILE,
    CI_INSTALL_HINT,
    Background,
    clean_environment,
    free_port,
    http_ok,
    require_tool,
    wait_until,
)

USER, PASSWORD = "operator", "correct horse battery staple"


class Echo(BaseHTTPRequestHandler):
    def do_GET(self) -> None:
        body = json.dumps({"path": self.path,
                           "user": self.headers.get_all("X-WEBAUTH-USER")}).encode()
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, *args: object) -> None:
        pass


@pytest.fixture(scope="module")
def proxy_url(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    caddy = require_tool("caddy", CI_INSTALL_HINT)
    echo = ThreadingHTTPServer(("127.0.0.1", 0), Echo)
    threading.Thread(target=echo.serve_forever, daemon=True).start()
    folder = tmp_path_factory.mktemp("proxy_grafana")
    password_hash = subprocess.run([caddy, "hash-password", "--plaintext", PASSWORD],
                                   capture_output=True, text=True, check=True).stdout.strip()
    port = free_port()
    env = clean_environment(
        DAGSTER_UPSTREAM="127.0.0.1:9", GRAFANA_UPSTREAM=f"127.0.0.1:{echo.server_port}",
        PROXY_LISTEN_PORT=str(port), PROXY_USER=USER, PROXY_PASSWORD_HASH=password_hash,
        XDG_DATA_HOME=str(folder), XDG_CONFIG_HOME=str(folder))
    proxy = Background(f"caddy-{port}", [caddy, "run", "--config", str(CADDYFILE),
                                         "--adapter", "caddyfile"], env, Path(folder))
    url = f"http://127.0.0.1:{port}"
    try:
        wait_until(lambda: http_ok(f"{url}/healthz"), "the proxy", 120, [proxy])
        yield url
    finally:
        proxy.stop()
        echo.shutdown()


def test_grafana_needs_the_proxy_login(proxy_url: str) -> None:
    assert requests.get(f"{proxy_url}/grafana/", timeout=10).status_code == 401
    wrong = requests.get(f"{proxy_url}/grafana/", auth=(USER, "nope"), timeout=10)
    assert wrong.status_code == 401


def test_grafana_gets_the_logged_in_user_and_never_a_forged_one(proxy_url: str) -> None:
    answer = requests.get(f"{proxy_url}/grafana/d/airbnb-insights", auth=(USER, PASSWORD),
                          headers={"X-WEBAUTH-USER": "admin"}, timeout=10)
    assert answer.status_code == 200
    # Served from the sub path (GF_SERVER_SERVE_FROM_SUB_PATH): the path is passed as it is.
    assert answer.json() == {"path": "/grafana/d/airbnb-insights", "user": [USER]}
