#!/usr/bin/env bash
# Reloads under load (issue 15, item 6): RELOADS `nginx -s reload`s, one every INTERVAL
# seconds, while the worker is busy with
#   - short connections (the soak's workload: request socket, shared dict writes, a light
#     thread over a pooled cosocket, a zero-delay timer, a jo regex; every answer checked),
#   - long sessions (32 at a time, each sleeping 1.5 s before its answer: every reload leaves
#     an old worker with sessions to finish; every answer checked),
#   - 1,000 timers per worker re-arming themselves every 0.1-1 s and writing the shared dict,
#   - 1,000 seeded shared-dict keys that must survive every reload, and a connection counter
#     that must only grow.
# After each reload it checks the dict, and counts the workers that are shutting down. At the
# end, with the load gone, every old worker must have exited (within 10 s).
# Usage: scripts/reload-soak.sh [RELOADS] [INTERVAL] [TOTAL]   (default 20 0.5 600000)
# MODULE=<.so> NGINX_BIN=<nginx> LUA_PATH_FIRST=<lua path> run another engine (as soak.sh);
# C=1 runs the C module from the workshop (/work/workshop/v16).
set -euo pipefail
cd "$(dirname "$0")/.."
RELOADS=${1:-20}
INTERVAL=${2:-0.5}
TOTAL=${3:-600000}
LONG=400
if [ "${C:-0}" = 1 ]; then
    ws=/work/workshop/v16
    NGINX_BIN=$ws/host-nginx/sbin/nginx
    MODULE=$ws/host-nginx/modules/ngx_stream_lua_module.so
    LUA_PATH_FIRST="$ws/src/lua-resty-core/lib/?.lua;$ws/src/lua-resty-lrucache/lib/?.lua"
fi
NGINX_BIN=${NGINX_BIN:-$PWD/build/nginx/objs/nginx}
MODULE=${MODULE:-$PWD/target/release/ngx_stream_lua_module.so}
[ "$MODULE" != "$PWD/target/release/ngx_stream_lua_module.so" ] || scripts/build.sh >/dev/null
cargo build -q --release --manifest-path scripts/bench/loadgen/Cargo.toml
LG=$PWD/scripts/bench/loadgen/target/release/loadgen
# below the ephemeral range (32768+), and none of the four ports in use
while :; do
    port=$((20000 + RANDOM % 12000))
    ss -Htuan | awk '{ print $5 }' | grep -E ":($port|$((port + 1))|$((port + 2))|$((port + 3)))\$" >/dev/null || break
