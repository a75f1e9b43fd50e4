"""The account endpoints over real HTTP on every warehouse: keyset pages over 250 accounts,
the auth_status filter, registering from each paste form (the CLI's code), changes, the soft
delete, and the problems of bad parameters."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
import sqlalchemy as sa
from api_helpers import Api, assert_problem
from paste_forms import API_KEY, CURL_FORMS, VERSION, chrome_bash, har

from airbnb_sync.accounts.secrets import cipher_for
from airbnb_sync.simulator import make_cookie
from airbnb_sync.warehouse.tables import accounts

HOST = "58765432"
COUNT = 250


def _seed(api: Api, count: int) -> list[str]:
    """`count` accounts written straight into the table (the store's add is slow by design:
    it checks and encrypts each); a third expired, a third ok. Their credentials are under the
    store's key, as `accounts add` refuses to split accounts across two keys."""
    now = datetime.now(UTC)
    ids = [str(20_000_000 + n * 7) for n in range(count)]
    credentials = cipher_for(api.settings, api.store.engine).encrypt(b"{}").decode("ascii")
    rows = [{"account_id": account, "credentials": credentials, "is_active": n % 5 != 0,
             "auth_status": ("ok", "expired", "unknown")[n % 3], "created_at": now,
             "updated_at": now, "label": f"host {n}",
             "session_stored_at": now - timedelta(hours=n),
             "session_expires_at": now + timedelta(days=n % 10) if n % 2 else None}
            for n, account in enumerate(ids)]
    with api.store.engine.begin() as connection:
        connection.execute(accounts.insert(), rows)
    return sorted(ids)


def _pages(api: Api, token: str, **params: str | int) -> list[list[str]]:
    pages, cursor = [], None
    while True:
        query = {**params, **({"cursor": cursor} if cursor else {})}
        response = api.call("GET", "/api/v1/accounts", token, params=query)
        assert response.status_code == 200, response.text
        body = response.json()
        assert set(body) == {"items", "next"}
        pages.append([item["account_id"] for item in body["items"]])
        cursor = body["next"]
        if cursor is None:
            return pages
        assert len(pages) < 100


def test_pagination_over_250_accounts(api: Api) -> None:
    ids = _seed(api, COUNT)
    token = api.token("pager")
    pages = _pages(api, token, limit=40)
    assert [len(page) for page in pages] == [40] * 6 + [10]
    assert [account for page in pages for account in page] == ids
    # The default page, and the largest one.
    assert [len(page) for page in _pages(api, token)] == [50] * 5
    assert _pages(api, token, limit=200)[0] == ids[:200]
    # A page boundary that lands exactly on the end says there is no next page.
    assert [len(page) for page in _pages(api, token, limit=125)] == [125, 125]
    # An account added behind the cursor meanwhile does not shift the pages.
    first = api.call("GET", "/api/v1/accounts", token, params={"limit": 100}).json()
    api.add_account("10000000")  # sorts before every seeded id
    rest = _pages(api, token, limit=100, cursor=first["next"])
    assert [a for page in rest for a in page] == ids[100:]


def test_the_auth_status_filter_and_the_items(api: Api) -> None:
    ids = _seed(api, 30)
    token = api.token("filter")
    expired = [a for page in _pages(api, token, auth_status="expired", limit=4) for a in page]
    with api.store.engine.connect() as connection:
        stored = sorted(connection.execute(sa.select(accounts.c.account_id).where(
            accounts.c.auth_status == "expired")).scalars())
    assert expired == stored and len(expired) == 10
    item = api.call("GET", f"/api/v1/accounts/{ids[3]}", token).json()
    for key in ("account_id", "label", "auth_status", "active", "last_sync_at",
                "session_age", "session_age_seconds", "session_expires_at",
                "session_stored_at", "session_rotated_at", "customer_id", "deleted"):
        assert key in item, key
    assert item["session_age"] == "3h 0m"
    assert 3 * 3600 <= item["session_age_seconds"] < 3 * 3600 + 120
    assert item["session_expires_at"] is not None and item["active"] is True
    assert "credentials" not in item and "cookies" not in item


