#!/usr/bin/env bash
# ngx.re micro-benchmark inside nginx (one worker): loops of ngx.re.match/find/gsub/split with
# the "jo" options, printing ops/s, and the LuaJIT trace aborts seen meanwhile (our FFI calls
# must compile: an abort inside the built-in layer shows up here with its source line).
# Usage: scripts/bench/regex.sh [ITERATIONS]
set -euo pipefail
cd "$(dirname "$0")/../.."
N=${1:-200000}
[ -f target/release/libngx_stream_lua_module.so ] || cargo build -q --release
prefix=$PWD/target/bench-regex
rm -rf "$prefix"; mkdir -p "$prefix/conf" "$prefix/logs"
port=19561
cat >"$prefix/conf/nginx.conf" <<CONF
load_module $PWD/target/release/libngx_stream_lua_module.so;
worker_processes 1;
error_log logs/error.log error;
pid logs/nginx.pid;
events { worker_connections 64; }
stream {
    server {
        listen 127.0.0.1:$port;
        content_by_lua_block {
            local N = $N
            local aborts, seen, traces = {}, {}, 0
            local function on_trace(what, tr, func, pc, otr, oex)
                if what == "stop" then
                    traces = traces + 1
                elseif what == "abort" then
                    local info = jit.util.funcinfo(func, pc)
                    local key = tostring(info.loc) .. " (error " .. tostring(otr) .. ", "
                                .. tostring(oex) .. ")"
                    if not seen[key] then
                        seen[key] = true
                        aborts[#aborts + 1] = key
                    end
                end
            end
            jit.attach(on_trace, "trace")
            local subj = "GET /index.html HTTP/1.1 host=example.com id=12345"
            local split = require("ngx.re").split
            local function bench(name, f)
                for _ = 1, 2000 do f() end
                ngx.update_time()
                local t0 = ngx.now()
                for _ = 1, N do f() end
                ngx.update_time()
                local dt = ngx.now() - t0
                ngx.say(string.format("%-34s %12.0f ops/s", name, N / (dt > 0 and dt or 1e-3)))
            end
            bench("ngx.re.match (2 captures, jo)", function()
                return ngx.re.match(subj, [[id=(\d+)|(x)]], "jo")
            end)
            bench("ngx.re.find (jo)", function()
                return ngx.re.find(subj, [[host=\w+]], "jo")
            end)
            bench("ngx.re.gsub template (jo)", function()
                return ngx.re.gsub(subj, [[(\d)]], "<\$1>", "jo")
            end)
            bench("ngx.re.sub literal (jo)", function()
                return ngx.re.sub(subj, "HTTP", "http", "jo")
            end)
            bench("ngx.re.split (jo)", function()
                return split(subj, " ", "jo")
            end)
            jit.attach(on_trace)
            ngx.say("traces compiled: ", traces, ", trace aborts: ", #aborts)
            for _, a in ipairs(aborts) do ngx.say("  ", a) end
        }
    }
}
CONF
build/nginx/objs/nginx -p "$prefix"
trap 'kill -QUIT $(cat "$prefix/logs/nginx.pid") 2>/dev/null' EXIT
sleep 0.3
exec 3<>/dev/tcp/127.0.0.1/$port
cat <&3
