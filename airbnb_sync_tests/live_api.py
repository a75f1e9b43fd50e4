"""The REST API over real HTTP for browser tests: `create_app` served by uvicorn on a free
loopback port, on a thread of the test process, the way `airbnb-sync api serve` serves it."""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager

import uvicorn
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from airbnb_sync.api.app import create_app
from airbnb_sync.core.settings import Settings


class RecordingApp:
    """Keeps the raw body of every request, to check what reached the server."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app
        self.bodies: list[tuple[str, bytes]] = []

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        chunks: list[bytes] = []

        async def recording_receive() -> Message:
            message = await receive()
            if message["type"] == "http.request":
                chunks.append(message.get("body", b""))
                if not message.get("more_body"):
                    self.bodies.append((scope["path"], b"".join(chunks)))
            return message

        await self.app(scope, recording_receive, send)


@contextmanager
def live_api(settings: Settings, **app_options: object) -> Iterator[tuple[str, RecordingApp]]:
    """The API's base URL (no trailing slash) and the recorder of what it received."""
    app = RecordingApp(create_app(settings, **app_options))  # type: ignore[arg-type]
    server = uvicorn.Server(uvicorn.Config(app, host="127.0.0.1", port=0, log_config=None,
                                           access_log=False, lifespan="off"))
    thread = threading.Thread(target=server.run, name="live-api", daemon=True)
    thread.start()
    deadline = time.monotonic() + 20
    while not server.started:
        if time.monotonic() > deadline or not thread.is_alive():
            raise RuntimeError("the API did not start")
        time.sleep(0.02)
    port = server.servers[0].sockets[0].getsockname()[1]
    try:
        yield f"http://127.0.0.1:{port}", app
    finally:
        server.should_exit = True
        thread.join(timeout=10)
