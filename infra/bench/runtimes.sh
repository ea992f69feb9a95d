#!/usr/bin/env bash
# Runs the same .wasm files (target/wasm32-wasip2/release, spin.toml) under
# two runtimes in one go and prints one markdown table: the project's edge
# host (target/host/edge-host, started as prelude.bash starts it) and the
# real Spin CLI (infra/spin-cli.sh; `spin up` in its own process group).
#
# For each runtime: a fresh state directory, the app started (first start:
# process start to the first 200 on /.well-known/spin/health, with whatever
# compilation cache is there), every row's data loaded through the API,
# then wrk -t$THREADS -c$CONNECTIONS -d$DURATION --latency on each row, one
# after another; then the app is stopped and started three more times on
# an empty state directory with the compilation cache now warm (the cold
# start figure). Rows, and the data each one reads or writes:
#
#   health        GET /api/catalog/health: the runtime's floor (route,
#                 instantiate, answer), nothing read.
#   catalog item  GET /api/catalog/items/{sku}: the 49 demo items in turn.
#   nearby        GET /api/availability/nearby: one SKU, the 20 nearest of
#                 502 stores within 50 km of central Warsaw (the 500 of
#                 availability.sh, STORES, plus the demo's WAW-01/02).
#   basket        POST /api/availability/basket: availability.sh's 20-SKU
#                 basket at BENCH-001.
#   cart read     GET /api/carts/{id}: CARTS (48) customer carts of 30 lines,
#                 as cart-sync.sh makes them (runtimes-carts.py), round robin.
#   add-line      POST /api/carts/{id}/lines to the same carts (cart-sync.lua:
#                 each add increments one of the cart's own lines; 48 x 30
#                 lines keep every line far below the per-line maximum of 99),
#                 answered with the whole priced cart.
#   coupon        POST /api/coupons/validate: coupons.sh's anonymous 30-line
#                 web basket against PROMOTIONS (1,000) live promotions,
#                 imported just before this row (see below).
#   reserve       POST /api/reservations: one unit of one SKU per
#                 reservation, by 50 customers in turn, spread over 20 stores
#                 x 8 SKUs (160 stock rows of 100,000 units each, so stock
#                 never runs out: a run takes a few thousand units); request
#                 n takes store n mod 20 and SKU (n div 20) mod 8, so no row
#                 is hot (runtimes-reserve.lua).
#   pickup        POST /api/orders/{id}/transitions: ORDERS click & collect
#                 orders at the same 20 stores (pickups-setup.py, pickups.lua:
#                 waves of accepted, picking, ready_for_pickup with a push,
#                 picked_up). ORDERS defaults to 300 per second of DURATION,
#                 enough for 1,200 transitions/s before the orders run out
#                 (then they answer 409 and the row shows errors); how many
#                 waves a run reached is printed, since later waves cost more.
#   returns       POST /api/returns + POST /api/returns/intakes alternating
#                 (returns-setup.py, returns.lua) on RECEIPTS till receipts of
#                 20 units (default 50 per second of DURATION: far more units
#                 than a run opens).
#
# Counts (environment knobs in capitals): STORES=500 generated stores,
# CARTS=48 carts x 30 lines, PROMOTIONS=1000, ORDERS=300 per second of
# DURATION (+1, the sample), RECEIPTS=50 per second of DURATION, and for
# reserve 20 stores x 8 SKUs x 100,000 units. On the 2-core machine, with
# DURATION=5s, the setup took 15 s under the edge host and 34 s under Spin
# and the whole script 2.5 minutes; with 10s expect about 5.
#
# Smaller than the single-component scripts where their counts only cost
# setup time (pickups.sh makes 8,000 orders, returns.sh 2,000 receipts);
# the other counts are theirs. All rows share one database, loaded before
# the first row, except the promotions: a cart is priced against every
# live promotion at each read and add (the 20 whole-cart ones apply to any
# cart), which takes the cart rows from ~900 to ~180 req/s on the edge host
# and would make them a second coupon row; so the promotions are imported
# after the cart rows, right before the coupon row, and the cart rows match
# cart-sync.sh's (no promotions). No later row prices anything. The 20
# pickup/reserve stores sit in Krakow, outside the nearby row's radius.
# The two required secrets are random per runtime (prelude.bash); every
# other Spin variable is the manifest's default, plus a VAPID key (as in
# pickups.sh) so transitions queue pushes, for both runtimes alike.
#
# Errors: wrk counts every answer as a request, so the table's errors column
# is wrk's "Non-2xx or 3xx responses" plus its socket errors (connect, read,
# write, timeout), with their share of the row's answers; a row that is
# mostly errors says so next to its req/s. Each row also sends one request
# by hand first and prints its status and the start of its answer.
#
# Usage: infra/bench/runtimes.sh             (builds what it needs first)
#   NO_BUILD=1 DURATION=10s CONNECTIONS=16 THREADS=2 RUNTIMES="edge-host spin" PORT=39210 \
#     OUT=target/runtimes.md infra/bench/runtimes.sh
# RUNTIMES picks the runtimes and their order; spin is skipped with a
# message when infra/spin-cli.sh prints nothing (no Spin CLI, no SPIN_BIN).
# TRACE_SQL=1 also reports the SQL statements per request of each route
# (see below). OUT, when set, is a file the table is written to as well. SNAPSHOT=1
# copies spin.toml and the .wasm files it names to the work directory first
# and runs both runtimes from that copy (`spin up --from <copy>/spin.toml`),
# so that a build during the run (on a shared machine) cannot give the two
# runtimes different code; without it, both run the project's spin.toml
# itself and the notes say when the files changed mid-run.
# Needs: wrk (apt-get install -y wrk), curl, awk, python3, setsid (util-linux).
# Traffic goes to 127.0.0.1 only. Both runtimes use PORT, one after the other.
set -euo pipefail

