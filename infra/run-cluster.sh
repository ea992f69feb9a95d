#!/usr/bin/env bash
# `make run-cluster`: the same app as `make run`, as three nodes sharing one
# truth. Starts PostgreSQL 15 and Redis locally (Debian's packages, on
# loopback, data in .spin/cluster/), then three edge hosts on
# 127.0.0.1:3001-3003, each with infra/spin/runtime-config-cluster.toml (the
# key-value store on Redis) and the `database_url` variable (PostgreSQL), and
# loads the demo retailer once, through the first node. Any node serves any
# request; a reservation made on one is stock taken on all. Ctrl-C stops all
# five processes; the data stays in .spin/cluster/ for the next run.
#
# Knobs: CLUSTER_DIR (.spin/cluster), PG_PORT (5433), REDIS_PORT (6380),
# NODES (3), FIRST_PORT (3001).
set -euo pipefail
cd "$(dirname "$0")/.."

OMNI_SETUP_CLUSTER=1 source infra/setup.sh

dir="${CLUSTER_DIR:-.spin/cluster}"
pg_port="${PG_PORT:-5433}"
redis_port="${REDIS_PORT:-6380}"
nodes="${NODES:-3}"
first_port="${FIRST_PORT:-3001}"
mkdir -p "$dir"
dir="$(cd "$dir" && pwd)"
# PostgreSQL runs as its own user under root: it must reach its directory.
chmod 755 "$dir" "$(dirname "$dir")"

fail() {
    printf '\nmake run-cluster stopped: %s\n' "$1" >&2
    shift
    for hint in "$@"; do printf '  - %s\n' "$hint" >&2; done
    exit 1
}

pids=()
stop() {
    trap - INT TERM EXIT
    for pid in "${pids[@]}"; do kill -TERM "$pid" 2>/dev/null || true; done
    wait 2>/dev/null || true
    infra/local-postgres.sh stop "$dir/pg"
}
trap 'stop; printf "\nStopped. The cluster'"'"'s data is kept in %s/.\n" "$dir"; exit 0' INT TERM
trap stop EXIT

printf '\n== PostgreSQL 15 on 127.0.0.1:%s and Redis on 127.0.0.1:%s (data in %s)\n' "$pg_port" "$redis_port" "$dir"
admin="$(infra/local-postgres.sh start "$dir/pg" "$pg_port")" \
    || fail "PostgreSQL did not start (its log: $dir/pg/server.log)" "another server on $pg_port: PG_PORT=5434 make run-cluster"
if [ -z "$(psql "$admin" -XAtc "SELECT 1 FROM pg_database WHERE datname = 'omni'")" ]; then
    psql "$admin" -Xqc "CREATE DATABASE omni" >/dev/null
fi
database_url="postgres://postgres@127.0.0.1:$pg_port/omni"
redis-server --port "$redis_port" --bind 127.0.0.1 --save '' --appendonly no --dir "$dir" >"$dir/redis.log" 2>&1 &
pids+=($!)
sed "s|redis://127.0.0.1:6379/0|redis://127.0.0.1:$redis_port/0|" infra/spin/runtime-config-cluster.toml > "$dir/runtime-config.toml"

# One set of secrets for every node (a token minted for one is good on all).
secrets="$dir/demo-secrets.env"
if [ ! -f "$secrets" ]; then
    {
        echo "SPIN_VARIABLE_JWT_HS256_SECRET=$(head -c 32 /dev/urandom | base64 | tr -d '\n')"
        echo "SPIN_VARIABLE_CODE_SIGNING_SECRET=$(head -c 32 /dev/urandom | base64 | tr -d '\n')"
    } > "$secrets"
    chmod 600 "$secrets"
fi
set -a; source "$secrets"; set +a
export SPIN_VARIABLE_DATABASE_URL="$database_url"
export SPIN_VARIABLE_DATABASE_HOST="127.0.0.1:$pg_port"

urls=()
for n in $(seq 1 "$nodes"); do
    port=$((first_port + n - 1))
    url="http://127.0.0.1:$port"
    if curl -fsS --max-time 2 "$url/.well-known/spin/health" >/dev/null 2>&1; then
        fail "something already answers on $url" "stop it, or FIRST_PORT=4001 make run-cluster"
    fi
    mkdir -p "$dir/node-$n"
    "$OMNI_BIN/edge-host" up --manifest spin.toml --listen "127.0.0.1:$port" --state-dir "$dir/node-$n" \
        --runtime-config-file "$dir/runtime-config.toml" > "$dir/node-$n.log" 2>&1 &
    pids+=($!)
    urls+=("$url")
done
printf '== %s nodes starting on %s\n' "$nodes" "${urls[*]}"
for url in "${urls[@]}"; do
    started=$SECONDS
    until curl -fsS --max-time 2 "$url/.well-known/spin/health" >/dev/null 2>&1; do
        [ $((SECONDS - started)) -lt 900 ] || fail "$url did not answer within 900 s (its log: $dir/node-*.log)"
        sleep 1
    done
done

printf '\n== loading the demo retailer once, through %s\n' "${urls[0]}"
"$OMNI_BIN/omni-demo" seed "${urls[0]}" || fail "loading the demo data failed (the answer is above)"

token() { "$OMNI_BIN/omni-demo" token "$@"; }
customer="$(token --role customer --sub C-1001 --ttl-secs 43200)"
cat <<MSG

The omnichannel edge runs as $nodes nodes: ${urls[*]}
They share PostgreSQL (database omni on 127.0.0.1:$pg_port) and Redis (127.0.0.1:$redis_port); logs in $dir/.
Demo tokens (valid 12 hours, good on every node):
  customer (C-1001):      $customer
  store device (WAW-01):  $(token --role store --sub kiosk-1 --store WAW-01 --ttl-secs 43200)
  operator (ops):         $(token --role ops --sub back-office --ttl-secs 43200)

Try a reservation on one node and the stock it took on another:
  curl -X POST ${urls[0]}/api/reservations -H "authorization: Bearer $customer" \\
       -H 'content-type: application/json' -d '{"store_id":"WAW-01","lines":[{"sku":"TEE-ORG-BLK-M","quantity":1}]}'
  curl -X POST ${urls[$((nodes > 1 ? 1 : 0))]}/api/availability/basket -H 'content-type: application/json' \\
       -d '{"store_id":"WAW-01","lines":[{"sku":"TEE-ORG-BLK-M","quantity":1}]}'
Press Ctrl-C to stop the cluster.
MSG
wait "${pids[1]}" || true
