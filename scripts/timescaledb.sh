#!/usr/bin/env bash
# Local TimescaleDB without Docker (README: Tests).
#
# Debian 12 has no TimescaleDB package, so we debootstrap a Debian 13 (trixie) root with
# PostgreSQL 17 + TimescaleDB 2.19 and run the server inside it with chroot. The root is cached
# outside the checkout and rebuilt only when missing or incomplete.
#
# Two editions, each in its own root, port and data folder:
#   apache  Debian's package (timescaledb.license = apache): no compression/retention policies.
#   tsl     the same package with TimescaleDB 2.19.3 built from source over it, which adds the
#           Timescale-License module (timescaledb.license = timescale), as in the
#           timescale/timescaledb Docker image users run with docker-compose.
#
# Usage: scripts/timescaledb.sh start|stop|status|url|mirror
#
# Environment:
#   AIRBNB_SYNC_TSDB_EDITION apache (default) or tsl
#   AIRBNB_SYNC_TSDB_ROOT   chroot folder (default /var/cache/airbnb-sync/timescaledb-root,
#                           timescaledb-tsl-root for tsl)
#   AIRBNB_SYNC_TSDB_PORT   TCP port on 127.0.0.1 (default 55432, 55433 for tsl)
#   AIRBNB_SYNC_TSDB_FRESH  1 = start from a brand-new data directory (CI)
#   AIRBNB_SYNC_TSDB_MIRROR Debian mirror (default: the first Debian archive in this machine's
#                           apt sources, as apt-get uses it; `mirror` prints the choice)
#   AIRBNB_SYNC_TSDB_TSL_SOURCE  tsl only: the timescaledb-2.19.3.tar.gz source (default
#                           ../shared/timescaledb/ next to this checkout)
# Needs root (debootstrap, chroot, mount).
set -euo pipefail

SCRIPT_DIR="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
EDITION="${AIRBNB_SYNC_TSDB_EDITION:-apache}"
case "${EDITION}" in
    apache) DEFAULT_ROOT=/var/cache/airbnb-sync/timescaledb-root DEFAULT_PORT=55432 ;;
    tsl) DEFAULT_ROOT=/var/cache/airbnb-sync/timescaledb-tsl-root DEFAULT_PORT=55433 ;;
    *) echo "timescaledb.sh: AIRBNB_SYNC_TSDB_EDITION must be apache or tsl, got '${EDITION}'" >&2
       exit 1 ;;
esac
ROOT="${AIRBNB_SYNC_TSDB_ROOT:-${DEFAULT_ROOT}}"
ROOT="${ROOT%/}"
PORT="${AIRBNB_SYNC_TSDB_PORT:-${DEFAULT_PORT}}"
FRESH="${AIRBNB_SYNC_TSDB_FRESH:-0}"
PACKAGES="postgresql-17,postgresql-17-timescaledb"
TSL_VERSION="2.19.3"
TSL_SOURCE="${AIRBNB_SYNC_TSDB_TSL_SOURCE:-${SCRIPT_DIR}/../../shared/timescaledb/timescaledb-${TSL_VERSION}.tar.gz}"
# The build recipe of ../shared/timescaledb/README.md.
TSL_BUILD_PACKAGES="postgresql-server-dev-17,cmake,gcc,make,libssl-dev"
# Changing the recipe changes the marker, which forces a rebuild of stale caches.
RECIPE="debootstrap minbase trixie ${PACKAGES}"
if [[ "${EDITION}" == "tsl" ]]; then
    PACKAGES="${PACKAGES},${TSL_BUILD_PACKAGES}"
    RECIPE="debootstrap minbase trixie ${PACKAGES}; timescaledb ${TSL_VERSION} from source"
fi
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

# The Debian archive this machine's apt uses: the first enabled `deb` source, in apt's order
# (sources.list, then sources.list.d/*.list and deb822 *.sources by name), that has a plain
# release suite (bookworm, trixie, stable: not -security, -updates or a vendor's suite) and the
# `main` component. $1 is apt's folder (/etc/apt); prints nothing when there is none.
debian_mirror_from_apt_sources() {
    local etc="${1:-/etc/apt}" file
    local -a files=()
    [[ -f "${etc}/sources.list" ]] && files+=("${etc}/sources.list")
    for file in "${etc}"/sources.list.d/*; do
        case "${file}" in *.list | *.sources) [[ -f "${file}" ]] && files+=("${file}") ;; esac
    done
    ((${#files[@]})) || return 0
    awk '
        function debian_suite(s) { return s ~ /^[a-z]+$/ && s != "nodistro" }
        function consider(type, uris, suites, comps,   n, u, s, i, j, ok) {
            if (found) return
            if (type !~ /(^|[ \t])deb([ \t]|$)/ || comps !~ /(^|[ \t])main([ \t]|$)/) return
            n = split(suites, s, /[ \t]+/); ok = 0
            for (i = 1; i <= n; i++) if (debian_suite(s[i])) ok = 1
            if (!ok) return
            split(uris, u, /[ \t]+/)
            for (j = 1; j in u; j++) if (u[j] ~ /^(https?|ftp|file):/) {
                sub(/\/+$/, "", u[j]); print u[j]; found = 1; exit
            }
        }
        function flush() {
            if (stanza && enabled) consider(type, uris, suites, comps)
            stanza = 0; enabled = 1; type = uris = suites = comps = ""
        }
        FNR == 1 { flush(); deb822 = (FILENAME ~ /\.sources$/) }
        /^[ \t]*#/ { next }
        { sub(/#.*/, ""); sub(/[ \t\r]+$/, "") }
        deb822 && /^$/ { flush(); next }
        deb822 && /^[A-Za-z-]+:/ {
            key = tolower($0); sub(/:.*/, "", key); value = $0; sub(/^[^:]*:[ \t]*/, "", value)
            stanza = 1
            if (key == "types") type = value
            else if (key == "uris") uris = value
            else if (key == "suites") suites = value
            else if (key == "components") comps = value
            else if (key == "enabled") enabled = (tolower(value) !~ /^(no|false|0)$/)
            next
        }
        !deb822 && $1 == "deb" {
            line = $0; sub(/^deb[ \t]+/, "", line)
            if (line ~ /^\[/) sub(/^\[[^]]*\][ \t]*/, "", line)
            n = split(line, f, /[ \t]+/); comps = ""
            for (i = 3; i <= n; i++) comps = comps " " f[i]
            consider("deb", f[1], f[2], comps)
        }
        END { flush() }
    ' "${files[@]}"
}

