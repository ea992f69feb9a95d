# Shared start-up of the infra/bench/*.sh benchmarks, sourced, never run.
#
# Every benchmark measures one component through the real local edge host
# with a fresh state directory, so they all need the same steps before the
# load: the common knobs, the tools, an optional build, a temporary WORK
# directory that is removed (and the host stopped) however the script ends,
# throwaway signing secrets, the host itself, and an ops token to load data.
# Keeping them here means a change to how the host is started (a new flag,
# a new required secret) is made once, not five times. It is named .bash,
# not .sh, because infra/bench.sh (`make bench`) runs every infra/bench/*.sh.
#
# The caller sets PORT (its own default port) before sourcing, e.g.
#   PORT="${PORT:-38190}"
#   source "$(dirname "${BASH_SOURCE[0]}")/prelude.bash"
#   bench_require wrk curl awk
#   bench_build -p catalog -p availability
#   bench_start_host /api/availability/health
#   post_as_ops /api/catalog/items "$ROOT/infra/demo/items.json"
#
# Defines ROOT, BENCH, BASE, WORK, DURATION, CONNECTIONS, THREADS (the last
# three default to 10s, 16 and 2), and after bench_start_host, OPS.

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
BENCH="$ROOT/infra/bench"
DURATION="${DURATION:-10s}"
CONNECTIONS="${CONNECTIONS:-16}"
THREADS="${THREADS:-2}"
BASE="http://127.0.0.1:${PORT:?set PORT before sourcing infra/bench/prelude.bash}"

# Created at once so that everything a script generates (data files,
# token lists, the host's log) goes to one place the trap removes.
WORK="$(mktemp -d)"
HOST_PID=""
bench_cleanup() {
  if [[ -n "$HOST_PID" ]]; then kill -TERM "$HOST_PID" 2>/dev/null || true; wait "$HOST_PID" 2>/dev/null || true; fi
  rm -rf "$WORK"
}
trap bench_cleanup EXIT

# bench_require TOOL...: stops with an install hint naming the benchmark.
bench_require() {
  local tool
  for tool in "$@"; do
    command -v "$tool" >/dev/null || { echo "$(basename "$0"): $tool is required (apt-get install -y $tool)" >&2; exit 1; }
  done
}

# bench_build -p COMPONENT...: the named components' release .wasm, then the
# edge host and omni-demo (the token minter). Skipped with NO_BUILD set, for
# runs on a tree that is already built.
bench_build() {
  if [[ -n "${NO_BUILD:-}" ]]; then return 0; fi
  (cd "$ROOT" && cargo build --target wasm32-wasip2 --release "$@" \
    && cargo build --profile host -p edge-host -p demo-tools)
}

# bench_start_host HEALTH_PATH: starts the edge host on spin.toml with fresh
# state on 127.0.0.1:$PORT, waits (up to a minute: a cold compile of every
# component) until HEALTH_PATH answers 200, and mints OPS. Extra app
# variables (SPIN_VARIABLE_*) the caller exports before the call reach the
# host; the two required secrets are random per run, so no token from an
# earlier run is accepted.
bench_start_host() {
  local health="$1"
  export SPIN_VARIABLE_JWT_HS256_SECRET="bench-secret-$(head -c 24 /dev/urandom | base64 | tr -d '\n/+=')"
  export SPIN_VARIABLE_CODE_SIGNING_SECRET="bench-code-$(head -c 24 /dev/urandom | base64 | tr -d '\n/+=')"
  "$ROOT/target/host/edge-host" up --manifest "$ROOT/spin.toml" --listen "127.0.0.1:$PORT" --state-dir "$WORK/state" \
    --cache-dir "$ROOT/target/edge-host-cache" --quiet >"$WORK/host.log" 2>&1 &
  HOST_PID=$!
  for _ in $(seq 1 600); do
    curl -fsS -o /dev/null "$BASE$health" 2>/dev/null && break
    sleep 0.1
  done
  curl -fsS -o /dev/null "$BASE$health" || { echo "edge-host did not come up:" >&2; cat "$WORK/host.log" >&2; exit 1; }
  OPS="$(token --role ops --sub bench)"
}

# token ARGS...: a JWT for this run's secret, valid for an hour (longer than
# any setup plus load), e.g. `token --role store --sub till-1 --store WAW-01`.
token() { "$ROOT/target/host/omni-demo" token "$@" --ttl-secs 3600; }

# post_as_ops PATH FILE: POSTs FILE as JSON with the ops token and stops the
# benchmark on anything but 200, since figures measured on half-loaded data
# mean nothing. The answer stays in $WORK/reply.json for the caller.
post_as_ops() {
  local path="$1" file="$2" status
  status=$(curl -sS -o "$WORK/reply.json" -w '%{http_code}' -X POST "$BASE$path" \
    -H "authorization: Bearer $OPS" -H 'content-type: application/json' --data-binary "@$file")
  if [[ "$status" != 200 ]]; then echo "POST $path: $status $(head -c 2000 "$WORK/reply.json")" >&2; exit 1; fi
}
