#!/usr/bin/env python3
"""Writes t/081-api-arg-driver.t: a Lua driver that calls every ngx.* function, every
ngx.* module function (ngx.re, ngx.semaphore, ngx.balancer, ngx.ssl, ...), and every method
of the TCP, UDP and request sockets, shared dicts and semaphores, with each argument position
given each of a list of hostile values, inside pcall, in several phases. The blocks assert
only that the worker survives: the driver's last line reaches the client (or the log), and the
runner fails any block whose error.log shows a worker exiting on a signal; no [alert] either.
Which errors the calls raise is other tests' business.

The driver finds the functions by walking the tables at run time (so a function added later
is driven too) and prints how many calls it made, so the block notices if the walk finds
nothing.  Run: scripts/gen-api-driver.py (rewrites the .t; commit both).

To chase a crash, copy a block and set globals at the start of its init_by_lua_block:
TRACE_FILE = "/tmp/x/trace" (each call's name, argument count and last argument, written and
flushed before the call; the directory must be writable by the worker's user),
DRIVER_ONLY = "<Lua pattern>" and DRIVER_SKIP = "<pattern>" or { patterns } (which names are
driven; names are like ngx.re.match, ngx.base64.encode_base64url, dict:set, tcp:connect,
connected:receive, req:receive, udp:send). Add `worker_rlimit_core 2000m;` and
`working_directory /tmp/x;` in a --- main_config for a core file; valgrind mode needs
master_off() (a worker running as nobody cannot write its XML report).
"""
import os

HERE = os.path.dirname(os.path.abspath(__file__))
OUT = os.path.join(HERE, "..", "t", "081-api-arg-driver.t")