PORT="${PORT:-39210}"
RUNTIMES="${RUNTIMES:-edge-host spin}"
STORES="${STORES:-500}"
CARTS="${CARTS:-48}"
PROMOTIONS="${PROMOTIONS:-1000}"
# shellcheck source=infra/bench/prelude.bash
source "$(dirname "${BASH_SOURCE[0]}")/prelude.bash"

bench_require wrk curl awk python3 setsid
bench_build

# Whole seconds in DURATION (wrk's 10s, 2m, 1h or a bare number), to size
# the data the write rows use up.
case "$DURATION" in
  *s) SECONDS_PER_ROW="${DURATION%s}" ;;
  *m) SECONDS_PER_ROW=$(( ${DURATION%m} * 60 )) ;;
  *h) SECONDS_PER_ROW=$(( ${DURATION%h} * 3600 )) ;;
  *) SECONDS_PER_ROW="$DURATION" ;;
esac
[[ "$SECONDS_PER_ROW" =~ ^[0-9]+$ ]] || { echo "runtimes.sh: DURATION=$DURATION is not whole seconds" >&2; exit 1; }
ORDERS="${ORDERS:-$(( 300 * SECONDS_PER_ROW + 1 ))}"
RECEIPTS="${RECEIPTS:-$(( 50 * SECONDS_PER_ROW ))}"

PICK_STORES="$(for n in $(seq -w 1 20); do printf 'PICK-%s ' "$n"; done)"
# Eight SKUs sold on the shop floor (not online-only), other than the one
# the pickup orders use, each stocked with 100,000 units at every PICK store.
RESERVE_SKUS="DRS-LIN-NAV-S TEE-ORG-WHT-M JNS-SLM-IND-32 SNK-CNV-WHT-41 JKT-RAN-OLV-M SCF-WOL-RED BAG-TOT-NAT SKT-PLT-BLK-S"
DEMO_SKUS="$(python3 -c "
import json
print(' '.join(i['sku'] for i in json.load(open('$ROOT/infra/demo/items.json'))['items']))")"
CART_SKUS="$(python3 -c "
import json
items = json.load(open('$ROOT/infra/demo/items.json'))['items']
print(' '.join([i['sku'] for i in items if i.get('assortment', 'both') == 'both'][:30]))")"

# The .wasm files spin.toml names, and one digest over them: recorded around
# each runtime's part, since a build that replaces them mid-run (another
# engineer's cargo on the same tree) would make the runtimes run different
# code; the table's notes say so when it happens.
WASM_FILES="$(sed -n 's/^source = "\(.*\)"$/\1/p' "$ROOT/spin.toml")"
APP_DIR="$ROOT"
if [[ -n "${SNAPSHOT:-}" || -n "${TRACE_SQL:-}" ]]; then
  APP_DIR="$WORK/app"
  mkdir -p "$APP_DIR"
  cp "$ROOT/spin.toml" "$APP_DIR/"
  for f in $WASM_FILES; do mkdir -p "$APP_DIR/$(dirname "$f")"; cp "$ROOT/$f" "$APP_DIR/$f"; done
  export APP_MANIFEST="$APP_DIR/spin.toml"
fi
# TRACE_SQL=1: every component logs each request's SQL statements (all, and
# those made holding the write lock; omni_shared::storage::spin) through
# OMNI_SQL_TRACE in its environment, and each runtime's part ends with the
# median per route. The logging costs a little, so take latency figures
# from a run without it.
if [[ -n "${TRACE_SQL:-}" ]]; then
  sed -i 's/^\(source = "target\/.*\)$/\1\nenvironment = { OMNI_SQL_TRACE = "1" }/' "$APP_MANIFEST"
fi
wasm_digest() { (cd "$APP_DIR" && sha256sum $WASM_FILES | sha256sum | cut -c1-16); }

DATA="$WORK/data"
RESULTS="$WORK/results"
mkdir -p "$DATA" "$RESULTS"

# ---------------------------------------------------------------------------
# The data files, made once: both runtimes load exactly the same bytes.

