# init_by_lua_block / init_by_lua_file. Behaviour follows stream-lua v0.0.16 (see upstream
# t/086-init-by.t, t/089-phase.t, src/ngx_stream_lua_initby.c): the code runs once when the
# configuration is loaded, in the global environment, so what it defines is seen by every
# later handler; an error makes nginx fail to start with "init_by_lua error: ...".

use Test::Nginx::Socket::Lua::Stream;

repeat_each(1);

plan tests => repeat_each() * (blocks() * 2);

no_long_string();

run_tests();

__DATA__

=== TEST 1: a global set in init_by_lua_block is seen by content handlers
--- stream_config
    init_by_lua_block {
        greeting = "hello from init"
    }
--- stream_server_config
    content_by_lua_block {
        ngx.say(greeting)
    }
--- stream_response
hello from init
--- no_error_log
[error]



=== TEST 2: init_by_lua_file
--- stream_config
    init_by_lua_file html/boot.lua;
--- stream_server_config
    content_by_lua_block {
        ngx.say(boot.name, " v", boot.version)
    }
--- user_files
>>> boot.lua
boot = { name = "booted", version = 3 }
--- stream_response
booted v3
--- no_error_log
[error]



=== TEST 3: ngx.get_phase() is "init"
--- stream_config
    init_by_lua_block {
        seen_phase = ngx.get_phase()
    }
--- stream_server_config
    content_by_lua_block {
        ngx.say(seen_phase)
    }
--- stream_response
init
--- no_error_log
[error]



=== TEST 4: functions defined in init are callable from every phase
--- stream_config
    init_by_lua_block {
        function shout(s)
            return string.upper(s) .. "!"
        end
    }
--- stream_server_config
    preread_by_lua_block {
        ngx.ctx.p = shout("preread")
    }
    content_by_lua_block {
        ngx.say(ngx.ctx.p, " ", shout("content"))
    }
    log_by_lua_block {
        ngx.log(ngx.WARN, shout("log"))
    }
--- stream_response
PREREAD! CONTENT!
--- error_log
LOG!



=== TEST 5: modules required in init are cached in package.loaded
--- stream_config
    lua_package_path "$prefix/html/?.lua;;";
    init_by_lua_block {
        local m = require "counter"
        m.bump()
        m.bump()
    }
--- stream_server_config
    content_by_lua_block {
        local m = require "counter"
        ngx.say("count: ", m.count, ", same table: ", package.loaded.counter == m)
    }
--- user_files
>>> counter.lua
local M = { count = 0 }
function M.bump()
    M.count = M.count + 1
end
return M
--- stream_response
count: 2, same table: true
--- no_error_log
[error]



=== TEST 6: print and ngx.log from init_by_lua go to the error log
--- stream_config
    init_by_lua_block {
        print("init print line")
        ngx.log(ngx.WARN, "init warn line")
    }
--- stream_server_config
    content_by_lua_block {
        ngx.say("ok")
    }
--- stream_response
ok
--- error_log eval
[
qr/\[notice\] .*init print line/,
qr/\[warn\] .*init warn line/,
]



=== TEST 7: init_by_lua runs before init_worker_by_lua
--- stream_config
    init_by_lua_block {
        trace = { "init" }
    }
    init_worker_by_lua_block {
        trace[#trace + 1] = "init_worker"
    }
--- stream_server_config
    content_by_lua_block {
        ngx.say(table.concat(trace, " -> "))
    }
--- stream_response
init -> init_worker
--- no_error_log
[error]



=== TEST 8: an error in init_by_lua_block stops nginx
--- stream_config
    init_by_lua_block {
        local cfg = nil
        error("bad bootstrap")
    }
--- stream_server_config
    content_by_lua_block {
        ngx.say("unreachable")
    }
--- must_die
--- error_log eval
qr/init_by_lua error: init_by_lua:3: bad bootstrap/



=== TEST 9: a runtime error in init_by_lua_block stops nginx
--- stream_config
    init_by_lua_block {
        local t
        t.x = 1
    }
--- stream_server_config
    content_by_lua_block {
        ngx.say("unreachable")
    }
--- must_die
--- error_log eval
qr/init_by_lua error: \S+:3: attempt to index local 't' \(a nil value\)/



=== TEST 10: an error in init_by_lua_file stops nginx
--- stream_config
    init_by_lua_file html/broken-init.lua;
--- stream_server_config
    content_by_lua_block {
        ngx.say("unreachable")
    }
--- user_files
>>> broken-init.lua
local ok = true
error("file bootstrap failed")
--- must_die
--- error_log eval
qr/init_by_lua_file error: \S*broken-init\.lua:2: file bootstrap failed/



=== TEST 11: a missing init_by_lua_file stops nginx
--- stream_config
    init_by_lua_file html/absent-init.lua;
--- stream_server_config
    content_by_lua_block {
        ngx.say("unreachable")
    }
--- must_die
--- error_log eval
qr/init_by_lua_file error: cannot open \S*absent-init\.lua/



=== TEST 12: an error object that is not a string
--- stream_config
    init_by_lua_block {
        error({ code = 1 })
    }
--- stream_server_config
    content_by_lua_block {
        ngx.say("unreachable")
    }
--- must_die
--- error_log
init_by_lua error: unknown error



=== TEST 13: errors caught by pcall in init do not stop nginx
--- stream_config
    init_by_lua_block {
        local ok, err = pcall(error, "handled")
        init_result = tostring(ok) .. " " .. err
    }
--- stream_server_config
    content_by_lua_block {
        ngx.say(init_result)
    }
--- stream_response
false handled
--- no_error_log
[error]



=== TEST 14: request APIs are unavailable in init_by_lua
--- stream_config
    init_by_lua_block {
        init_results = {}
        for _, f in ipairs({ "sleep", "say" }) do
            local ok, err = pcall(ngx[f], 0)
            table.insert(init_results, f .. ": " .. tostring(ok) .. " " .. tostring(err))
        end
    }
--- stream_server_config
    content_by_lua_block {
        for _, r in ipairs(init_results) do
            ngx.say(r)
        end
    }
--- stream_response
sleep: false no request found
say: false no request object found
--- no_error_log
[error]



=== TEST 15: timers cannot be created in init_by_lua
--- stream_config
    init_by_lua_block {
        local ok, err = pcall(ngx.timer.at, 0, function() end)
        timer_result = tostring(ok) .. " " .. tostring(err)
    }
--- stream_server_config
    content_by_lua_block {
        ngx.say(timer_result)
    }
--- stream_response
false no request
--- no_error_log
[error]



=== TEST 16: the ngx table itself may be extended in init
--- stream_config
    init_by_lua_block {
        ngx.app_name = "demo"
    }
--- stream_server_config
    content_by_lua_block {
        ngx.say("ngx.app_name = ", ngx.app_name)
    }
--- stream_response
ngx.app_name = demo
--- no_error_log
[error]



=== TEST 17: a user coroutine in init_by_lua
--- stream_config
    init_by_lua_block {
        local co = coroutine.create(function(a)
            local b = coroutine.yield(a * 2)
            return a + b
        end)
        local _, first = coroutine.resume(co, 5)
        local _, second = coroutine.resume(co, 10)
        co_results = first .. " " .. second .. " " .. coroutine.status(co)
    }
--- stream_server_config
    content_by_lua_block {
        ngx.say(co_results)
    }
--- stream_response
10 15 dead
--- no_error_log
[error]
