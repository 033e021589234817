#!/usr/bin/env bash
# Builds nginx (once, scripts/setup.sh) and the module: target/release/ngx_stream_lua_module.so.
# The module is written beside the old one and renamed into place: a running nginx keeps the
# old file mapped, and rewriting it in place (cp) would crash its workers at their next call
# into it.
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/setup.sh
cargo build --release
out=target/release/ngx_stream_lua_module.so
cp target/release/libngx_stream_lua_module.so "$out.new.$$"
mv -f "$out.new.$$" "$out"
