"""`airbnb-sync demo` and `make ui`: the repository's local profile in DAGSTER_HOME, demo hosts
that keep their auth status, and a quiet Ctrl-C."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import pytest
from dagster._core.instance.config import dagster_instance_config

from airbnb_sync.accounts.store import open_store
from airbnb_sync.cli import demo
from airbnb_sync.core.settings import load_settings

BIN = Path(sys.executable).parent
UI_READY_SECONDS = 240


def test_the_local_profile_replaces_what_earlier_demos_wrote(tmp_path: Path) -> None:
    (tmp_path / "dagster.yaml").write_text(demo.OLD_DEMO_PROFILE)

    demo.install_local_profile(tmp_path)

    config, _ = dagster_instance_config(str(tmp_path))
    assert config["run_monitoring"]["enabled"] is True
    assert config["run_launcher"]["class"] == "LocalRunLauncher"
    assert config["concurrency"]["runs"]["max_concurrent_runs"] == 32
    demo.install_local_profile(tmp_path)  # again: still the profile, installed once
    assert (tmp_path / "dagster.yaml").read_text() == (demo.PROFILE_MARK
                                                       + demo.LOCAL_PROFILE.read_text())


def test_a_profile_of_the_users_own_is_kept(tmp_path: Path) -> None:
    own = "telemetry:\n  enabled: true\n"
    (tmp_path / "dagster.yaml").write_text(own)
    demo.install_local_profile(tmp_path)
    assert (tmp_path / "dagster.yaml").read_text() == own


def test_registering_the_demo_hosts_again_keeps_their_auth_status(dagster_home: Path) -> None:
    settings = load_settings()
    demo._register_hosts(settings)
    store = open_store(settings)
    for account_id in demo.DEMO_HOSTS:
        store.set_auth_status(account_id, "ok")

    demo._register_hosts(settings)  # what every `make ui` and `make demo` does first

    assert {a.account_id: a.auth_status for a in open_store(settings).list()} == {
        account_id: "ok" for account_id in demo.DEMO_HOSTS}


def test_an_expired_demo_host_gets_its_cookie_again(dagster_home: Path) -> None:
    settings = load_settings()
    demo._register_hosts(settings)
    open_store(settings).set_auth_status("41234567", "expired")
    demo._register_hosts(settings)
    assert open_store(settings).get("41234567").auth_status == "unknown"


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def answers(url: str) -> bool:
    try:
        with urllib.request.urlopen(url, timeout=2) as response:
            return response.status == 200
    except OSError:
        return False


@pytest.mark.slow
def test_ctrl_c_stops_the_ui_quietly(dagster_home: Path, tmp_path: Path) -> None:
    port = free_port()
    log = tmp_path / "ui.log"
    with log.open("w") as output:
        ui = subprocess.Popen([str(BIN / "airbnb-sync"), "demo", "--ui", "--simulator-port",
                               str(free_port()), "--ui-port", str(port)],
                              stdout=output, stderr=subprocess.STDOUT, start_new_session=True)
    try:
        deadline = time.monotonic() + UI_READY_SECONDS
        while not answers(f"http://127.0.0.1:{port}/server_info"):
            assert ui.poll() is None, log.read_text()[-3000:]
            assert time.monotonic() < deadline, log.read_text()[-3000:]
            time.sleep(1)
        os.killpg(ui.pid, signal.SIGINT)  # what Ctrl-C in the terminal sends
        ui.wait(timeout=120)
    finally:
        if ui.poll() is None:
            os.killpg(ui.pid, signal.SIGKILL)
            ui.wait()
    output = log.read_text()
    assert "Traceback" not in output, output[-4000:]
    assert ui.returncode == 0, output[-4000:]
    assert "Dagster UI stopped." in output
    assert "will not be used" not in output, output[-4000:]  # the local profile is in force


def descendants(pid: int) -> set[int]:
    """Every live process below `pid` (children, their children, ...), from /proc."""
    parents: dict[int, int] = {}
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                fields = (entry / "stat").read_text().rsplit(")", 1)[1].split()
            except OSError:  # ended meanwhile
                continue
            if fields[0] != "Z":
                parents[int(entry.name)] = int(fields[1])
    found: set[int] = set()
    frontier = {pid}
    while frontier:
        frontier = {child for child, parent in parents.items() if parent in frontier} - found
        found |= frontier
    return found


def alive(pids: set[int]) -> set[int]:
    living = set()
    for pid in pids:
        try:
            state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
        except OSError:
            continue
        if state != "Z":
            living.add(pid)
    return living


@pytest.mark.slow
def test_sigterm_stops_the_ui_and_every_process_it_started(dagster_home: Path,
                                                           tmp_path: Path) -> None:
    """`make ui` stopped by SIGTERM (make forwards it to airbnb-sync): `dagster dev`, its
    webserver, daemon and code server stop too, not only the simulator."""
    port = free_port()
    log = tmp_path / "ui.log"
    with log.open("w") as output:
        ui = subprocess.Popen([str(BIN / "airbnb-sync"), "demo", "--ui", "--simulator-port",
                               str(free_port()), "--ui-port", str(port)],
                              stdout=output, stderr=subprocess.STDOUT, start_new_session=True)
    started: set[int] = set()
    try:
        deadline = time.monotonic() + UI_READY_SECONDS
        while not answers(f"http://127.0.0.1:{port}/server_info") or len(
                started := descendants(ui.pid)) < 4:  # dagster dev, webserver, daemon, code
            assert ui.poll() is None, log.read_text()[-3000:]
            assert time.monotonic() < deadline, log.read_text()[-3000:]
            time.sleep(1)
        os.kill(ui.pid, signal.SIGTERM)  # the process only, as make and service managers do
        ui.wait(timeout=120)
        deadline = time.monotonic() + 30
        while alive(started) and time.monotonic() < deadline:
            time.sleep(0.5)
        left = alive(started)
    finally:
        for pid in alive(started | {ui.pid}):
            os.kill(pid, signal.SIGKILL)
        if ui.poll() is None:
            ui.wait()
    output = log.read_text()
    assert not left, f"still running after SIGTERM: {left}\n{output[-3000:]}"
    assert "Traceback" not in output, output[-4000:]
    assert "Dagster UI stopped." in output
    assert ui.returncode == 128 + signal.SIGTERM
    assert "SupersessionWarning" not in output, output[-4000:]  # `dg dev`, Dagster's direction
def test_the_demo_shows_the_api_with_a_token_and_a_curl_call_that_lists_the_hosts(
        dagster_home: Path, capsys: pytest.CaptureFixture[str]) -> None:
    import hashlib
    import json
    import shlex

    from airbnb_sync.api.tokens import TokenStore
    from airbnb_sync.cli.demo_api import show_api

    settings = load_settings()
    demo._register_hosts(settings)
    show_api(settings)
    first = capsys.readouterr().out.splitlines()
    show_api(settings)  # a second demo: one valid demo token, the newest
    lines = capsys.readouterr().out.splitlines()

    created = next(i for i, line in enumerate(lines) if "api token create" in line)
    token = lines[created + 1]
    curl = shlex.split(next(line for line in lines if line.startswith("$ curl "))[2:])
    assert curl[-1].endswith("/api/v1/accounts") and f"Authorization: Bearer {token}" in curl
    listed = [json.loads(line) for line in lines if line.startswith("  {")]
    assert {item["account_id"] for item in listed} == set(demo.DEMO_HOSTS)
    assert {item["label"] for item in listed} == set(demo.DEMO_HOSTS.values())
    tokens = TokenStore(open_store(settings).engine)
    with tokens.engine.connect() as connection:
        from airbnb_sync.warehouse.tables import api_tokens

        hashes = {row.name: row.token_sha256 for row in connection.execute(
            api_tokens.select())}
    valid = [record.name for record in tokens.list() if record.revoked_at is None]
    assert len(valid) == 1 and hashes[valid[0]] == hashlib.sha256(token.encode()).hexdigest()
    assert first[first.index(next(x for x in first if "api token create" in x)) + 1] != token
