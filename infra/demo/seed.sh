#!/usr/bin/env bash
# Loads the demo retailer through the public API, as the back office would:
# stores, items and prices (catalog), store and warehouse stock (the
# availability feed), promotions (dates relative to today) and customer
# profiles. Safe to run again: only what differs from the files is sent, and
# each batch says what it changed (omni-demo seed, infra/demo-tools).
# Usage: infra/demo/seed.sh BASE_URL
# The JWT secret is the running app's: SPIN_VARIABLE_JWT_HS256_SECRET in the
# environment, else .spin/demo-secrets.env (what make run writes).
set -euo pipefail
cd "$(dirname "$0")/../.."
base="${1:?usage: infra/demo/seed.sh BASE_URL}"
bin="$(cd "${CARGO_TARGET_DIR:-target}" 2>/dev/null && pwd || echo target)/host/omni-demo"
if [ ! -x "$bin" ]; then
    echo "== building the demo tool (omni-demo)"
    cargo build --profile host -p demo-tools --bins
fi
exec "$bin" seed "$base"