done
prefix=$PWD/target/reload-soak
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
    init_worker_by_lua_block {
        local dict = ngx.shared.soak
        local function tick(premature, i)
            if premature then return end
            dict:incr("fired", 1, 0)
            dict:set("tick" .. i, ngx.worker.pid())
            ngx.timer.at(0.1 + (i % 10) / 10, tick, i)
        end
        for i = 1, 1000 do
            ngx.timer.at((i % 10) / 10, tick, i)
        end
    }
    # the pooled cosocket's backend: a line echo
    server {
        listen 127.0.0.1:$((port + 1));
        content_by_lua_block {
            local sock = ngx.req.socket()
            while true do
                local line = sock:receive()
                if not line then return end
                if not sock:send(line .. "\n") then return end
            end
        }
    }
    # short connections
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
            ngx.timer.at(0, function() dict:incr("timers", 1, 0) end)
            local m = ngx.re.match(back or "", [[^req-(\d+)$]], "jo")
            ngx.say(back, " ", m and m[1] or "-")
        }
    }
    # long sessions: the answer after 1.5 s
    server {
        listen 127.0.0.1:$((port + 2));
        content_by_lua_block {
            local line = ngx.req.socket():receive()
            if not line then return end
            ngx.sleep(1.5)
            ngx.say(line, " ", line:match("^req%-(%d+)$") or "-")
        }
    }
    # control: "seed" writes 1,000 keys, "check" says how many are intact and the counters
    server {
        listen 127.0.0.1:$((port + 3));
        content_by_lua_block {
            local dict = ngx.shared.soak
            local cmd = ngx.req.socket():receive()
            if cmd == "seed" then
                for i = 1, 1000 do dict:set("seed" .. i, "value-" .. i * 7) end
            end
            local intact = 0
            for i = 1, 1000 do
                if dict:get("seed" .. i) == "value-" .. i * 7 then intact = intact + 1 end
            end
            ngx.say(intact, " ", dict:get("conns") or 0, " ", dict:get("fired") or 0)
        }
    }
}
CONF
"$NGINX_BIN" -p "$prefix"
# the daemon writes its pid file after the launching process has returned
for _ in $(seq 50); do [ -s "$prefix/logs/nginx.pid" ] && break; sleep 0.1; done
master=$(cat "$prefix/logs/nginx.pid")
stop_nginx() {
    kill -QUIT "$master" 2>/dev/null || return 0
    for _ in $(seq 100); do kill -0 "$master" 2>/dev/null || return 0; sleep 0.1; done
    kill -TERM "$master" 2>/dev/null || true
}
trap stop_nginx EXIT
sleep 0.5
ctl() {
    local line
    exec 3<>"/dev/tcp/127.0.0.1/$((port + 3))" || return 1
    echo "$1" >&3
    read -r -t 10 line <&3 || true
    exec 3<&- 3>&-
    echo "$line"
}
# workers: the live ones and the ones shutting down (their title says so)
workers() { pgrep -P "$master" | while read -r p; do tr '\0' ' ' <"/proc/$p/cmdline" 2>/dev/null; echo; done; }
old_workers() { workers | grep -c 'shutting down' || true; }
fail=0
read -r intact _ < <(ctl seed) || true
echo "reload-soak: $MODULE on $NGINX_BIN, ports $port-$((port + 3)); seeded $intact keys"
"$LG" soak "127.0.0.1:$port" "$TOTAL" 16 >"$prefix/short.out" &
short=$!
"$LG" soak "127.0.0.1:$((port + 2))" "$LONG" 32 >"$prefix/long.out" &
long=$!
sleep 1
printf '%-7s %8s %12s %12s %10s\n' reload 'seed ok' connections 'timers fired' 'old workers'
last_conns=0
done_reloads=0
max_old=0
for i in $(seq "$RELOADS"); do
    kill -0 "$short" 2>/dev/null || break
    "$NGINX_BIN" -p "$prefix" -s reload 2>>"$prefix/reload.err"
    done_reloads=$i
    sleep "$INTERVAL"
    read -r intact conns fired < <(ctl check) || true
    if [ -z "${intact:-}" ]; then
        echo "reload-soak: no answer from the control server after reload $i" >&2
        fail=1
        break
    fi
    old=$(old_workers)
    [ "$old" -le "$max_old" ] || max_old=$old
    printf '%-7s %8s %12s %12s %10s\n' "$i" "$intact" "$conns" "$fired" "$old"
    if [ "$intact" != 1000 ]; then
        echo "reload-soak: $intact of the 1,000 seeded keys intact after reload $i" >&2
        fail=1
    fi
    if [ "${conns:-0}" -lt "$last_conns" ]; then
        echo "reload-soak: the connection counter went back from $last_conns to $conns" >&2
        fail=1
    fi
    last_conns=${conns:-0}
done
wait "$short" || true
wait "$long" || true
echo "short: $(cat "$prefix/short.out")"
echo "long:  $(cat "$prefix/long.out")"
for f in short long; do
    want=$TOTAL
    [ "$f" = long ] && want=$LONG
    read -r okc errc wrongc < <(awk '{ print $2, $4, $6 }' "$prefix/$f.out")
    if [ "$okc" != "$want" ]; then
        echo "reload-soak: $f connections: $errc failed and $wrongc answered wrongly" >&2
        fail=1
    fi
done
if [ "$done_reloads" -lt "$RELOADS" ]; then
    echo "reload-soak: the traffic ended after $done_reloads of $RELOADS reloads (raise TOTAL)" >&2
    fail=1
fi
# the load is gone: every old worker ends within 10 s, one worker is left
for _ in $(seq 100); do [ "$(old_workers)" = 0 ] && break; sleep 0.1; done
left_old=$(old_workers)
live=$(workers | grep -c 'worker process' || true)
echo "after the load: $left_old old workers left, $live workers in all (most at once during the run: $max_old old)"
if [ "$left_old" != 0 ] || [ "$live" != 1 ]; then
    echo "reload-soak: old workers did not exit" >&2
    workers >&2
    fail=1
fi
read -r intact _ < <(ctl check) || true
if [ "$intact" != 1000 ]; then
    echo "reload-soak: $intact of the 1,000 seeded keys intact at the end" >&2
    fail=1
fi
if grep -q 'exited on signal' "$prefix/logs/error.log"; then
    echo "reload-soak: a worker died:" >&2
    grep 'exited on signal' "$prefix/logs/error.log" | head -3 >&2
    fail=1
fi
grep -E '\[(alert|crit|emerg)\]' "$prefix/logs/error.log" | head -5 || true
[ "$fail" = 0 ] && echo "reload-soak: every check held" || echo "reload-soak: FAILED" >&2
exit $fail
