#!/usr/bin/env bash
# Soak: TOTAL new connections against one nginx worker running a mixed Lua workload, plus
# TIMERS timers pending all through, with the worker's memory and fds sampled as it goes;
# memory must stay flat once warm.
# Each connection: ngx.req.socket receive, shared dict incr/set (with expiry), a light thread
# that asks a second Lua server over a pooled cosocket (setkeepalive), a zero-delay timer, a
# jo regex, and the answer `req-N N`; the load generator checks every answer. The TIMERS
# (init_worker_by_lua) each fire after 1-61 s and re-arm themselves for 30-60 s more.
# Prints a table of the worker's RSS, fds and pending timers at 0, 1/4, 1/2, 3/4 and all of
# TOTAL connections (read when a status server's counter passes each mark).
# Usage: scripts/soak.sh [TOTAL] [CLIENTS] [TIMERS]   (default 300000 16 100000; the issue's
# soak: 1000000). The 100,000 timers put ~48 MB in the Lua heap, and the first GC cycle after
# them comes some 60,000 connections in: below TOTAL 300,000 the 1/4 mark may be before it
# (use fewer TIMERS for short runs).
# MODULE=<.so> NGINX_BIN=<nginx> LUA_PATH_FIRST=<lua path> run another engine (as lua-loops.sh);
# C=1 runs the C module from the workshop (/work/workshop/v16).
# It fails when connections fail or answer wrongly, when the worker dies, when a timer could
# not be armed or no re-armed timer fired, when the fds at the end differ from the start
# (under load: more than the clients' and the pool's connections), or when the worker's RSS at a mark is more than SOAK_MAX_GROWTH percent (default 5) off the
# 1/4 mark's (the 0 row is before the first connection: JIT traces, the pool and the
# connection slots are not warm yet, and it is shown, not judged).
set -euo pipefail
cd "$(dirname "$0")/.."
TOTAL=${1:-300000}
CLIENTS=${2:-16}
TIMERS=${3:-100000}
if [ "${C:-0}" = 1 ]; then
    ws=/work/workshop/v16
    NGINX_BIN=$ws/host-nginx/sbin/nginx
    MODULE=$ws/host-nginx/modules/ngx_stream_lua_module.so
    LUA_PATH_FIRST="$ws/src/lua-resty-core/lib/?.lua;$ws/src/lua-resty-lrucache/lib/?.lua"
fi
MAX_GROWTH=${SOAK_MAX_GROWTH:-5}
NGINX_BIN=${NGINX_BIN:-$PWD/build/nginx/objs/nginx}
MODULE=${MODULE:-$PWD/target/release/ngx_stream_lua_module.so}
[ "$MODULE" != "$PWD/target/release/ngx_stream_lua_module.so" ] || scripts/build.sh >/dev/null
cargo build -q --release --manifest-path scripts/bench/loadgen/Cargo.toml
LG=$PWD/scripts/bench/loadgen/target/release/loadgen
# below the ephemeral range (32768+), and none of the three ports in use
while :; do
    port=$((20000 + RANDOM % 12000))
    ss -Htuan | awk '{ print $5 }' | grep -E ":($port|$((port + 1))|$((port + 2)))\$" >/dev/null || break
