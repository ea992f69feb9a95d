#!/usr/bin/env bash
# Many nodes, one truth, measured (issue 16): the four hot paths on SQLite
# (one node) and on PostgreSQL (one node and three), with and without a
# 20 ms link to the database (omni-demo latency-proxy), in one markdown
# table. Every configuration starts from empty state: its own PostgreSQL
# database, the demo retailer seeded through the first node, then:
#
#   nearby     GET /api/availability/nearby (availability-nearby.lua): one
#              SKU around central Warsaw, the demo's stores.
#   validate   POST /api/coupons/validate (coupons-validate.lua): a 3-line
#              demo basket with WELCOME10, anonymous, against the 12 demo
#              promotions.
#   reserve    POST /api/reservations (runtimes-reserve.lua): one unit per
#              reservation by 50 customers in turn, over 3 stores x 8 SKUs
#              stocked with 100,000 units each (no hot row).
#   add-line   POST /api/carts/{id}/lines (cart-sync.lua, Prefer:
#              return=minimal): 48 customer carts of 8 lines, each add
#              raising one of its own lines.
#
# Load: wrk -t$THREADS -c$CONNECTIONS -d$DURATION --latency per row; with
# three nodes, three wrk processes at once share the connections (6+5+5 of
# 16) and the row shows their summed req/s, the mean of their p50s and the
# worst p99. The floor beside each configuration is GET
# /api/catalog/health (no database) on its first node, taken right before
# its rows.
#
# Usage: infra/bench/cluster.sh   (NO_BUILD=1 to skip the build; DURATION=5s
#   CONNECTIONS=16 CONFIGS="sqlite-1 pg-1 pg-1-20ms pg-3 pg-3-20ms" PORT=39310)
# Needs: wrk, curl, awk; PostgreSQL 15 (infra/local-postgres.sh), as make
# test installs it. Traffic goes to 127.0.0.1 only.
set -euo pipefail

PORT="${PORT:-39310}"
DURATION="${DURATION:-5s}"
CONFIGS="${CONFIGS:-sqlite-1 pg-1 pg-1-20ms pg-3 pg-3-20ms}"
# shellcheck source=infra/bench/prelude.bash
source "$(dirname "${BASH_SOURCE[0]}")/prelude.bash"

bench_require wrk curl awk
bench_build

chmod 755 "$WORK"
PG_PORT=$((PORT + 50))
PROXY_PORT=$((PORT + 51))
PG_ADMIN="$("$ROOT/infra/local-postgres.sh" start "$WORK/pg" "$PG_PORT")"
PIDS=()
stop_nodes() {
  local pid
  for pid in "${PIDS[@]}"; do kill -TERM "$pid" 2>/dev/null || true; wait "$pid" 2>/dev/null || true; done
  PIDS=()
}
cluster_cleanup() {
  stop_nodes
  "$ROOT/infra/local-postgres.sh" stop "$WORK/pg"
  bench_cleanup
}
trap cluster_cleanup EXIT
"$ROOT/target/host/omni-demo" latency-proxy --listen "127.0.0.1:$PROXY_PORT" \
  --upstream "127.0.0.1:$PG_PORT" --delay-ms 20 2>"$WORK/proxy.log" &
PIDS_PROXY=$!
trap 'kill $PIDS_PROXY 2>/dev/null || true; cluster_cleanup' EXIT

SKUS="DRS-LIN-NAV-S DRS-LIN-SND-M TEE-ORG-BLK-S TEE-ORG-WHT-M JNS-SLM-IND-28 JNS-SLM-IND-32 TEE-ORG-BLK-XL DRS-LIN-NAV-L"
STORES="WAW-01 WAW-02 KRK-01"
cat >"$WORK/basket.json" <<'JSON'
{"channel": "web", "codes": ["WELCOME10"], "cart": {"currency": "PLN", "lines": [
  {"sku": "DRS-LIN-NAV-M", "category": ["women", "dresses"], "quantity": 1, "unit_price": {"amount": "249.99", "currency": "PLN"}},
  {"sku": "TEE-ORG-BLK-M", "category": ["men", "t-shirts"], "quantity": 2, "unit_price": {"amount": "59.99", "currency": "PLN"}},
  {"sku": "TEE-ORG-WHT-L", "category": ["men", "t-shirts"], "quantity": 1, "unit_price": {"amount": "59.99", "currency": "PLN"}}]}}
JSON

