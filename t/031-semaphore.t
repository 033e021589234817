# ngx.semaphore. Behaviour follows stream-lua v0.0.16 with lua-resty-core's ngx.semaphore
# (see upstream t/154-semaphore.t).
use Test::Nginx::Socket::Lua::Stream;

repeat_each(2);

plan tests => repeat_each() * (blocks() * 2);

run_tests();

__DATA__

=== TEST 1: a timer posts, the waiting session goes on
--- stream_server_config
    content_by_lua_block {
        local semaphore = require "ngx.semaphore"
        local sem = semaphore.new()
        ngx.timer.at(0.01, function() sem:post() end)
        local ok, err = sem:wait(1)
        ngx.say("wait: ", ok, " ", err, ", count: ", sem:count())
    }
--- stream_response
wait: true nil, count: 0
--- no_error_log
[error]



=== TEST 2: available resources are taken without waiting; count goes negative with waiters
--- stream_server_config
    content_by_lua_block {
        local sem = require("ngx.semaphore").new(2)
        ngx.say(sem:wait(0), " ", sem:wait(0), " ", select(2, sem:wait(0)))
        local t = ngx.thread.spawn(function() return sem:wait(0.5) end)
        ngx.say("count with a waiter: ", sem:count())
        sem:post(1)
        ngx.say("thread: ", ngx.thread.wait(t))
    }
--- stream_response
true true timeout
count with a waiter: -1
thread: truetruenil
--- no_error_log
[error]



=== TEST 3: waiting times out
--- stream_server_config
    content_by_lua_block {
        local sem = require("ngx.semaphore").new()
        local start = ngx.now()
        local ok, err = sem:wait(0.05)
        ngx.update_time()
        ngx.say(ok, " ", err, " ", ngx.now() - start >= 0.04)
    }
--- stream_response
nil timeout true
--- no_error_log
[error]



=== TEST 4: waiters are woken in order, one per posted resource
--- stream_server_config
    content_by_lua_block {
        local sem = require("ngx.semaphore").new()
        local order = {}
        local ts = {}
        for i = 1, 3 do
            ts[i] = ngx.thread.spawn(function()
                sem:wait(1)
                order[#order + 1] = i
            end)
        end
        sem:post(2)
        ngx.sleep(0.01)
        ngx.say("after 2 posts: ", table.concat(order, ","))
        sem:post()
        for i = 1, 3 do ngx.thread.wait(ts[i]) end
        ngx.say("after 3: ", table.concat(order, ","))
    }
--- stream_response
after 2 posts: 1,2
after 3: 1,2,3
--- no_error_log
[error]



=== TEST 5: bad arguments
--- stream_server_config
    content_by_lua_block {
        local semaphore = require "ngx.semaphore"
        local sem = semaphore.new()
        ngx.say(pcall(semaphore.new, -1))
        ngx.say(pcall(sem.wait, sem, -1))
        ngx.say(pcall(sem.post, sem, 0))
        ngx.say(pcall(sem.count, {}))
    }
--- stream_response_like
^false.*no negative number
false.*no negative number
false.*positive number required
false.*not a semaphore instance
--- no_error_log
[alert]



=== TEST 6: waiting in the log phase is refused
--- stream_server_config
    content_by_lua_block { ngx.say("ok") }
    log_by_lua_block {
        local sem = require("ngx.semaphore").new()
        ngx.log(ngx.WARN, "log phase wait: ", sem:wait(1))
    }
--- stream_response
ok
--- error_log
log phase wait: nilAPI disabled in the context of log_by_lua*



=== TEST 7: a session that ends while waiting leaves the semaphore usable
--- stream_server_config
    content_by_lua_block {
        local sem = require("ngx.semaphore").new()
        local t = ngx.thread.spawn(function() sem:wait(10) end)
        ngx.thread.kill(t)
        ngx.say("count after kill: ", sem:count())
        sem:post()
        ngx.say("wait: ", sem:wait(0))
    }
--- stream_response
count after kill: 0
wait: true
--- no_error_log
[error]



=== TEST 8: an ngx/semaphore.lua on lua_package_path is loaded instead of the built-in one
--- stream_config
    lua_package_path '$prefix/html/?.lua;;';
--- user_files
>>> ngx/semaphore.lua
return { from_path = true }
--- stream_server_config
    content_by_lua_block {
        ngx.say("from path: ", require("ngx.semaphore").from_path)
    }
--- stream_response
from path: true
--- no_error_log
[error]



=== TEST 9: a module that exists nowhere: the message lists the path's files only, as
upstream's (the built-in modules stand for files of the default path)
--- stream_server_config
    content_by_lua_block {
        local ok, err = pcall(require, "ngx.no_such_module")
        ngx.say(ok)
        ngx.say(err:find("module 'ngx.no_such_module' not found:", 1, true) ~= nil)
        ngx.say(err:find("built-in", 1, true) == nil)
    }
--- stream_response
false
true
true
--- no_error_log
[error]
