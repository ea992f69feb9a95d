#!/usr/bin/env bash
# Benchmarks the cart-sync component through the local edge host: add-line
# to, and read of, carts holding 30 lines, at CONNECTIONS concurrent clients
# for DURATION each, with wrk on the same machine. Prints wrk's latency
# distribution (p50/p99) and throughput; the figures go to
# infra/bench/cart-sync.md.
#
# Usage: infra/bench/cart-sync.sh              (builds what it needs first)
#   NO_BUILD=1 DURATION=10s CONNECTIONS=16 THREADS=2 PORT=3900 CARTS=48 infra/bench/cart-sync.sh
# Needs: wrk (apt-get install -y wrk), curl and python3. Traffic goes to 127.0.0.1 only.
set -euo pipefail

PORT="${PORT:-3900}"
CARTS="${CARTS:-48}"
LINES=30
# shellcheck source=infra/bench/prelude.bash
source "$(dirname "${BASH_SOURCE[0]}")/prelude.bash"

bench_require wrk curl python3
bench_build -p catalog -p cart-sync -p coupons
bench_start_host /api/carts/health
for batch in stores items prices; do post_as_ops "/api/catalog/$batch" "$ROOT/infra/demo/$batch.json"; done

# CARTS customer carts in the app, each with the same 30 lines (SKUs sold in
# every channel, quantity 1).
SKUS=$(python3 -c "
import json
items = json.load(open('$ROOT/infra/demo/items.json'))['items']
print(' '.join([i['sku'] for i in items if i.get('assortment', 'both') == 'both'][:$LINES]))")
: >"$WORK/carts.txt"
for n in $(seq 1 "$CARTS"); do
  customer_token=$(token --role customer --sub "BENCH-$n")
  cart=$(curl -fsS -X POST "$BASE/api/carts" -H "authorization: Bearer $customer_token" \
    -H 'content-type: application/json' --data '{"channel": "app"}' | python3 -c 'import json,sys; print(json.load(sys.stdin)["cart_id"])')
  for sku in $SKUS; do
    curl -fsS -o /dev/null -X POST "$BASE/api/carts/$cart/lines" -H "authorization: Bearer $customer_token" \
      -H 'content-type: application/json' --data "{\"sku\": \"$sku\", \"quantity\": 1}"
  done
  echo "$cart $customer_token $SKUS" >>"$WORK/carts.txt"
done
lines=$(curl -fsS "$BASE/api/carts/$(head -1 "$WORK/carts.txt" | cut -d' ' -f1)" \
  -H "authorization: Bearer $(head -1 "$WORK/carts.txt" | cut -d' ' -f2)" | python3 -c 'import json,sys; print(len(json.load(sys.stdin)["lines"]))')
echo "== $CARTS carts of $lines lines each; $CONNECTIONS connections, $THREADS wrk threads, $DURATION per run"

run() {
  echo
  echo "== $1"
  CART_BENCH_MODE=$2 CART_BENCH_PREFER=$3 CART_BENCH_CARTS="$WORK/carts.txt" \
    wrk -t"$THREADS" -c"$CONNECTIONS" -d"$DURATION" --latency -s "$ROOT/infra/bench/cart-sync.lua" "$BASE"
}
run "add-line, answered with the whole priced cart (POST /api/carts/{id}/lines)" add ""
run "add-line with Prefer: return=minimal (204 + ETag)" add minimal
run "read-cart (GET /api/carts/{id})" read ""
