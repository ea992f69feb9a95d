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

# The black-box tests decrypt Web Push messages with an independent
# implementation over OpenSSL, which needs its headers.
if ! pkg-config --exists openssl 2>/dev/null; then
    echo "== installing OpenSSL headers (libssl-dev, pkg-config)"
    apt-get update -qq && apt-get install -y -qq libssl-dev pkg-config
fi

echo "== building the components (.wasm)"
cargo build --target wasm32-wasip2 --release

echo "== building the edge host's test guest"
cargo build --manifest-path tests/guest-probe/Cargo.toml --target wasm32-wasip2 --release

# The whole workspace at once, so the native build has the same unified
# features as the test run that follows and nothing (wasmtime above all) is
# compiled twice.
echo "== building the edge host, the demo tools and the native test targets"
cargo build --profile host --workspace
