#!/usr/bin/env bash
# Local plain PostgreSQL for tests: the machine's Debian cluster (15/main by default).
#
# Usage: scripts/postgres.sh start|stop|url
#
# `start` installs PostgreSQL if missing, starts the cluster, and makes a login role with
# CREATEDB (tests create and drop one database each) and CREATEROLE (the dashboards' test
# creates a read-only role of its own), reachable over TCP with a password.
# Environment:
#   AIRBNB_SYNC_PG_VERSION  cluster version (default 15, Debian 12's PostgreSQL)
#   AIRBNB_SYNC_PG_CLUSTER  cluster name (default main)
# Needs root.
set -euo pipefail

VERSION="${AIRBNB_SYNC_PG_VERSION:-15}"
CLUSTER="${AIRBNB_SYNC_PG_CLUSTER:-main}"
ROLE="airbnb_sync"
PASSWORD="airbnb_sync"  # a local test server on 127.0.0.1 only: not a secret

log() { echo "postgres.sh: $*" >&2; }
die() { log "$*"; exit 1; }

cluster_field() {  # $1 = column of pg_lsclusters (2 port, 3 status)
    pg_lsclusters --no-header 2>/dev/null |
        awk -v v="${VERSION}" -v c="${CLUSTER}" -v f="$1" '$1 == v && $2 == c { print $(f + 1) }' || true
}

port() {
    local p
    p="$(cluster_field 2)"
    echo "${p:-5432}"
}

url() { echo "postgresql+psycopg2://${ROLE}:${PASSWORD}@127.0.0.1:$(port)/postgres"; }

ensure_installed() {
    if [[ ! -x "/usr/lib/postgresql/${VERSION}/bin/postgres" ]] || ! command -v pg_ctlcluster >/dev/null; then
        log "installing postgresql-${VERSION}"
        apt-get update -qq
        DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "postgresql-${VERSION}" >/dev/null
    fi
    if [[ -z "$(cluster_field 2)" ]]; then
        log "creating cluster ${VERSION}/${CLUSTER}"
        pg_createcluster "${VERSION}" "${CLUSTER}" >/dev/null
    fi
}

as_postgres_psql() {
    runuser -u postgres -- psql -p "$(port)" -d postgres -v ON_ERROR_STOP=1 -qAt "$@"
}

ensure_role() {
    as_postgres_psql -v role="${ROLE}" -v password="${PASSWORD}" <<'SQL'
SELECT format('CREATE ROLE %I LOGIN CREATEDB CREATEROLE', :'role')
WHERE NOT EXISTS (SELECT FROM pg_roles WHERE rolname = :'role') \gexec
ALTER ROLE :"role" WITH LOGIN CREATEDB CREATEROLE PASSWORD :'password';
SQL
}

start() {
    ensure_installed
    if [[ "$(cluster_field 3)" == "online" ]]; then
        log "cluster ${VERSION}/${CLUSTER} already running"
    else
        # Closing our stderr/stdout keeps a caller's pipe from waiting on the server.
        pg_ctlcluster "${VERSION}" "${CLUSTER}" start </dev/null >/dev/null 2>&1 ||
            die "pg_ctlcluster ${VERSION} ${CLUSTER} start failed; see /var/log/postgresql/"
    fi
    local i
    for i in $(seq 1 60); do
        pg_isready -q -h 127.0.0.1 -p "$(port)" && break
        [[ "${i}" == 60 ]] && die "PostgreSQL ${VERSION}/${CLUSTER} does not accept connections"
        sleep 0.5
    done
    ensure_role
    PGPASSWORD="${PASSWORD}" psql -h 127.0.0.1 -p "$(port)" -U "${ROLE}" -d postgres -qAt \
        -c "SELECT 'postgres ' || current_setting('server_version')" >&2
}

stop() {
    if [[ "$(cluster_field 3)" == "online" ]]; then
        pg_ctlcluster "${VERSION}" "${CLUSTER}" stop -m fast
        log "stopped ${VERSION}/${CLUSTER}"
    else
        log "not running"
    fi
}

case "${1:-}" in
    url) url ;;
    start | stop)
        [[ "$(id -u)" == "0" ]] || die "needs root (apt-get, pg_ctlcluster)"
        "$1"
        ;;
    *) die "usage: $0 start|stop|url" ;;
esac
