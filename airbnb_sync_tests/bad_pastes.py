"""Pastes that must be refused, with a phrase of the one-line refusal: shared by the CLI's
paste tests (cli/test_cli_paste.py, `accounts add --from-curl/--from-har`) and the REST API's
(api/test_api_pastes.py, `POST /api/v1/accounts`), which run the same code and must refuse
alike. Besides the everyday mistakes, the hostile input of cli/test_hostile_input.py in paste
form: JSON nested far beyond Python's recursion limit, in a HAR and in `_user_attributes`.
"""

from __future__ import annotations

from dataclasses import dataclass
from urllib.parse import quote

from paste_forms import VERSION, chrome_bash, chrome_cmd, chrome_powershell, har

from airbnb_sync.simulator import make_cookie

HOST = "58765432"
OTHER = "41234567"
COOKIE = make_cookie(HOST)
DEPTH = 100_000  # as in cli/test_hostile_input.py: far beyond Python's recursion limit


@dataclass(frozen=True)
class BadPaste:
    kind: str  # "curl" or "har": the CLI's --from-curl or --from-har
    text: str
    reason: str  # a phrase of the refusal


def _nested_attributes(opening: str, closing: str, middle: str = "") -> str:
    """A curl paste whose _user_attributes nests DEPTH / 4 levels (within the 1 MiB a curl
    paste may have, quoted)."""
    nested = quote(opening * (DEPTH // 4) + middle + closing * (DEPTH // 4))
    return chrome_bash(f"_aat=Hz9cookieSecretValue; _user_attributes={nested}")


BAD_PASTES: dict[str, BadPaste] = {
    "empty": BadPaste("curl", "\n", "the paste is empty"),
    "truncated": BadPaste("curl", chrome_bash(COOKIE)[:400], "truncated"),
    "not airbnb": BadPaste("curl", chrome_bash(COOKIE).replace("www.airbnb.com", "example.org"),
                           "not a request to Airbnb's /api/v3/"),
    "a host that only starts like airbnb's": BadPaste(
        "curl", chrome_bash(COOKIE).replace("www.airbnb.com", "www.airbnb.com.example.org"),
        "not a request to Airbnb's /api/v3/"),
    "no session cookies": BadPaste("curl", chrome_bash("bev=1; _ga=2"), "no session cookies"),
    "missing header": BadPaste("curl", chrome_bash(COOKIE).replace(
        f"-H 'x-client-version: {VERSION}'", ""), "no X-Client-Version header"),
    "har with cookies stripped": BadPaste("har", har(None), "Export HAR (with sensitive data)"),
    "har truncated": BadPaste("har", har(COOKIE)[:-40], "not valid JSON"),
    "cmd form": BadPaste("curl", chrome_cmd(COOKIE), "Copy as cURL (bash)"),
    "powershell form": BadPaste("curl", chrome_powershell(COOKIE), "Copy as cURL (bash)"),
    "nested JSON list in _user_attributes": BadPaste(
        "curl", _nested_attributes("[", "]"), "_user_attributes"),
    "nested JSON object in _user_attributes": BadPaste(
        "curl", _nested_attributes('{"a":', "}", middle="1"), "_user_attributes"),
    "har nested too deeply": BadPaste("har", '{"log":' * DEPTH + "1" + "}" * DEPTH,
                                      "nested too deeply"),
}