# The driver, shared by every block. DRIVER(phase, yieldable) returns the number of calls.
DRIVER = r"""
local MB = string.rep("x", 1024 * 1024)
local VALUES = {
    { "nil", nil }, { "true", true }, { "0", 0 }, { "-1", -1 }, { "NaN", 0 / 0 },
    { "2^53", 2 ^ 53 }, { "1e308", 1e308 }, { "empty", "" }, { "NULs", "a\0b\0" },
    { "1MB", MB }, { "table", {} }, { "function", function() end },
    { "coroutine", coroutine.create(function() end) }, { "userdata", newproxy(true) },
}
-- arguments before the hostile one: plausible values, so later positions are reached
local PLAUSIBLE = {
    ["ngx.log"] = { ngx.WARN, "driver" }, ["ngx.timer.at"] = { 0, function() end },
    ["ngx.timer.every"] = { 1, function() end }, ["ngx.sleep"] = { 0 },
    ["ngx.re.match"] = { "abc", "b", "jo" }, ["ngx.re.find"] = { "abc", "b", "jo" },
    ["ngx.re.gmatch"] = { "abc", "b", "jo" }, ["ngx.re.sub"] = { "abc", "b", "x" },
    ["ngx.re.gsub"] = { "abc", "b", "x" }, ["ngx.re.split"] = { "a,b", ",", "jo" },
    ["ngx.socket.connect"] = { "127.0.0.1", 1 }, ["tcp:connect"] = { "127.0.0.1", 1 },
    ["udp:setpeername"] = { "127.0.0.1", 9 }, ["dict:set"] = { "k", "v", 0 },
    ["dict:incr"] = { "n", 1, 0 }, ["ngx.errlog.raw_log"] = { ngx.WARN, "driver" },
}
local DEFAULT = { "a", 1, "b" }
-- calls that would end the session or the worker: never made, or not with these values
local function skip(name, n, val)
    if name == "ngx.process.signal_graceful_exit" or name == "ngx.exit" and (type(val) == "number" or type(val) == "boolean") then
        return true
    end
    if n == 0 and (name == "ngx.eof" or name == "ngx.exit") then
        return true
    end
    -- compiling a receiveuntil pattern costs about n^3 here as in the C module (16 KB: 20 s
    -- here, 8 s there; see t-bugs/README.md), so 1 MB would never end
    if name:find(":receiveuntil$") and val == MB then
        return true
    end
    -- the request socket's shutdown ends the output before it checks its argument (as the C
    -- module does), so no "driver done" would follow
    if name == "req:shutdown" then
        return true
    end
    -- a raw request socket takes the output over from ngx.say
    return name == "ngx.req.socket" and val == true
end

local calls = 0
local TRACE
local function call(yieldable, f, ...)
    calls = calls + 1
    -- TRACE_FILE (a global path, set in a copy of a block) records each call before it is made
    TRACE = TRACE or TRACE_FILE and io.open(TRACE_FILE, "a")
    if TRACE then
        local n = select("#", ...)
        TRACE:write(CALLING, " ", n, " ", n > 0 and tostring((select(n, ...))):sub(1, 20) or "", "\n")
        TRACE:flush()
    end
    if not yieldable then
        return pcall(f, ...)
    end
    -- in a light thread, killed at once if it waits (sleep, receive, semaphores, ...)
    local ok, th = pcall(ngx.thread.spawn, function(...) pcall(f, ...) end, ...)
    if ok then
        pcall(ngx.thread.kill, th)
    end
end

-- drives f (called as `name`) with each value at each position 1..npos after `self`
-- (when given); with a self, also with each value in self's place
local function drive(yieldable, name, f, self, npos)
    -- DRIVER_ONLY / DRIVER_SKIP (global Lua patterns, set in a copy of a block) narrow a search
    if DRIVER_ONLY and not name:find(DRIVER_ONLY) then
        return
    end
    for _, p in ipairs(type(DRIVER_SKIP) == "table" and DRIVER_SKIP or { DRIVER_SKIP }) do
        if name:find(p) then return end
    end
    CALLING = name
    local plaus = PLAUSIBLE[name] or DEFAULT
    local args = {}
    local base = 0
    if self ~= nil then
        args[1] = self
        base = 1
    end
    if not skip(name, 0, nil) then
        call(yieldable, f, unpack(args, 1, base))
    end
    for pos = 1, npos do
        for _, v in ipairs(VALUES) do
            local val = v[2]
            if not skip(name, pos, val) then
                for i = 1, pos - 1 do
                    args[base + i] = plaus[i]
                end
                args[base + pos] = val
                call(yieldable, f, unpack(args, 1, base + pos))
            end
        end
    end
    if self ~= nil then
        for _, v in ipairs(VALUES) do
            call(yieldable, f, v[2], plaus[1], plaus[2])
        end
    end
end

-- every function in table t (and in tables under it, to depth 2), called as prefix.key
local function drive_table(yieldable, prefix, t, seen, depth)
    if seen[t] then return end
    seen[t] = true
    local keys = {}
    for k in pairs(t) do
        if type(k) == "string" then keys[#keys + 1] = k end
    end
    table.sort(keys)
    for _, k in ipairs(keys) do
        local name = prefix .. "." .. k
        local ok, v = pcall(function() return t[k] end)
        if ok and type(v) == "function" then
            drive(yieldable, name, v, nil, 3)
        elseif ok and type(v) == "table" and depth < 2 and k ~= "shared" and k ~= "ctx"
            and k ~= "var" and k ~= "arg" and k ~= "header" then
            drive_table(yieldable, name, v, seen, depth + 1)
        end
    end
end

-- every method of object obj (its metatable's __index table and its own functions)
local function drive_methods(yieldable, prefix, obj)
    if obj == nil then return end
    local methods = {}
    local mt = getmetatable(obj)
    if type(mt) == "table" and type(mt.__index) == "table" then
        for k, v in pairs(mt.__index) do
            if type(v) == "function" then methods[k] = v end
        end
    end
    if type(obj) == "table" then
        for k, v in pairs(obj) do
            if type(v) == "function" then methods[k] = v end
        end
    end
    local names = {}
    for k in pairs(methods) do names[#names + 1] = k end
    table.sort(names)
    for _, k in ipairs(names) do
        drive(yieldable, prefix .. ":" .. k, methods[k], obj, 3)
    end
    return #names
end

local MODULES = { "ngx.re", "ngx.semaphore", "ngx.balancer", "ngx.ssl", "ngx.ssl.clienthello",
    "ngx.errlog", "ngx.process", "ngx.base64" }

function DRIVER(phase, yieldable, reqsock)
    calls = 0
    local seen = { [string] = true, [table] = true, [coroutine] = true }
    drive_table(yieldable, "ngx", ngx, seen, 0)
    for _, m in ipairs(MODULES) do
        local ok, mod = pcall(require, m)
        if ok and type(mod) == "table" then
            drive_table(yieldable, m, mod, seen, 1)
        end
    end
    -- objects: a shared dict, a semaphore, fresh TCP and UDP sockets, the request socket
    drive_methods(yieldable, "dict", ngx.shared.dogs)
    local ok, sema = pcall(function() return require("ngx.semaphore").new(0) end)
    if ok then drive_methods(yieldable, "sema", sema) end
    local ok, tcp = pcall(ngx.socket.tcp)
    if ok then drive_methods(yieldable, "tcp", tcp) end
    -- a TCP socket connected to the echo server, reconnected for each method
    ok = pcall(function()
        local s = ngx.socket.tcp()
        local mt = getmetatable(s)
        for k, f in pairs(type(mt.__index) == "table" and mt.__index or {}) do
            local name = "connected:" .. k
            if type(f) == "function" and not (DRIVER_ONLY and not name:find(DRIVER_ONLY)) then
                CALLING = name
                for _, v in ipairs(VALUES) do
                    if skip(name, 1, v[2]) then goto next end
                    local c = ngx.socket.tcp()
                    c:settimeout(100)
                    if c:connect("unix:" .. ECHO) then
                        call(yieldable, f, c, v[2])
                        c:close()
                    end
                    ::next::
                end
            end
        end
    end)
    local ok, udp = pcall(ngx.socket.udp)
    if ok then drive_methods(yieldable, "udp", udp) end
    if reqsock then drive_methods(yieldable, "req", reqsock) end
    -- ngx.var and ngx.ctx: read and write with each value as name and value
    for _, v in ipairs(VALUES) do
        pcall(function() return ngx.var[v[2]] end)
        pcall(function() ngx.var[v[2]] = v[2] end)
        pcall(function() ngx.var.driver = v[2] end)
        pcall(function() ngx.ctx = v[2] end)
        pcall(function() ngx.ctx[v[2]] = v[2] end)
        calls = calls + 5
    end
    -- undo what set_filter_level may have done to the log
    pcall(function() require("ngx.errlog").set_filter_level(ngx.DEBUG) end)
    ngx.log(ngx.WARN, "api driver ", phase, ": ", calls, " calls")
    return calls
end
"""

