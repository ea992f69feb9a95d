#!/usr/bin/env bash
# Loads the demo retailer through the public API, as the back office would:
# stores, items and prices (catalog), then store and warehouse stock (the
# availability stock feed), each batch all-or-nothing.
# Usage: infra/demo/seed.sh BASE_URL   (the JWT secret must be in the
# environment as SPIN_VARIABLE_JWT_HS256_SECRET, as for the running app).
set -euo pipefail
cd "$(dirname "$0")/../.."
base="${1:?usage: seed.sh BASE_URL}"
token=$(target/host/omni-demo token --role ops --sub demo-seed --ttl-secs 300)
for batch in stores items prices; do
    printf 'seeding %-7s ' "$batch"
    curl -fsS -X POST "$base/api/catalog/$batch" \
        -H "authorization: Bearer $token" \
        -H 'content-type: application/json' \
        --data-binary "@infra/demo/$batch.json"
    echo
done
printf 'seeding %-7s ' stock
curl -fsS -X POST "$base/api/availability/feed" \
    -H "authorization: Bearer $token" \
    -H 'content-type: application/json' \
    --data-binary "@infra/demo/stock.json"
echo
