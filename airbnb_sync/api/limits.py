"""The API's two limits: the size of a request body, and how often one token may post a
session or a sync.

Bodies: at most `MAX_BODY_BYTES` (16 MiB). A HAR of the Insights page alone is a few hundred
kilobytes to a few megabytes; 16 MiB leaves room for a long recording while keeping one
request's memory bounded. A declared Content-Length over the limit is refused before a byte
is read; a body sent without one (chunked) is counted as it arrives and refused as soon as it
passes the limit, so the server never holds more than the limit.

Posts: `RATE_LIMIT` session and sync posts per token per `RATE_WINDOW` seconds, counted in a
sliding window in this process (the API runs as one process). A browser companion posts once
every few hours and a person launches a sync now and then; a client in a loop gets 429 with
Retry-After instead of hammering Airbnb (a check or a sync talks to it) or Dagster's queue.
"""

from __future__ import annotations

import math
import threading
import time
from collections import deque
from collections.abc import Callable

from starlette.types import ASGIApp, Message, Receive, Scope, Send

from airbnb_sync.api.problems import problem_body

MAX_BODY_BYTES = 16 << 20
RATE_LIMIT = 10
RATE_WINDOW = 60.0


class BodyTooLarge(Exception):
    pass


def _too_large_detail(limit: int) -> str:
    return (f"the request body is larger than {limit} bytes ({limit >> 20} MiB): send one "
            "request's paste, or a HAR of the Insights page alone")


class BodyLimitMiddleware:
    """Refuse bodies over `limit` bytes with 413, without reading more than the limit."""

    def __init__(self, app: ASGIApp, limit: int = MAX_BODY_BYTES) -> None:
        self.app = app
        self.limit = limit

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        declared = dict(scope.get("headers") or []).get(b"content-length")
        if declared is not None and declared.isdigit() and int(declared) > self.limit:
            await self._refuse(scope, send)
            return
        received = 0
        exceeded = False
        started = False

        async def counted_receive() -> Message:
            nonlocal received, exceeded
            message = await receive()
            if message["type"] == "http.request":
                received += len(message.get("body", b""))
                if received > self.limit:
                    exceeded = True
                    raise BodyTooLarge()
            return message

        async def guarded_send(message: Message) -> None:
            nonlocal started
            if exceeded:  # the app's answer to a body it never got whole is dropped
                return
            if message["type"] == "http.response.start":
                started = True
            await send(message)

        try:
            await self.app(scope, counted_receive, guarded_send)
        except BodyTooLarge:
            pass
        except Exception:
            if not exceeded:
                raise
        if exceeded and not started:
            await self._refuse(scope, send)

    async def _refuse(self, scope: Scope, send: Send) -> None:
        import json

        request_id = scope.get("state", {}).get("request_id")
        body = json.dumps(problem_body(413, _too_large_detail(self.limit), request_id)).encode()
        await send({"type": "http.response.start", "status": 413,
                    "headers": [(b"content-type", b"application/problem+json"),
                                (b"content-length", str(len(body)).encode()),
                                (b"connection", b"close")]})
        await send({"type": "http.response.body", "body": body})


class RateLimiter:
    """At most `limit` events per key in any `window` seconds (a sliding window)."""

    def __init__(self, limit: int = RATE_LIMIT, window: float = RATE_WINDOW,
                 clock: Callable[[], float] = time.monotonic) -> None:
        self.limit = limit
        self.window = window
        self._clock = clock
        self._events: dict[str, deque[float]] = {}
        self._lock = threading.Lock()

    def acquire(self, key: str) -> int | None:
        """Count one event; None when allowed, else the seconds until one more is."""
        now = self._clock()
        with self._lock:
            events = self._events.setdefault(key, deque())
            while events and events[0] <= now - self.window:
                events.popleft()
            if len(events) >= self.limit:
                return max(1, math.ceil(events[0] + self.window - now))
            events.append(now)
            return None
