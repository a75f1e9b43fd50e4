#!/usr/bin/env bash
# Local TimescaleDB without Docker (README: Tests).
#
# Debian 12 has no TimescaleDB package, so we debootstrap a Debian 13 (trixie) root with
# PostgreSQL 17 + TimescaleDB 2.19 and run the server inside it with chroot. The root is cached
# outside the checkout and rebuilt only when missing or incomplete.
#
# Usage: scripts/timescaledb.sh start|stop|status|url
#
# Environment:
#   AIRBNB_SYNC_TSDB_ROOT   chroot folder (default /var/cache/airbnb-sync/timescaledb-root)
#   AIRBNB_SYNC_TSDB_PORT   TCP port on 127.0.0.1 (default 55432)
#   AIRBNB_SYNC_TSDB_FRESH  1 = start from a brand-new data directory (CI)
#   AIRBNB_SYNC_TSDB_MIRROR Debian mirror (default http://deb.debian.org/debian)
# Needs root (debootstrap, chroot, mount).
set -euo pipefail

ROOT="${AIRBNB_SYNC_TSDB_ROOT:-/var/cache/airbnb-sync/timescaledb-root}"
ROOT="${ROOT%/}"
PORT="${AIRBNB_SYNC_TSDB_PORT:-55432}"
FRESH="${AIRBNB_SYNC_TSDB_FRESH:-0}"
MIRROR="${AIRBNB_SYNC_TSDB_MIRROR:-http://deb.debian.org/debian}"
PACKAGES="postgresql-17,postgresql-17-timescaledb"
# Changing the recipe changes the marker, which forces a rebuild of stale caches.
RECIPE="debootstrap minbase trixie ${PACKAGES}"
MARKER="${ROOT}/.airbnb-sync-root-complete"
PG_BIN="/usr/lib/postgresql/17/bin"
DATA="/var/lib/airbnb-sync/timescaledb-${PORT}"  # inside the chroot; one server per port
LOG="/var/lib/airbnb-sync/server-${PORT}.log"  # inside the chroot, owned by postgres
LOCK="${ROOT}.lock"

log() { echo "timescaledb.sh: $*" >&2; }
die() { log "$*"; exit 1; }

[[ "${PORT}" =~ ^[0-9]+$ ]] || die "AIRBNB_SYNC_TSDB_PORT must be a number, got '${PORT}'"
[[ -n "${ROOT}" && "${ROOT}" != "/" ]] || die "AIRBNB_SYNC_TSDB_ROOT must not be /"

url() { echo "postgresql+psycopg2://postgres@127.0.0.1:${PORT}/postgres"; }

# Mount points below $1, deepest first (so nested mounts come off before their parents).
mounts_under() {
    awk -v p="$1/" 'index($2 "/", p) == 1 { print $2 }' /proc/self/mounts | sort -r -u
}

unmount_all_under() {
    local m
    for m in $(mounts_under "$1"); do
        umount "$m" 2>/dev/null || umount -l "$m"
    done
}

# Never rm -rf a root that still has /proc or a tmpfs mounted inside it.
remove_tree() {
    local dir="$1"
    [[ -e "${dir}" ]] || return 0
    unmount_all_under "${dir}"
    [[ -z "$(mounts_under "${dir}")" ]] || die "refusing to delete ${dir}: still has mounts"
    rm -rf --one-file-system "${dir}"
}

ensure_debootstrap() {
    command -v debootstrap >/dev/null && return 0
    log "installing debootstrap"
    apt-get update -qq
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq debootstrap >/dev/null
}

build_root() {
    if [[ -f "${MARKER}" && "$(cat "${MARKER}")" == "${RECIPE}" ]]; then
        return 0
    fi
    ensure_debootstrap
    local partial="${ROOT}.partial"
    log "building ${ROOT} (Debian trixie, ${PACKAGES}); takes about a minute"
    remove_tree "${partial}"
    mkdir -p "$(dirname "${ROOT}")"
    local started=${SECONDS}
    if ! debootstrap --variant=minbase --include="${PACKAGES}" trixie "${partial}" "${MIRROR}" \
        >"${ROOT}.build.log" 2>&1; then
        unmount_all_under "${partial}"
        tail -n 30 "${ROOT}.build.log" >&2
        die "debootstrap failed; full log in ${ROOT}.build.log"
    fi
    unmount_all_under "${partial}"
    # The package's own cluster (17/main) is never used: drop it to keep the cache small.
    rm -rf "${partial}/var/lib/postgresql/17/main" "${partial}/var/cache/apt/archives/"*.deb
    remove_tree "${ROOT}"
    mv "${partial}" "${ROOT}"
    echo "${RECIPE}" >"${MARKER}"
    log "built ${ROOT} in $((SECONDS - started)) s"
}

# PostgreSQL needs /proc (huge page and memory probes) and /dev/shm (posix dynamic shared
# memory). A private tmpfs keeps the chroot's shared memory apart from the host's.
mount_runtime() {
    mountpoint -q "${ROOT}/proc" || mount -t proc proc "${ROOT}/proc"
    mkdir -p "${ROOT}/dev/shm"
    mountpoint -q "${ROOT}/dev/shm" || mount -t tmpfs -o mode=1777,size=1g tmpfs "${ROOT}/dev/shm"
}

in_root() { chroot "${ROOT}" /usr/bin/env -i PATH="${PG_BIN}:/usr/bin:/bin" LANG=C.UTF-8 "$@"; }

