#!/usr/bin/env bash
# Reproduces every figure in BENCHMARKS.md: .wasm sizes, the edge host's own
# overhead and cold start, then each component's benchmark (infra/bench/*.sh).
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

echo "== edge host: overhead and cold start"
NO_BUILD=1 APP=1 infra/edge-host/bench.sh

for bench in infra/bench/*.sh; do
    echo "== $(basename "$bench" .sh)"
    NO_BUILD=1 "$bench"
done