@pytest.mark.parametrize("params, phrase", [
    ({"limit": 0}, "limit"), ({"limit": 201}, "limit"), ({"limit": "many"}, "limit"),
    ({"cursor": "not-ours"}, "cursor is invalid"), ({"auth_status": "fine"}, "auth_status"),
])
def test_bad_list_parameters_are_problems(api: Api, params: dict, phrase: str) -> None:
    assert_problem(api.call("GET", "/api/v1/accounts", api.token("t"), params=params), 422,
                   phrase)


@pytest.mark.parametrize("form", ["har", *CURL_FORMS])
def test_register_from_each_paste_form(api: Api, form: str) -> None:
    paste = har(make_cookie(HOST)) if form == "har" else CURL_FORMS[form](make_cookie(HOST))
    token = api.token("registrar")
    response = api.call("POST", "/api/v1/accounts", token,
                        json={"paste": paste, "label": "Cabins"})
    assert response.status_code == 201, response.text
    assert response.headers["Location"] == f"/api/v1/accounts/{HOST}"
    body = response.json()
    assert (body["account_id"], body["label"], body["auth_status"]) == (HOST, "Cabins",
                                                                         "unknown")
    session = api.store.session(HOST)
    assert session.x_client_version == VERSION and session.api_key == API_KEY
    assert "bev" not in session.cookies  # tracking cookies are not kept, as with the CLI
    # Registering it again is a conflict that names what to do instead.
    again = api.call("POST", "/api/v1/accounts", token, json={"paste": paste})
    assert_problem(again, 409, f"account {HOST} already exists",
                   f"/api/v1/accounts/{HOST}/session")


def test_change_and_soft_delete(api: Api) -> None:
    token = api.token("editor")
    api.add_account(HOST, label="before")
    url = f"/api/v1/accounts/{HOST}"
    changed = api.call("PATCH", url, token, json={
        "label": "after", "customer_id": "123e4567-e89b-12d3-a456-426614174000",
        "active": False}).json()
    assert (changed["label"], changed["customer_id"], changed["active"]) == (
        "after", "123e4567-e89b-12d3-a456-426614174000", False)
    cleared = api.call("PATCH", url, token, json={"label": None, "customer_id": ""}).json()
    assert (cleared["label"], cleared["customer_id"], cleared["active"]) == (None, None, False)
    assert_problem(api.call("PATCH", url, token, json={}), 422, "nothing to change")
    assert_problem(api.call("PATCH", url, token, json={"customer_id": "nope"}), 422,
                   "customer id")
    assert_problem(api.call("PATCH", url, token, json={"labl": "typo"}), 422, "labl")
    assert_problem(api.call("PATCH", url, token, json={"active": "maybe"}), 422, "active")

    deleted = api.call("DELETE", url, token)
    assert deleted.status_code == 200 and deleted.json()["deleted"] is True
    record = api.store.get(HOST)
    assert record.is_deleted and not record.is_active
    assert api.store.credentials_summary(HOST).cookie_count  # soft: the session is kept
    listed = api.call("GET", "/api/v1/accounts", token).json()["items"]
    assert HOST not in [item["account_id"] for item in listed]
    assert api.call("GET", url, token).json()["deleted"] is True
    restored = api.call("PATCH", url, token, json={"active": True}).json()
    assert (restored["active"], restored["deleted"]) == (True, False)


def test_the_body_must_be_json(api: Api) -> None:
    token = api.token("sender")
    assert_problem(api.call("POST", "/api/v1/accounts", token, data="{not json",
                            headers={"Content-Type": "application/json"}), 400, "not valid JSON")
    assert_problem(api.call("POST", "/api/v1/accounts", token, json=["a list"]), 422,
                   "JSON object")
    assert_problem(api.call("POST", "/api/v1/accounts", token, json={}), 422,
                   "paste is required")
    assert_problem(api.call("POST", "/api/v1/accounts", token,
                            json={"paste": chrome_bash(make_cookie(HOST)), "label": "x\ny"}),
                   422, "label is invalid")
    assert api.store.list() == []
