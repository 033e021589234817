#!/usr/bin/env bash
# Rebuilding never hurts a running server: nginx serves with target/release/ngx_stream_lua_module.so
# loaded, scripts/build.sh runs again (it replaces that file), and the same worker goes on
# answering (a file rewritten in place under a running nginx kills its workers with SIGSEGV).
set -euo pipefail
cd "$(dirname "$0")/.."
ROOT=$PWD
. scripts/lib/nginx-check.sh

scripts/build.sh >/dev/null
prefix=$ROOT/build/rebuild-check
rm -rf "$prefix"
mkdir -p "$prefix/logs"
port=$(free_port)
{
    echo "load_module $ROOT/target/release/ngx_stream_lua_module.so;"
    echo "worker_processes 1;"
    lua_server_conf "$port" '
            local line = ngx.req.socket():receive()
            ngx.say("worker ", ngx.worker.pid(), " ", (ngx.re.find(line, "i", "jo")))'
} >"$prefix/nginx.conf"
run() { build/nginx/objs/nginx -p "$prefix" -c nginx.conf -e logs/error.log "$@"; }
run
wait_for_pid "$prefix/logs/nginx.pid"
before=$(tcp_answer "$port" || true)
check "answers before the rebuild" grep -q '^worker [0-9]* 2$' <<<"$before"
scripts/build.sh >/dev/null
after=$(tcp_answer "$port" || true)
again=$(tcp_answer "$port" || true)
check "the same worker answers after the rebuild" test "$after" = "$before" -a "$again" = "$before"
run -s quit 2>/dev/null || true
check "no worker died" bash -c "! grep -q 'exited on signal' '$prefix/logs/error.log'"
checks_summary rebuild
