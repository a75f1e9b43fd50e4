"""Helpers of the deployment tests: the repository's deployment files, tools that CI must
have, free loopback ports, and background processes that are always stopped.

Plain functions and one context manager, imported as `from deploy_helpers import ...`.
"""

from __future__ import annotations

import os
import shutil
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Callable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from pathlib import Path
from typing import NoReturn, TypeVar

import pytest
import requests
from database_servers import running_in_ci

REPO = Path(__file__).resolve().parents[2]
DEPLOY = REPO / "deploy"
PRODUCTION_PROFILE = DEPLOY / "dagster" / "production.yaml"
PRODUCTION_WORKSPACE = DEPLOY / "dagster" / "workspace.yaml"
CADDYFILE = DEPLOY / "proxy" / "Caddyfile"
VENV_BIN = Path(sys.executable).parent
CI_INSTALL_HINT = "`make install` installs it (pyproject.toml, dev extras); .ci/run does too"

T = TypeVar("T")


def missing_tool(message: str) -> NoReturn:
    """Skip locally; fail under CI, where every deployment check must run."""
    if running_in_ci(os.environ):
        pytest.fail(f"CI=true: {message}", pytrace=False)
    pytest.skip(message)


def require_tool(name: str, how_to_install: str) -> str:
    """The path of a command-line tool (the venv's first, then PATH), or skip/fail."""
    local = VENV_BIN / name
    if local.exists():
        return str(local)
    found = shutil.which(name)
    if found:
        return found
    missing_tool(f"`{name}` is not installed: {how_to_install}")


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def clean_environment(**settings: str) -> dict[str, str]:
    """This process's environment without the developer's AIRBNB_*, DAGSTER_* and proxy
    settings (the suite's own AIRBNB_SYNC_TEST_* stay), plus `settings`."""
    kept = {name: value for name, value in os.environ.items()
            if name.startswith("AIRBNB_SYNC_TEST_")
            or not name.startswith(("AIRBNB_", "DAGSTER_", "PROXY_"))}
    return {**kept, **settings}


class Background:
    """A process of its own session (so its children stop with it), logging to a file."""

    def __init__(self, name: str, argv: Sequence[str], env: Mapping[str, str],
                 log_dir: Path) -> None:
        self.name = name
        self.log_path = log_dir / f"{name}.log"
        self._log = self.log_path.open("wb")
        self.process = subprocess.Popen(list(argv), env=dict(env), stdout=self._log,
                                        stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL,
                                        start_new_session=True)

    def alive(self) -> bool:
        return self.process.poll() is None

    def log_tail(self, characters: int = 3000) -> str:
        text = self.log_path.read_text(errors="replace")
        return text[-characters:]

    def stop(self, grace_seconds: float = 20.0) -> None:
        """SIGTERM to the process group this process leads, then SIGKILL after the grace."""
        if self.alive():
            for sig, wait in ((signal.SIGTERM, grace_seconds), (signal.SIGKILL, 10.0)):
                try:
                    os.killpg(self.process.pid, sig)
                except ProcessLookupError:
                    break
                try:
                    self.process.wait(timeout=wait)
                    break
                except subprocess.TimeoutExpired:
                    continue
        self._log.close()


@contextmanager
def background(name: str, argv: Sequence[str], env: Mapping[str, str],
               log_dir: Path) -> Iterator[Background]:
    process = Background(name, argv, env, log_dir)
    try:
        yield process
    finally:
        process.stop()


def describe(processes: Sequence[Background]) -> str:
    return "\n".join(f"--- {p.name} ({'running' if p.alive() else f'exit {p.process.returncode}'})"
                     f"\n{p.log_tail()}" for p in processes)


def wait_until(check: Callable[[], T | None], what: str, timeout: float,
               processes: Sequence[Background] = (), interval: float = 0.5) -> T:
    """Poll `check` until it returns something; fail with the processes' logs when one of
    them exits or the time is up."""
    deadline = time.monotonic() + timeout
    while True:
        result = check()
        if result is not None:
            return result
        dead = [p for p in processes if not p.alive()]
        if dead:
            pytest.fail(f"waiting for {what}: {dead[0].name} exited\n{describe(processes)}")
        if time.monotonic() > deadline:
            pytest.fail(f"timed out after {timeout:.0f} s waiting for {what}\n"
                        f"{describe(processes)}")
        time.sleep(interval)


def http_ok(url: str, **kwargs: object) -> requests.Response | None:
    """The response when `url` answers 2xx, else None (not up yet)."""
    try:
        response = requests.get(url, timeout=5, **kwargs)  # type: ignore[arg-type]
    except requests.RequestException:
        return None
    return response if response.ok else None
