#!/usr/bin/env bash
# Everything a fresh machine needs before the app runs or the tests run:
# the wasm target, the components, the guest probe and the native tools.
# Sourced by run-local.sh and test-all.sh; safe to run again (cargo is
# incremental).
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."

if ! rustup target list --installed | grep -qx wasm32-wasip2; then
    echo "== installing the wasm32-wasip2 target"
    rustup target add wasm32-wasip2
fi

echo "== building the components (.wasm)"
cargo build --target wasm32-wasip2 --release

echo "== building the edge host's test guest"
cargo build --manifest-path tests/guest-probe/Cargo.toml --target wasm32-wasip2 --release

echo "== building the edge host and the demo tools"
cargo build --profile host -p edge-host -p demo-tools
