#!/usr/bin/env bash
# A throwaway PostgreSQL 15 (Debian's package) for the test suite and
# `make run-cluster`: a fresh cluster in DIR, on loopback only, trust
# authentication, C collation, no fsync. PostgreSQL refuses to run as root,
# so under root the cluster runs as the `postgres` user the package creates
# (DIR's parent must then be readable by that user).
#
#   infra/local-postgres.sh start DIR PORT   # prints the admin URL
#   infra/local-postgres.sh stop DIR
set -euo pipefail
bin=/usr/lib/postgresql/15/bin
command="${1:?start DIR PORT | stop DIR}"
dir="${2:?the cluster directory}"

as_owner() {
    if [ "$(id -u)" = 0 ]; then runuser -u postgres -- "$@"; else "$@"; fi
}

case "$command" in
start)
    port="${3:?a port}"
    [ -x "$bin/initdb" ] || { echo "PostgreSQL 15 is missing: OMNI_SETUP_TESTS=1 source infra/setup.sh (apt-get install postgresql)" >&2; exit 1; }
    mkdir -p "$dir"
    [ "$(id -u)" = 0 ] && chown postgres:postgres "$dir"
    if [ ! -f "$dir/data/PG_VERSION" ]; then
        as_owner "$bin/initdb" --auth=trust --username=postgres --no-sync --encoding=UTF8 --locale=C -D "$dir/data" >/dev/null
    fi
    as_owner "$bin/pg_ctl" -D "$dir/data" -l "$dir/server.log" -w -t 60 \
        -o "-p $port -k $dir -c listen_addresses=127.0.0.1 -c fsync=off -c full_page_writes=off -c max_connections=300" \
        start >/dev/null
    echo "postgres://postgres@127.0.0.1:$port/postgres"
    ;;
stop)
    [ -f "$dir/data/postmaster.pid" ] && as_owner "$bin/pg_ctl" -D "$dir/data" -m fast -w stop >/dev/null || true
    ;;
*)
    echo "usage: $0 start DIR PORT | stop DIR" >&2
    exit 2
    ;;
esac
