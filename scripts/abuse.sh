#!/usr/bin/env bash
# Abusive clients, measured (issue 15, item 4): one nginx worker, and against it in turn
# slowloris (one byte a second against receive("*l") with timeouts), resets mid-request and
# mid-response, half-closes, lines 40 times lua_socket_buffer_size, 10,000 idle connections,
# a UDP flood, and a cosocket pool in front of a backend that never answers and one that
# resets, each with well-behaved clients alongside whose every answer is checked.
# The load generator's `abuse` mode (scripts/bench/loadgen/src/abuse.rs) runs every workload
# as a warm-up (two rounds, ABUSE_WARMUPS), then again measured, and prints a table: abusive clients that saw what
# they should, well-behaved answers right, worker fds and RSS before and after (each reading
# after a full Lua GC and glibc's malloc_trim(0), so that it is memory in use and not what the
# allocator keeps cached; the column `raw1` is the RSS after, before those two).
# Usage: scripts/abuse.sh [full|quick] [WORKLOAD...]   (full ~100 s; quick ~30 s: 2,000 idle,
# 0.2 s per slowloris byte, fewer clients). Workloads: slowloris reset-request reset-response
# half-close long-lines idle udp-flood dead-backends (default: all).
# MODULE=<.so> NGINX_BIN=<nginx> LUA_PATH_FIRST=<lua path> run another engine (as soak.sh);
# C=1 runs the C module from the workshop (/work/workshop/v16).
# It fails when a check fails: a wrong or missing answer, fds not back at their start count,
# RSS more than 5% above its start (the highest quiet reading before: see abuse.rs), or the
# worker gone or restarted.
set -euo pipefail
cd "$(dirname "$0")/.."
SCALE=${1:-full}
shift || true
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
# the slowloris server times out five times per client byte (1 s a byte, 0.2 s in quick)
if [ "$SCALE" = quick ]; then timeout_ms=40; else timeout_ms=200; fi
ulimit -n "$(ulimit -Hn)" 2>/dev/null || true
[ "$(ulimit -n)" -ge 12000 ] || echo "abuse.sh: only $(ulimit -n) fds allowed; 10,000 idle connections need 12,000" >&2
# below the ephemeral range (32768+), and none of the seven ports in use
while :; do
    base=$((20000 + RANDOM % 12000))
    ss -Htuan | awk '{ print $5 }' | grep -E ":($base|$((base + 1))|$((base + 2))|$((base + 3))|$((base + 4))|$((base + 5))|$((base + 6)))\$" >/dev/null || break
done
prefix=$PWD/target/abuse
rm -rf "$prefix"; mkdir -p "$prefix/conf" "$prefix/logs"
cat >"$prefix/conf/nginx.conf" <<CONF
load_module $MODULE;
worker_processes 1;
worker_rlimit_nofile 16384;
error_log logs/error.log warn;
pid logs/nginx.pid;
events { worker_connections 14000; }
stream {
    lua_package_path '${LUA_PATH_FIRST:-};;';
    lua_socket_buffer_size 1k;
    lua_socket_log_errors off;
    # line server: slowloris, resets mid-request, half-close (REST), long lines, GC
    server {
        listen 127.0.0.1:$base backlog=4096;
        content_by_lua_block {
            local sock = assert(ngx.req.socket())
            sock:settimeout($timeout_ms)
            local parts, timeouts = {}, 0
            while true do
                local line, err, partial = sock:receive("*l")
                if line then
                    if #parts > 0 then
                        parts[#parts + 1] = line
                        line = table.concat(parts)
                        parts = {}
                    end
                    if line == "GC" then
                        -- a full Lua GC, then malloc_trim: the reading is memory in use,
                        -- not what the allocators keep cached (a leak stays in it)
                        collectgarbage()
                        collectgarbage()
                        local ffi = require "ffi"
                        if not package.loaded.abuse_trim then
                            pcall(ffi.cdef, "int malloc_trim(size_t pad);")
                            package.loaded.abuse_trim = true
                        end
                        ffi.C.malloc_trim(0)
                        ngx.say("gc ", math.floor(collectgarbage("count")))
                    elseif line == "REST" then
                        sock:settimeout(5000)
                        local rest, err2 = sock:receive("*a")
                        ngx.say("rest ", rest and #rest or err2)
                        return
                    else
                        ngx.say("ok ", #line, " ", line:sub(1, 16))
                    end
                elseif err == "timeout" then
                    timeouts = timeouts + 1
                    if partial and partial ~= "" then parts[#parts + 1] = partial end
                    if timeouts >= 50 then
                        ngx.say("too slow")
                        return
                    end
                else
                    return
                end
            end
        }
    }
    # big answers (resets mid-response): the request line is a byte count
    server {
        listen 127.0.0.1:$((base + 1)) backlog=4096;
        content_by_lua_block {
            local sock = assert(ngx.req.socket())
            local n = tonumber((sock:receive("*l"))) or 0
            local chunk = string.rep("x", 65536)
            local sent = 0
            while sent < n do
                local ok = sock:send(chunk)
                if not ok then return end
                sent = sent + #chunk
            end
        }
    }
    # a cosocket pool in front of a live backend and two dead ones (the load generator's)
    server {
        listen 127.0.0.1:$((base + 2)) backlog=4096;
        content_by_lua_block {
            local sock = assert(ngx.req.socket())
            local kind = sock:receive("*l")
            local port = ({ live = $((base + 4)), mute = $((base + 5)), rude = $((base + 6)) })[kind]
            if not port then
                ngx.say("bad kind")
                return
            end
            local c = ngx.socket.tcp()
            c:settimeout(300)
            local ok, err = c:connect("127.0.0.1", port, { pool = "be-" .. kind, pool_size = 5, backlog = 100 })
            if ok then ok, err = c:send("q\n") end
            local line
            if ok then line, err = c:receive("*l") end
            if line then
                c:setkeepalive(1000, 5)
                ngx.say("backend ", kind, ": ", line)
            else
                c:close()
                ngx.say("backend ", kind, ": err")
            end
        }
    }
    server {
        listen 127.0.0.1:$((base + 3)) udp;
        content_by_lua_block {
            local sock = assert(ngx.req.socket())
            local data = sock:receive()
            if data then sock:send("u " .. data) end
        }
    }
    # idle connections and the pool's live backend: lines, a 60 s read timeout
    server {
        listen 127.0.0.1:$((base + 4)) backlog=4096;
        lua_socket_read_timeout 60s;
        content_by_lua_block {
            local sock = assert(ngx.req.socket())
            while true do
                local line = sock:receive("*l")
                if not line then return end
                ngx.say("ok ", #line, " ", line:sub(1, 16))
            end
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
echo "abuse.sh: $MODULE on $NGINX_BIN, worker $worker, ports $base-$((base + 6)), $SCALE"
fail=0
"$LG" abuse "$base" "$worker" "$SCALE" "$@" || fail=1
if grep -q 'exited on signal' "$prefix/logs/error.log"; then
    echo "abuse.sh: a worker died" >&2
    fail=1
fi
grep -E '\[(alert|crit|emerg)\]' "$prefix/logs/error.log" | head -5 || true
[ "$fail" = 0 ] && echo "abuse.sh: every check held" || echo "abuse.sh: FAILED" >&2
exit $fail
