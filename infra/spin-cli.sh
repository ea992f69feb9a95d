#!/usr/bin/env bash
# Prints the path of a real Spin CLI to run the app and the tests under,
# or nothing when there is none.
#
# $SPIN_BIN wins when set. Otherwise the kit beside the project ships Spin
# 4.0.2 (../shared/tools/spin-4.0.2-linux-x86_64.xz, built from the public
# source, since no package registry here has it); it is unpacked once into
# target/spin/ (ignored by git) and reused. Sourced or run; never installs
# anything else.
set -euo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
if [ -n "${SPIN_BIN:-}" ]; then
    [ -x "$SPIN_BIN" ] || { echo "SPIN_BIN=$SPIN_BIN is not an executable" >&2; exit 1; }
    echo "$SPIN_BIN"
    exit 0
fi
# The kit sits beside the project; a clone (CI's clean checkout of main)
# may sit elsewhere, so the kit beside the repository it was cloned from
# counts too.
kit="shared/tools/spin-4.0.2-linux-x86_64.xz"
packed="$root/../$kit"
if [ ! -f "$packed" ]; then
    origin="$(git -C "$root" remote get-url origin 2>/dev/null || true)"
    origin="${origin#file://}"
    if [ -n "$origin" ] && [ -d "$origin" ] && [ -f "$origin/../$kit" ]; then
        packed="$(cd "$origin/.." && pwd)/$kit"
    fi
fi
[ -f "$packed" ] || exit 0
unpacked="${CARGO_TARGET_DIR:-$root/target}/spin/spin-4.0.2"
if [ ! -x "$unpacked" ] || [ "$packed" -nt "$unpacked" ]; then
    mkdir -p "$(dirname "$unpacked")"
    xz -dc "$packed" >"$unpacked.partial"
    chmod +x "$unpacked.partial"
    mv "$unpacked.partial" "$unpacked"
fi
"$unpacked" --version >/dev/null || { echo "$unpacked does not run (it needs libssl3 and libstdc++)" >&2; exit 1; }
echo "$unpacked"
