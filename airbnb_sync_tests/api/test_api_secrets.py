"""Secrets never leave the API: `airbnb-sync api serve` as users run it (a subprocess, its
whole output kept), driven through registration, fresh sessions (paste and companion), a
check against the simulator, refusals and errors, with canary cookies, a canary API key and
the tokens. None of them is in any response (body or header) or in any log line, and every
response's X-Request-ID is in the log."""

from __future__ import annotations

import hashlib
import json
import os
import secrets
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from urllib.parse import quote

import pytest
import requests
from api_helpers import free_port
from paste_forms import CHROME_UA, chrome_bash, har

from airbnb_sync.accounts.secrets import generate_key
from airbnb_sync.simulator import Simulator, SimulatorConfig

HOST = "58765432"
OTHER = "41234567"
pytestmark = [pytest.mark.slow, pytest.mark.parametrize("database_url", ["sqlite", "postgres"],
                                                        indirect=True)]


def canary_cookie(account_id: str, aat: str) -> str:
    attributes = quote(json.dumps({"id_str": account_id, "canary": aat[-12:]}))
    return (f"_aat={aat}; _airbed_session_id={aat[::-1]}; _user_attributes={attributes}; "
            f"bev=tracking-{aat[:10]}")


@pytest.fixture
def served(tmp_path: Path, database_url: str) -> Iterator[tuple[str, dict[str, str], Path]]:
    api_key = "canaryKey" + secrets.token_hex(12)
    with Simulator(SimulatorConfig(api_key=api_key)) as simulator:
        env = {name: value for name, value in os.environ.items()
               if not name.startswith(("AIRBNB_", "DAGSTER_")) or name.startswith(
                   "AIRBNB_SYNC_TEST_")}
        env.update(DAGSTER_HOME=str(tmp_path / "home"), AIRBNB_SYNC_DATABASE_URL=database_url,
                   AIRBNB_SYNC_SECRET_KEY=generate_key(), AIRBNB_BASE_URL=simulator.url,
                   AIRBNB_SYNC_MIN_REQUEST_INTERVAL="0", AIRBNB_SYNC_LOG_FORMAT="json",
                   AIRBNB_SYNC_DAGSTER_URL=f"http://127.0.0.1:{free_port()}")
        cli = [sys.executable, "-m", "airbnb_sync.cli.main"]
        subprocess.run([*cli, "db", "upgrade"], env=env, check=True, capture_output=True)
        created = subprocess.run([*cli, "api", "token", "create", "--name", "canary"], env=env,
                                 check=True, capture_output=True, text=True)
        token = created.stdout.strip().splitlines()[-1]
        port = free_port()
        log = tmp_path / "api.log"
        with log.open("wb") as output:
            server = subprocess.Popen([*cli, "api", "serve", "--port", str(port)], env=env,
                                      stdout=output, stderr=subprocess.STDOUT)
            try:
                url = f"http://127.0.0.1:{port}"
                for _ in range(240):
                    try:
                        requests.get(f"{url}/api/v1/health", timeout=2)
                        break
                    except requests.ConnectionError:
                        assert server.poll() is None, log.read_text()
                        time.sleep(0.5)
                yield url, {"token": token, "api_key": api_key}, log
            finally:
                server.terminate()
                server.wait(timeout=60)


def test_a_canary_is_in_no_response_and_no_log(served: tuple[str, dict[str, str], Path]
                                               ) -> None:
    url, known, log = served
    token = known["token"]
    aat, fresh, other = (f"canary{name}" + secrets.token_hex(16)
                         for name in ("Aat", "Fresh", "Other"))
    unknown_token = "abs_" + secrets.token_urlsafe(32)
    auth = {"Authorization": f"Bearer {token}"}
    responses: list[requests.Response] = []

    def call(method: str, path: str, headers: dict | None = None, **kwargs: object) -> None:
        response = requests.request(method, f"{url}{path}", headers=headers or auth,
                                    timeout=60, **kwargs)  # type: ignore[arg-type]
        responses.append(response)

    def with_key(paste: str) -> str:
        return paste.replace("d306zoyjsyarp7ifhu67rjxn52tv0t20", known["api_key"])

    call("POST", "/api/v1/accounts", json={
        "paste": with_key(chrome_bash(canary_cookie(HOST, aat))), "label": "canary host"})
    assert responses[-1].status_code == 201, responses[-1].text
    call("GET", "/api/v1/accounts")
    call("GET", f"/api/v1/accounts/{HOST}")
    call("POST", f"/api/v1/accounts/{HOST}/check")
    assert responses[-1].json()["ok"] is True, responses[-1].text
    companion = [{"name": name, "value": value, "domain": ".airbnb.com", "expires": None}
                 for name, value in (pair.split("=", 1)
                                     for pair in canary_cookie(HOST, fresh).split("; "))]
    call("POST", f"/api/v1/accounts/{HOST}/session",
         json={"cookies": companion, "user_agent": CHROME_UA})
    assert responses[-1].status_code == 200, responses[-1].text
    call("POST", f"/api/v1/accounts/{HOST}/check")
    # Refusals that hold secrets: another user's session, a broken paste, a bad body.
    call("POST", f"/api/v1/accounts/{HOST}/session",
         json={"paste": with_key(har(canary_cookie(OTHER, other)))})
    assert responses[-1].status_code == 422
    call("POST", "/api/v1/accounts", json={"paste": chrome_bash(canary_cookie(
        OTHER, other)).replace("www.airbnb.com", "airbnb.example.org")})
    call("POST", f"/api/v1/accounts/{HOST}/session", data=f'{{"paste": "{other}"',
         headers={**auth, "Content-Type": "application/json"})
    call("POST", f"/api/v1/accounts/{HOST}/session", json={"paste": other, "extra": other})
    call("POST", "/api/v1/accounts", json={"paste": "x" * 100, "label": other * 20})
    call("GET", "/api/v1/accounts", headers={"Authorization": f"Bearer {unknown_token}"})
    call("GET", "/api/v1/accounts", headers={"Authorization": f"Basic {other}"})
    call("DELETE", f"/api/v1/accounts/{HOST}")
    statuses = [response.status_code for response in responses]
    assert statuses == [201, 200, 200, 200, 200, 200, 422, 422, 400, 422, 422, 401, 401, 200]

    secrets_ = {"cookie": aat, "reversed cookie": aat[::-1], "fresh cookie": fresh,
                "other cookie": other, "API key": known["api_key"], "token": token,
                "token hash": hashlib.sha256(token.encode()).hexdigest(),
                "unknown token": unknown_token}
    text = log.read_text()
    for response in responses:
        shown = response.text + json.dumps(dict(response.headers))
        for name, secret in secrets_.items():
            assert secret not in shown, (name, response.request.method, response.url)
        assert response.headers["X-Request-ID"] in text  # its log line carries its id
    for name, secret in secrets_.items():
        assert secret not in text, name
    lines = [json.loads(line) for line in text.splitlines() if line.startswith("{")]
    assert lines and all("request_id" in line for line in lines)
