"""What the routes share, built once per app by `create_app`: the settings, the account and
token stores on the one warehouse engine, the rate limiter, and how a sync run is launched."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import date

from fastapi import Request

from airbnb_sync.accounts.store import AccountStore
from airbnb_sync.api.limits import RateLimiter
from airbnb_sync.api.tokens import TokenStore
from airbnb_sync.core.settings import Settings

# (account id, first week, last week) -> the launched run's id
LaunchSync = Callable[[str, date, date], str]


@dataclass
class ApiContext:
    settings: Settings
    store: AccountStore
    tokens: TokenStore
    rate_limiter: RateLimiter
    launch_sync: LaunchSync


def api_context(request: Request) -> ApiContext:
    context: ApiContext = request.app.state.api_context
    return context
