#!/usr/bin/env bash
# Builds everything, starts the real servers some tests talk to (redis, memcached), and runs
# every test: the t/*.t Test::Nginx-format blocks (cargo test).
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/build.sh
scripts/test-servers.sh
cargo test --release "$@"
