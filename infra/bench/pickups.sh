#!/usr/bin/env bash
# Benchmarks order status transitions with notification enqueue through the
# local edge host: POST /api/orders/{id}/transitions by store devices, each
# answered after one BEGIN IMMEDIATE transaction (guarded status UPDATE,
# history row, for ready_for_pickup and picked_up a Web Push row in the
# outbox, for picked_up the stock fulfilment). Delivery runs after the
# response, in the same instance, and is not part of the measured latency
# (here the push endpoints are not in allowed_outbound_hosts, so each first
# attempt is refused at once and rescheduled: the post-response work still
# runs and competes for the two cores).
#
# It starts target/host/edge-host with a fresh state directory and a VAPID
# key, loads the demo items and 20 bench stores (daily picking limit 100000,
# so promises stay on the day) with stock, creates ORDERS click & collect
# orders from reservations (infra/bench/pickups-setup.py), then runs wrk
# with CONNECTIONS keep-alive clients for DURATION and prints p50/p99 and
# throughput.
#
# Usage: infra/bench/pickups.sh                  (builds what it needs first)
#   NO_BUILD=1 DURATION=10s CONNECTIONS=16 THREADS=2 ORDERS=8000 PORT=38390 infra/bench/pickups.sh
# Needs: wrk (apt-get install -y wrk), curl, python3. Traffic goes to 127.0.0.1 only.
set -euo pipefail

ORDERS="${ORDERS:-8000}"
PORT="${PORT:-38390}"
STORES=20
# shellcheck source=infra/bench/prelude.bash
source "$(dirname "${BASH_SOURCE[0]}")/prelude.bash"

bench_require wrk curl python3
bench_build -p catalog -p availability -p pickups
# A throwaway VAPID key (RFC 8291's example key), so pushes are queued.
export SPIN_VARIABLE_VAPID_PRIVATE_KEY="yfWPiYE-n46HLnH0KqZOF1fJJU3MYrct3AELtAQ-oRw"
bench_start_host /api/orders/health

echo "== loading the demo items and prices, $STORES bench stores and their stock"
post_as_ops /api/catalog/items "$ROOT/infra/demo/items.json"
post_as_ops /api/catalog/prices "$ROOT/infra/demo/prices.json"
awk -v n="$STORES" -v dir="$WORK" 'BEGIN {
  d = "[\"00:00-23:59\"]"
  printf "{\"stores\": [" > dir "/stores.json"
  for (i = 1; i <= n; i++) {
    printf "%s{\"store_id\": \"PICK-%02d\", \"name\": \"Pickup bench %d\", \"kind\": \"store\", " \
      "\"address\": {\"street\": \"Testowa %d\", \"city\": \"Warszawa\", \"postal_code\": \"00-001\", \"country\": \"PL\"}, " \
      "\"geo\": {\"lat\": 52.2%02d, \"lon\": 21.0%02d}, \"time_zone\": \"Europe/Warsaw\", " \
      "\"hours\": {\"mon\": %s, \"tue\": %s, \"wed\": %s, \"thu\": %s, \"fri\": %s, \"sat\": %s, \"sun\": %s}, " \
      "\"pickup_sla_minutes\": 120, \"daily_picking_limit\": 100000, \"services\": [\"click_and_collect\"]}", \
      (i > 1 ? "," : ""), i, i, i, i, i, d, d, d, d, d, d, d > dir "/stores.json"
  }
  printf "]}\n" > dir "/stores.json"
  printf "{\"feeds\": [" > dir "/stock.json"
  for (i = 1; i <= n; i++) {
    printf "%s{\"store_id\": \"PICK-%02d\", \"sequence\": 1, \"lines\": [{\"sku\": \"TEE-ORG-BLK-M\", \"on_hand\": 100000}]}", \
      (i > 1 ? "," : ""), i > dir "/stock.json"
  }
  printf "]}\n" > dir "/stock.json"
}'
post_as_ops /api/catalog/stores "$WORK/stores.json"
post_as_ops /api/availability/feed "$WORK/stock.json"

echo "== creating $ORDERS click & collect orders (a reservation, then the order) for 50 customers"
: >"$WORK/tokens.txt"
for n in $(seq 1 50); do echo "customer C-BENCH-$n $(token --role customer --sub "C-BENCH-$n")" >>"$WORK/tokens.txt"; done
for n in $(seq -w 1 "$STORES"); do echo "store PICK-$n $(token --role store --sub "till-$n" --store "PICK-$n")" >>"$WORK/tokens.txt"; done
python3 "$BENCH/pickups-setup.py" "$BASE" "$WORK/tokens.txt" "$WORK/orders.txt" "$ORDERS"
echo "   $(wc -l <"$WORK/orders.txt") orders placed"
# Each placement's first push attempt runs after its answer; let them finish
# so the measured load is the transitions' own.
for _ in $(seq 1 600); do
  left=$(curl -fsS "$BASE/api/notifications/outbox?limit=500" -H "authorization: Bearer $OPS" \
    | python3 -c 'import json, sys; print(sum(1 for e in json.load(sys.stdin)["entries"] if e["attempts"] == 0))')
  [[ "$left" == 0 ]] && break
  sleep 0.5
done

# One transition checked by hand first: wrk counts a fast 4xx as a success.
read -r SAMPLE_ORDER SAMPLE_TOKEN < <(tail -n 1 "$WORK/orders.txt")
status=$(curl -sS -o "$WORK/sample.json" -w '%{http_code}' -X POST "$BASE/api/orders/$SAMPLE_ORDER/transitions" \
  -H "authorization: Bearer $SAMPLE_TOKEN" -H 'content-type: application/json' --data '{"status":"accepted"}')
if [[ "$status" != 200 ]]; then echo "sample transition: $status $(cat "$WORK/sample.json")" >&2; exit 1; fi
echo "   sample answer: $(head -c 160 "$WORK/sample.json")..."
# The sample order goes first in its thread's waves, so drop it from the load.
sed -i '$ d' "$WORK/orders.txt"

echo
echo "== POST /api/orders/{id}/transitions: accepted, picking, ready_for_pickup (+push), picked_up (+push, stock)"
echo "   (wrk -t$THREADS -c$CONNECTIONS -d$DURATION)"
PICKUPS_BENCH_ORDERS="$WORK/orders.txt" THREADS="$THREADS" \
  wrk -t"$THREADS" -c"$CONNECTIONS" -d"$DURATION" --latency -s "$BENCH/pickups.lua" "$BASE"

echo
echo "== outbox after the run (notifications queued by the transitions)"
curl -fsS "$BASE/api/notifications/outbox?limit=1" -H "authorization: Bearer $OPS" | head -c 400; echo
