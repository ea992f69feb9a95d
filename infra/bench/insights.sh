#!/usr/bin/env bash
# Benchmarks the insights reads (GET /api/insights/*) at 10,000 and 100,000
# orders of history: one client, one request after another (an operator
# opening the page), 30 requests per row, p50 / p90 / max of curl's total
# time, beside the health route of the same component in the same run (the
# floor: route, instantiate, answer, no storage). Goal: every answer under
# 100 ms at 100,000 orders.
#
# For each size it starts the edge host on fresh state (which migrates the
# schema, indexes included), stops it, writes the history straight into
# the SQLite file (infra/bench/insights-history.py: orders with their cart
# endings, return cases and redemptions over 365 days), starts it again and
# measures each report over the last 28 days and over the whole year
# (400 days, the longest range), and with a store filter.
#
# Usage: infra/bench/insights.sh              (builds what it needs first)
#   NO_BUILD=1 SIZES="10000 100000" REQUESTS=30 PORT=38490 infra/bench/insights.sh
# Needs: curl, python3. Traffic goes to 127.0.0.1 only.
set -euo pipefail

PORT="${PORT:-38490}"
SIZES="${SIZES:-10000 100000}"
REQUESTS="${REQUESTS:-30}"
# shellcheck source=infra/bench/prelude.bash
source "$(dirname "${BASH_SOURCE[0]}")/prelude.bash"

bench_require curl python3
bench_build -p insights

# stats: p50, p90 and max (ms) of the numbers (seconds) on stdin.
stats() {
  sort -n | awk '{ v[NR] = $1 * 1000 } END {
    p50 = v[int((NR + 1) * 0.5)]; p90 = v[int(NR * 0.9 + 0.5)]
    printf "%.1f ms | %.1f ms | %.1f ms", p50, p90, v[NR] }'
}

# row LABEL PATH: times REQUESTS sequential GETs of PATH and prints a table row.
row() {
  local label="$1" path="$2" status i
  status=$(curl -sS -o "$WORK/answer.json" -w '%{http_code}' -H "authorization: Bearer $OPS" "$BASE$path")
  [[ "$status" == 200 ]] || { echo "GET $path: $status $(head -c 500 "$WORK/answer.json")" >&2; exit 1; }
  for i in $(seq 1 "$REQUESTS"); do
    curl -sS -o /dev/null -w '%{time_total}\n' -H "authorization: Bearer $OPS" "$BASE$path"
  done | { printf '| %s | %s | ' "$size" "$label"; stats; printf ' |\n'; }
}

today=$(TZ=Europe/Warsaw date +%F)
month_ago=$(TZ=Europe/Warsaw date -d "$today - 27 days" +%F)
year_ago=$(TZ=Europe/Warsaw date -d "$today - 399 days" +%F)

echo "| orders | request | p50 | p90 | max |"
echo "| --- | --- | --- | --- | --- |"
for size in $SIZES; do
  rm -rf "$WORK/state"
  bench_start_host /api/insights/health
  curl -fsS -o /dev/null -H "authorization: Bearer $OPS" "$BASE/api/insights/sales"
  bench_stop
  python3 "$BENCH/insights-history.py" "$WORK/state/sqlite_db.db" "$size" 365 >&2
  bench_launch edge-host "$WORK/state"
  bench_wait_200 /api/insights/health 60
  OPS="$(token --role ops --sub bench)"
  row "health (floor)" "/api/insights/health"
  for report in sales journeys stores returns promotions; do
    row "$report, 28 days" "/api/insights/$report?from=$month_ago&to=$today"
    row "$report, 400 days" "/api/insights/$report?from=$year_ago&to=$today"
  done
  for report in sales stores returns promotions; do
    row "$report, 400 days, one store" "/api/insights/$report?from=$year_ago&to=$today&store_id=BEN-07"
  done
  bench_stop
done
