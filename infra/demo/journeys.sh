#!/usr/bin/env bash
# Walks the five golden paths against a running, seeded app (make run) and
# prints each HTTP call and its answer in a few words: make demo.
# Usage: infra/demo/journeys.sh [BASE_URL]   (default http://127.0.0.1:3000)
# Tokens are signed with the running app's secret: SPIN_VARIABLE_JWT_HS256_SECRET
# in the environment, else .spin/demo-secrets.env (what make run writes).
set -euo pipefail
cd "$(dirname "$0")/../.."
base="${1:-http://127.0.0.1:3000}"
bin="$(cd "${CARGO_TARGET_DIR:-target}" 2>/dev/null && pwd || echo target)/host/omni-demo"
if [ ! -x "$bin" ]; then
    echo "== building the demo tool (omni-demo)"
    cargo build --profile host -p demo-tools --bins
fi
if ! curl -fsS --max-time 3 "$base/.well-known/spin/health" >/dev/null 2>&1; then
    echo "Nothing answers on $base: start the app first (make run, in another terminal), or pass its URL." >&2
    exit 1
fi
exec "$bin" journeys "$base"
