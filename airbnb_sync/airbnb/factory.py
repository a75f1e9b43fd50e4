"""How a sync gets a client for one account, whatever answers it: Airbnb over HTTP (or the
simulator, which speaks the same HTTP), or recorded answers.

The sync core asks a `ClientFactory` for a client; the Dagster layer picks the factory per
deployment through a resource, as Dagster's `project_fully_featured` picks its Hacker News
client.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, Protocol, Self

from airbnb_sync.airbnb.client import AirbnbClient, HostSession
from airbnb_sync.airbnb.keepalive import SessionChanges
from airbnb_sync.airbnb.operations import Operation
from airbnb_sync.airbnb.pacing import Pacer
from airbnb_sync.airbnb.stats import RequestStats
from airbnb_sync.core.settings import Settings


class InsightsApi(Protocol):
    """The three persisted operations (and any other through `query`), answering raw JSON;
    a context manager."""

    def listings_section(self) -> dict[str, Any]: ...

    def chart(self, listing_id: str, metric: str, relative_start: int,
              relative_end: int) -> dict[str, Any]: ...

    def list_of_metrics(self, listing_id: str, metric: str, relative_start: int,
                        relative_end: int) -> dict[str, Any]: ...

    def query(self, operation: Operation | str, arguments: Mapping[str, Any]) -> dict[str, Any]:
        """Any persisted operation with these arguments (a dataset's own operation)."""
        ...

    def changed_session(self) -> SessionChanges | None:
        """The cookies Airbnb rotated meanwhile, to store; None when nothing may be kept."""
        ...

    def __enter__(self) -> Self: ...

    def __exit__(self, *exc: object) -> None: ...


class ClientFactory(Protocol):
    def open(self, session: HostSession, *, pacer: Pacer, stats: RequestStats) -> InsightsApi:
        """A client of one account whose requests wait for `pacer` and count in `stats`."""
        ...


@dataclass(frozen=True)
class HttpClientFactory:
    """Clients that talk HTTP to `settings.airbnb_base_url` (Airbnb or the simulator)."""

    settings: Settings

    def open(self, session: HostSession, *, pacer: Pacer, stats: RequestStats) -> AirbnbClient:
        return AirbnbClient(session, self.settings, pacer=pacer, stats=stats)
