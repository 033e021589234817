#!/usr/bin/env bash
# Stream benchmarks: the same nginx (one worker), in one run, answering
#   conn: a new connection per request, a short line:   stream `return`  vs  content_by_lua + ngx.say
#   echo: keepalive echo of 4 KB messages:               plain proxy_pass to an echo backend
#                                                        vs  ngx.req.socket receive/send loop
# and the ratio Lua / plain for each. Usage: scripts/bench/run.sh [SECONDS] [CLIENTS]
# MODULE=<a .so> runs another build of the module (the default builds and runs ours).
set -euo pipefail
cd "$(dirname "$0")/../.."
SECS=${1:-5}
CLIENTS=${2:-16}
MODULE=${MODULE:-$PWD/target/release/ngx_stream_lua_module.so}
[ "$MODULE" != "$PWD/target/release/ngx_stream_lua_module.so" ] || scripts/build.sh >/dev/null
cargo build -q --release --manifest-path scripts/bench/loadgen/Cargo.toml
LG=scripts/bench/loadgen/target/release/loadgen

prefix=$PWD/build/bench
rm -rf "$prefix"; mkdir -p "$prefix/conf" "$prefix/logs"
cat >"$prefix/conf/nginx.conf" <<CONF
load_module $MODULE;
worker_processes 1;
error_log logs/error.log error;
pid logs/nginx.pid;
events { worker_connections 4096; }
stream {
    upstream echo_backend { server 127.0.0.1:19540; }
    server { listen 127.0.0.1:19541; return "hello, world\n"; }
    server { listen 127.0.0.1:19542; content_by_lua_block { ngx.say("hello, world") } }
    server { listen 127.0.0.1:19543; proxy_pass echo_backend; }
    server {
        listen 127.0.0.1:19544;
        content_by_lua_block {
            local sock = ngx.req.socket()
            while true do
                local data = sock:receiveany(65536)
                if not data then return end
                sock:send(data)
            end
        }
    }
}
CONF
$LG echo-server 127.0.0.1:19540 & backend=$!
build/nginx/objs/nginx -p "$prefix"
trap 'kill $backend 2>/dev/null; kill -QUIT $(cat "$prefix/logs/nginx.pid") 2>/dev/null' EXIT
sleep 0.5

rate() { $LG "$@" | awk '{print $(NF-1)}'; }
echo "warming up"; $LG conn 127.0.0.1:19542 1 4 >/dev/null; $LG echo 127.0.0.1:19544 1 4 4096 >/dev/null
conn_plain=$(rate conn 127.0.0.1:19541 "$SECS" "$CLIENTS")
conn_lua=$(rate conn 127.0.0.1:19542 "$SECS" "$CLIENTS")
echo_plain=$(rate echo 127.0.0.1:19543 "$SECS" "$CLIENTS" 4096)
echo_lua=$(rate echo 127.0.0.1:19544 "$SECS" "$CLIENTS" 4096)
ratio() { awk -v a="$1" -v b="$2" 'BEGIN { printf "%.2f", a / b }'; }
printf '%-44s %12s %12s %7s\n' "benchmark ($SECS s, $CLIENTS clients, 1 worker)" "plain/s" "lua/s" "ratio"
printf '%-44s %12s %12s %7s\n' "conn: new connection, short line" "$conn_plain" "$conn_lua" "$(ratio "$conn_lua" "$conn_plain")"
printf '%-44s %12s %12s %7s\n' "echo: keepalive, 4 KB messages" "$echo_plain" "$echo_lua" "$(ratio "$echo_lua" "$echo_plain")"
