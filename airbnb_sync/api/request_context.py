"""Every request gets an id: the `X-Request-ID` header of its response, and the `request_id`
of every log line written while it is served (core/logs.py), so an answer can be matched with
its log lines. A client's own X-Request-ID is kept when it is a plain token (letters, digits,
'-', '_', '.', at most 64), so a proxy's id carries through; anything else is replaced.

Every answer also says `Cache-Control: no-store` (unless a route chose otherwise) and
`X-Content-Type-Options: nosniff`. One access line per request (method, path, status,
duration; never a header, a query or a body), and anything unexpected becomes a 500 problem
that says nothing about why, while the log line with the same id keeps the traceback
(scrubbed of secrets like every line).
"""

from __future__ import annotations

import logging
import re
import time
import uuid

from starlette.types import ASGIApp, Message, Receive, Scope, Send

from airbnb_sync.api.problems import REQUEST_ID_HEADER, problem_body
from airbnb_sync.core.logs import log_context

logger = logging.getLogger("airbnb_sync.api")
_CLIENT_ID = re.compile(r"[A-Za-z0-9._-]{1,64}")
_HEADER = REQUEST_ID_HEADER.lower().encode()
_SAFETY_HEADERS = ((b"cache-control", b"no-store"), (b"x-content-type-options", b"nosniff"))


def _request_id(scope: Scope) -> str:
    for name, value in scope.get("headers") or []:
        if name == _HEADER:
            text = value.decode("latin-1")
            if _CLIENT_ID.fullmatch(text):
                return text
    return uuid.uuid4().hex


class RequestContextMiddleware:
    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        request_id = _request_id(scope)
        scope.setdefault("state", {})["request_id"] = request_id
        started = time.monotonic()
        status = 500
        response_started = False

        async def send_with_id(message: Message) -> None:
            nonlocal status, response_started
            if message["type"] == "http.response.start":
                response_started = True
                status = message["status"]
                headers = [(name, value) for name, value in message.get("headers", [])
                           if name != _HEADER]
                present = {name.lower() for name, _ in headers}
                headers.append((_HEADER, request_id.encode()))
                # Account data is nobody's to cache, and no answer is to be sniffed as HTML.
                headers.extend((name, value) for name, value in _SAFETY_HEADERS
                               if name not in present)
                message = {**message, "headers": headers}
            await send(message)

        with log_context(request_id=request_id):
            try:
                await self.app(scope, receive, send_with_id)
            except Exception:
                logger.exception("%s %s failed unexpectedly", scope.get("method"),
                                  scope.get("path"))
                if not response_started:
                    await _internal_error(request_id, send_with_id)
            finally:
                logger.info("%s %s %s %.0f ms", scope.get("method"), scope.get("path"), status,
                            (time.monotonic() - started) * 1000)


async def _internal_error(request_id: str, send: Send) -> None:
    import json

    body = json.dumps(problem_body(
        500, f"the server failed unexpectedly: nothing about it is shown here; the operator "
             f"finds it in the API's log under request id {request_id}", request_id)).encode()
    await send({"type": "http.response.start", "status": 500,
                "headers": [(b"content-type", b"application/problem+json"),
                            (b"content-length", str(len(body)).encode())]})
    await send({"type": "http.response.body", "body": body})
