"""Session cookies: every paste format, the authentication subset, and whose session it is."""

from __future__ import annotations

import json
import re
from urllib.parse import quote

import pytest

from airbnb_sync.airbnb.cookies import (
    AUTH_COOKIES,
    InvalidCookie,
    SessionCookies,
    cookie_header,
    parse_cookie_text,
    session_cookies_for,
    user_id,
)
from airbnb_sync.simulator import make_cookie

ACCOUNT = "41234567"
TRACKING = ("bev", "_ga", "cdn_exp_0d2d7e4f0ab3")


@pytest.fixture
def browser_cookie() -> str:
    return make_cookie(ACCOUNT)


@pytest.fixture
def all_cookies(browser_cookie: str) -> dict[str, str]:
    return parse_cookie_text(browser_cookie)


def _encoded(attributes: dict[str, object]) -> str:
    return quote(json.dumps(attributes, separators=(",", ":")), safe="")


def _without(cookies: dict[str, str], *names: str) -> str:
    return cookie_header({k: v for k, v in cookies.items() if k not in names})


def test_header_form_keeps_values_with_equals_signs() -> None:
    assert parse_cookie_text("a=1; b=x=y;c=") == {"a": "1", "b": "x=y", "c": ""}


def test_header_form_skips_parts_without_a_value() -> None:
    assert parse_cookie_text("a=1; HttpOnly; ; b=2") == {"a": "1", "b": "2"}


@pytest.mark.parametrize("prefix", ["Cookie: ", "cookie:", "COOKIE:   "])
def test_cookie_prefix_is_dropped(prefix: str, all_cookies: dict[str, str],
                                  browser_cookie: str) -> None:
    assert parse_cookie_text(prefix + browser_cookie) == all_cookies


def test_header_split_over_lines(all_cookies: dict[str, str]) -> None:
    text = "\n".join(f"{k}={v}" for k, v in all_cookies.items())
    assert parse_cookie_text(f"\n{text}\n") == all_cookies


def test_browser_cookie_has_every_pair(all_cookies: dict[str, str]) -> None:
    assert set(all_cookies) == set(AUTH_COOKIES) | set(TRACKING)


def test_json_list_export(all_cookies: dict[str, str]) -> None:
    export = [{"domain": ".airbnb.com", "name": k, "value": v, "httpOnly": True}
              for k, v in all_cookies.items()]
    assert parse_cookie_text(json.dumps(export, indent=2)) == all_cookies


def test_json_object_export(all_cookies: dict[str, str]) -> None:
    assert parse_cookie_text(json.dumps(all_cookies)) == all_cookies


def test_json_exports_give_the_same_session_as_the_header(
        all_cookies: dict[str, str], browser_cookie: str) -> None:
    from_header = session_cookies_for(ACCOUNT, browser_cookie)
    as_list = json.dumps([{"name": k, "value": v} for k, v in all_cookies.items()])
    assert session_cookies_for(ACCOUNT, as_list) == from_header
    assert session_cookies_for(ACCOUNT, json.dumps(all_cookies)) == from_header


@pytest.mark.parametrize("text", ['[{"name": "_aat", "value": "tok', '{"_aat": tok}', "[,]"])
def test_invalid_json_is_refused_without_repeating_it(text: str) -> None:
    with pytest.raises(InvalidCookie, match="not valid JSON") as caught:
        parse_cookie_text(text)
    assert "tok" not in str(caught.value)


@pytest.mark.parametrize("text", ['["_aat=1"]', '[{"name": "_aat"}]', '[{"value": "1"}]'])
def test_json_list_of_other_things_is_refused(text: str) -> None:
    with pytest.raises(InvalidCookie, match=re.escape("list of {name, value} objects")):
        parse_cookie_text(text)


@pytest.mark.parametrize("text", ["", "   ", "\n\t\n"])
def test_empty_cookie_is_refused(text: str) -> None:
    with pytest.raises(InvalidCookie, match="empty"):
        parse_cookie_text(text)


@pytest.mark.parametrize("text", ["Cookie:", "just some words", "a; b; c"])
def test_text_without_pairs_is_refused(text: str) -> None:
    with pytest.raises(InvalidCookie, match="no name=value pairs"):
        parse_cookie_text(text)


