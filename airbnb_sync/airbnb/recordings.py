"""Recorded answers: keep what Airbnb answered for an account, and answer from it later.

A recording is a folder with one JSON Lines file per account; each line is one call (the
operation and its arguments) with the raw answer. `RecordingClientFactory` wraps any factory
and appends every answer it sees; `RecordedClientFactory` answers from the folder without
any network, so a run can be replayed exactly (a bug report, a test without a server).
One file per account keeps appends from concurrent runs of different accounts apart; runs
of one account are serialized by its lease.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Self

from airbnb_sync.airbnb.client import HostSession
from airbnb_sync.airbnb.errors import AirbnbError
from airbnb_sync.airbnb.factory import ClientFactory, InsightsApi
from airbnb_sync.airbnb.keepalive import SessionChanges
from airbnb_sync.airbnb.operations import Operation
from airbnb_sync.airbnb.pacing import Pacer
from airbnb_sync.airbnb.stats import RequestStats

Call = tuple[Any, ...]
QUERY = "query"  # a call of `query`: any operation, with its arguments


class NotRecorded(AirbnbError):
    """The recording has no answer for a call: replaying cannot go on, and retrying won't help."""

    def __init__(self, account_id: str, call: Call, folder: Path) -> None:
        super().__init__(
            f"no recorded answer for account {account_id}, call {_key(call)} in {folder}: "
            "record it first (a run with a recording factory), or ask for the same partitions "
            "and day that were recorded"
        )


def _key(call: Call) -> str:
    return json.dumps(list(call), sort_keys=True)


def _file(folder: Path, account_id: str) -> Path:
    return folder / f"{account_id}.jsonl"


class _Calls:
    """The operations as `(operation, *arguments)` calls to one `answer` function; `query`
    calls are `("query", operation, arguments)`."""

    def __init__(self, answer: Callable[[Call], dict[str, Any]]) -> None:
        self._answer = answer

    def listings_section(self) -> dict[str, Any]:
        return self._answer(("ListingsSectionQuery",))

    def chart(self, listing_id: str, metric: str, relative_start: int,
              relative_end: int) -> dict[str, Any]:
        return self._answer(("ChartQuery", listing_id, metric, relative_start, relative_end))

    def list_of_metrics(self, listing_id: str, metric: str, relative_start: int,
                        relative_end: int) -> dict[str, Any]:
        return self._answer(("ListOfMetricsQuery", listing_id, metric, relative_start,
                             relative_end))

    def query(self, operation: Operation | str, arguments: Mapping[str, Any]) -> dict[str, Any]:
        return self._answer((QUERY, Operation(operation).value, dict(arguments)))


class RecordingClient(_Calls):
    """Passes every call to `inner` and appends the answer to the account's file."""

    def __init__(self, inner: InsightsApi, path: Path) -> None:
        super().__init__(self._record)
        self._inner = inner
        self._path = path

    def _record(self, call: Call) -> dict[str, Any]:
        operation, *arguments = call
        answer = getattr(self._inner, _METHODS[operation])(*arguments)
        self._path.parent.mkdir(parents=True, exist_ok=True)
        with self._path.open("a", encoding="utf-8") as handle:
            handle.write(json.dumps({"call": list(call), "answer": answer}) + "\n")
        return answer

    def changed_session(self) -> SessionChanges | None:
        return self._inner.changed_session()  # recording must not lose a rotated session

    def __enter__(self) -> Self:
        self._inner.__enter__()
        return self

    def __exit__(self, *exc: object) -> None:
        self._inner.__exit__(*exc)


class RecordedClient(_Calls):
    """Answers each call with its last recorded answer, counting it like a request."""

    def __init__(self, account_id: str, folder: Path, stats: RequestStats) -> None:
        super().__init__(self._replay)
        self._account_id = account_id
        self._folder = folder
        self._stats = stats
        self._answers: dict[str, dict[str, Any]] = {}
        path = _file(folder, account_id)
        if path.exists():
            for line in path.read_text(encoding="utf-8").splitlines():
                entry = json.loads(line)
                self._answers[_key(tuple(entry["call"]))] = entry["answer"]

    def _replay(self, call: Call) -> dict[str, Any]:
        self._stats.count_request(str(call[1] if call[0] == QUERY else call[0]))
        answer = self._answers.get(_key(call))
        if answer is None:
            raise NotRecorded(self._account_id, call, self._folder)
        return answer

    def changed_session(self) -> SessionChanges | None:
        return None  # recorded answers set no cookie

    def __enter__(self) -> Self:
        return self

    def __exit__(self, *exc: object) -> None:
        return None


_METHODS = {"ListingsSectionQuery": "listings_section", "ChartQuery": "chart",
            "ListOfMetricsQuery": "list_of_metrics", QUERY: "query"}


@dataclass(frozen=True)
class RecordingClientFactory:
    inner: ClientFactory
    folder: Path

    def open(self, session: HostSession, *, pacer: Pacer,
             stats: RequestStats) -> RecordingClient:
        return RecordingClient(self.inner.open(session, pacer=pacer, stats=stats),
                               _file(self.folder, session.account_id))


@dataclass(frozen=True)
class RecordedClientFactory:
    folder: Path

    def open(self, session: HostSession, *, pacer: Pacer,
             stats: RequestStats) -> RecordedClient:
        return RecordedClient(session.account_id, self.folder, stats)
