# Behaviour follows stream-lua v0.0.16 (see upstream t/122-worker.t, t/133-worker-count.t,
# t/135-worker-id.t, lua-resty-core worker.lua). The generated configuration runs a master
# process with one worker.

use Test::Nginx::Socket::Lua::Stream;

repeat_each(1);

plan tests => repeat_each() * (blocks() * 2);

run_tests();

__DATA__

=== TEST 1: ngx.worker.pid() is an integer equal to $pid
--- stream_server_config
    content_by_lua_block {
        local pid = ngx.worker.pid()
        ngx.say(type(pid), " ", pid == math.floor(pid), " ", pid > 1)
        ngx.say("matches $pid: ", tostring(pid) == ngx.var.pid)
    }
--- stream_response
number true true
matches $pid: true
--- no_error_log
[error]



=== TEST 2: ngx.worker.pid() is the pid of the process running the handler
--- stream_server_config
    content_by_lua_block {
        local f = assert(io.open("/proc/self/stat"))
        local stat = f:read("*l")
        f:close()
        local own, parent = stat:match("^(%d+) %b() %S+ (%d+)")
        ngx.say("own: ", tonumber(own) == ngx.worker.pid())
        ngx.say("not the master: ", tonumber(parent) ~= ngx.worker.pid())
    }
--- stream_response
own: true
not the master: true
--- no_error_log
[error]



=== TEST 3: ngx.worker.id() of the only worker
--- stream_server_config
    content_by_lua_block {
        local id = ngx.worker.id()
        ngx.say("worker id: ", id, " (", type(id), ")")
    }
--- stream_response
worker id: 0 (number)
--- no_error_log
[error]



=== TEST 4: ngx.worker.count() is the worker_processes number (1 here), as an integer
--- stream_server_config
    content_by_lua_block {
        local n = ngx.worker.count()
        ngx.say(type(n), " ", n, " ", n == math.floor(n))
    }
--- stream_response
number 1 true
--- no_error_log
[error]



=== TEST 5: ngx.worker.exiting() is false while serving
--- stream_server_config
    content_by_lua_block {
        local e = ngx.worker.exiting()
        ngx.say("exiting: ", e, " (", type(e), ")")
    }
--- stream_response
exiting: false (boolean)
--- no_error_log
[error]



=== TEST 6: ngx.worker.pids() lists this worker
--- stream_server_config
    content_by_lua_block {
        local pids = ngx.worker.pids()
        ngx.say("type: ", type(pids))
        -- the workers of this generation, and those of an older one still shutting down
        -- after a reload (HUP mode), as upstream's process table lists them
        ngx.say("count: ", #pids >= ngx.worker.count() and #pids <= 4 * ngx.worker.count())
        local me = ngx.worker.pid()
        local found, seen, dups = false, {}, 0
        for _, p in ipairs(pids) do
            if p == me then
                found = true
            end
            if seen[p] then
                dups = dups + 1
            end
            seen[p] = true
        end
        ngx.say("contains self: ", found, ", duplicates: ", dups)
    }
--- stream_response
type: table
count: true
contains self: true, duplicates: 0
--- no_error_log
[error]



=== TEST 7: worker functions ignore extra arguments
--- stream_server_config
    content_by_lua_block {
        ngx.say(ngx.worker.id("x") == ngx.worker.id(), " ",
                ngx.worker.count(1, 2) == 1, " ",
                ngx.worker.pid({}) == ngx.worker.pid(), " ",
                ngx.worker.exiting(true) == false)
    }
--- stream_response
true true true true
--- no_error_log
[error]
