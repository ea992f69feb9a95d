#!/usr/bin/env bash
# Prints the size of each component's .wasm; with --check, fails when one is
# over the 2 MiB budget (cold start and deploy size matter at the edge).
set -euo pipefail
cd "$(dirname "$0")/.."
limit=$((2 * 1024 * 1024))
status=0
# Every component spin.toml deploys, so a new one is measured without an edit here.
components=$(sed -n 's/^source = "\(target\/wasm32-wasip2\/release\/[a-z_]*\.wasm\)"$/\1/p' spin.toml)
[ -n "$components" ] || { echo "wasm-sizes.sh: no component sources found in spin.toml" >&2; exit 1; }
for wasm in $components; do
    size=$(stat -c %s "$wasm")
    printf '%-24s %8d bytes (%d KiB)\n' "$(basename "$wasm")" "$size" $((size / 1024))
    if [ "${1:-}" = "--check" ] && [ "$size" -gt "$limit" ]; then
        echo "  over the 2 MiB budget" >&2
        status=1
    fi
done
exit $status