# wrk_row NAME URL... : one row, its figures appended to $WORK/rows.
wrk_row() {
  local name="$1" lua="$2"; shift 2
  local urls=("$@") n=${#@} i pids=() share
  for i in "${!urls[@]}"; do
    share=$(( CONNECTIONS / n + (i < CONNECTIONS % n ? 1 : 0) ))
    wrk -t1 -c"$share" -d"$DURATION" --latency -s "$BENCH/$lua" "${urls[$i]}" >"$WORK/wrk-$i.out" 2>&1 &
    pids+=($!)
  done
  for i in "${pids[@]}"; do wait "$i"; done
  awk -v name="$name" '
    /^ +50\.000%|^ +50%/ { v = $2; p50 += (v ~ /us$/) ? v / 1000 : (v ~ /ms$/) ? v + 0 : v * 1000; n50++ }
    /^ +99\.000%|^ +99%/ { v = $2; x = (v ~ /us$/) ? v / 1000 : (v ~ /ms$/) ? v + 0 : v * 1000; if (x > p99) p99 = x }
    /^Requests\/sec/ { rps += $2 }
    /Non-2xx or 3xx responses/ { bad += $NF }
    END { printf "%s|%.0f|%.1f|%.1f|%d\n", name, rps, p50 / n50, p99, bad }' "$WORK"/wrk-*.out >>"$WORK/rows"
  rm -f "$WORK"/wrk-*.out
}

: >"$WORK/table"
for config in $CONFIGS; do
  nodes="${config#*-}"; nodes="${nodes%%-*}"
  engine="${config%%-*}"
  bench_secrets
  unset SPIN_VARIABLE_DATABASE_URL SPIN_VARIABLE_DATABASE_HOST
  if [[ "$engine" == pg ]]; then
    db="bench_$(echo "$config" | tr -- - _)"
    psql "$PG_ADMIN" -Xqc "DROP DATABASE IF EXISTS $db" -c "CREATE DATABASE $db" >/dev/null
    port="$PG_PORT"
    [[ "$config" == *-20ms ]] && port="$PROXY_PORT"
    export SPIN_VARIABLE_DATABASE_URL="postgres://postgres@127.0.0.1:$port/$db"
    export SPIN_VARIABLE_DATABASE_HOST="127.0.0.1:$port"
  fi
  urls=()
  for i in $(seq 1 "$nodes"); do
    node_port=$((PORT + i - 1))
    mkdir -p "$WORK/$config-$i"
    "$ROOT/target/host/edge-host" up --manifest "$ROOT/spin.toml" --listen "127.0.0.1:$node_port" \
      --state-dir "$WORK/$config-$i" --cache-dir "$ROOT/target/edge-host-cache" --quiet --no-schedule \
      >"$WORK/$config-$i.log" 2>&1 &
    PIDS+=($!)
    urls+=("http://127.0.0.1:$node_port")
  done
  for url in "${urls[@]}"; do
    until curl -fsS -o /dev/null --max-time 2 "$url/api/catalog/health"; do sleep 0.2; done
  done
  "$ROOT/target/host/omni-demo" seed "${urls[0]}" >/dev/null
  OPS="$("$ROOT/target/host/omni-demo" token --role ops --sub bench --ttl-secs 3600)"
  feeds="$(for store in $STORES; do
    printf '{"store_id":"%s","sequence":%s,"lines":[%s]},' "$store" "$(date +%s%3N)" \
      "$(for sku in $SKUS; do printf '{"sku":"%s","on_hand":100000},' "$sku"; done | sed 's/,$//')"
  done | sed 's/,$//')"
  curl -sS --fail-with-body -o "$WORK/feed.out" -X POST "${urls[0]}/api/availability/feed" -H "authorization: Bearer $OPS" \
    -H 'content-type: application/json' -d "{\"feeds\":[$feeds]}" || { cat "$WORK/feed.out" >&2; exit 1; }
  : >"$WORK/tokens"
  for i in $(seq 1 50); do
    "$ROOT/target/host/omni-demo" token --role customer --sub "C-BENCH-$i" --ttl-secs 3600 >>"$WORK/tokens"
  done
  : >"$WORK/carts"
  for i in $(seq 1 48); do
    token="$(sed -n "${i}p" "$WORK/tokens")"
    cart="$(curl -fsS -X POST "${urls[0]}/api/carts" -H "authorization: Bearer $token" -H 'x-channel: app' \
      -H 'content-type: application/json' -d '{"channel":"app"}' | sed 's/.*"cart_id":"\([^"]*\)".*/\1/')"
    for sku in $SKUS; do
      curl -sS --fail-with-body -o "$WORK/line.out" -X POST "${urls[0]}/api/carts/$cart/lines" -H "authorization: Bearer $token" \
        -H 'x-channel: app' -H 'content-type: application/json' -H 'prefer: return=minimal' \
        -d "{\"sku\":\"$sku\",\"quantity\":1}" || { cat "$WORK/line.out" >&2; exit 1; }
    done
    echo "$cart $token $SKUS" >>"$WORK/carts"
  done
  floor="$(wrk -t1 -c4 -d2s --latency "${urls[0]}/api/catalog/health" | awk '/^ +50\.000%|^ +50%/ { print $2 }')"
  : >"$WORK/rows"
  wrk_row nearby availability-nearby.lua "${urls[@]}"
  VALIDATE_FILE="$WORK/basket.json" wrk_row validate coupons-validate.lua "${urls[@]}"
  RESERVE_TOKENS="$WORK/tokens" RESERVE_STORES="$STORES" RESERVE_SKUS="$SKUS" \
    wrk_row reserve runtimes-reserve.lua "${urls[@]}"
  CART_BENCH_CARTS="$WORK/carts" CART_BENCH_MODE=add CART_BENCH_PREFER=minimal \
    wrk_row add-line cart-sync.lua "${urls[@]}"
  while IFS='|' read -r row rps p50 p99 bad; do
    echo "| $config | $row | $rps | $p50 | $p99 | $bad | $floor |" >>"$WORK/table"
  done <"$WORK/rows"
  echo "== $config done" >&2
  stop_nodes
done

echo
echo "Cluster benchmark: wrk -c$CONNECTIONS -d$DURATION per row (three nodes: three wrk at once, req/s summed, p50 averaged, worst p99)."
echo
echo "| configuration | row | req/s | p50 ms | p99 ms | non-2xx | floor p50 (health) |"
echo "| --- | --- | --- | --- | --- | --- | --- |"
cat "$WORK/table"