HEADER = """\
# GENERATED by scripts/gen-api-driver.py: edit that script, not this file.
#
# The Lua API argument driver (issue 15): every ngx.* function, ngx.* module function and
# shared dict / semaphore / TCP / UDP / request socket method, each argument position given
# nil, true, 0, -1, NaN, 2^53, 1e308, "", a string with NULs, a 1 MB string, a table, a
# function, a coroutine and a userdata, inside pcall (and in a light thread, killed at once,
# where the phase can yield). The blocks assert only that the worker survives and the driver
# finishes: its count reaches the client or the log, no worker exits on a signal (the runner
# checks that in every block), and nothing is logged at [alert] or above.

use Test::Nginx::Socket::Lua::Stream;

repeat_each(1);
master_on();
workers(1);

plan tests => repeat_each() * (blocks() * 3);

run_tests();

__DATA__
"""


def lua_block(directive, body, indent="    "):
    lines = [f"{directive} {{"]
    lines += [indent + l if l else "" for l in body.strip("\n").split("\n")]
    lines.append("}")
    return "\n".join(indent + l if l else "" for l in lines)


STREAM_CONFIG = """\
--- stream_config
    lua_shared_dict dogs 1m;
    lua_capture_error_log 64k;
    server {
        listen unix:$TEST_NGINX_HTML_DIR/echo.sock;
        content_by_lua_block {
            local s = ngx.req.socket(true)
            while true do
                local d = s:receiveany(65536)
                if not d or not s:send(d) then return end
            end
        }
    }
"""

INIT = lua_block("init_by_lua_block", "ECHO = \"$TEST_NGINX_HTML_DIR/echo.sock\"\n" + DRIVER)

BLOCKS = []

BLOCKS.append(f"""\
=== TEST 1: content phase: every function and method, in light threads
{STREAM_CONFIG}{INIT}
--- stream_server_config
    lua_socket_read_timeout 100ms;
    lua_socket_connect_timeout 100ms;
    lua_socket_send_timeout 100ms;
    content_by_lua_block {{
        local reqsock = ngx.req.socket()
        reqsock:settimeout(100)
        local n = DRIVER("content", true, reqsock)
        ngx.say("\\ndriver done: ", n > 5000)
    }}
--- stream_response_like chop
\\ndriver done: true
$
--- error_log
api driver content:
--- no_error_log
[alert]
[emerg]
--- timeout: 30
""")

