#!/usr/bin/env bash
# The README's run command (`make run`): builds what running needs, starts the
# local edge host on 127.0.0.1:3000 with the demo retailer loaded, and prints
# demo tokens for a customer, a store device and an operator. Ctrl-C stops it
# (exit 0); state stays in .spin/ (STATE_DIR) and survives restarts.
#
# Knobs: LISTEN (127.0.0.1:3000), STATE_DIR (.spin), GATEWAY_LISTEN
# (127.0.0.1:3100), READY_TIMEOUT_SECS (900), CARGO_TARGET_DIR.
set -euo pipefail
cd "$(dirname "$0")/.."

source infra/setup.sh

listen="${LISTEN:-127.0.0.1:3000}"
state_dir="${STATE_DIR:-.spin}"
export STATE_DIR="$state_dir"
gateway_listen="${GATEWAY_LISTEN:-127.0.0.1:3100}"
ready_timeout="${READY_TIMEOUT_SECS:-900}"
base="http://$listen"
mkdir -p "$state_dir"

fail() {
    printf '\nmake run stopped: %s\n' "$1" >&2
    shift
    for hint in "$@"; do printf '  - %s\n' "$hint" >&2; done
    exit 1
}

if curl -fsS --max-time 2 "$base/.well-known/spin/health" >/dev/null 2>&1; then
    fail "something already answers on $base (another make run?)" \
        "stop it (Ctrl-C in its terminal), or" \
        "run on another port: LISTEN=127.0.0.1:3001 make run"
fi

# Local secrets are made once per state directory and never committed.
secrets="$state_dir/demo-secrets.env"
if [ ! -f "$secrets" ]; then
    {
        echo "SPIN_VARIABLE_JWT_HS256_SECRET=$(head -c 32 /dev/urandom | base64 | tr -d '\n')"
        echo "SPIN_VARIABLE_CODE_SIGNING_SECRET=$(head -c 32 /dev/urandom | base64 | tr -d '\n')"
    } > "$secrets"
    chmod 600 "$secrets"
fi
# Notifications visible out of the box: a VAPID key for Web Push and a
# webhook secret, made once per state directory (added to an older one).
b64url() { base64 | tr -d '\n=' | tr '+/' '-_'; }
grep -q '^SPIN_VARIABLE_VAPID_PRIVATE_KEY=' "$secrets" \
    || echo "SPIN_VARIABLE_VAPID_PRIVATE_KEY=$(head -c 32 /dev/urandom | b64url)" >> "$secrets"
grep -q '^SPIN_VARIABLE_NOTIFICATION_WEBHOOK_SECRET=' "$secrets" \
    || echo "SPIN_VARIABLE_NOTIFICATION_WEBHOOK_SECRET=$(head -c 32 /dev/urandom | b64url)" >> "$secrets"
set -a; source "$secrets"; set +a

# The gateway stand-in: every notice a customer or store would get, as they
# would read it, in .spin/notices.log.
export SPIN_VARIABLE_VAPID_SUBJECT="${SPIN_VARIABLE_VAPID_SUBJECT:-mailto:demo@omnichannel-edge.local}"
export SPIN_VARIABLE_NOTIFICATION_WEBHOOK_URL="http://$gateway_listen/notices"
export SPIN_VARIABLE_NOTIFICATION_GATEWAY_ORIGIN="http://$gateway_listen"

host_pid=""
gateway_pid=""
stop() {
    trap - INT TERM EXIT
    [ -n "$host_pid" ] && kill -TERM "$host_pid" 2>/dev/null || true
    [ -n "$gateway_pid" ] && kill -TERM "$gateway_pid" 2>/dev/null || true
    wait 2>/dev/null || true
}
# Ctrl-C is how the app is meant to stop: say so and exit 0.
trap 'stop; printf "\nStopped. State is kept in %s/ for the next make run.\n" "$state_dir"; exit 0' INT TERM
trap stop EXIT

"$OMNI_BIN/omni-demo" gateway --listen "$gateway_listen" --log "$state_dir/notices.log" >/dev/null &
gateway_pid=$!

