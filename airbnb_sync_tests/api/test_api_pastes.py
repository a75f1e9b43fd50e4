"""Every bad paste the CLI refuses (bad_pastes.py, shared with cli/test_cli_paste.py) is
refused by the API too, as a 422 problem with the same sentence, on registration and on a
session post, and nothing stored changes (the whole warehouse is compared)."""

from __future__ import annotations

from typing import Any

import pytest
import sqlalchemy as sa
from api_helpers import Api, assert_problem
from bad_pastes import BAD_PASTES, COOKIE, HOST, OTHER
from paste_forms import chrome_bash, har

from airbnb_sync.simulator import make_cookie
from airbnb_sync.warehouse.tables import metadata


def dump(api: Api) -> dict[str, list[Any]]:
    with api.store.engine.connect() as connection:
        return {table.name: sorted(map(tuple, connection.execute(sa.select(table))), key=repr)
                for table in metadata.sorted_tables if table.name != "api_tokens"}


@pytest.fixture
def known(api: Api) -> Api:
    api.add_account(OTHER, label="known")
    return api


@pytest.mark.parametrize("case", sorted(BAD_PASTES))
def test_a_bad_paste_is_refused_on_registration_and_on_a_session_post(known: Api,
                                                                      case: str) -> None:
    paste = BAD_PASTES[case]
    token = known.token("t")
    before = dump(known)
    registered = known.call("POST", "/api/v1/accounts", token, json={"paste": paste.text})
    assert_problem(registered, 422, paste.reason)
    if case != "missing header":  # a fresh session keeps the stored X-Client-Version
        session = known.call("POST", f"/api/v1/accounts/{OTHER}/session", token,
                             json={"paste": paste.text})
        assert_problem(session, 422, paste.reason)
    assert dump(known) == before


def test_another_users_paste_is_refused_for_an_account(known: Api) -> None:
    token = known.token("t")
    before = dump(known)
    for text in (chrome_bash(COOKIE), har(COOKIE)):
        refused = known.call("POST", f"/api/v1/accounts/{OTHER}/session", token,
                             json={"paste": text})
        assert_problem(refused, 422, f"belongs to Airbnb user {HOST}, not to account {OTHER}")
    assert dump(known) == before
    accepted = known.call("POST", f"/api/v1/accounts/{OTHER}/session", token,
                          json={"paste": chrome_bash(make_cookie(OTHER))})
    assert accepted.status_code == 200, accepted.text