BLOCKS.append(f"""\
=== TEST 2: init_worker phase, and a timer started there
{STREAM_CONFIG}{INIT}
    init_worker_by_lua_block {{
        DRIVER("init_worker", false)
        ngx.timer.at(0, function(premature)
            DRIVER("timer", true)
            ngx.shared.dogs:set("timer done", true)
        end)
    }}
--- stream_server_config
    content_by_lua_block {{
        for _ = 1, 300 do
            if ngx.shared.dogs:get("timer done") then break end
            ngx.sleep(0.05)
        end
        ngx.say("timer done: ", ngx.shared.dogs:get("timer done"))
    }}
--- stream_response
timer done: true
--- error_log
api driver init_worker:
api driver timer:
--- no_error_log
[alert]
[emerg]
--- timeout: 30
""")

BLOCKS.append(f"""\
=== TEST 3: log phase, after the response
{STREAM_CONFIG}{INIT}
--- stream_server_config
    content_by_lua_block {{
        ngx.say("content done")
    }}
    log_by_lua_block {{
        DRIVER("log", false)
    }}
--- stream_response
content done
--- wait: 1
--- error_log
api driver log:
--- no_error_log
[alert]
[emerg]
--- timeout: 30
""")

BLOCKS.append(f"""\
=== TEST 5: preread phase, in light threads, then content answers
{STREAM_CONFIG}{INIT}
--- stream_server_config
    lua_socket_read_timeout 100ms;
    lua_socket_connect_timeout 100ms;
    lua_socket_send_timeout 100ms;
    preread_by_lua_block {{
        local reqsock = ngx.req.socket()
        if reqsock then reqsock:settimeout(100) end
        -- (the driver assigns ngx.ctx, so the count goes through a shared dict)
        ngx.shared.dogs:set("preread calls", DRIVER("preread", true, reqsock))
    }}
    content_by_lua_block {{
        ngx.say("preread driver done: ", (ngx.shared.dogs:get("preread calls") or 0) > 5000)
    }}
--- stream_response_like chop
preread driver done: true
$
--- error_log
api driver preread:
--- no_error_log
[alert]
[emerg]
--- timeout: 30
""")

BLOCKS.append(f"""\
=== TEST 6: content phase with the raw request socket: its methods (send too), then the last line through it
--- stream_config
    lua_shared_dict dogs 1m;
    server {{
        listen unix:$TEST_NGINX_HTML_DIR/echo.sock;
        content_by_lua_block {{ ngx.say("echo") }}
    }}
{INIT}
--- stream_server_config
    lua_socket_read_timeout 100ms;
    lua_socket_connect_timeout 100ms;
    lua_socket_send_timeout 1s;
    content_by_lua_block {{
        local raw = assert(ngx.req.socket(true))
        raw:settimeout(1000)
        local n = DRIVER("content-raw", true, raw)
        local ok, err = raw:send("\\nraw driver done: " .. tostring(n > 5000) .. "\\n")
        if not ok then ngx.log(ngx.ERR, "last send failed: ", err) end
    }}
--- stream_response_like chop
\\nraw driver done: true
$
--- error_log
api driver content-raw:
--- no_error_log
[alert]
last send failed
--- timeout: 30
""")

BLOCKS.append(f"""\
=== TEST 4: balancer phase, before picking the peer
{STREAM_CONFIG}{INIT}
    upstream backend {{
        server 0.0.0.1:1234;
        balancer_by_lua_block {{
            DRIVER("balancer", false)
            local b = require "ngx.balancer"
            assert(b.set_current_peer("127.0.0.1", $TEST_NGINX_RAND_PORT_1))
        }}
    }}
    server {{
        listen 127.0.0.1:$TEST_NGINX_RAND_PORT_1;
        content_by_lua_block {{ ngx.say("backend reached") }}
    }}
--- stream_server_config
    proxy_pass backend;
--- stream_response
backend reached
--- error_log
api driver balancer:
--- no_error_log
[alert]
[emerg]
--- timeout: 30
""")


def main():
    text = HEADER + "\n" + "\n\n\n".join(b.rstrip("\n") + "\n" for b in BLOCKS)
    with open(OUT, "w") as f:
        f.write(text)
    print(f"gen-api-driver.py: wrote {os.path.relpath(OUT)} ({len(BLOCKS)} blocks)")


if __name__ == "__main__":
    main()