# availability.sh's stores: a spiral around (52.2297, 21.0122), 1 to 45 km
# out, in batches of 50 (each body under the catalog's 64 KiB limit), and
# 21 SKUs in each, some out of stock (the same generator as there).
awk -v n="$STORES" -v dir="$DATA" -f "$BENCH/gen-stores.awk"
AVAILABILITY_SKUS="TEE-ORG-BLK-S TEE-ORG-BLK-M TEE-ORG-BLK-L TEE-ORG-WHT-M DRS-LIN-NAV-S DRS-LIN-NAV-M DRS-LIN-SND-M JNS-SLM-IND-30 JNS-SLM-IND-32 JNS-SLM-IND-34 SNK-CNV-WHT-40 SNK-CNV-WHT-41 SNK-CNV-WHT-42 JKT-RAN-OLV-M JKT-RAN-BLK-M SCF-WOL-RED SCF-WOL-GRY BAG-TOT-NAT SKT-PLT-BLK-S SKT-PLT-BLK-M KNT-MER-GRY-M"
awk -v n="$STORES" -v dir="$DATA" -v skus="$AVAILABILITY_SKUS" -f "$BENCH/gen-stock.awk"

# pickups.sh's 20 stores (open every day all day, a daily picking limit of
# 100,000 so promises stay on the day), moved to Krakow so that they stay
# out of the nearby row's 50 km around Warsaw, stocked with the pickup
# orders' SKU and the reserve row's eight.
awk -v dir="$DATA" -v skus="TEE-ORG-BLK-M $RESERVE_SKUS" 'BEGIN {
  n = split(skus, s, " ")
  d = "[\"00:00-23:59\"]"
  printf "{\"stores\": [" > dir "/pick-stores.json"
  printf "{\"feeds\": [" > dir "/pick-stock.json"
  for (i = 1; i <= 20; i++) {
    printf "%s{\"store_id\": \"PICK-%02d\", \"name\": \"Pickup bench %d\", \"kind\": \"store\", " \
      "\"address\": {\"street\": \"Testowa %d\", \"city\": \"Krakow\", \"postal_code\": \"30-001\", \"country\": \"PL\"}, " \
      "\"geo\": {\"lat\": 50.0%02d, \"lon\": 19.9%02d}, \"time_zone\": \"Europe/Warsaw\", " \
      "\"hours\": {\"mon\": %s, \"tue\": %s, \"wed\": %s, \"thu\": %s, \"fri\": %s, \"sat\": %s, \"sun\": %s}, " \
      "\"pickup_sla_minutes\": 120, \"daily_picking_limit\": 100000, \"services\": [\"click_and_collect\"]}", \
      (i > 1 ? "," : ""), i, i, i, i, i, d, d, d, d, d, d, d > dir "/pick-stores.json"
    printf "%s{\"store_id\": \"PICK-%02d\", \"sequence\": 1, \"lines\": [", (i > 1 ? "," : ""), i > dir "/pick-stock.json"
    for (k = 1; k <= n; k++) printf "%s{\"sku\": \"%s\", \"on_hand\": 100000}", (k > 1 ? "," : ""), s[k] > dir "/pick-stock.json"
    printf "]}" > dir "/pick-stock.json"
  }
  printf "]}\n" > dir "/pick-stores.json"
  printf "]}\n" > dir "/pick-stock.json"
}'

# coupons.sh's 1,000 promotions, its 30-line basket and the basket's SKUs
# in the catalogue (the same generators as there; see coupons.sh for what
# the promotions cover).
awk -v n="$PROMOTIONS" -v out="$DATA/promotions.json" -f "$BENCH/gen-promotions.awk"
awk -v dir="$DATA" 'BEGIN {
  cart = dir "/cart.json"; items = dir "/coupon-items.json"; prices = dir "/coupon-prices.json"
  printf "{\"currency\": \"PLN\", \"lines\": [" > cart
  printf "{\"items\": [" > items
  printf "{\"prices\": [" > prices
  for (k = 0; k < 30; k++) {
    leaf = (k * 13) % 200
    sku = sprintf("BENCH-SKU-%04d", (k * 167) % 5000)
    printf "%s{\"sku\": \"%s\", \"category\": [\"dept-%d\", \"cat-%03d\"], \"quantity\": %d, " \
      "\"unit_price\": {\"amount\": \"%d.%02d\", \"currency\": \"PLN\"}, \"already_discounted\": %s}", \
      (k > 0 ? "," : ""), sku, int(leaf / 20), leaf, 1 + k % 3, 20 + (k * 37) % 300, (k * 7) % 100, \
      (k % 8 == 0 ? "true" : "false") > cart
    printf "%s{\"sku\": \"%s\", \"product_id\": \"%s\", \"name\": \"Bench item %d\", \"category\": [\"dept-%d\", \"cat-%03d\"]}", \
      (k > 0 ? "," : ""), sku, sku, k, int(leaf / 20), leaf > items
    printf "%s{\"sku\": \"%s\", \"amount\": \"%d.%02d\", \"currency\": \"PLN\"}", \
      (k > 0 ? "," : ""), sku, 20 + (k * 37) % 300, (k * 7) % 100 > prices
  }
  printf "]}" > cart
  printf "]}\n" > items
  printf "]}\n" > prices
}'
printf '{"channel": "web", "cart": %s}\n' "$(cat "$DATA/cart.json")" >"$DATA/validate-web.json"

# ---------------------------------------------------------------------------
# One runtime, start to finish. Runs in a subshell (see the loop below), so
# a runtime that fails its setup stops only its own part of the table.

