#!/usr/bin/env bash
# Sets up a fresh machine and runs every test tier (see tests/README.md).
# This is the README's test command and what CI runs.
set -euo pipefail
cd "$(dirname "$0")/.."

OMNI_SETUP_BROWSER=1 source infra/setup.sh

echo "== native tests (domain, components, edge host, black-box over HTTP)"
if cargo nextest --version >/dev/null 2>&1; then
    cargo nextest run --cargo-profile host --workspace --no-fail-fast
else
    cargo test --profile host --workspace --no-fail-fast
fi

echo "== OpenAPI documents: Redocly's recommended rules, zero errors"
node -e 'const [major, minor] = process.versions.node.split(".").map(Number); process.exit(major > 20 || (major === 20 && minor >= 19) ? 0 : 1)' \
    || { echo "the OpenAPI lint (@redocly/cli) needs Node.js 20.19 or newer; this machine has $(node --version)" >&2; exit 1; }
(cd tests/openapi && REDOCLY_TELEMETRY=off REDOCLY_SUPPRESS_UPDATE_NOTICE=true npx --no-install redocly lint --config redocly.yaml ../../components/*/openapi.yaml)

echo "== .wasm size budget (2 MiB per component)"
infra/wasm-sizes.sh --check
