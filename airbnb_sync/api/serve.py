"""Run the API with uvicorn in the foreground: one process (the rate limiter counts in it),
uvicorn's access log off (ours carries the request id and never a query or header)."""

from __future__ import annotations

import uvicorn

from airbnb_sync.api.app import create_app
from airbnb_sync.core.settings import Settings

# Proxies in front (Caddy under Compose) may pass X-Forwarded-* from these addresses only.
TRUSTED_PROXIES = "127.0.0.1"


def serve(settings: Settings, host: str, port: int) -> None:
    app = create_app(settings)
    uvicorn.run(app, host=host, port=port, access_log=False, log_config=None,
                server_header=False, proxy_headers=True, forwarded_allow_ips=TRUSTED_PROXIES,
                timeout_graceful_shutdown=10)
