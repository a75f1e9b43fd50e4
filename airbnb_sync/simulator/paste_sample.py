"""A simulated host's "Copy as cURL (bash)", as Chrome writes it, for the demo and tests.

It is what a user would paste into `airbnb-sync accounts add --from-curl -`: a ChartQuery
request to Airbnb's address with the host's whole Cookie header (tracking cookies too),
the browser's User-Agent, X-Client-Version and X-Airbnb-API-Key.
"""

from __future__ import annotations

import json
import shlex

from airbnb_sync.airbnb.operations import DEFAULT_HASHES, Operation
from airbnb_sync.simulator.cookies import make_cookie

SAMPLE_CLIENT_VERSION = "0123456789abcdef0123456789abcdef01234567"
SAMPLE_USER_AGENT = ("Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) "
                     "Chrome/131.0.0.0 Safari/537.36")


def sample_curl(account_id: str, api_key: str | None,
                base_url: str = "https://www.airbnb.com") -> str:
    operation = Operation.CHART
    url = (f"{base_url}/api/v3/{operation.value}/{DEFAULT_HASHES[operation]}"
           f"?operationName={operation.value}&locale=en&currency=USD")
    body = json.dumps({"operationName": operation.value, "variables": {}, "extensions": {}},
                      separators=(",", ":"))
    headers = [
        ("accept", "*/*"),
        ("accept-language", "en-US,en;q=0.9"),
        ("content-type", "application/json"),
        ("cookie", make_cookie(account_id)),
        ("origin", base_url),
        ("user-agent", SAMPLE_USER_AGENT),
        ("x-airbnb-api-key", api_key),
        ("x-airbnb-graphql-platform", "web"),
        ("x-client-version", SAMPLE_CLIENT_VERSION),
    ]
    lines = [f"curl {shlex.quote(url)}"]
    lines += [f"  -H {shlex.quote(f'{name}: {value}')}" for name, value in headers
              if value is not None]
    lines.append(f"  --data-raw {shlex.quote(body)}")
    return " \\\n".join(lines)