as_postgres() {
    local ids
    ids="$(awk -F: '$1 == "postgres" { print $3 ":" $4 }' "${ROOT}/etc/passwd")"
    [[ -n "${ids}" ]] || die "no postgres user in ${ROOT}/etc/passwd"
    chroot --userspec="${ids}" "${ROOT}" /usr/bin/env -i PATH="${PG_BIN}:/usr/bin:/bin" \
        LANG=C.UTF-8 HOME=/var/lib/postgresql "$@"
}

is_running() {
    [[ -f "${MARKER}" && -f "${ROOT}${DATA}/postmaster.pid" ]] || return 1
    as_postgres pg_ctl status -D "${DATA}" >/dev/null 2>&1
}

init_data() {
    in_root mkdir -p "$(dirname "${DATA}")" /var/run/postgresql
    in_root chown postgres:postgres "$(dirname "${DATA}")" /var/run/postgresql
    if [[ "${FRESH}" == "1" ]]; then
        rm -rf --one-file-system "${ROOT}${DATA}"
    fi
    [[ -f "${ROOT}${DATA}/PG_VERSION" ]] && return 0
    rm -rf --one-file-system "${ROOT}${DATA}"
    as_postgres initdb -D "${DATA}" -A trust -U postgres -E UTF8 --locale=C.UTF-8 >/dev/null
    cat >>"${ROOT}${DATA}/postgresql.conf" <<'EOF'

# airbnb-sync (scripts/timescaledb.sh)
shared_preload_libraries = 'timescaledb'
listen_addresses = '127.0.0.1'
timescaledb.telemetry_level = off
max_connections = 200
synchronous_commit = off
EOF
    if [[ "${FRESH}" == "1" ]]; then
        # Throwaway data (CI, tests): durability buys nothing there, speed does.
        printf 'fsync = off\nfull_page_writes = off\n' >>"${ROOT}${DATA}/postgresql.conf"
    fi
}

wait_ready() {
    for _ in $(seq 1 60); do
        if in_root pg_isready -q -h 127.0.0.1 -p "${PORT}" -U postgres; then
            return 0
        fi
        sleep 0.5
    done
    return 1
}

start() {
    build_root
    mount_runtime
    if is_running; then
        if [[ "${FRESH}" != "1" ]]; then
            wait_ready || die "server is running but not accepting connections on ${PORT}"
            log "already running on 127.0.0.1:${PORT}"
            check
            return 0
        fi
        log "AIRBNB_SYNC_TSDB_FRESH=1: restarting with a fresh data directory"
        as_postgres pg_ctl stop -D "${DATA}" -m fast -w >/dev/null
    fi
    init_data
    local started=${SECONDS}
    # 9>&-: the server must not inherit the lock, or every later call would wait forever.
    if ! as_postgres pg_ctl start -D "${DATA}" -w -t 60 -l "${LOG}" \
        -o "-p ${PORT} -c listen_addresses=127.0.0.1" >/dev/null 9>&-; then
        tail -n 30 "${ROOT}${LOG}" >&2 || true
        die "PostgreSQL did not start (log: ${ROOT}${LOG})"
    fi
    wait_ready || die "PostgreSQL started but does not accept connections on 127.0.0.1:${PORT}"
    check
    log "started on 127.0.0.1:${PORT} in $((SECONDS - started)) s"
}

# Proves the server is usable for the tests: TCP login works and the extension loads.
check() {
    in_root PGOPTIONS="-c client_min_messages=warning" psql -h 127.0.0.1 -p "${PORT}" -U postgres -d postgres -v ON_ERROR_STOP=1 -qAt \
        -c "CREATE EXTENSION IF NOT EXISTS timescaledb" \
        -c "SELECT 'timescaledb ' || extversion FROM pg_extension WHERE extname = 'timescaledb'" \
        >&2
}

stop() {
    if [[ -d "${ROOT}" ]] && is_running; then
        as_postgres pg_ctl stop -D "${DATA}" -m fast -w >/dev/null
        log "stopped"
    else
        log "not running"
    fi
    # Servers on other ports share the root and its mounts: the last one out unmounts.
    if [[ -d "${ROOT}" ]] && ! any_server_running; then
        unmount_all_under "${ROOT}"
    fi
    return 0
}

any_server_running() {
    local pidfile pid
    for pidfile in "${ROOT}"/var/lib/airbnb-sync/timescaledb-*/postmaster.pid; do
        [[ -f "${pidfile}" ]] || continue
        pid="$(head -n 1 "${pidfile}")"
        [[ "${pid}" =~ ^[0-9]+$ ]] && kill -0 "${pid}" 2>/dev/null && return 0
    done
    return 1
}

status() {
    if is_running; then
        echo "running on 127.0.0.1:${PORT} (root ${ROOT})"
    else
        echo "stopped (root ${ROOT}$([[ -f "${MARKER}" ]] || echo ', not built'))"
        return 3
    fi
}

main() {
    local cmd="${1:-}"
    case "${cmd}" in
        url) url; return 0 ;;
        start | stop | status) ;;
        *) die "usage: $0 start|stop|status|url" ;;
    esac
    [[ "$(id -u)" == "0" ]] || die "needs root (debootstrap, chroot, mount)"
    mkdir -p "$(dirname "${ROOT}")"
    exec 9>"${LOCK}"
    flock 9
    "${cmd}"
}

main "$@"
