#!/usr/bin/env bash
# Makes sure the servers the tests talk to are running, installing them from the Debian
# packages where missing. Sourced by scripts/test.sh; exports the URLs tests read.
#
#   PostgreSQL 15+ on 127.0.0.1:5432 -> TRADECRAFT_TEST_POSTGRES (an admin URL; each test
#   creates and drops its own database)

as_root() {
    if [ "$(id -u)" -eq 0 ]; then "$@"; else sudo "$@"; fi
}

as_postgres() {
    if command -v runuser >/dev/null 2>&1 && [ "$(id -u)" -eq 0 ]; then
        runuser -u postgres -- "$@"
    else
        sudo -u postgres "$@"
    fi
}

ensure_postgres() {
    export TRADECRAFT_TEST_POSTGRES="${TRADECRAFT_TEST_POSTGRES:-postgres://postgres@127.0.0.1:5432/postgres}"
    # The client (psql, pg_ctlcluster) can be installed without the server: look for the
    # server's own binaries.
    if ! command -v pg_ctlcluster >/dev/null 2>&1 || ! ls /usr/lib/postgresql/*/bin/postgres >/dev/null 2>&1 \
        || ! ls /usr/lib/postgresql/*/bin/initdb >/dev/null 2>&1; then
        echo "installing PostgreSQL (Debian package)"
        as_root apt-get update -q
        as_root env DEBIAN_FRONTEND=noninteractive apt-get install -y -q postgresql
    fi
    if ! pg_isready -h 127.0.0.1 -p 5432 -q; then
        local version
        version="$(ls /usr/lib/postgresql/*/bin/postgres | awk -F/ '{print $5}' | sort -V | tail -n 1)"
        if ! pg_lsclusters -h 2>/dev/null | grep -q "^${version} main"; then
            as_root pg_createcluster "$version" main
        fi
        echo "starting PostgreSQL $version"
        as_root pg_ctlcluster "$version" main start
        for _ in $(seq 1 30); do
            pg_isready -h 127.0.0.1 -p 5432 -q && break
            sleep 1
        done
    fi
    if ! psql "$TRADECRAFT_TEST_POSTGRES" -qtAc 'SELECT 1' >/dev/null 2>&1; then
        # A stock install asks for a password on TCP: give the postgres role one (through
        # the local peer login) and use it.
        as_postgres psql -qc "ALTER USER postgres PASSWORD 'tradecraft'"
        export TRADECRAFT_TEST_POSTGRES="postgres://postgres:tradecraft@127.0.0.1:5432/postgres"
    fi
    psql "$TRADECRAFT_TEST_POSTGRES" -qtAc 'SELECT 1' >/dev/null
    echo "PostgreSQL ready: $(psql "$TRADECRAFT_TEST_POSTGRES" -qtAc 'SHOW server_version')"
}
