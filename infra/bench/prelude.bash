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
# three default to 10s, 16 and 2), and after bench_start_host, OPS. A
# script that runs the app under another runtime or starts it more than
# once (runtimes.sh) uses the pieces: bench_secrets, bench_launch,
# bench_wait_200 and bench_stop.

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
# `spin up` forks a `spin trigger http` child that keeps serving when only
# its parent dies, so Spin runs in its own process group (setsid) and the
# whole group is stopped: SPIN_PID is `spin up`, SPIN_PGID its group.
SPIN_PID=""
SPIN_PGID=""
bench_cleanup() {
  bench_stop
  rm -rf "$WORK"
}
trap bench_cleanup EXIT

# bench_stop: stops the app that bench_start_host or bench_launch
# started, if any, and waits until it is gone, so the port is
# free for the next start. Spin's group gets TERM, then KILL after 10 s.
bench_stop() {
  if [[ -n "$HOST_PID" ]]; then kill -TERM "$HOST_PID" 2>/dev/null || true; wait "$HOST_PID" 2>/dev/null || true; HOST_PID=""; fi
  if [[ -n "$SPIN_PGID" ]]; then
    kill -TERM -- "-$SPIN_PGID" 2>/dev/null || true
    local _
    for _ in $(seq 1 100); do
      bench_group_alive "$SPIN_PGID" || break
      sleep 0.1
    done
    kill -KILL -- "-$SPIN_PGID" 2>/dev/null || true
    wait "$SPIN_PID" 2>/dev/null || true
    SPIN_PID=""
    SPIN_PGID=""
  fi
}

# bench_running PID: whether the process runs (an exited child stays a
# zombie until waited for, and `kill -0` would still find it).
bench_running() {
  ps -o stat= -p "$1" | grep -qv '^Z'
}

# bench_group_alive PGID: whether a process of the group still runs (a
# zombie waiting for `wait` does not count: it serves nothing).
bench_group_alive() {
  ps -e -o pgid=,stat= | awk -v g="$1" '$1 == g && $2 !~ /^Z/ { found = 1 } END { exit !found }'
}

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

# bench_secrets: exports the app's two required secrets, random per call,
# so no token from an earlier run (or an earlier app of this run) is accepted.
bench_secrets() {
  export SPIN_VARIABLE_JWT_HS256_SECRET="bench-secret-$(head -c 24 /dev/urandom | base64 | tr -d '\n/+=')"
  export SPIN_VARIABLE_CODE_SIGNING_SECRET="bench-code-$(head -c 24 /dev/urandom | base64 | tr -d '\n/+=')"
}

# bench_launch edge-host|spin STATE_DIR: starts the app in spin.toml (or in
# $APP_MANIFEST, e.g. a copy of it) under that runtime on 127.0.0.1:$PORT in
# the background and returns at once (bench_wait_200 waits for it), with
# the SPIN_VARIABLE_* in the environment; its output goes to
# $WORK/<runtime>.log. The edge host keeps its compilation cache in
# target/edge-host-cache, Spin in wasmtime's default one (~/.cache/wasmtime).
# Spin is $SPIN, or what infra/spin-cli.sh prints.
bench_launch() {
  local runtime="$1" state="$2" manifest="${APP_MANIFEST:-$ROOT/spin.toml}"
  case "$runtime" in
    edge-host)
      "$ROOT/target/host/edge-host" up --manifest "$manifest" --listen "127.0.0.1:$PORT" --state-dir "$state" \
        --cache-dir "$ROOT/target/edge-host-cache" --quiet >"$WORK/edge-host.log" 2>&1 &
      HOST_PID=$!
      ;;
    spin)
      SPIN="${SPIN:-$("$ROOT/infra/spin-cli.sh")}"
      [[ -n "$SPIN" ]] || { echo "no Spin CLI (infra/spin-cli.sh printed nothing; set SPIN_BIN)" >&2; exit 1; }
      # setsid without --fork execs in place (a background job of a script
      # is no group leader), so $! is `spin up` and leads its own group.
      setsid "$SPIN" up --from "$manifest" --listen "127.0.0.1:$PORT" --state-dir "$state" \
        </dev/null >"$WORK/spin.log" 2>&1 &
      SPIN_PID=$!
      SPIN_PGID=$SPIN_PID
      ;;
    *) echo "bench_launch: unknown runtime $runtime" >&2; exit 1 ;;
  esac
}

# bench_wait_200 PATH SECONDS: polls PATH every few milliseconds until it
# answers 200 (so a warm start can be timed to within ~10 ms), or stops the
# benchmark with the runtime's log after SECONDS or when the app exits.
bench_wait_200() {
  local path="$1" limit="$2" log pid deadline
  if [[ -n "$SPIN_PID" ]]; then log="$WORK/spin.log" pid="$SPIN_PID"; else log="$WORK/edge-host.log" pid="$HOST_PID"; fi
  deadline=$(( $(date +%s) + limit ))
  local tries=0 pause=0.005
  until curl -fsS -o /dev/null --max-time 2 "$BASE$path" 2>/dev/null; do
    if ! bench_running "$pid" || (( $(date +%s) > deadline )); then
      echo "the app did not answer 200 on $path within $limit s:" >&2; cat "$log" >&2; exit 1
    fi
    # After the first second, poll less often: a start that compiles
    # needs the two cores more than the figure needs the precision.
    tries=$((tries + 1))
    if (( tries == 100 )); then pause=0.05; fi
    sleep "$pause"
  done
}

# bench_start_host HEALTH_PATH: starts the edge host on spin.toml with fresh
# state on 127.0.0.1:$PORT, waits (up to a minute: a cold compile of every
# component) until HEALTH_PATH answers 200, and mints OPS. Extra app
# variables (SPIN_VARIABLE_*) the caller exports before the call reach the
# host; the two required secrets are random per run, so no token from an
# earlier run is accepted.
bench_start_host() {
  bench_secrets
  bench_launch edge-host "$WORK/state"
  bench_wait_200 "$1" 60
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
