"""The companion's files as shipped: two manifests that ask for the same little (cookies, and
host access to airbnb.com; the server's origin only when the user allows it), every file they
name exists, and nothing loads or runs code from elsewhere."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest

COMPANION = Path(__file__).resolve().parents[2] / "companion"
CHROMIUM = json.loads((COMPANION / "manifest.json").read_text())
FIREFOX = json.loads((COMPANION / "manifest.firefox.json").read_text())
CODE = sorted(COMPANION.glob("*.js")) + sorted(COMPANION.glob("*.html"))


@pytest.mark.parametrize("manifest", [CHROMIUM, FIREFOX], ids=["chromium", "firefox"])
def test_the_manifests_ask_for_cookies_and_airbnb_only(manifest: dict) -> None:
    assert manifest["manifest_version"] == 3
    assert manifest["permissions"] == ["cookies"]
    assert manifest["host_permissions"] == ["https://*.airbnb.com/*"]
    # The server's origin is asked for on the options page, for that origin alone.
    assert manifest["optional_host_permissions"] == ["https://*/*", "http://*/*"]
    assert "content_scripts" not in manifest and "web_accessible_resources" not in manifest
    policy = manifest["content_security_policy"]["extension_pages"]
    assert "script-src 'self';" in policy and "unsafe" not in policy
    for page in (manifest["action"]["default_popup"], manifest["options_ui"]["page"]):
        assert (COMPANION / page).is_file()


def test_firefox_differs_only_where_it_must() -> None:
    assert CHROMIUM["background"] == {"service_worker": "background.js", "type": "module"}
    assert FIREFOX["background"] == {"scripts": ["background.js"], "type": "module"}
    assert FIREFOX["browser_specific_settings"]["gecko"]["id"]
    same = {key: value for key, value in CHROMIUM.items()
            if key not in ("background", "minimum_chrome_version")}
    assert {key: FIREFOX[key] for key in same} == same


def test_no_remote_code_and_no_analytics() -> None:
    for path in CODE:
        text = path.read_text()
        assert not re.search(r"\beval\(|new Function\(|importScripts\(", text), path
        assert not re.search(r"""(src|href)=["']?(https?:)?//""", text), path
        if path.suffix == ".js":  # the pages may say "no analytics"; no script may use any
            for word in ("analytics", "gtag", "sentry", "mixpanel", "segment.io"):
                assert word not in text.lower(), (path, word)
    imported = {name for path in COMPANION.glob("*.js")
                for name in re.findall(r'from "\./([a-z]+\.js)"', path.read_text())}
    assert imported and all((COMPANION / name).is_file() for name in imported)


def test_the_cookie_names_are_the_servers() -> None:
    from airbnb_sync.airbnb.cookies import AUTH_COOKIES, REQUIRED_COOKIES

    source = (COMPANION / "airbnb.js").read_text()
    listed = re.search(r"AUTH_COOKIES = \[(.*?)\];", source, re.DOTALL)
    assert listed and re.findall(r'"([^"]+)"', listed.group(1)) == list(AUTH_COOKIES)
    signed_in = re.search(r"SIGNED_IN_COOKIES = \[(.*?)\];", source, re.DOTALL)
    assert signed_in and re.findall(r'"([^"]+)"', signed_in.group(1)) == list(REQUIRED_COOKIES)