# The app's processes and wrk, for the traps: the subshell stops them on
# any exit, and the main script stops them too if it is itself interrupted.
WRK_PID=""
record_pids() { echo "${HOST_PID:-} ${SPIN_PGID:-} ${WRK_PID:-}" >"$WORK/pids"; }

# sample EXPECTED_STATUS LABEL CURL_ARGS...: one request by hand before a
# row's load. wrk counts a fast 4xx as a success, so the status and the
# start of the answer are shown, and a wrong status is kept for the notes
# (the load still runs: its errors column then shows the same).
sample() {
  local expected="$1" label="$2" status
  shift 2
  # curl writes 000 itself when there is no answer.
  status=$(curl -sS -o "$WORK/sample.json" -w '%{http_code}' "$@") || true
  if [[ "$status" != "$expected" ]]; then
    echo "   SAMPLE FAILED: $status (expected $expected): $(head -c 300 "$WORK/sample.json")"
    echo "$RUNTIME $label: sample request answered $status, expected $expected: $(head -c 200 "$WORK/sample.json" | tr '\n|' '  ')" >>"$RESULTS/notes"
  else
    echo "   sample: $status $(head -c 150 "$WORK/sample.json" | tr '\n' ' ')..."
  fi
}

# measure KEY [NAME=VALUE...] WRK_ARGS...: one row's load; appends
# "KEY|req/s|p50 ms|p99 ms|max ms|non-2xx|socket errors|answers" to the
# runtime's results and prints the same with what the lua scripts said.
measure() {
  local key="$1" envs=()
  shift
  while [[ "${1:-}" == [A-Z_]*=* ]]; do envs+=("$1"); shift; done
  env "${envs[@]}" wrk -t"$THREADS" -c"$CONNECTIONS" -d"$DURATION" --latency "$@" \
    >"$WORK/wrk.out" 2>"$WORK/wrk.err" &
  WRK_PID=$!
  record_pids
  wait "$WRK_PID" || { echo "   wrk failed: $(cat "$WORK/wrk.err")" >&2; }
  WRK_PID=""
  record_pids
  awk -v key="$key" '
    function ms(v) {
      if (v ~ /us$/) return v / 1000
      if (v ~ /ms$/) return v + 0
      if (v ~ /m$/) return v * 60000
      if (v ~ /s$/) return v * 1000
      return v + 0
    }
    $1 == "Latency" && $2 != "Distribution" { max = ms($4) }
    $1 == "50%" { p50 = ms($2) }
    $1 == "99%" { p99 = ms($2) }
    /requests in/ { total = $1 }
    /^Requests\/sec:/ { rps = $2 }
    /Non-2xx or 3xx responses:/ { bad = $NF }
    /Socket errors:/ { gsub(",", ""); sock = $4 + $6 + $8 + $10 }
    END { printf "%s|%s|%.3f|%.3f|%.3f|%d|%d|%d\n", key, rps + 0, p50, p99, max, bad, sock, total }
  ' "$WORK/wrk.out" | tee -a "$RESULTS/$RUNTIME.rows" |
    awk -F'|' '{ printf "   %s: %.0f req/s, p50 %.2f ms, p99 %.2f ms, max %.2f ms, %d answers, non-2xx %d, socket errors %d\n", $1, $2, $3, $4, $5, $8, $6, $7 }'
  # What the lua scripts report (the first few non-2xx answers, counts).
  grep -v -E '^ *(Running [0-9]|[0-9]+ threads and|Thread Stats|Latency |Req/Sec |Latency Distribution|[0-9.]+% |[0-9]+ requests in|Requests/sec:|Transfer/sec:|Socket errors:|Non-2xx or 3xx)' \
    "$WORK/wrk.out" | sed 's/^/   | /' || true
  sed 's/^/   ! /' "$WORK/wrk.err" | head -n 6
}

