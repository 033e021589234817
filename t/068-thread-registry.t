# Threads named by key in waits and events: a thread that goes away while it waits (killed,
# its session ended) is no longer found by the semaphore or timer that would wake it.
use Test::Nginx::Socket::Lua::Stream;

repeat_each(2);

plan tests => repeat_each() * (blocks() * 3);

run_tests();

__DATA__

=== TEST 1: a thread killed while waiting on a semaphore leaves its queue; a post goes to the next waiter
--- stream_server_config
    content_by_lua_block {
        local sem = require("ngx.semaphore").new()
        local a = ngx.thread.spawn(function() sem:wait(1) ngx.say("a woke") end)
        local b = ngx.thread.spawn(function() local ok = sem:wait(1) ngx.say("b woke: ", ok) end)
        ngx.say("count with two waiters: ", sem:count())
        ngx.say("kill a: ", ngx.thread.kill(a))
        ngx.say("count with one waiter: ", sem:count())
        sem:post()
        ngx.thread.wait(b)
        ngx.say("count after: ", sem:count())
        sem:post()
        ngx.sleep(0.01)
        ngx.say("count with nobody waiting: ", sem:count())
    }
--- stream_response
count with two waiters: -2
kill a: 1
count with one waiter: -1
b woke: true
count after: 0
count with nobody waiting: 1
--- no_error_log
[error]
[alert]



=== TEST 2: a session ends while its light thread waits on a semaphore: a later post wakes nobody
--- stream_server_config
    content_by_lua_block {
        local sem = require("ngx.semaphore").new()
        ngx.thread.spawn(function()
            sem:wait(1)
            ngx.log(ngx.ERR, "the waiter woke")
        end)
        ngx.timer.at(0.02, function()
            ngx.log(ngx.WARN, "count before post: ", sem:count())
            sem:post()
            ngx.log(ngx.WARN, "count after post: ", sem:count())
        end)
        ngx.say("bye")
        ngx.exit(0)
    }
--- stream_response
bye
--- wait: 0.1
--- error_log
count before post: 0
count after post: 1
--- no_error_log
[error]



=== TEST 3: a session ends while its light thread sleeps: the timer never wakes it
--- stream_server_config
    content_by_lua_block {
        ngx.thread.spawn(function()
            ngx.sleep(0.01)
            ngx.log(ngx.ERR, "the sleeper woke")
        end)
        ngx.say("bye")
        ngx.exit(0)
    }
--- stream_response
bye
--- wait: 0.05
--- no_error_log
[error]
[alert]



=== TEST 4: a wait that timed out leaves the queue; the same thread waits again and is woken once
--- stream_server_config
    content_by_lua_block {
        local sem = require("ngx.semaphore").new()
        ngx.say("first: ", select(2, sem:wait(0.01)), ", count: ", sem:count())
        ngx.timer.at(0.01, function() sem:post(2) end)
        ngx.say("second: ", sem:wait(1), ", count: ", sem:count())
        ngx.sleep(0.02)
        ngx.say("count later: ", sem:count())
    }
--- stream_response
first: timeout, count: 0
second: true, count: 1
count later: 1
--- no_error_log
[error]
[alert]



=== TEST 5: a semaphore collected with its wake-up posted: the wake-up goes with it
--- stream_server_config
    content_by_lua_block {
        local sem = require("ngx.semaphore").new()
        sem:post()
        sem = nil
        collectgarbage()
        collectgarbage()
        ngx.sleep(0.01)
        ngx.say("ok")
    }
--- stream_response
ok
--- no_error_log
[error]
[alert]



=== TEST 6: a thread killed while it sleeps is not woken by its timer
--- stream_server_config
    content_by_lua_block {
        local t = ngx.thread.spawn(function()
            ngx.sleep(0.01)
            ngx.say("the sleeper woke")
        end)
        ngx.say("kill: ", ngx.thread.kill(t))
        ngx.sleep(0.03)
        ngx.say("done")
    }
--- stream_response
kill: 1
done
--- no_error_log
[error]
[alert]



=== TEST 7: a thread killed while it is posted to run again (after a plain yield) does not run
--- stream_server_config
    content_by_lua_block {
        local t = ngx.thread.spawn(function()
            ngx.say("child yields")
            coroutine.yield()
            ngx.say("child resumed after its kill")
        end)
        ngx.say("kill: ", ngx.thread.kill(t))
        ngx.sleep(0.01)
        ngx.say("done")
    }
--- stream_response
child yields
kill: 1
done
--- no_error_log
[error]
[alert]