printf '\n== starting the local edge host on %s (it compiles the eight components on first start)\n' "$base"
# --test-clock: the demo history (below) writes weeks of past shopping
# through the API by moving the guests' wall clock (POST /_edge/clock); it
# puts the clock back to the real time when it is done. The route has no
# authentication, so it is turned on only when the app listens on loopback;
# on another address the app runs without the history.
test_clock=()
case "$listen" in
    127.* | localhost:* | "[::1]":*) test_clock=(--test-clock) ;;
esac
"$OMNI_BIN/edge-host" up --manifest spin.toml --listen "$listen" --state-dir "$state_dir" "${test_clock[@]}" &
host_pid=$!

# Ready means the host answers its health route, however long the first
# compile takes on a busy machine; a host that exits is reported at once.
started=$SECONDS
until curl -fsS --max-time 2 "$base/.well-known/spin/health" >/dev/null 2>&1; do
    if ! kill -0 "$host_pid" 2>/dev/null; then
        wait "$host_pid" && status=0 || status=$?
        host_pid=""
        fail "the edge host exited (status $status) before it was ready; its messages are above" \
            "\"address in use\": another program has $listen; run with LISTEN=127.0.0.1:3001 make run" \
            "a component failed to load: cargo build --target wasm32-wasip2 --release, then make run again" \
            "a damaged state directory: move $state_dir/ aside (it holds only demo data) and make run again"
    fi
    waited=$((SECONDS - started))
    if [ "$waited" -ge "$ready_timeout" ]; then
        fail "the edge host did not answer on $base within ${ready_timeout}s" \
            "a very busy machine: READY_TIMEOUT_SECS=1800 make run" \
            "check that nothing blocks 127.0.0.1 (a proxy in http_proxy without no_proxy=127.0.0.1)"
    fi
    if [ "$waited" -gt 0 ] && [ $((waited % 15)) -eq 0 ]; then
        echo "   still starting (${waited}s): compiling the components; the first start on a busy machine takes minutes"
    fi
    sleep 1
done
echo "   ready after $((SECONDS - started))s"

printf '\n== loading the demo retailer through the API (only what differs from infra/demo/ is sent)\n'
"$OMNI_BIN/omni-demo" seed "$base" \
    || fail "loading the demo data failed (the answer is above); the app itself started" \
        "a file in infra/demo/ you edited is refused: the answer names the field" \
        "run the seed alone while the app runs: infra/demo/seed.sh $base"

printf '\n== five weeks of shopping across channels and stores, for the insights page (once per state directory)\n'
"$OMNI_BIN/omni-demo" history "$base" \
    || echo "   the demo history was not written (the answer is above); the app runs without it. Retry while it runs: $OMNI_BIN/omni-demo history $base"

token() { "$OMNI_BIN/omni-demo" token "$@"; }
cat <<MSG

The omnichannel edge is running on $base (state in $state_dir/).
Demo tokens (valid 12 hours):
  customer (C-1001, gold, student): $(token --role customer --sub C-1001 --ttl-secs 43200)
  store device (WAW-01):            $(token --role store --sub kiosk-1 --store WAW-01 --ttl-secs 43200)
  operator (ops):                   $(token --role ops --sub back-office --ttl-secs 43200)

Try:  curl $base/api/catalog/items/DRS-LIN-NAV-M
Walk the five journeys with curl: make demo (in a second terminal)
Store kiosk: open $base/kiosk/ and paste the store device token above.
Insights (operations): open $base/insights/ and paste the operator token above.
Notifications: tail -f $state_dir/notices.log shows every notice the gateway gets (see the README).
Web Push public key (VAPID, for the app's service worker): $("$OMNI_BIN/omni-demo" vapid-public "$SPIN_VARIABLE_VAPID_PRIVATE_KEY")
Press Ctrl-C to stop.
MSG
# Ctrl-C reaches the host too (one process group): a host that stops on it
# (or on TERM) is a clean stop.
wait "$host_pid" && status=0 || status=$?
host_pid=""
case "$status" in
    0 | 130 | 143) printf '
Stopped. State is kept in %s/ for the next make run.
' "$state_dir" ;;
    *) fail "the edge host stopped unexpectedly (status $status; its messages are above)" "make run again; state is kept in $state_dir/" ;;
esac
