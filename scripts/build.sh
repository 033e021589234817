#!/usr/bin/env bash
# Builds nginx (once, scripts/setup.sh) and the module: target/release/ngx_stream_lua_module.so.
# The module is written beside the old one and renamed into place: a running nginx keeps the
# old file mapped, and rewriting it in place (cp) would crash its workers at their next call
# into it.
# LUAJIT=system links the system's LuaJIT (pkg-config `luajit`: on Debian the OpenResty branch,
# libluajit2-5.1-dev) instead of building the vendored one in; that build goes to
# target/system-luajit/ so that both can sit side by side.
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/setup.sh
if [ "${LUAJIT:-vendored}" = system ]; then
    scripts/apt-need.sh libluajit2-5.1-dev pkg-config
    export CARGO_TARGET_DIR=$PWD/target/system-luajit
    cargo build --release --no-default-features --features export-modules
    dir=$CARGO_TARGET_DIR/release
else
    cargo build --release
    dir=target/release
fi
out=$dir/ngx_stream_lua_module.so
cp "$dir/libngx_stream_lua_module.so" "$out.new.$$"
mv -f "$out.new.$$" "$out"