# AIRBNB_SYNC_TSDB_MIRROR wins; otherwise apt's own mirror, never a host name written here.
debian_mirror() {
    if [[ -n "${AIRBNB_SYNC_TSDB_MIRROR:-}" ]]; then
        echo "${AIRBNB_SYNC_TSDB_MIRROR}"
        return 0
    fi
    local found
    found="$(debian_mirror_from_apt_sources /etc/apt)"
    [[ -n "${found}" ]] || die "no Debian archive in /etc/apt/sources.list or" \
        "/etc/apt/sources.list.d/ (a 'deb' source with a release suite and 'main');" \
        "set AIRBNB_SYNC_TSDB_MIRROR to a Debian mirror URL"
    echo "${found}"
}

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
    local partial="${ROOT}.partial" mirror
    mirror="$(debian_mirror)"
    if [[ "${EDITION}" == "tsl" ]]; then
        [[ -f "${TSL_SOURCE}" ]] || die "TimescaleDB source not found: ${TSL_SOURCE}" \
            "(set AIRBNB_SYNC_TSDB_TSL_SOURCE to timescaledb-${TSL_VERSION}.tar.gz)"
    fi
    log "building ${ROOT} (Debian trixie from ${mirror}, ${PACKAGES}); takes a minute or more"
    remove_tree "${partial}"
    mkdir -p "$(dirname "${ROOT}")"
    local started=${SECONDS}
    if ! debootstrap --variant=minbase --include="${PACKAGES}" trixie "${partial}" "${mirror}" \
        >"${ROOT}.build.log" 2>&1; then
        unmount_all_under "${partial}"
        tail -n 30 "${ROOT}.build.log" >&2
        die "debootstrap failed; full log in ${ROOT}.build.log"
    fi
    unmount_all_under "${partial}"
    [[ "${EDITION}" == "tsl" ]] && build_tsl "${partial}"
    # The package's own cluster (17/main) is never used: drop it to keep the cache small.
    rm -rf "${partial}/var/lib/postgresql/17/main" "${partial}/var/cache/apt/archives/"*.deb
    remove_tree "${ROOT}"
    mv "${partial}" "${ROOT}"
    echo "${RECIPE}" >"${MARKER}"
    log "built ${ROOT} in $((SECONDS - started)) s"
}

# The recipe of ../shared/timescaledb/README.md, run inside the new root: it installs the
# TSL build over Debian's package, adding timescaledb-tsl-${TSL_VERSION}.so.
build_tsl() {
    local root="$1" started=${SECONDS}
    log "building TimescaleDB ${TSL_VERSION} with its TSL module from ${TSL_SOURCE}"
    mkdir -p "${root}/usr/src/airbnb-sync"
    tar xzf "${TSL_SOURCE}" -C "${root}/usr/src/airbnb-sync"
    mount -t proc proc "${root}/proc"
    if ! chroot "${root}" /usr/bin/env -i PATH=/usr/sbin:/usr/bin:/sbin:/bin LANG=C.UTF-8 \
        sh -ec "cd /usr/src/airbnb-sync/timescaledb-${TSL_VERSION}
            ./bootstrap -DREGRESS_CHECKS=OFF -DTAP_CHECKS=OFF -DWARNINGS_AS_ERRORS=OFF \
                -DCMAKE_BUILD_TYPE=Release
            cd build && make -j2 && make install" >>"${ROOT}.build.log" 2>&1; then
        unmount_all_under "${root}"
        tail -n 30 "${ROOT}.build.log" >&2
        die "TimescaleDB ${TSL_VERSION} build failed; full log in ${ROOT}.build.log"
    fi
    unmount_all_under "${root}"
    rm -rf "${root}/usr/src/airbnb-sync"
    log "built the TSL module in $((SECONDS - started)) s"
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
        -c "SELECT 'timescaledb ' || extversion || ', license ' || current_setting('timescaledb.license') FROM pg_extension WHERE extname = 'timescaledb'" \
        >&2
    if [[ "${EDITION}" == "tsl" ]]; then
        local license
        license="$(in_root psql -h 127.0.0.1 -p "${PORT}" -U postgres -d postgres -qAt \
            -c "SHOW timescaledb.license")"
        [[ "${license}" == "timescale" ]] \
            || die "the tsl edition reports timescaledb.license = '${license}', not 'timescale'"
    fi
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
        mirror) debian_mirror; return 0 ;;
        start | stop | status) ;;
        *) die "usage: $0 start|stop|status|url|mirror" ;;
    esac
    [[ "$(id -u)" == "0" ]] || die "needs root (debootstrap, chroot, mount)"
    mkdir -p "$(dirname "${ROOT}")"
    exec 9>"${LOCK}"
    flock 9
    "${cmd}"
}

# Sourced (tests of debian_mirror_from_apt_sources): define the functions, run nothing.
[[ "${BASH_SOURCE[0]}" != "$0" ]] || main "$@"
