#!/usr/bin/env bash
# nginx's own addon build, as distro packagers and pkg-oss run it: nginx 1.28.3 configured with
#     auto/configure --with-compat --with-stream --add-dynamic-module=<this checkout>
# then `make` and `make modules` (cargo runs inside, against that tree). The module it makes
# is loaded into the nginx it made (a build without TLS, so also no lua_ssl_* / sslhandshake),
# and a content_by_lua_block server with a shared dict, a regex and a timer answers a client.
set -euo pipefail
cd "$(dirname "$0")/.."
ROOT=$PWD
. scripts/lib/nginx-check.sh

scripts/apt-need.sh make gcc libpcre2-dev zlib1g-dev libclang-dev
tree=$ROOT/build/nginx-addon
rm -rf "$tree"
cp -r "$(scripts/nginx-src-dir.sh)" "$tree"
cd "$tree"
check "configure --add-dynamic-module" \
    bash -c "auto/configure --with-compat --with-stream --add-dynamic-module='$ROOT' >configure.log 2>&1"
check "make" bash -c "make -j$(nproc) >make.log 2>&1"
check "make modules" bash -c "make modules >>make.log 2>&1"
check "objs/ngx_stream_lua_module.so" test -f objs/ngx_stream_lua_module.so
if [ "$checks_failed" -ne 0 ]; then
    tail -30 make.log configure.log
    checks_summary addon
fi

prefix=$tree/run
mkdir -p "$prefix/logs"
port=$(free_port)
{
    echo "load_module $tree/objs/ngx_stream_lua_module.so;"
    echo "worker_processes 1;"
    lua_server_conf "$port" '
            ngx.req.socket():receive()  -- the client line (unread data would reset the connection)
            local n = ngx.shared.counts:incr("hits", 1, 0)
            local m = ngx.re.match("nginx/1.28.3", [[(\d+)\.(\d+)]], "jo")
            local done = require("ngx.semaphore").new()
            ngx.timer.at(0, function() done:post(1) end)
            local ok = done:wait(1)
            ngx.say("hits=", n, " major=", m[1], " timer=", tostring(ok),
                    " sslhandshake=", tostring(ngx.socket.tcp().sslhandshake))' \
        "lua_shared_dict counts 1m;"
} >"$prefix/nginx.conf"
run() { objs/nginx -p "$prefix" -c nginx.conf -e logs/error.log "$@"; }
check "nginx -t" run -t -q
if run; then
    wait_for_pid "$prefix/logs/nginx.pid" || true
    check "TCP client answered" \
        test "$(tcp_answer "$port")" = "hits=1 major=1 timer=true sslhandshake=nil"
    run -s quit 2>/dev/null || true
else
    check "nginx starts" false
fi
checks_summary addon