done
prefix=$PWD/target/soak
rm -rf "$prefix"; mkdir -p "$prefix/conf" "$prefix/logs"
cat >"$prefix/conf/nginx.conf" <<CONF
load_module $MODULE;
worker_processes 1;
error_log logs/error.log warn;
pid logs/nginx.pid;
events { worker_connections 8192; }
stream {
    lua_package_path '${LUA_PATH_FIRST:-};;';
    lua_shared_dict soak 8m;
    lua_socket_log_errors off;
    lua_max_pending_timers $((TIMERS + 20000));
    lua_max_running_timers 4096;
    init_worker_by_lua_block {
        local dict = ngx.shared.soak
        local function tick(premature, i)
            if premature then return end
            dict:incr("fired", 1, 0)
            if not ngx.timer.at(30 + (i % 300) / 10, tick, i) then
                dict:incr("timer_errors", 1, 0)
            end
        end
        for i = 1, $TIMERS do
            if not ngx.timer.at(1 + (i % 600) / 10, tick, i) then
                dict:incr("timer_errors", 1, 0)
            end
        end
    }
    # status: connections so far, re-armed timers fired, timer errors, pending timers
    server {
        listen 127.0.0.1:$((port + 2));
        content_by_lua_block {
            local dict = ngx.shared.soak
            ngx.say(dict:get("conns") or 0, " ", dict:get("fired") or 0, " ",
                    dict:get("timer_errors") or 0, " ", ngx.timer.pending_count(), " ",
                    math.floor(collectgarbage("count")))
        }
    }
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
                c:setkeepalive(2000, 32)
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
# the daemon writes its pid file after the launching process has returned
for _ in $(seq 50); do [ -s "$prefix/logs/nginx.pid" ] && break; sleep 0.1; done
master=$(cat "$prefix/logs/nginx.pid")
# stop nginx and wait for it: an old master removes the pid file on its way out, a next run's
# file too if it still runs then
stop_nginx() {
    kill -QUIT "$master" 2>/dev/null || return 0
    for _ in $(seq 100); do kill -0 "$master" 2>/dev/null || return 0; sleep 0.1; done
    kill -TERM "$master" 2>/dev/null || true
}
trap stop_nginx EXIT
sleep 0.5
worker=$(pgrep -P "$master" | head -1)
rss() { awk '/^VmRSS:/ { print $2 }' "/proc/$1/status" 2>/dev/null || echo 0; }
fds() { ls "/proc/$1/fd" 2>/dev/null | wc -l; }
status() {
    local line
    exec 3<>"/dev/tcp/127.0.0.1/$((port + 2))" || return 1
    read -r -t 10 line <&3 || true
    exec 3<&- 3>&-
    echo "$line"
}
# one row: mark, connections, RSS, fds, pending timers, re-armed timers fired, timer errors,
# Lua heap KB
sample() { read -r c f e p l < <(status) || true; echo "$1 $c $(rss "$worker") $(fds "$worker") $p $f $e $l"; }
: >"$prefix/marks"
sample 0 >>"$prefix/marks"
"$LG" soak "127.0.0.1:$port" "$TOTAL" "$CLIENTS" >"$prefix/loadgen.out" &
lg=$!
: >"$prefix/rss"
next=1
while kill -0 "$lg" 2>/dev/null; do
    echo "$(date +%s) $(rss "$worker")" >>"$prefix/rss"
    read -r c _ < <(status) || c=0
    while [ "$next" -le 3 ] && [ "${c:-0}" -ge $((TOTAL * next / 4)) ]; do
        sample "$((TOTAL * next / 4))" >>"$prefix/marks"
        next=$((next + 1))
    done
    sleep 0.2
done
wait "$lg"
# the last sessions end (their zero-delay timers with them) and the pooled connections idle
# out (2 s) before the last row
sleep 3
sample "$TOTAL" >>"$prefix/marks"
cat "$prefix/loadgen.out"
echo "worker RSS (KB), one sample a loop: $(awk '{ print $2 }' "$prefix/rss" | tr '\n' ' ')"
printf '%-10s %12s %10s %8s %9s %9s %9s %9s\n' mark connections 'RSS KB' fds 'vs 1/4' pending fired 'Lua KB'
quarter=$(sed -n 2p "$prefix/marks")
read -r _ _ qrss _ < <(echo "$quarter")
fail=0
read -r _ _ _ fds0 _ < <(head -1 "$prefix/marks")
while read -r mark c r f p fi e l; do
    pct=$(awk -v a="$qrss" -v b="$r" 'BEGIN { printf "%+.1f%%", (b - a) * 100 / a }')
    printf '%-10s %12s %10s %8s %9s %9s %9s %9s\n' "$mark" "$c" "$r" "$f" "$pct" "$p" "$fi" "$l"
    [ "$mark" = 0 ] && continue
    # under load: the clients' connections and the pool's, both ways, and no more; at the
    # end, with the load gone and the pool idled out: the start count
    if [ "$mark" = "$TOTAL" ] && [ "$f" != "$fds0" ]; then
        echo "soak: $f fds at the end, $fds0 at the start" >&2
        fail=1
    elif [ "$f" -gt $((fds0 + 2 * CLIENTS + 2 * 32)) ]; then
        echo "soak: $f fds at $mark, more than the clients' and the pool's" >&2
        fail=1
    fi
    if awk -v a="$qrss" -v b="$r" -v m="$MAX_GROWTH" 'BEGIN { d = (b - a) * 100 / a; exit !(d > m || d < -m) }'; then
        echo "soak: RSS at $mark is more than $MAX_GROWTH% off the 1/4 mark" >&2
        fail=1
    fi
    if [ "${e:-0}" != 0 ]; then
        echo "soak: $e timers could not be armed" >&2
        fail=1
    fi
    if [ "${p:-0}" -lt "$TIMERS" ]; then
        echo "soak: only $p timers pending at $mark" >&2
        fail=1
    fi
done <"$prefix/marks"
last_fired=$(tail -1 "$prefix/marks" | awk '{ print $6 }')
if [ "$TIMERS" -gt 0 ] && [ "${last_fired:-0}" = 0 ]; then
    echo "soak: no re-armed timer fired" >&2
    fail=1
fi
[ "$(wc -l <"$prefix/marks")" = 5 ] || { echo "soak: $(wc -l <"$prefix/marks") of 5 marks read" >&2; fail=1; }
if ! kill -0 "$worker" 2>/dev/null || grep -q 'exited on signal' "$prefix/logs/error.log"; then
    echo "soak: the worker died" >&2
    fail=1
fi
read -r okc errc wrongc < <(awk '{ print $2, $4, $6 }' "$prefix/loadgen.out")
if [ "$okc" != "$TOTAL" ]; then
    echo "soak: $errc connections failed and $wrongc answered wrongly" >&2
    fail=1
fi
grep -E '\[(alert|crit|emerg)\]' "$prefix/logs/error.log" | head -5 || true
exit $fail
