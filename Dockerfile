# syntax=docker/dockerfile:1
# One image for every Dagster role of airbnb-sync: the user-code gRPC server (the default
# command), dagster-webserver, dagster-daemon and the demo's simulator (docker-compose.yml
# chooses the command). The production instance profile and workspace are baked in.
ARG PYTHON_IMAGE=python:3.11-slim-bookworm

# --- build: a virtualenv with the package and its runtime dependencies only -------------------
FROM ${PYTHON_IMAGE} AS build
ENV PIP_NO_CACHE_DIR=1 \
    PIP_DISABLE_PIP_VERSION_CHECK=1 \
    PYTHONDONTWRITEBYTECODE=1
RUN python -m venv /opt/venv
ENV PATH=/opt/venv/bin:$PATH
WORKDIR /src
# Versions come from pyproject.toml (dagster is pinned exactly there); no [dev] extras.
COPY pyproject.toml README.md ./
COPY airbnb_sync ./airbnb_sync
RUN pip install --no-cache-dir . \
    && pip uninstall --yes pip setuptools wheel

# --- runtime: the virtualenv, the Dagster profile, a user without privileges ------------------
FROM ${PYTHON_IMAGE} AS runtime
ENV PATH=/opt/venv/bin:$PATH \
    DAGSTER_HOME=/opt/dagster/home \
    PYTHONUNBUFFERED=1 \
    PYTHONDONTWRITEBYTECODE=1
RUN groupadd --system --gid 10001 dagster \
    && useradd --system --uid 10001 --gid dagster --home-dir /opt/dagster --shell /usr/sbin/nologin dagster
COPY --from=build /opt/venv /opt/venv
COPY deploy/dagster/production.yaml /opt/dagster/home/dagster.yaml
COPY deploy/dagster/workspace.yaml /opt/dagster/workspace.yaml
# storage/ (compute logs, local artifacts) is a volume shared by the three Dagster services.
RUN mkdir -p /opt/dagster/home/storage \
    && chown -R dagster:dagster /opt/dagster
USER 10001:10001
WORKDIR /opt/dagster
EXPOSE 4000
HEALTHCHECK --interval=30s --timeout=10s --start-period=60s --retries=3 \
    CMD ["dagster", "api", "grpc-health-check", "-p", "4000"]
CMD ["dagster", "code-server", "start", "-h", "0.0.0.0", "-p", "4000", "-m", "airbnb_sync.definitions"]
