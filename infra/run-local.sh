#!/usr/bin/env bash
# Builds everything, starts the local edge host on 127.0.0.1:3000 with the
# demo data loaded, and prints demo tokens for a customer, a store device and
# an operator. The README's run command. Ctrl-C stops it; state stays in .spin/.
set -euo pipefail
cd "$(dirname "$0")/.."

source infra/setup.sh

listen="${LISTEN:-127.0.0.1:3000}"
state_dir="${STATE_DIR:-.spin}"
mkdir -p "$state_dir"

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
gateway_listen="${GATEWAY_LISTEN:-127.0.0.1:3100}"
export SPIN_VARIABLE_VAPID_SUBJECT="${SPIN_VARIABLE_VAPID_SUBJECT:-mailto:demo@omnichannel-edge.local}"
export SPIN_VARIABLE_NOTIFICATION_WEBHOOK_URL="http://$gateway_listen/notices"
export SPIN_VARIABLE_NOTIFICATION_GATEWAY_ORIGIN="http://$gateway_listen"
target/host/omni-demo gateway --listen "$gateway_listen" --log "$state_dir/notices.log" >/dev/null &
gateway_pid=$!

target/host/edge-host up --manifest spin.toml --listen "$listen" --state-dir "$state_dir" &
host_pid=$!
trap 'kill -TERM $host_pid $gateway_pid 2>/dev/null; wait $host_pid 2>/dev/null' INT TERM EXIT

base="http://$listen"
for _ in $(seq 1 100); do
    curl -fsS "$base/api/catalog/health" >/dev/null 2>&1 && break
    sleep 0.2
done

infra/demo/seed.sh "$base"

cat <<MSG

The omnichannel edge is running on $base (state in $state_dir/).
Demo tokens (valid 12 hours):
  customer (C-1001):        $(target/host/omni-demo token --role customer --sub C-1001 --ttl-secs 43200)
  store device (WAW-01):    $(target/host/omni-demo token --role store --sub kiosk-1 --store WAW-01 --ttl-secs 43200)
  operator (ops):           $(target/host/omni-demo token --role ops --sub back-office --ttl-secs 43200)

Try:  curl $base/api/catalog/items/DRS-LIN-NAV-M
Store kiosk: open $base/kiosk/ and paste the store device token above.
Notifications: tail -f $state_dir/notices.log shows every notice the gateway gets (see the README).
Web Push public key (VAPID, for the app's service worker): $(target/host/omni-demo vapid-public "$SPIN_VARIABLE_VAPID_PRIVATE_KEY")
Press Ctrl-C to stop.
MSG
wait $host_pid
