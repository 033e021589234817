#!/usr/bin/env bash
# Micro-benchmarks of hot Lua APIs run inside nginx (one worker): a loop suite from
# scripts/bench/loops/ (regex, shdict), printing ops/s and the LuaJIT trace aborts seen.
# Usage: scripts/bench/lua-loops.sh SUITE [ITERATIONS]
# Another engine on the same nginx, for a side-by-side run: NGINX_BIN=<nginx binary>
# MODULE=<its .so> LUA_PATH_FIRST='<dir>/?.lua;...' (e.g. a lua-resty-core it needs).
set -euo pipefail
cd "$(dirname "$0")/../.."
SUITE=${1:?usage: $0 regex|shdict [ITERATIONS]}
N=${2:-200000}
loops=$PWD/scripts/bench/loops
[ -f "$loops/$SUITE.lua" ] || { echo "no such suite: $loops/$SUITE.lua" >&2; exit 2; }
NGINX_BIN=${NGINX_BIN:-$PWD/build/nginx/objs/nginx}
MODULE=${MODULE:-$PWD/target/release/ngx_stream_lua_module.so}
[ -n "${MODULE_BUILT:-}" ] || [ "$MODULE" != "$PWD/target/release/ngx_stream_lua_module.so" ] || scripts/build.sh >/dev/null
prefix=$PWD/target/bench-loops
rm -rf "$prefix"; mkdir -p "$prefix/conf" "$prefix/logs"
port=${LOOPS_PORT:-19561}
cat >"$prefix/conf/nginx.conf" <<CONF
load_module $MODULE;
worker_processes 1;
error_log logs/error.log error;
pid logs/nginx.pid;
events { worker_connections 64; }
stream {
    lua_package_path '${LUA_PATH_FIRST:-};;';
    lua_shared_dict bench 64m;
    server {
        listen 127.0.0.1:$port;
        content_by_lua_block {
            dofile("$loops/harness.lua")("$loops/$SUITE.lua", $N)
        }
    }
}
CONF
"$NGINX_BIN" -p "$prefix"
trap 'kill -QUIT $(cat "$prefix/logs/nginx.pid") 2>/dev/null' EXIT
sleep 0.3
exec 3<>/dev/tcp/127.0.0.1/$port
cat <&3
