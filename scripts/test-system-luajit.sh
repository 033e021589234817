#!/usr/bin/env bash
# The system-LuaJIT build (scripts/build.sh LUAJIT=system: Debian's libluajit2-5.1-dev, the
# OpenResty branch, linked as a shared library) against part of t/, or the files given.
# Usage: scripts/test-system-luajit.sh [t/FILE.t ...]
set -euo pipefail
cd "$(dirname "$0")/.."
LUAJIT=system scripts/build.sh
so=$PWD/target/system-luajit/release/ngx_stream_lua_module.so
ldd "$so" | grep 'libluajit' >/dev/null || { echo "test-system-luajit.sh: $so does not link the system LuaJIT"; exit 1; }
files=("$@")
if [ ${#files[@]} -eq 0 ]; then
    files=(t/001-content.t t/015-sleep.t t/016-req-socket.t t/022-timer.t t/030-thread.t t/031-semaphore.t
        t/034-socket-tcp.t t/040-string.t t/041-resty-core.t t/042-shdict.t t/044-socket-udp.t
        t/043-regex.t t/052-balancer.t t/071-ssl-conn.t t/073-ssl-cert-by.t)
fi
TEST_NGINX_LOAD_MODULES=$so cargo test --release --test t -- "${files[@]}"
