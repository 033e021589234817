#!/usr/bin/env bash
# Builds everything and runs every test: the t/*.t Test::Nginx-format blocks (cargo test).
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/build.sh
cargo test --release "$@"
