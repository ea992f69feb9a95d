#!/usr/bin/env bash
# Benchmarks the availability lookups through the local edge host:
#
#   1. one SKU across 500 stores, all within 50 km of central Warsaw
#      (GET /api/availability/nearby, radius 50 km, the 20 nearest; and the
#      100 nearest, the largest page);
#   2. a 20-SKU basket at one store (POST /api/availability/basket).
#
# It starts target/host/edge-host with a fresh state directory, loads the
# demo items, 500 generated stores (through the catalog API, in batches
# under the 64 KiB body limit) and their stock (through the stock feed),
# then runs wrk with CONNECTIONS keep-alive clients for DURATION and prints
# wrk's latency distribution (p50, p99) and throughput; then the same with
# a single client, which shows a request's own latency without queueing.
#
# Usage: infra/bench/availability.sh            (builds what it needs first)
#   NO_BUILD=1 DURATION=10s CONNECTIONS=16 THREADS=2 PORT=38190 infra/bench/availability.sh
# Needs: wrk (apt-get install -y wrk), curl, awk. Traffic goes to 127.0.0.1 only.
set -euo pipefail

PORT="${PORT:-38190}"
STORES="${STORES:-500}"
# shellcheck source=infra/bench/prelude.bash
source "$(dirname "${BASH_SOURCE[0]}")/prelude.bash"

bench_require wrk curl awk
bench_build -p catalog -p availability
bench_start_host /api/availability/health

echo "== loading the demo items and $STORES stores within 50 km of central Warsaw"
post_as_ops /api/catalog/items "$ROOT/infra/demo/items.json"
# Stores on a spiral around (52.2297, 21.0122), 1 to 45 km out, in batches
# of 50 (each batch body stays under the catalog's 64 KiB limit).
awk -v n="$STORES" -v dir="$WORK" -f "$BENCH/gen-stores.awk"
for f in "$WORK"/stores-*.json; do post_as_ops /api/catalog/stores "$f"; done

echo "== loading stock: 21 SKUs in each store, some out of stock"
SKUS="TEE-ORG-BLK-S TEE-ORG-BLK-M TEE-ORG-BLK-L TEE-ORG-WHT-M DRS-LIN-NAV-S DRS-LIN-NAV-M DRS-LIN-SND-M JNS-SLM-IND-30 JNS-SLM-IND-32 JNS-SLM-IND-34 SNK-CNV-WHT-40 SNK-CNV-WHT-41 SNK-CNV-WHT-42 JKT-RAN-OLV-M JKT-RAN-BLK-M SCF-WOL-RED SCF-WOL-GRY BAG-TOT-NAT SKT-PLT-BLK-S SKT-PLT-BLK-M KNT-MER-GRY-M"
awk -v n="$STORES" -v dir="$WORK" -v skus="$SKUS" -f "$BENCH/gen-stock.awk"
for f in "$WORK"/stock-*.json; do post_as_ops /api/availability/feed "$f"; done

# Each load starts with one request checked by hand: wrk counts a fast 4xx
# as a success, so the answer must be a 200 with the expected shape first.
check() {
  local status
  status=$(curl -sS -o "$WORK/sample.json" -w '%{http_code}' "$@")
  if [[ "$status" != 200 ]]; then echo "sample request: $status $(cat "$WORK/sample.json")" >&2; exit 1; fi
  echo "   sample answer: $(head -c 200 "$WORK/sample.json")..."
}
NEARBY="$BASE/api/availability/nearby?sku=TEE-ORG-BLK-M&lat=52.2297&lon=21.0122&radius_km=50"
cd "$ROOT"

echo
echo "== GET /api/availability/nearby: one SKU, $STORES stores within 50 km, the 20 nearest (wrk -t$THREADS -c$CONNECTIONS -d$DURATION)"
check "$NEARBY&limit=20"
grep -o '"store_id"' "$WORK/sample.json" | wc -l | xargs echo "   stores in the answer:"
LIMIT=20 wrk -t"$THREADS" -c"$CONNECTIONS" -d"$DURATION" --latency -s "$BENCH/availability-nearby.lua" "$BASE"

echo
echo "== GET /api/availability/nearby: the same, the 100 nearest (the largest page)"
check "$NEARBY&limit=100"
LIMIT=100 wrk -t"$THREADS" -c"$CONNECTIONS" -d"$DURATION" --latency -s "$BENCH/availability-nearby.lua" "$BASE"

echo
echo "== POST /api/availability/basket: 20 SKUs at one store"
check -X POST "$BASE/api/availability/basket" -H 'content-type: application/json' --data-binary "@$BENCH/availability-basket.json"
BASKET_FILE="$BENCH/availability-basket.json" wrk -t"$THREADS" -c"$CONNECTIONS" -d"$DURATION" --latency \
  -s "$BENCH/availability-basket.lua" "$BASE"

echo
echo "== one client at a time (wrk -t1 -c1 -d$DURATION): nearby (20 nearest), then the basket"
LIMIT=20 wrk -t1 -c1 -d"$DURATION" --latency -s "$BENCH/availability-nearby.lua" "$BASE"
BASKET_FILE="$BENCH/availability-basket.json" wrk -t1 -c1 -d"$DURATION" --latency -s "$BENCH/availability-basket.lua" "$BASE"
