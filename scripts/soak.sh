#!/usr/bin/env bash
# Soak: TOTAL new connections against one nginx worker running a mixed Lua workload, with the
# worker's memory sampled as it goes; memory must stay flat once warm.
# Each connection: ngx.req.socket receive, shared dict incr/set (with expiry), a light thread
# that asks a second Lua server over a pooled cosocket (setkeepalive), a zero-delay timer, a
# jo regex, and the answer `req-N N`; the load generator checks every answer.
# Usage: scripts/soak.sh [TOTAL] [CLIENTS]   (default 100000 16; the issue's soak: 1000000)
# MODULE=<.so> NGINX_BIN=<nginx> LUA_PATH_FIRST=<lua path> run another engine (as lua-loops.sh).
# It fails when connections fail or answer wrongly, when the worker dies, or when the worker's
# RSS grows more than SOAK_MAX_GROWTH percent (default 5) from the first quarter of the run to
# its end.
set -euo pipefail
cd "$(dirname "$0")/.."
TOTAL=${1:-100000}
CLIENTS=${2:-16}
MAX_GROWTH=${SOAK_MAX_GROWTH:-5}
NGINX_BIN=${NGINX_BIN:-$PWD/build/nginx/objs/nginx}
MODULE=${MODULE:-$PWD/target/release/ngx_stream_lua_module.so}
[ "$MODULE" != "$PWD/target/release/ngx_stream_lua_module.so" ] || scripts/build.sh >/dev/null
cargo build -q --release --manifest-path scripts/bench/loadgen/Cargo.toml
LG=$PWD/scripts/bench/loadgen/target/release/loadgen
port=$((20000 + RANDOM % 20000))
prefix=$PWD/target/soak
rm -rf "$prefix"; mkdir -p "$prefix/conf" "$prefix/logs"
cat >"$prefix/conf/nginx.conf" <<CONF
load_module $MODULE;
worker_processes 1;
error_log logs/error.log warn;
pid logs/nginx.pid;
events { worker_connections 4096; }
stream {
    lua_package_path '${LUA_PATH_FIRST:-};;';
    lua_shared_dict soak 8m;
    lua_socket_log_errors off;
    server {
        listen 127.0.0.1:$((port + 1));
        content_by_lua_block {
            local sock = ngx.req.socket()
            while true do
                local line = sock:receive()
                if not line then return end
                local ok, err = sock:send(line .. "\n")
                if not ok then return end
            end
        }
    }
    server {
        listen 127.0.0.1:$port;
        content_by_lua_block {
            local dict = ngx.shared.soak
            local n = dict:incr("conns", 1, 0)
            dict:set("k" .. n % 1000, string.rep("v", n % 200), 5)
            local line = ngx.req.socket():receive()
            if not line then return end
            local t = ngx.thread.spawn(function()
                local c = ngx.socket.tcp()
                c:settimeout(5000)
                local ok, err = c:connect("127.0.0.1", $((port + 1)))
                if not ok then return nil, err end
                c:send(line .. "\n")
                local back = c:receive()
                c:setkeepalive(10000, 32)
                return back
            end)
            local _, back = ngx.thread.wait(t)
            ngx.timer.at(0, function(premature, v) dict:incr("timers", 1, 0) end, n)
            local m = ngx.re.match(back or "", [[^req-(\d+)$]], "jo")
            ngx.say(back, " ", m and m[1] or "-")
        }
    }
}
CONF
"$NGINX_BIN" -p "$prefix"
trap 'kill -QUIT $(cat "$prefix/logs/nginx.pid") 2>/dev/null || true' EXIT
sleep 0.5
worker=$(pgrep -P "$(cat "$prefix/logs/nginx.pid")" | head -1)
rss() { awk '/^VmRSS:/ { print $2 }' "/proc/$1/status" 2>/dev/null || echo 0; }
"$LG" soak "127.0.0.1:$port" "$TOTAL" "$CLIENTS" >"$prefix/loadgen.out" &
lg=$!
: >"$prefix/rss"
while kill -0 "$lg" 2>/dev/null; do
    echo "$(date +%s) $(rss "$worker")" >>"$prefix/rss"
    sleep 1
done
wait "$lg"
cat "$prefix/loadgen.out"
echo "worker RSS (KB), one sample a second: $(awk '{ print $2 }' "$prefix/rss" | tr '\n' ' ')"
fail=0
if ! kill -0 "$worker" 2>/dev/null || grep -q 'exited on signal' "$prefix/logs/error.log"; then
    echo "soak: the worker died" >&2
    fail=1
fi
read -r okc errc wrongc < <(awk '{ print $2, $4, $6 }' "$prefix/loadgen.out")
if [ "$okc" != "$TOTAL" ]; then
    echo "soak: $errc connections failed and $wrongc answered wrongly" >&2
    fail=1
fi
n=$(wc -l <"$prefix/rss")
if [ "$n" -ge 8 ]; then
    from=$(sed -n "$((n / 4))p" "$prefix/rss" | awk '{ print $2 }')
    to=$(tail -1 "$prefix/rss" | awk '{ print $2 }')
    growth=$(awk -v a="$from" -v b="$to" 'BEGIN { printf "%.1f", (b - a) * 100 / a }')
    echo "worker RSS from the first quarter to the end: $from KB -> $to KB ($growth%)"
    if awk -v g="$growth" -v m="$MAX_GROWTH" 'BEGIN { exit !(g > m) }'; then
        echo "soak: RSS grew more than $MAX_GROWTH%" >&2
        fail=1
    fi
else
    echo "soak: run too short to judge memory ($n samples)"
fi
grep -E '\[(alert|crit|emerg)\]' "$prefix/logs/error.log" | head -5 || true
exit $fail
