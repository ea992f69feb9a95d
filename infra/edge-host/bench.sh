#!/usr/bin/env bash
# Benchmarks edge-host on the guest-probe app (tests/fixtures/host-probe.spin.toml):
#
#   1. cold start: process start to the first 200 on /probe/ping, with the
#      compilation cache disabled and with a warm cache;
#   2. throughput and latency (p50/p99) at CONNECTIONS concurrent keep-alive
#      clients for DURATION, with wrk on the same machine, on three routes:
#      /probe/ping (the host's own overhead: instantiate, call, respond),
#      /probe/kv (one key-value get) and /probe/sql-insert (one INSERT);
#   3. the same ping load with the pooling allocator's keep-resident
#      settings turned off, and with keep-resident but without PAGEMAP_SCAN
#      (whole-prefix memset), to show what each is worth;
#   4. with APP=1, the cold start of the real app (spin.toml, all components)
#      to its first 200 on /.well-known/spin/health, which is served only
#      once every component is compiled, linked and pre-instantiated.
#
# Usage: infra/edge-host/bench.sh            (builds what it needs first)
#   NO_BUILD=1 DURATION=10s CONNECTIONS=16 THREADS=2 PORT=38180 APP=1 infra/edge-host/bench.sh
# Needs: wrk (apt-get install -y wrk) and curl. Traffic goes to 127.0.0.1 only.
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
DURATION="${DURATION:-10s}"
CONNECTIONS="${CONNECTIONS:-16}"
THREADS="${THREADS:-2}"
PORT="${PORT:-38180}"
BIN="$ROOT/target/host/edge-host"
MANIFEST="$ROOT/tests/fixtures/host-probe.spin.toml"
BASE="http://127.0.0.1:$PORT"

for tool in wrk curl; do
  command -v "$tool" >/dev/null || { echo "bench.sh: $tool is required (apt-get install -y $tool)" >&2; exit 1; }
done

if [[ -z "${NO_BUILD:-}" ]]; then
  (cd "$ROOT" && cargo build --profile host -p edge-host)
  cargo build --manifest-path "$ROOT/tests/guest-probe/Cargo.toml" --target wasm32-wasip2 --release
fi

WORK="$(mktemp -d)"
HOST_PID=""
cleanup() {
  if [[ -n "$HOST_PID" ]]; then kill -TERM "$HOST_PID" 2>/dev/null || true; wait "$HOST_PID" 2>/dev/null || true; fi
  rm -rf "$WORK"
}
trap cleanup EXIT

start_host() {
  "$BIN" up --manifest "${BENCH_MANIFEST:-$MANIFEST}" --listen "127.0.0.1:$PORT" --state-dir "$WORK/state" \
    --cache-dir "$WORK/cache" --quiet "$@" >"$WORK/host.log" 2>&1 &
  HOST_PID=$!
}

wait_for_200() {
  local tries=0
  until curl -fsS -o /dev/null "$BASE${READY_PATH:-/probe/ping}" 2>/dev/null; do
    tries=$((tries + 1))
    if (( tries > 30000 )); then echo "edge-host did not come up:" >&2; cat "$WORK/host.log" >&2; exit 1; fi
    sleep 0.001
  done
}

stop_host() {
  kill -TERM "$HOST_PID"
  wait "$HOST_PID" || true
  HOST_PID=""
}

cold_start_ms() {
  local t0 t1
  t0=$(date +%s%N)
  start_host "$@"
  wait_for_200
  t1=$(date +%s%N)
  stop_host
  echo $(( (t1 - t0) / 1000000 ))
}

echo "== cold start: process start -> first 200 on /probe/ping (3 runs each)"
rm -rf "$WORK/cache"
printf 'without compilation cache (--no-compile-cache):'
for _ in 1 2 3; do printf ' %s ms' "$(cold_start_ms --no-compile-cache)"; done; echo
printf 'filling the cache (first start):               %s ms\n' "$(cold_start_ms)"
printf 'with a warm compilation cache:                 '
for _ in 1 2 3; do printf ' %s ms' "$(cold_start_ms)"; done; echo

run_wrk() {
  local label="$1" url="$2"
  local out
  out="$(wrk -t"$THREADS" -c"$CONNECTIONS" -d"$DURATION" --latency "$url")"
  local rps p50 p99
  rps="$(awk '/Requests\/sec/ {print $2}' <<<"$out")"
  p50="$(awk '$1 == "50%" {print $2}' <<<"$out")"
  p99="$(awk '$1 == "99%" {print $2}' <<<"$out")"
  printf '%-34s %10s req/s   p50 %8s   p99 %8s\n' "$label" "$rps" "$p50" "$p99"
  if grep -q "Non-2xx" <<<"$out"; then grep "Non-2xx" <<<"$out"; fi
}

echo
echo "== load: wrk -t$THREADS -c$CONNECTIONS -d$DURATION --latency (same 2-core machine)"
start_host
wait_for_200
curl -fsS -o /dev/null "$BASE/probe/kv?key=bench&value=v"
curl -fsS -o /dev/null "$BASE/probe/sql"
run_wrk "GET /probe/ping" "$BASE/probe/ping"
run_wrk "GET /probe/kv?key=bench (KV get)" "$BASE/probe/kv?key=bench"
run_wrk "GET /probe/sql-insert?v=x (INSERT)" "$BASE/probe/sql-insert?v=x"
stop_host

echo
echo "== pooling allocator variants, ping route"
start_host --memory-keep-resident 0 --table-keep-resident 0
wait_for_200
run_wrk "keep-resident off" "$BASE/probe/ping"
stop_host
start_host --no-pagemap-scan
wait_for_200
run_wrk "keep-resident, no PAGEMAP_SCAN" "$BASE/probe/ping"
stop_host

if [[ -n "${APP:-}" ]]; then
  echo
  echo "== cold start of the app in spin.toml (first 200 on /.well-known/spin/health)"
  if [[ -z "${NO_BUILD:-}" ]]; then (cd "$ROOT" && cargo build --target wasm32-wasip2 --release); fi
  # The app's required secrets; any value works for a start-up measurement.
  export SPIN_VARIABLE_JWT_HS256_SECRET="${SPIN_VARIABLE_JWT_HS256_SECRET:-bench-only-secret-0123456789abcdef}"
  export SPIN_VARIABLE_CODE_SIGNING_SECRET="${SPIN_VARIABLE_CODE_SIGNING_SECRET:-bench-only-secret-fedcba9876543210}"
  export BENCH_MANIFEST="$ROOT/spin.toml" READY_PATH=/.well-known/spin/health
  rm -rf "$WORK/cache" "$WORK/state"
  printf 'without compilation cache (--no-compile-cache):'
  for _ in 1 2 3; do printf ' %s ms' "$(cold_start_ms --no-compile-cache)"; done; echo
  printf 'filling the cache (first start):               %s ms\n' "$(cold_start_ms)"
  printf 'with a warm compilation cache:                 '
  for _ in 1 2 3; do printf ' %s ms' "$(cold_start_ms)"; done; echo
fi
