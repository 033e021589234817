#!/usr/bin/env bash
# Builds the module for valgrind runs: the vendored LuaJIT with the system allocator and its
# valgrind annotations (-DLUAJIT_USE_SYSMALLOC -DLUAJIT_USE_VALGRIND, valgrind's headers
# needed), into its own target directory so the normal build stays as it is:
#   target/valgrind/release/libngx_stream_lua_module.so
# How it reaches LuaJIT: mlua's `vendored` feature builds LuaJIT with the luajit-src crate,
# which runs LuaJIT's Makefile with STATIC_CC/TARGET_LD set to the `cc` crate's compiler
# and flags; the `cc` crate adds CFLAGS_<target> from the environment, so these defines reach
# every LuaJIT object (its own XCFLAGS variable is fixed by luajit-src, no [patch] needed).
# Then run the tests under valgrind with it:
#   TEST_NGINX_USE_VALGRIND=1 TEST_NGINX_LOAD_MODULES=target/valgrind/release/libngx_stream_lua_module.so \
#       cargo test --release --test t -- t/001-content.t
set -euo pipefail
cd "$(dirname "$0")/.."
if [ ! -f /usr/include/valgrind/memcheck.h ]; then
    echo "build-valgrind.sh: valgrind's headers are missing (apt-get install valgrind)" >&2
    exit 1
fi
triple=$(rustc -vV | sed -n 's/^host: //p')
flags="-DLUAJIT_USE_SYSMALLOC -DLUAJIT_USE_VALGRIND"
export "CFLAGS_${triple//-/_}=$flags"
export CARGO_TARGET_DIR="${CARGO_TARGET_DIR_VALGRIND:-$PWD/target/valgrind}"
cargo build --release --features valgrind
echo "build-valgrind.sh: $CARGO_TARGET_DIR/release/libngx_stream_lua_module.so (LuaJIT: $flags)"
