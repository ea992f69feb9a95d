#!/usr/bin/env bash
# Reproduces every figure in BENCHMARKS.md: .wasm sizes, the same .wasm
# files under the edge host and the real Spin CLI side by side
# (infra/bench/runtimes.sh; Spin is skipped when infra/spin-cli.sh finds
# none), the edge host's own overhead and cold start, then each component's
# benchmark (the other infra/bench/*.sh).
# Traffic goes to 127.0.0.1 only. Run on an otherwise idle machine: the load
# generator shares the two cores with the app.
set -euo pipefail
cd "$(dirname "$0")/.."

source infra/setup.sh
if ! command -v wrk >/dev/null; then
    apt-get update -qq && apt-get install -y -qq wrk
fi

echo "== .wasm sizes"
infra/wasm-sizes.sh

echo "== runtimes side by side: edge host and Spin"
NO_BUILD=1 infra/bench/runtimes.sh

echo "== edge host: overhead and cold start"
NO_BUILD=1 APP=1 infra/edge-host/bench.sh

for bench in infra/bench/*.sh; do
    # Already run above, first.
    [ "$bench" = infra/bench/runtimes.sh ] && continue
    echo "== $(basename "$bench" .sh)"
    NO_BUILD=1 "$bench"
done
