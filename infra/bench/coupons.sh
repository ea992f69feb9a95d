#!/usr/bin/env bash
# Benchmarks coupon validation through the local edge host: a 30-line basket
# against 1,000 active promotions (POST /api/coupons/validate).
#
# It starts target/host/edge-host with a fresh state directory, imports
# 1,000 generated live promotions (every benefit type; cart, SKU, category
# and department targets over a 5,000-SKU catalogue; channel, loyalty,
# minimum-basket and window conditions; exclusive and stackable at ten
# priorities; one of them reached by a shared code), then runs
# wrk with CONNECTIONS keep-alive clients for DURATION and prints wrk's
# latency distribution (p50, p99) and throughput, for an anonymous web basket
# and for a customer's app basket with a code; then one client at a time,
# which shows a request's own latency without queueing.
#
# Usage: infra/bench/coupons.sh            (builds what it needs first)
#   NO_BUILD=1 DURATION=10s CONNECTIONS=16 THREADS=2 PORT=38200 infra/bench/coupons.sh
# Needs: wrk (apt-get install -y wrk), curl, awk. Traffic goes to 127.0.0.1 only.
set -euo pipefail

PORT="${PORT:-38200}"
PROMOTIONS="${PROMOTIONS:-1000}"
# shellcheck source=infra/bench/prelude.bash
source "$(dirname "${BASH_SOURCE[0]}")/prelude.bash"

bench_require wrk curl awk
bench_build -p coupons
bench_start_host /api/coupons/health
SHOPPER="$(token --role customer --sub bench-shopper)"

echo "== importing $PROMOTIONS promotions"
# A retailer's live promotions over a catalogue of 5,000 SKUs in 10
# departments of 20 categories each:
#   1-20    whole-cart offers (percent, amount, free shipping over 300 PLN;
#           some app-only, loyalty-only or with a minimum basket);
#   21-500  offers on 5 SKUs each;
#   501-    offers on one category, every 25th on a whole department.
# Benefits cycle through percent off, amount off, fixed price and buy X
# get Y; odd ones are exclusive, even ones stackable, at ten priorities;
# every 4th has a validity window. The last one needs the code BENCH10.
awk -v n="$PROMOTIONS" -v out="$WORK/promotions.json" -f "$BENCH/gen-promotions.awk"
post_as_ops /api/promotions/import "$WORK/promotions.json"
echo "   $(head -c 120 "$WORK/reply.json")..."

# The basket: 30 lines spread over the catalogue (some of them marked down).
awk -v out="$WORK/cart.json" 'BEGIN {
  printf "{\"currency\": \"PLN\", \"lines\": [" > out
  for (k = 0; k < 30; k++) {
    leaf = (k * 13) % 200
    printf "%s{\"sku\": \"BENCH-SKU-%04d\", \"category\": [\"dept-%d\", \"cat-%03d\"], \"quantity\": %d, " \
      "\"unit_price\": {\"amount\": \"%d.%02d\", \"currency\": \"PLN\"}, \"already_discounted\": %s}", \
      (k > 0 ? "," : ""), (k * 167) % 5000, int(leaf / 20), leaf, 1 + k % 3, 20 + (k * 37) % 300, (k * 7) % 100, \
      (k % 8 == 0 ? "true" : "false") > out
  }
  printf "]}" > out
  close(out)
}'
# The engine prices lines from the catalogue (a snapshot price that differs
# is refused), so the basket's 30 SKUs are loaded with the same categories
# and prices.
awk -v items="$WORK/items.json" -v prices="$WORK/prices.json" 'BEGIN {
  printf "{\"items\": [" > items
  printf "{\"prices\": [" > prices
  for (k = 0; k < 30; k++) {
    leaf = (k * 13) % 200
    sku = sprintf("BENCH-SKU-%04d", (k * 167) % 5000)
    printf "%s{\"sku\": \"%s\", \"product_id\": \"%s\", \"name\": \"Bench item %d\", \"category\": [\"dept-%d\", \"cat-%03d\"]}", \
      (k > 0 ? "," : ""), sku, sku, k, int(leaf / 20), leaf > items
    printf "%s{\"sku\": \"%s\", \"amount\": \"%d.%02d\", \"currency\": \"PLN\"}", \
      (k > 0 ? "," : ""), sku, 20 + (k * 37) % 300, (k * 7) % 100 > prices
  }
  printf "]}\n" > items
  printf "]}\n" > prices
}'
post_as_ops /api/catalog/items "$WORK/items.json"
post_as_ops /api/catalog/prices "$WORK/prices.json"
printf '{"channel": "web", "cart": %s}\n' "$(cat "$WORK/cart.json")" >"$WORK/validate-web.json"
printf '{"channel": "app", "cart": %s, "codes": ["BENCH10"]}\n' "$(cat "$WORK/cart.json")" >"$WORK/validate-app.json"

# Each load starts with one request checked by hand: the answer must be a
# 200 with promotions applied before its speed means anything.
check() {
  local file="$1" token="${2:-}" status
  local auth=()
  [[ -n "$token" ]] && auth=(-H "authorization: Bearer $token")
  status=$(curl -sS -o "$WORK/sample.json" -w '%{http_code}' -X POST "$BASE/api/coupons/validate" \
    -H 'content-type: application/json' "${auth[@]}" --data-binary "@$file")
  if [[ "$status" != 200 ]]; then echo "sample request: $status $(head -c 2000 "$WORK/sample.json")" >&2; exit 1; fi
  echo "   promotions applied: $(grep -o '"promotion_id":"[^"]*","version"' "$WORK/sample.json" | wc -l)," \
    "total discount: $(grep -o '"total_discount":{[^}]*}' "$WORK/sample.json")," \
    "answer: $(wc -c <"$WORK/sample.json") bytes"
}
cd "$ROOT"

echo
echo "== POST /api/coupons/validate: 30 lines, $PROMOTIONS active promotions, anonymous web basket (wrk -t$THREADS -c$CONNECTIONS -d$DURATION)"
check "$WORK/validate-web.json"
VALIDATE_FILE="$WORK/validate-web.json" wrk -t"$THREADS" -c"$CONNECTIONS" -d"$DURATION" --latency -s "$BENCH/coupons-validate.lua" "$BASE"

echo
echo "== the same for a signed-in customer's app basket with a code (customer facts and the code's promotion loaded too)"
check "$WORK/validate-app.json" "$SHOPPER"
VALIDATE_FILE="$WORK/validate-app.json" TOKEN="$SHOPPER" wrk -t"$THREADS" -c"$CONNECTIONS" -d"$DURATION" --latency \
  -s "$BENCH/coupons-validate.lua" "$BASE"

echo
echo "== one client at a time (wrk -t1 -c1 -d$DURATION): the anonymous web basket"
VALIDATE_FILE="$WORK/validate-web.json" wrk -t1 -c1 -d"$DURATION" --latency -s "$BENCH/coupons-validate.lua" "$BASE"