run_runtime() {
  RUNTIME="$1"
  trap 'if [[ -n "$WRK_PID" ]]; then kill "$WRK_PID" 2>/dev/null || true; fi; bench_stop; : >"$WORK/pids"' EXIT
  local t0 t1 state
  # A VAPID key (RFC 8291's example key, as in pickups.sh) so transitions
  # queue pushes.
  export SPIN_VARIABLE_VAPID_PRIVATE_KEY="yfWPiYE-n46HLnH0KqZOF1fJJU3MYrct3AELtAQ-oRw"

  echo
  echo "======== $RUNTIME"
  # As bench_start_host, with the start timed alone: Spin's first start
  # may compile all eight components, hence up to 120 s.
  echo "wasm|$(wasm_digest)" >>"$RESULTS/digests"
  bench_secrets
  t0=$(date +%s%N)
  bench_launch "$RUNTIME" "$WORK/$RUNTIME-state"
  record_pids
  bench_wait_200 /.well-known/spin/health 120
  t1=$(date +%s%N)
  OPS="$(token --role ops --sub bench)"
  echo "first start (compilation cache as found): $(( (t1 - t0) / 1000000 )) ms"
  local setup_started=$SECONDS
  echo "first|$(( (t1 - t0) / 1000000 ))" >"$RESULTS/$RUNTIME.start"

  echo "== loading: the demo retailer, $STORES stores near Warsaw, 20 in Krakow"
  for kind in stores items prices; do post_as_ops "/api/catalog/$kind" "$ROOT/infra/demo/$kind.json"; done
  post_as_ops /api/availability/feed "$ROOT/infra/demo/stock.json"
  for f in "$DATA"/stores-*.json; do post_as_ops /api/catalog/stores "$f"; done
  for f in "$DATA"/stock-*.json; do post_as_ops /api/availability/feed "$f"; done
  post_as_ops /api/catalog/stores "$DATA/pick-stores.json"
  post_as_ops /api/availability/feed "$DATA/pick-stock.json"
  post_as_ops /api/catalog/items "$DATA/coupon-items.json"
  post_as_ops /api/catalog/prices "$DATA/coupon-prices.json"

  # Tokens for this runtime's secret. Separate customers per row, so that
  # no row's data (push subscriptions, open carts) changes another's path.
  : >"$WORK/cart-customers.txt"
  for n in $(seq 1 "$CARTS"); do echo "customer BENCH-$n $(token --role customer --sub "BENCH-$n")" >>"$WORK/cart-customers.txt"; done
  : >"$WORK/pickup-tokens.txt"
  for n in $(seq 1 50); do echo "customer C-BENCH-$n $(token --role customer --sub "C-BENCH-$n")" >>"$WORK/pickup-tokens.txt"; done
  for n in $(seq -w 1 20); do echo "store PICK-$n $(token --role store --sub "till-$n" --store "PICK-$n")" >>"$WORK/pickup-tokens.txt"; done
  : >"$WORK/return-tokens.txt"
  for n in $(seq 1 50); do echo "customer C-RET-$n $(token --role customer --sub "C-RET-$n")" >>"$WORK/return-tokens.txt"; done
  echo "store WAW-01 $(token --role store --sub till-1 --store WAW-01)" >>"$WORK/return-tokens.txt"
  : >"$WORK/reserve-tokens.txt"
  for n in $(seq 1 50); do token --role customer --sub "C-RSV-$n" >>"$WORK/reserve-tokens.txt"; done
  local kiosk
  kiosk=$(token --role store --sub kiosk-1 --store WAW-02)

  echo "== $CARTS carts of 30 lines"
  python3 "$BENCH/runtimes-carts.py" "$BASE" "$WORK/cart-customers.txt" "$WORK/carts.txt" $CART_SKUS
  echo "== $ORDERS click & collect orders at the 20 Krakow stores"
  python3 "$BENCH/pickups-setup.py" "$BASE" "$WORK/pickup-tokens.txt" "$WORK/orders.txt" "$ORDERS"
  # Each placement's first push attempt runs after its answer; let them
  # finish so that no row measures that leftover work (as pickups.sh).
  local left
  for _ in $(seq 1 600); do
    left=$(curl -fsS "$BASE/api/notifications/outbox?limit=500" -H "authorization: Bearer $OPS" \
      | python3 -c 'import json, sys; print(sum(1 for e in json.load(sys.stdin)["entries"] if e["attempts"] == 0))')
    [[ "$left" == 0 ]] && break
    sleep 0.5
  done
  echo "== $RECEIPTS till receipts of 20 units"
  python3 "$BENCH/returns-setup.py" "$BASE" "$WORK/return-tokens.txt" "$WORK/receipts.txt" "$RECEIPTS"

  echo "   setup took $(( SECONDS - setup_started )) s"
  # The machine may be shared: the load before the rows goes in the notes.
  echo "$RUNTIME: load average $(cut -d' ' -f1-3 /proc/loadavg) (1, 5, 15 min) before its first row" >>"$RESULTS/notes"
  cd "$ROOT"
  local cart cart_token order order_token receipt receipt_token code
  read -r cart cart_token _ < <(head -n 1 "$WORK/carts.txt")

  echo
  echo "== rows: wrk -t$THREADS -c$CONNECTIONS -d$DURATION --latency"
  echo "-- health: GET /api/catalog/health"
  sample 200 health "$BASE/api/catalog/health"
  measure health "$BASE/api/catalog/health"

  echo "-- catalog item: GET /api/catalog/items/{sku}, 49 demo SKUs in turn"
  sample 200 "catalog item" "$BASE/api/catalog/items/DRS-LIN-NAV-S"
  measure item ITEMS_SKUS="$DEMO_SKUS" -s "$BENCH/runtimes-items.lua" "$BASE"

  echo "-- nearby: GET /api/availability/nearby, one SKU, the 20 nearest within 50 km"
  sample 200 nearby "$BASE/api/availability/nearby?sku=TEE-ORG-BLK-M&lat=52.2297&lon=21.0122&radius_km=50&limit=20"
  echo "   stores in the sample answer: $(grep -o '"store_id"' "$WORK/sample.json" | wc -l)"
  measure nearby LIMIT=20 -s "$BENCH/availability-nearby.lua" "$BASE"

  echo "-- basket: POST /api/availability/basket, 20 SKUs at BENCH-001"
  sample 200 basket -X POST "$BASE/api/availability/basket" -H 'content-type: application/json' \
    --data-binary "@$BENCH/availability-basket.json"
  measure basket BASKET_FILE="$BENCH/availability-basket.json" -s "$BENCH/availability-basket.lua" "$BASE"

  echo "-- cart read: GET /api/carts/{id}, $CARTS carts of 30 lines"
  sample 200 "cart read" "$BASE/api/carts/$cart" -H "authorization: Bearer $cart_token" -H 'x-channel: app'
  echo "   lines in the sample cart: $(python3 -c 'import json,sys; print(len(json.load(open(sys.argv[1]))["lines"]))' "$WORK/sample.json" 2>/dev/null || echo '?')"
  measure cart-read CART_BENCH_MODE=read CART_BENCH_PREFER= CART_BENCH_CARTS="$WORK/carts.txt" -s "$BENCH/cart-sync.lua" "$BASE"

  echo "-- add-line: POST /api/carts/{id}/lines, answered with the whole priced cart"
  sample 200 add-line -X POST "$BASE/api/carts/$cart/lines" -H "authorization: Bearer $cart_token" -H 'x-channel: app' \
    -H 'content-type: application/json' --data "{\"sku\": \"${CART_SKUS%% *}\", \"quantity\": 1}"
  measure add-line CART_BENCH_MODE=add CART_BENCH_PREFER= CART_BENCH_CARTS="$WORK/carts.txt" -s "$BENCH/cart-sync.lua" "$BASE"

  echo "-- coupon validate: POST /api/coupons/validate, 30 lines, $PROMOTIONS promotions, anonymous web basket"
  # Only now, after the cart rows (see the top).
  post_as_ops /api/promotions/import "$DATA/promotions.json"
  sample 200 coupon -X POST "$BASE/api/coupons/validate" -H 'content-type: application/json' --data-binary "@$DATA/validate-web.json"
  echo "   promotions applied in the sample: $(grep -o '"promotion_id":"[^"]*","version"' "$WORK/sample.json" | wc -l)"
  measure coupon VALIDATE_FILE="$DATA/validate-web.json" -s "$BENCH/coupons-validate.lua" "$BASE"

  echo "-- reserve: POST /api/reservations, 1 unit, 20 stores x 8 SKUs in turn, 50 customers"
  sample 201 reserve -X POST "$BASE/api/reservations" -H "authorization: Bearer $(head -n 1 "$WORK/reserve-tokens.txt")" \
    -H 'content-type: application/json' --data "{\"store_id\": \"PICK-01\", \"lines\": [{\"sku\": \"${RESERVE_SKUS%% *}\", \"quantity\": 1}]}"
  measure reserve RESERVE_TOKENS="$WORK/reserve-tokens.txt" RESERVE_STORES="$PICK_STORES" RESERVE_SKUS="$RESERVE_SKUS" \
    -s "$BENCH/runtimes-reserve.lua" "$BASE"

  echo "-- pickup transition: POST /api/orders/{id}/transitions, $ORDERS orders in waves"
  read -r order order_token < <(tail -n 1 "$WORK/orders.txt")
  sample 200 pickup -X POST "$BASE/api/orders/$order/transitions" -H "authorization: Bearer $order_token" \
    -H 'content-type: application/json' --data '{"status":"accepted"}'
  # The sample order (now accepted) goes to the top of the list, where its
  # first wave's move is never sent: wrk calls request() once on its first
  # thread's Lua state to check the script, which spends pickups.lua's
  # first order of wave 1 (line 1, thread 0). With an order that is still
  # placed there, every later wave would answer 409 for it; the sample order
  # is already accepted, so its later moves are legal. (A wrk that made no
  # such call would send it "accepted" again: one 409.)
  { tail -n 1 "$WORK/orders.txt"; sed '$ d' "$WORK/orders.txt"; } >"$WORK/orders-sample-first.txt"
  mv "$WORK/orders-sample-first.txt" "$WORK/orders.txt"
  measure pickup PICKUPS_BENCH_ORDERS="$WORK/orders.txt" THREADS="$THREADS" -s "$BENCH/pickups.lua" "$BASE"
  local moved
  moved=$(awk '/transitions answered 200:/ { gsub(",", ""); print $4 }' "$WORK/wrk.out")
  echo "$RUNTIME pickup: $moved transitions answered 200 over $(( ORDERS - 1 )) orders: $(awk -v m="${moved:-0}" -v o="$(( ORDERS - 1 ))" 'BEGIN { printf "%.1f", m / o }') of 4 waves" >>"$RESULTS/notes"

  echo "-- return intake: POST /api/returns (customer) alternating with POST /api/returns/intakes (WAW-02 kiosk)"
  read -r receipt receipt_token < <(tail -n 1 "$WORK/receipts.txt")
  sample 201 "return open" -X POST "$BASE/api/returns" -H "authorization: Bearer $receipt_token" -H 'content-type: application/json' \
    --data "{\"order_id\":\"$receipt\",\"lines\":[{\"sku\":\"TEE-ORG-BLK-M\",\"quantity\":1}]}"
  code=$(python3 -c 'import json,sys; print(json.load(open(sys.argv[1]))["return_code"]["code"])' "$WORK/sample.json" 2>/dev/null || echo none)
  sample 200 "return intake" -X POST "$BASE/api/returns/intakes" -H "authorization: Bearer $kiosk" \
    -H 'content-type: application/json' --data "{\"code\":\"$code\"}"
  measure returns RETURNS_BENCH_RECEIPTS="$WORK/receipts.txt" RETURNS_BENCH_KIOSK="$kiosk" THREADS="$THREADS" \
    -s "$BENCH/returns.lua" "$BASE"

  bench_stop
  record_pids
  if [[ -n "${TRACE_SQL:-}" ]]; then
    echo
    echo "== SQL statements per request (median per route; ids shown as {id})"
    cat "$WORK/$RUNTIME-state"/logs/*_stderr.txt 2>/dev/null | python3 -c '
import re, statistics, sys
routes = {}
for line in sys.stdin:
    m = re.match(r"sql-trace (\S+) (\S+) (\d+): (\d+) statements, (\d+) holding", line)
    if not m:
        continue
    method, path, status, total, locked = m.groups()
    path = "/".join("{id}" if re.search(r"[A-Z0-9]", seg) else seg for seg in path.split("/"))
    routes.setdefault((method, path, status), []).append((int(total), int(locked)))
for (method, path, status), counts in sorted(routes.items()):
    if len(counts) < 20:
        continue
    total = statistics.median(c[0] for c in counts)
    locked = statistics.median(c[1] for c in counts)
    print(f"   {method} {path} -> {status}: {total:g} statements, {locked:g} holding the write lock ({len(counts)} requests)")
' | tee "$RESULTS/$RUNTIME.sql"
  fi

  echo
  echo "== cold start with a warm compilation cache: process start -> first 200 on /.well-known/spin/health, empty state, 3 starts"
  local ms all=""
  for n in 1 2 3; do
    state="$WORK/cold-$n"
    t0=$(date +%s%N)
    bench_launch "$RUNTIME" "$state"
    record_pids
    bench_wait_200 /.well-known/spin/health 120
    t1=$(date +%s%N)
    bench_stop
    record_pids
    rm -rf "$state"
    ms=$(( (t1 - t0) / 1000000 ))
    all="$all $ms"
    echo "   start $n: $ms ms"
  done
  echo "cold|${all# }" >>"$RESULTS/$RUNTIME.start"
  echo "wasm|$(wasm_digest)" >>"$RESULTS/digests"
}

# The main script's own trap: if it is interrupted while a runtime's
# subshell runs, stop that subshell (whose trap stops its app) and, in case
# it is already gone, the app's processes it recorded.
SUBSHELL=""
runtimes_cleanup() {
  local pids host pgid wrk_pid
  if [[ -n "$SUBSHELL" ]]; then kill -TERM "$SUBSHELL" 2>/dev/null || true; wait "$SUBSHELL" 2>/dev/null || true; fi
  if [[ -s "$WORK/pids" ]]; then
    read -r host pgid wrk_pid <"$WORK/pids" || true
    [[ -n "${host:-}" ]] && kill -TERM "$host" 2>/dev/null
    [[ -n "${wrk_pid:-}" ]] && kill -TERM "$wrk_pid" 2>/dev/null
    if [[ -n "${pgid:-}" ]]; then
      kill -TERM -- "-$pgid" 2>/dev/null
      for _ in $(seq 1 50); do bench_group_alive "$pgid" || break; sleep 0.1; done
      kill -KILL -- "-$pgid" 2>/dev/null
    fi
  fi
  bench_cleanup
}
trap runtimes_cleanup EXIT

STARTED=$(date +%s)
echo "wasm|$(wasm_digest)" >"$RESULTS/digests"
RAN=""
for runtime in $RUNTIMES; do
  case "$runtime" in
    edge-host) ;;
    spin)
      SPIN="${SPIN:-$("$ROOT/infra/spin-cli.sh")}"
      if [[ -z "$SPIN" ]]; then
        echo
        echo "======== spin: skipped (infra/spin-cli.sh printed nothing: no kit Spin CLI and no SPIN_BIN)"
        continue
      fi
      export SPIN
      echo "Spin CLI: $SPIN ($("$SPIN" --version))"
      ;;
    *) echo "runtimes.sh: unknown runtime $runtime (edge-host or spin)" >&2; exit 1 ;;
  esac
  # errexit is off around the subshell only so that its status can be
  # read; inside, it is on, and a failed setup step ends just this runtime.
  set +e
  ( set -e; run_runtime "$runtime" ) &
  SUBSHELL=$!
  wait "$SUBSHELL"
  status=$?
  SUBSHELL=""
  set -e
  if [[ "$status" != 0 ]]; then
    echo "!! $runtime stopped with status $status before its rows were done" >&2
    echo "$runtime: stopped with status $status before all rows were measured (see its output above)" >>"$RESULTS/notes"
  fi
  RAN="$RAN $runtime"
done

if [[ -z "$RAN" ]]; then
  echo "runtimes.sh: no runtime ran (RUNTIMES=\"$RUNTIMES\"), so there is no table" >&2
  exit 0
fi
echo "wasm|$(wasm_digest)" >>"$RESULTS/digests"
if [[ "$(cut -d'|' -f2 "$RESULTS/digests" | sort -u | wc -l)" != 1 ]]; then
  echo "the .wasm files changed during the run (a build replaced them): the runtimes did not all run the same code, and a start after the change compiled afresh (SNAPSHOT=1 avoids this)" >>"$RESULTS/notes"
fi
if [[ -n "${SNAPSHOT:-}" ]]; then
  since=""
  if [[ "$(APP_DIR="$ROOT" wasm_digest)" != "$(wasm_digest)" ]]; then since="; the files in target/ have changed since"; fi
  echo "both runtimes ran a copy of spin.toml and its .wasm files taken at the start (SNAPSHOT=1)$since" >>"$RESULTS/notes"
fi

# ---------------------------------------------------------------------------
# The table: one row per path, each runtime's columns side by side; then a
# column with the second runtime's req/s over the first's.
python3 - "$RESULTS" "$DURATION" "$CONNECTIONS" "$THREADS" $RAN >"$WORK/table.md" <<'PY'
import os
import sys

results, duration, connections, threads, runtimes = sys.argv[1], sys.argv[2], sys.argv[3], sys.argv[4], sys.argv[5:]
ROWS = [
    ("health", "`GET /api/catalog/health`"),
    ("item", "`GET /api/catalog/items/{sku}`"),
    ("nearby", "`GET /api/availability/nearby` (20 nearest of 502)"),
    ("basket", "`POST /api/availability/basket` (20 SKUs)"),
    ("cart-read", "`GET /api/carts/{id}` (30 lines)"),
    ("add-line", "`POST /api/carts/{id}/lines` (30-line cart)"),
    ("coupon", "`POST /api/coupons/validate` (1,000 promotions)"),
    ("reserve", "`POST /api/reservations`"),
    ("pickup", "`POST /api/orders/{id}/transitions`"),
    ("returns", "`POST /api/returns` + `/intakes`"),
]
data, starts = {}, {}
for rt in runtimes:
    data[rt] = {}
    path = os.path.join(results, rt + ".rows")
    if os.path.exists(path):
        for line in open(path):
            key, rps, p50, p99, mx, bad, sock, total = line.strip().split("|")
            data[rt][key] = dict(rps=float(rps), p50=float(p50), p99=float(p99), max=float(mx),
                                 bad=int(bad), sock=int(sock), total=int(total))
    starts[rt] = {}
    path = os.path.join(results, rt + ".start")
    if os.path.exists(path):
        for line in open(path):
            kind, value = line.strip().split("|")
            starts[rt][kind] = value


def lat(ms):
    return f"{ms:.2f} ms" if ms < 100 else f"{ms:,.0f} ms"


def cells(rt, key):
    r = data[rt].get(key)
    if r is None:
        return ["not measured"] + [""] * 5
    errors = r["bad"] + r["sock"]
    answers = r["total"] + r["sock"]
    share = errors / answers if answers else 1.0
    rps = f"{r['rps']:,.0f}"
    if answers == 0:
        err = "no answers"
        rps += " **(wrk failed?)**"
    elif errors == 0:
        err = "0"
    else:
        err = f"{errors:,} ({share:.0%})"
        if share >= 0.5:
            rps += " **(mostly errors)**"
    health = data[rt].get("health")
    ratio = f"{r['rps'] / health['rps']:.3f}" if health and health["rps"] else ""
    return [rps, lat(r["p50"]), lat(r["p99"]), lat(r["max"]), err, ratio]


head = ["path"]
for rt in runtimes:
    head += [f"{rt} req/s", "p50", "p99", "max", "errors", "ratio to health"]
compare = len(runtimes) >= 2
if compare:
    head.append(f"{runtimes[1]} / {runtimes[0]} req/s")
print(f"Runtimes side by side: wrk -t{threads} -c{connections} -d{duration} --latency, one row after another, "
      "same .wasm files and data; errors = non-2xx answers + socket errors (share of answers).")
print()
print("| " + " | ".join(head) + " |")
print("| " + " | ".join("---" for _ in head) + " |")
for key, label in ROWS:
    row = [label]
    for rt in runtimes:
        row += cells(rt, key)
    if compare:
        a, b = data[runtimes[0]].get(key), data[runtimes[1]].get(key)
        row.append(f"{b['rps'] / a['rps']:.2f}" if a and b and a["rps"] else "")
    print("| " + " | ".join(row) + " |")
print()
print("| runtime | first start (cache as found) | cold start, warm compilation cache (3 starts) |")
print("| --- | --- | --- |")
for rt in runtimes:
    first = starts[rt].get("first")
    cold = starts[rt].get("cold")
    cold_cell = ""
    if cold:
        values = sorted(int(v) for v in cold.split())
        cold_cell = f"median {values[len(values) // 2]:,} ms ({', '.join(f'{v:,}' for v in map(int, cold.split()))} ms)"
    print(f"| {rt} | {f'{int(first):,} ms' if first else 'not measured'} | {cold_cell or 'not measured'} |")
notes = os.path.join(results, "notes")
if os.path.exists(notes):
    print()
    for line in open(notes):
        print(f"- {line.strip()}")
PY

echo
echo "======== table ($(( $(date +%s) - STARTED )) s for the whole run)"
cat "$WORK/table.md"
if [[ -n "${OUT:-}" ]]; then
  cp "$WORK/table.md" "$OUT"
  echo "(written to $OUT)"
fi