def test_only_authentication_cookies_are_kept(all_cookies: dict[str, str],
                                              browser_cookie: str) -> None:
    kept = session_cookies_for(ACCOUNT, browser_cookie)
    assert set(kept) == set(AUTH_COOKIES)
    assert kept == {name: all_cookies[name] for name in AUTH_COOKIES}
    assert SessionCookies(all_cookies) == kept
    assert not set(TRACKING) & set(kept)


def test_session_cookies_of_a_partial_cookie() -> None:
    assert SessionCookies({"_aat": "t", "_ga": "g", "li": "1"}) == {"_aat": "t", "li": "1"}


def test_user_id_from_id_str(all_cookies: dict[str, str]) -> None:
    assert user_id(all_cookies) == ACCOUNT


def test_user_id_from_numeric_id() -> None:
    assert user_id({"_user_attributes": _encoded({"id": 987654, "curr": "EUR"})}) == "987654"


def test_user_id_prefers_id_str() -> None:
    attributes = _encoded({"id": 1, "id_str": "123456789012345678"})
    assert user_id({"_user_attributes": attributes}) == "123456789012345678"


def test_user_id_from_unencoded_json() -> None:
    assert user_id({"_user_attributes": '{"id_str":"55"}'}) == "55"


def test_user_id_from_a_quoted_value() -> None:
    quoted = '"' + _encoded({"id_str": "77"}) + '"'
    assert user_id({"_user_attributes": quoted}) == "77"


@pytest.mark.parametrize("raw", [_encoded({"curr": "USD"}), _encoded([1, 2]), "%7Bnot json",
                                 "", _encoded("41234567")])
def test_user_id_absent(raw: str) -> None:
    assert user_id({"_user_attributes": raw}) is None


def test_user_id_without_the_cookie() -> None:
    assert user_id({"_aat": "t"}) is None


def test_cookie_of_another_user_names_both_ids(browser_cookie: str) -> None:
    with pytest.raises(InvalidCookie) as caught:
        session_cookies_for("99887766", browser_cookie)
    message = str(caught.value)
    assert ACCOUNT in message
    assert "99887766" in message


@pytest.mark.parametrize(("dropped", "named"), [
    (("_aat",), "lacks _aat:"),
    (("_user_attributes",), "lacks _user_attributes:"),
    (("_aat", "_user_attributes"), "lacks _aat, _user_attributes:"),
])
def test_missing_required_cookie_is_named(all_cookies: dict[str, str], dropped: tuple[str, ...],
                                          named: str) -> None:
    with pytest.raises(InvalidCookie, match=named):
        session_cookies_for(ACCOUNT, _without(all_cookies, *dropped))


def test_tracking_cookies_alone_are_not_a_session() -> None:
    with pytest.raises(InvalidCookie, match="lacks _aat, _user_attributes"):
        session_cookies_for(ACCOUNT, "_ga=GA1.1.1; bev=1700000000_x")


def test_user_attributes_without_an_id_is_refused(all_cookies: dict[str, str]) -> None:
    cookies = {**all_cookies, "_user_attributes": _encoded({"curr": "USD"})}
    with pytest.raises(InvalidCookie, match="no user id"):
        session_cookies_for(ACCOUNT, cookie_header(cookies))


def test_errors_never_repeat_session_tokens(all_cookies: dict[str, str]) -> None:
    other = make_cookie("99887766")
    tokens = [all_cookies[name] for name in ("_aat", "_aaj", "_airbed_session_id", "_pt")]
    tokens.append(parse_cookie_text(other)["_aat"])
    texts = [_without(all_cookies, "_user_attributes"), _without(all_cookies, "_aat"), other,
             cookie_header({**all_cookies, "_user_attributes": _encoded({})})]
    for text in texts:
        with pytest.raises(InvalidCookie) as caught:
            session_cookies_for(ACCOUNT, text)
        assert not [token for token in tokens if token in str(caught.value)]


def test_cookie_header_format() -> None:
    assert cookie_header({"_aat": "t", "li": "1"}) == "_aat=t; li=1"


def test_cookie_header_round_trip(browser_cookie: str) -> None:
    session = session_cookies_for(ACCOUNT, browser_cookie)
    header = cookie_header(session)
    assert parse_cookie_text(header) == session
    assert session_cookies_for(ACCOUNT, header) == session
    assert session_cookies_for(ACCOUNT, "Cookie: " + header) == session
