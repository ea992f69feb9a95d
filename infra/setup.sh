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

# ---- kiosk browser tests (issue 9) ------------------------------------------
# The kiosk page's end-to-end tests (tests/tests/api/kiosk.rs) drive Debian's
# Chromium with playwright-core from npm; `npx playwright install` cannot
# download a browser here, so the browser comes from apt. npm ci runs again
# whenever package-lock.json is newer than what node_modules was built from.
# Only the test run asks for them (test-all.sh sets OMNI_SETUP_BROWSER=1):
# running the app needs no browser on the machine.
if [ "${OMNI_SETUP_BROWSER:-0}" = 1 ]; then
    if ! command -v npm >/dev/null; then
        echo "== installing Node.js and npm (kiosk browser tests)"
        apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq nodejs npm
    fi
    if [ ! -x /usr/bin/chromium ]; then
        echo "== installing Debian's chromium (kiosk browser tests)"
        apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium
    fi
    # The kiosk and storefront browser tests (playwright-core) and the
    # OpenAPI lint (@redocly/cli).
    for dir in tests/kiosk tests/openapi; do
        if [ ! -f "$dir/node_modules/.package-lock.json" ] \
            || [ "$dir/package-lock.json" -nt "$dir/node_modules/.package-lock.json" ]; then
            echo "== installing the npm packages of $dir (npm ci --prefix $dir)"
            npm ci --prefix "$dir" --no-audit --no-fund
        fi
    done
fi
# ---- end of kiosk browser tests ----------------------------------------------

echo "== building the components (.wasm)"
cargo build --target wasm32-wasip2 --release

echo "== building the edge host's test guest"
cargo build --manifest-path tests/guest-probe/Cargo.toml --target wasm32-wasip2 --release

# The whole workspace with every target at once, so the native build has the
# same unified features as the test run that follows (dev-dependencies count
# only when tests are built) and nothing, wasmtime above all, is compiled
# twice.
echo "== building the edge host, the demo tools and the native test targets"
cargo build --profile host --workspace --all-targets
