#!/usr/bin/env bash
# Longer runs of the property tests of the pure crates (codecs, regex replacement templates,
# the *_by_lua_block lexer).
# `cargo test` runs them briefly; this runs each property PROPTEST_CASES times (default
# 1000000, about a minute; e.g. `PROPTEST_CASES=10000000 scripts/fuzz.sh`).  A failure prints the smallest
# input proptest found.
set -euo pipefail
cd "$(dirname "$0")/.."
export PROPTEST_CASES="${PROPTEST_CASES:-1000000}"
echo "fuzz.sh: ${PROPTEST_CASES} cases per property"
cargo test --release -p stream-lua-codec -p stream-lua-retemplate -p stream-lua-conf-lexer --test prop -- --nocapture
