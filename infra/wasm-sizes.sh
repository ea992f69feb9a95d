#!/usr/bin/env bash
# Prints the size of each component's .wasm; with --check, fails when one is
# over the 2 MB budget (cold start and deploy size matter at the edge).
set -euo pipefail
cd "$(dirname "$0")/.."
limit=$((2 * 1024 * 1024))
status=0
for wasm in target/wasm32-wasip2/release/{catalog,cart_sync,coupons,availability,pickups,returns}.wasm; do
    size=$(stat -c %s "$wasm")
    printf '%-24s %8d bytes (%d KiB)\n' "$(basename "$wasm")" "$size" $((size / 1024))
    if [ "${1:-}" = "--check" ] && [ "$size" -gt "$limit" ]; then
        echo "  over the 2 MB budget" >&2
        status=1
    fi
done
exit $status
