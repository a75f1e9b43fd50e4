"""Errors as RFC 9457 problem details: `application/problem+json` with `type`, `title`,
`status`, `detail` (one sentence that says what was wrong and what to do) and the request id.

Every error of the API goes through here: our own refusals (`Problem`), Starlette's 404/405,
FastAPI's validation errors and anything unexpected (a 500 that says nothing about why; the
log line with the same request id does). No response ever carries a traceback.
"""

from __future__ import annotations

from collections.abc import Mapping
from http import HTTPStatus
from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from starlette.exceptions import HTTPException as StarletteHTTPException

PROBLEM_JSON = "application/problem+json"
REQUEST_ID_HEADER = "X-Request-ID"


class Problem(Exception):
    """An expected refusal: its status, its one-sentence detail, and extra headers."""

    def __init__(self, status: int, detail: str, *,
                 headers: Mapping[str, str] | None = None) -> None:
        super().__init__(detail)
        self.status = status
        self.detail = detail
        self.headers = dict(headers or {})


def problem_body(status: int, detail: str, request_id: str | None) -> dict[str, Any]:
    return {"type": "about:blank", "title": HTTPStatus(status).phrase, "status": status,
            "detail": detail, "request_id": request_id}


def problem_response(status: int, detail: str, request_id: str | None,
                     headers: Mapping[str, str] | None = None) -> JSONResponse:
    return JSONResponse(problem_body(status, detail, request_id), status_code=status,
                        media_type=PROBLEM_JSON, headers=dict(headers or {}))


def _request_id(request: Request) -> str | None:
    return getattr(request.state, "request_id", None)


def _validation_detail(exc: RequestValidationError) -> str:
    """One sentence naming the first wrong field; never the value that was sent."""
    errors = exc.errors()
    if not errors:
        return "the request is invalid: see the OpenAPI document at /api/v1/openapi.json"
    first = errors[0]
    kind = str(first.get("type", ""))
    where = [str(part) for part in first.get("loc", ()) if part != "body"]
    if kind == "json_invalid":
        return "the body is not valid JSON: send a JSON object with Content-Type: " \
               "application/json"
    if not where:
        return "the body must be a JSON object with the fields listed at /api/v1/openapi.json, " \
               "sent with Content-Type: application/json"
    field = ".".join(where)
    message = str(first.get("msg", "is invalid")).rstrip(".")
    if kind == "missing":
        return f"{field} is required: see the OpenAPI document at /api/v1/openapi.json"
    if kind == "extra_forbidden":
        return f"{field} is not a field of this request: see the OpenAPI document at " \
               "/api/v1/openapi.json"
    return f"{field} is invalid ({message[:1].lower()}{message[1:]})"


def install_problem_handlers(app: FastAPI) -> None:
    """Make every error a problem document (unexpected ones: see requests_context)."""

    @app.exception_handler(Problem)
    async def _problem(request: Request, exc: Problem) -> JSONResponse:
        return problem_response(exc.status, exc.detail, _request_id(request), exc.headers)

    @app.exception_handler(StarletteHTTPException)
    async def _http(request: Request, exc: StarletteHTTPException) -> JSONResponse:
        if exc.status_code == 404:
            detail = f"there is no {request.url.path}: the API's paths are listed at " \
                     "/api/v1/openapi.json"
        elif exc.status_code == 405:
            detail = f"{request.url.path} does not accept {request.method}: see " \
                     "/api/v1/openapi.json for its methods"
        else:
            detail = str(exc.detail) if isinstance(exc.detail, str) else \
                HTTPStatus(exc.status_code).phrase
        return problem_response(exc.status_code, detail, _request_id(request),
                                getattr(exc, "headers", None))

    @app.exception_handler(RequestValidationError)
    async def _invalid(request: Request, exc: RequestValidationError) -> JSONResponse:
        json_invalid = any(error.get("type") == "json_invalid" for error in exc.errors())
        return problem_response(400 if json_invalid else 422, _validation_detail(exc),
                                _request_id(request))
