"""The authentication matrix on every endpoint, over real HTTP on every warehouse: no token,
an unknown one, a revoked one, a token limited to one account on its own account and on
another, a read-only token, and a full one. 401, then 404, then 403, always in that order;
a success is the endpoint's real effect (checked in the store)."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from api_helpers import Api, assert_problem, serve_api
from paste_forms import chrome_bash

from airbnb_sync.core.settings import Settings, load_settings
from airbnb_sync.simulator import Simulator, SimulatorConfig, make_cookie

OWN = "58765432"
OTHER = "41234567"
REVOKED = "revoked"
NEW_HOSTS = iter(str(n) for n in range(71000001, 71000100))


@pytest.fixture
def simulated_api(dagster_home: Any, database_url: str, monkeypatch: pytest.MonkeyPatch,
                  api_settings: Settings) -> Iterator[Api]:
    """The API with Airbnb simulated (for `check`), the two accounts, and the tokens."""
    with Simulator(SimulatorConfig()) as simulator:
        monkeypatch.setenv("AIRBNB_BASE_URL", simulator.url)
        monkeypatch.setenv("AIRBNB_API_KEY", "sim-api-key")
        for api in serve_api(load_settings(), database_url):
            api.add_account(OWN, label="own")
            api.add_account(OTHER, label="other")
            yield api


@dataclass(frozen=True)
class Endpoint:
    method: str
    path: str  # {id}: the account
    body: Callable[[str], dict[str, Any] | None]
    success: int
    write: bool


def _sync_body(_: str) -> dict[str, str]:
    today = datetime.now(UTC).date()
    return {"from": str(today - timedelta(days=14)), "to": str(today)}


ENDPOINTS: dict[str, Endpoint] = {
    "list": Endpoint("GET", "/api/v1/accounts", lambda _: None, 200, False),
    "show": Endpoint("GET", "/api/v1/accounts/{id}", lambda _: None, 200, False),
    "register": Endpoint("POST", "/api/v1/accounts",
                         lambda _: {"paste": chrome_bash(make_cookie(next(NEW_HOSTS))),
                                    "label": "new"}, 201, True),
    "change": Endpoint("PATCH", "/api/v1/accounts/{id}", lambda _: {"label": "renamed"}, 200,
                       True),
    "delete": Endpoint("DELETE", "/api/v1/accounts/{id}", lambda _: None, 200, True),
    "session": Endpoint("POST", "/api/v1/accounts/{id}/session",
                        lambda account: {"paste": chrome_bash(make_cookie(account))}, 200, True),
    "check": Endpoint("POST", "/api/v1/accounts/{id}/check", lambda _: None, 200, True),
    "sync": Endpoint("POST", "/api/v1/accounts/{id}/sync", _sync_body, 202, True),
}


def _call(api: Api, endpoint: Endpoint, token: str | None, account: str) -> Any:
    body = endpoint.body(account)
    return api.call(endpoint.method, endpoint.path.format(id=account), token,
                    **({"json": body} if body is not None else {}))


def _restore(api: Api) -> None:
    for account in (OWN, OTHER):
        api.store.activate(account)


def test_health_and_the_openapi_document_need_no_token(simulated_api: Api) -> None:
    health = simulated_api.call("GET", "/api/v1/health")
    assert health.status_code == 200 and health.json()["status"] == "ok"
    assert health.headers["Cache-Control"] == "no-store"
    assert health.headers["X-Content-Type-Options"] == "nosniff"
    document = simulated_api.call("GET", "/api/v1/openapi.json").json()
    paths = document["paths"]
    assert {"/api/v1/health", "/api/v1/accounts", "/api/v1/accounts/{account_id}",
            "/api/v1/accounts/{account_id}/session", "/api/v1/accounts/{account_id}/check",
            "/api/v1/accounts/{account_id}/sync"} <= set(paths)
    assert document["components"]["securitySchemes"]["HTTPBearer"]["scheme"] == "bearer"


def test_the_authentication_matrix_on_every_endpoint(simulated_api: Api) -> None:
    api = simulated_api
    tokens: dict[str, str | None] = {
        "none": None, "unknown": "abs_" + "x" * 43, "not even ours": "garbage",
        REVOKED: api.token("gone"), "full": api.token("full"),
        "read-only": api.token("reader", read_only=True),
        "scoped": api.token("own-only", account_id=OWN),
    }
    api.call("GET", "/api/v1/accounts", tokens[REVOKED])  # valid until revoked
    from airbnb_sync.api.tokens import TokenStore

    TokenStore(api.store.engine).revoke("gone")
    seen: dict[tuple[str, str], int] = {}
    for name, endpoint in ENDPOINTS.items():
        for kind in ("none", "unknown", "not even ours", REVOKED):
            response = _call(api, endpoint, tokens[kind], OWN)
            body = assert_problem(response, 401, "token")
            assert response.headers["WWW-Authenticate"].startswith("Bearer")
            assert "Bearer" not in str(body.get("request_id"))
            seen[(name, kind)] = 401
        # A full token, on the account the scoped token may not see.
        response = _call(api, endpoint, tokens["full"], OTHER)
        assert response.status_code == endpoint.success, (name, response.text)
        _restore(api)
        # Read-only: reads answer, writes are refused and change nothing.
        before = api.store.get(OWN)
        response = _call(api, endpoint, tokens["read-only"], OWN)
        if endpoint.write:
            assert_problem(response, 403, "read-only")
            assert api.store.get(OWN) == before, name
        else:
            assert response.status_code == endpoint.success, (name, response.text)
        # Limited to OWN: its own account answers as for a full token, another is unknown.
        if "{id}" in endpoint.path:
            response = _call(api, endpoint, tokens["scoped"], OWN)
            assert response.status_code == endpoint.success, (name, response.text)
            _restore(api)
            before = api.store.get(OTHER)
            response = _call(api, endpoint, tokens["scoped"], OTHER)
            unknown = api.call(endpoint.method, endpoint.path.format(id="99999999"),
                               tokens["full"], **({"json": endpoint.body("99999999")}
                                                  if endpoint.body("99999999") else {}))
            problem = assert_problem(response, 404, f"there is no account {OTHER}")
            # Indistinguishable from an account that does not exist.
            assert problem["detail"].replace(OTHER, "X") == \
                unknown.json()["detail"].replace("99999999", "X")
            assert api.store.get(OTHER) == before, name
        seen[(name, "full")] = endpoint.success

    # The scoped token lists only its own account, and cannot register others.
    listed = api.call("GET", "/api/v1/accounts", tokens["scoped"]).json()
    assert [item["account_id"] for item in listed["items"]] == [OWN]
    assert_problem(_call(api, ENDPOINTS["register"], tokens["scoped"], OWN), 403,
                   f"limited to account {OWN}")
    everything = api.call("GET", "/api/v1/accounts", tokens["full"]).json()
    assert {OWN, OTHER} <= {item["account_id"] for item in everything["items"]}
    # The launches that were answered 202 reached the launcher, and nothing else did.
    assert [account for account, _, _ in api.launched] == [OTHER, OWN]


def test_a_read_only_token_limited_to_another_account_gets_404_before_403(
        simulated_api: Api) -> None:
    token = simulated_api.token("narrow", account_id=OWN, read_only=True)
    assert_problem(simulated_api.call("PATCH", f"/api/v1/accounts/{OTHER}", token,
                                      json={"label": "x"}), 404)
    assert_problem(simulated_api.call("PATCH", f"/api/v1/accounts/{OWN}", token,
                                      json={"label": "x"}), 403, "read-only")
    assert simulated_api.call("GET", f"/api/v1/accounts/{OWN}", token).status_code == 200


def test_tokens_record_their_last_use(simulated_api: Api) -> None:
    from airbnb_sync.api.tokens import TokenStore

    token = simulated_api.token("tracked")
    store = TokenStore(simulated_api.store.engine)
    assert store.get("tracked").last_used_at is None
    started = datetime.now(UTC)
    simulated_api.call("GET", "/api/v1/accounts", token)
    used = store.get("tracked").last_used_at
    assert used is not None and used >= started - timedelta(seconds=1)


def test_the_docs_page_loads_nothing_from_outside(simulated_api: Api) -> None:
    import re

    page = simulated_api.call("GET", "/api/v1/docs")
    assert page.status_code == 200 and "swagger" in page.text.lower()
    assets = re.findall(r'(?:src|href)="([^"]+)"', page.text)
    assert assets and all(asset.startswith("/api/v1/") for asset in assets), assets
    assert "validatorUrl" in page.text and "https://" not in page.text.replace(
        "https://swagger.io", "")  # a link in a comment, never loaded
    for asset in assets:
        assert simulated_api.call("GET", asset).status_code == 200, asset


def test_an_unexpected_failure_is_a_bare_500_and_logged_with_its_request_id(
        simulated_api: Api, monkeypatch: pytest.MonkeyPatch,
        caplog: pytest.LogCaptureFixture, capsys: pytest.CaptureFixture[str]) -> None:
    def broken(**_: object) -> None:
        raise RuntimeError("canary-internal-detail: a bug")

    monkeypatch.setattr(simulated_api.store, "page", broken)
    response = simulated_api.call("GET", "/api/v1/accounts", simulated_api.token("t"))
    body = assert_problem(response, 500, "request id")
    assert "canary" not in response.text and "RuntimeError" not in response.text
    assert body["request_id"] in body["detail"]
    failed = [record for record in caplog.records if record.levelname == "ERROR"
              and record.name == "airbnb_sync.api"]
    assert failed and failed[0].exc_info and "canary-internal-detail" in str(failed[0].exc_info[1])
    logged = [line for line in capsys.readouterr().err.splitlines()
              if "failed unexpectedly" in line]
    assert logged and f"request_id={body['request_id']}" in logged[0]
