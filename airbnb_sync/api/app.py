"""The REST API's application: `create_app(settings)` builds it, `airbnb-sync api serve` runs
it with uvicorn, and tests run the same app over real HTTP.

Everything lives under `/api/v1` (the proxy passes `/api/` through to the `api` service):
`health` (no token), `openapi.json` and the interactive `docs` page, and the account routes.
The docs page is served with its Swagger UI assets from the `fastapi-offline` package, not
from a CDN: the API then loads nothing from outside, like the invite page. Another router is
mounted with `app.include_router(router, prefix=API_PREFIX)`, using the dependencies of
`api.auth` (see /work/coord notes and docs/ARCHITECTURE.md).
"""

from __future__ import annotations

from importlib.metadata import version

from fastapi import APIRouter, FastAPI
from fastapi_offline import FastAPIOffline

from airbnb_sync.accounts.store import AccountStore
from airbnb_sync.api.context import ApiContext, LaunchSync
from airbnb_sync.api.limits import MAX_BODY_BYTES, BodyLimitMiddleware, RateLimiter
from airbnb_sync.api.models import Health
from airbnb_sync.api.problems import install_problem_handlers
from airbnb_sync.api.request_context import RequestContextMiddleware
from airbnb_sync.api.routes import accounts, invites, sessions, sync
from airbnb_sync.api.tokens import TokenStore
from airbnb_sync.core.settings import Settings

API_PREFIX = "/api/v1"
DESCRIPTION = (
    "Accounts and their sessions. Every endpoint but `health` needs a bearer token from "
    "`airbnb-sync api token create`. Errors are RFC 9457 problem details. Request bodies are "
    f"limited to {MAX_BODY_BYTES >> 20} MiB; session and sync posts to 10 a minute per token.")


def _default_launcher(settings: Settings) -> LaunchSync:
    def launch(account_id, first_week, last_week):  # type: ignore[no-untyped-def]
        from airbnb_sync.defs.graphql_runs import launch_sync_run

        return launch_sync_run(settings.dagster_url, account_id, first_week, last_week)

    return launch


def create_app(settings: Settings, *, store: AccountStore | None = None,
               launch_sync: LaunchSync | None = None,
               rate_limiter: RateLimiter | None = None) -> FastAPI:
    """The app on the configured warehouse (brought to the schema head)."""
    if store is None:
        from airbnb_sync.accounts.store import open_store

        store = open_store(settings)
    app = FastAPIOffline(
        title="airbnb-sync", version=version("airbnb-sync"), description=DESCRIPTION,
        openapi_url=f"{API_PREFIX}/openapi.json", docs_url=f"{API_PREFIX}/docs",
        redoc_url=None, static_url=f"{API_PREFIX}/docs/static",
        swagger_ui_parameters={"validatorUrl": None},
        swagger_ui_oauth2_redirect_url=f"{API_PREFIX}/docs/oauth2-redirect",
    )
    app.state.api_context = ApiContext(
        settings=settings, store=store, tokens=TokenStore(store.engine),
        rate_limiter=rate_limiter or RateLimiter(),
        launch_sync=launch_sync or _default_launcher(settings))
    install_problem_handlers(app)
    app.add_middleware(BodyLimitMiddleware, limit=MAX_BODY_BYTES)
    app.add_middleware(RequestContextMiddleware)  # outermost: every answer carries the id

    root = APIRouter(prefix=API_PREFIX)

    @root.get("/health", response_model=Health, tags=["health"],
              summary="Whether the API is up (no token needed)")
    def health() -> dict[str, str]:
        return {"status": "ok", "version": version("airbnb-sync")}

    root.include_router(accounts.router)
    root.include_router(sessions.router)
    root.include_router(sync.router)
    root.include_router(invites.router)
    app.include_router(root)
    return app
