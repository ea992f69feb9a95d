#!/usr/bin/env bash
# Everything a fresh machine needs before the app runs or the tests run.
# Sourced by run-local.sh (what running needs: the wasm target, the
# components, the edge host and the demo tool; nothing from apt) and by
# test-all.sh with OMNI_SETUP_TESTS=1 (also the test tools: OpenSSL headers,
# Node.js, Chromium, PostgreSQL 15, redis-server, the npm packages, the edge
# host's test guest and every test target). Safe to run again: cargo is incremental.
#
# Exports OMNI_TARGET (cargo's target directory: CARGO_TARGET_DIR when set,
# else target/) and OMNI_BIN (the native tools in it).
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."

step() { printf '\n== %s\n' "$*"; }

if ! command -v cargo >/dev/null || ! command -v rustup >/dev/null; then
    echo "This needs Rust with rustup (https://rustup.rs); rust-toolchain.toml names the version." >&2
    exit 1
fi

if ! rustup target list --installed | grep -qx wasm32-wasip2; then
    step "installing the wasm32-wasip2 target"
    rustup target add wasm32-wasip2
fi

mkdir -p "${CARGO_TARGET_DIR:-target}"
OMNI_TARGET="$(cd "${CARGO_TARGET_DIR:-target}" && pwd)"
OMNI_BIN="$OMNI_TARGET/host"
export OMNI_TARGET OMNI_BIN

# spin.toml names each component's .wasm under target/ (a Spin manifest
# cannot read CARGO_TARGET_DIR); with the build elsewhere, target/'s wasm
# directory points at it.
link_wasm_for_spin_toml() {
    [ "$OMNI_TARGET" = "$PWD/target" ] && return 0
    mkdir -p target
    if [ -e target/wasm32-wasip2 ] && [ ! -L target/wasm32-wasip2 ]; then
        echo "CARGO_TARGET_DIR is $OMNI_TARGET, but target/wasm32-wasip2 is a directory of older builds;" >&2
        echo "spin.toml reads the components from there. Remove it (rm -r target/wasm32-wasip2) and run again." >&2
        exit 1
    fi
    ln -sfn "$OMNI_TARGET/wasm32-wasip2" target/wasm32-wasip2
}

# PostgreSQL and Redis: the tests (OMNI_SETUP_TESTS) and `make run-cluster`
# (OMNI_SETUP_CLUSTER) start their own servers of both, on loopback.
if [ "${OMNI_SETUP_TESTS:-0}" = 1 ] || [ "${OMNI_SETUP_CLUSTER:-0}" = 1 ]; then
    # A PostgreSQL 15 cluster per test or per cluster run (as the postgres
    # user, on loopback, in a temporary or state directory).
    if [ ! -x /usr/lib/postgresql/15/bin/initdb ]; then
        step "installing Debian's PostgreSQL 15 (PostgreSQL tier)"
        apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq postgresql
    fi
    # redis-server, started on a loopback port without persistence.
    if [ ! -x /usr/bin/redis-server ]; then
        step "installing Debian's redis-server (key-value store on Redis)"
        apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq redis-server
    fi
fi

if [ "${OMNI_SETUP_TESTS:-0}" = 1 ]; then
    # The black-box tests decrypt Web Push messages with an independent
    # implementation over OpenSSL, which needs its headers.
    if ! pkg-config --exists openssl 2>/dev/null; then
        step "installing OpenSSL headers (libssl-dev, pkg-config) for the tests"
        apt-get update -qq && apt-get install -y -qq libssl-dev pkg-config
    fi
    # The kiosk page's end-to-end tests (tests/tests/api/kiosk.rs) drive
    # Debian's Chromium with playwright-core from npm; `npx playwright
    # install` cannot download a browser here, so the browser comes from apt.
    # npm ci runs again whenever package-lock.json is newer than what
    # node_modules was built from.
    if ! command -v npm >/dev/null; then
        step "installing Node.js and npm (kiosk browser tests, OpenAPI lint)"
        apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq nodejs npm
    fi
    if [ ! -x /usr/bin/chromium ]; then
        step "installing Debian's chromium (kiosk browser tests)"
        apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium
    fi
    for dir in tests/kiosk tests/openapi; do
        if [ ! -f "$dir/node_modules/.package-lock.json" ] \
            || [ "$dir/package-lock.json" -nt "$dir/node_modules/.package-lock.json" ]; then
            step "installing the npm packages of $dir (npm ci --prefix $dir)"
            npm ci --prefix "$dir" --no-audit --no-fund
        fi
    done
fi

step "building the eight components for wasm32-wasip2 (the first build takes several minutes)"
cargo build --target wasm32-wasip2 --release
link_wasm_for_spin_toml

if [ "${OMNI_SETUP_TESTS:-0}" = 1 ]; then
    step "building the edge host's test guest"
    cargo build --manifest-path tests/guest-probe/Cargo.toml --target wasm32-wasip2 --release
    # The whole workspace with every target at once, so the native build has
    # the same unified features as the test run that follows (dev-dependencies
    # count only when tests are built) and nothing, wasmtime above all, is
    # compiled twice.
    step "building the edge host, the demo tool and the native test targets"
    cargo build --profile host --workspace --all-targets
else
    step "building the local edge host and the demo tool (the first build compiles wasmtime: several minutes)"
    cargo build --profile host -p edge-host -p demo-tools --bins
fi
