"""The REST API's part of `airbnb-sync demo`: a token made for the demo, the API served for a
moment, and the one `curl` call that lists the demo accounts, run for real and answered.

Earlier demo tokens are revoked, so running the demo again leaves one valid demo token.
"""

from __future__ import annotations

import json
import secrets
import shlex
import shutil
import socket
import subprocess
import threading
import time
from datetime import UTC, datetime

from airbnb_sync.core.settings import Settings

DEMO_TOKEN_PREFIX = "demo-"
PREFERRED_PORT = 8080
SHOWN_FIELDS = ("account_id", "label", "auth_status", "active", "last_sync_at", "session_age",
                "session_expires_at")


def _port() -> int:
    """8080 (`api serve`'s default) when it is free, else any free port."""
    for candidate in (PREFERRED_PORT, 0):
        with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
            try:
                sock.bind(("127.0.0.1", candidate))
            except OSError:
                continue
            return int(sock.getsockname()[1])
    raise OSError("no free port on 127.0.0.1")


def _demo_token(settings: Settings) -> tuple[str, str]:
    from airbnb_sync.accounts.store import open_store
    from airbnb_sync.api.tokens import TokenStore

    tokens = TokenStore(open_store(settings).engine)
    for record in tokens.list():
        if record.name.startswith(DEMO_TOKEN_PREFIX) and record.revoked_at is None:
            tokens.revoke(record.name)
    record, token = tokens.create(f"{DEMO_TOKEN_PREFIX}{datetime.now(UTC):%Y%m%d-%H%M%S}-"
                                  f"{secrets.token_hex(2)}")
    return record.name, token


def _list_accounts(command: list[str], url: str, token: str) -> dict[str, object]:
    """What the curl command prints; with requests (the same request) when there is no curl."""
    if shutil.which("curl"):
        done = subprocess.run(command, capture_output=True, text=True, timeout=60, check=True)
        return json.loads(done.stdout)
    import requests

    return requests.get(url, headers={"Authorization": f"Bearer {token}"}, timeout=60).json()


def show_api(settings: Settings) -> None:
    import uvicorn

    from airbnb_sync.api.app import create_app

    name, token = _demo_token(settings)
    port = _port()
    url = f"http://127.0.0.1:{port}/api/v1/accounts"
    command = ["curl", "-s", "-H", f"Authorization: Bearer {token}", url]
    print("\nThe REST API (README: REST API), with a token made for the demo:")
    print(f"$ airbnb-sync api token create --name {name}")
    print(token)
    print(f"$ airbnb-sync api serve --port {port} &")
    print(f"$ {shlex.join(command)}")
    server = uvicorn.Server(uvicorn.Config(create_app(settings), host="127.0.0.1", port=port,
                                           log_config=None, access_log=False, lifespan="off"))
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    try:
        deadline = time.monotonic() + 60
        while not server.started:
            if not thread.is_alive() or time.monotonic() > deadline:
                raise RuntimeError("the demo's API server did not start")
            time.sleep(0.05)
        answer = _list_accounts(command, url, token)
    finally:
        server.should_exit = True
        thread.join(timeout=30)
    items = answer.get("items") or []
    print(f"  ({len(items)} accounts, next: {json.dumps(answer.get('next'))}; each item "
          "shortened to these fields)")
    for item in items:  # type: ignore[union-attr]
        print("  " + json.dumps({key: item.get(key) for key in SHOWN_FIELDS}))
