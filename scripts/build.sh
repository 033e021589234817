#!/usr/bin/env bash
# Builds nginx (once, scripts/setup.sh) and the module: target/release/ngx_stream_lua_module.so.
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/setup.sh
cargo build --release
cp target/release/libngx_stream_lua_module.so target/release/ngx_stream_lua_module.so
