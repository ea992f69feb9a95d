#!/usr/bin/env bash
# Benchmarks return intake through the local edge host: a customer opens a
# return of one unit against a till receipt (POST /api/returns: one BEGIN
# IMMEDIATE transaction reading the receipt and the units already returned,
# inserting the case, its line and history, and queueing the customer's
# notification), then the WAW-02 kiosk receives it by its signed return
# code (POST /api/returns/intakes: the guarded opened -> received UPDATE,
# the line's condition and final refund, the restock of that store's shelf,
# history, notification). The two alternate on every connection, so the
# figures are the mix of both.
#
# It starts target/host/edge-host with a fresh state directory, loads the
# demo stores, items, prices and stock, records RECEIPTS till receipts of 20
# units each (infra/bench/returns-setup.py), then runs wrk with CONNECTIONS
# keep-alive clients for DURATION and prints p50/p99 and throughput.
#
# Usage: infra/bench/returns.sh                  (builds what it needs first)
#   NO_BUILD=1 DURATION=10s CONNECTIONS=16 THREADS=2 RECEIPTS=2000 PORT=38391 infra/bench/returns.sh
# Needs: wrk (apt-get install -y wrk), curl, python3. Traffic goes to 127.0.0.1 only.
set -euo pipefail

RECEIPTS="${RECEIPTS:-2000}"
PORT="${PORT:-38391}"
# shellcheck source=infra/bench/prelude.bash
source "$(dirname "${BASH_SOURCE[0]}")/prelude.bash"

bench_require wrk curl python3
bench_build -p catalog -p availability -p returns
bench_start_host /api/returns/health

echo "== loading the demo retailer and its stock"
for kind in stores items prices; do post_as_ops "/api/catalog/$kind" "$ROOT/infra/demo/$kind.json"; done
post_as_ops /api/availability/feed "$ROOT/infra/demo/stock.json"

echo "== recording $RECEIPTS till receipts for 50 customers"
: >"$WORK/tokens.txt"
for n in $(seq 1 50); do echo "customer C-BENCH-$n $(token --role customer --sub "C-BENCH-$n")" >>"$WORK/tokens.txt"; done
echo "store WAW-01 $(token --role store --sub till-1 --store WAW-01)" >>"$WORK/tokens.txt"
python3 "$BENCH/returns-setup.py" "$BASE" "$WORK/tokens.txt" "$WORK/receipts.txt" "$RECEIPTS"
KIOSK=$(token --role store --sub kiosk-1 --store WAW-02)

# One open and one intake checked by hand first: wrk counts a fast 4xx as a success.
read -r SAMPLE_RECEIPT SAMPLE_TOKEN < <(tail -n 1 "$WORK/receipts.txt")
status=$(curl -sS -o "$WORK/sample.json" -w '%{http_code}' -X POST "$BASE/api/returns" \
  -H "authorization: Bearer $SAMPLE_TOKEN" -H 'content-type: application/json' \
  --data "{\"order_id\":\"$SAMPLE_RECEIPT\",\"lines\":[{\"sku\":\"TEE-ORG-BLK-M\",\"quantity\":1}]}")
if [[ "$status" != 201 ]]; then echo "sample return: $status $(cat "$WORK/sample.json")" >&2; exit 1; fi
CODE=$(python3 -c 'import json,sys; print(json.load(open(sys.argv[1]))["return_code"]["code"])' "$WORK/sample.json")
status=$(curl -sS -o "$WORK/intake.json" -w '%{http_code}' -X POST "$BASE/api/returns/intakes" \
  -H "authorization: Bearer $KIOSK" -H 'content-type: application/json' --data "{\"code\":\"$CODE\"}")
if [[ "$status" != 200 ]]; then echo "sample intake: $status $(cat "$WORK/intake.json")" >&2; exit 1; fi
echo "   sample intake: $(head -c 160 "$WORK/intake.json")..."

echo
echo "== POST /api/returns (customer, receipt) alternating with POST /api/returns/intakes (kiosk, by QR code)"
echo "   (wrk -t$THREADS -c$CONNECTIONS -d$DURATION)"
RETURNS_BENCH_RECEIPTS="$WORK/receipts.txt" RETURNS_BENCH_KIOSK="$KIOSK" THREADS="$THREADS" \
  wrk -t"$THREADS" -c"$CONNECTIONS" -d"$DURATION" --latency -s "$BENCH/returns.lua" "$BASE"
