# Light threads: ngx.thread.spawn/wait/kill. Behaviour follows stream-lua v0.0.16
# (see upstream t/093-uthread-spawn.t, t/098-uthread-wait.t, t/127-uthread-kill.t).
use Test::Nginx::Socket::Lua::Stream;

repeat_each(2);

plan tests => repeat_each() * (blocks() * 2);

run_tests();

__DATA__

=== TEST 1: a spawned thread runs before spawn returns
--- stream_server_config
    content_by_lua_block {
        ngx.say("before spawn")
        local t = ngx.thread.spawn(function(a, b)
            ngx.say("in thread: ", a, " ", b)
        end, "x", 42)
        ngx.say("after spawn: ", type(t))
    }
--- stream_response
before spawn
in thread: x 42
after spawn: thread
--- no_error_log
[error]



=== TEST 2: wait returns true and the thread's results, in the order threads end
--- stream_server_config
    content_by_lua_block {
        local function job(name, secs)
            ngx.sleep(secs)
            ngx.say(name, " finished")
            return name, secs * 1000
        end
        local slow = ngx.thread.spawn(job, "slow", 0.05)
        local fast = ngx.thread.spawn(job, "fast", 0.01)
        ngx.say("waiting")
        ngx.say("fast: ", ngx.thread.wait(fast))
        ngx.say("slow: ", ngx.thread.wait(slow))
    }
--- stream_response
waiting
fast finished
fast: truefast10
slow finished
slow: trueslow50
--- no_error_log
[error]



=== TEST 3: a thread that throws: wait gives false and what the failed thread's stack holds (the argument of error, then the message), as upstream; the error is logged
--- stream_server_config
    content_by_lua_block {
        local t = ngx.thread.spawn(function()
            ngx.sleep(0.01)
            error("thread blew up")
        end)
        local ok, err, msg = ngx.thread.wait(t)
        ngx.say(ok, " ", err, " / ", msg)
    }
--- stream_response_like chomp
^false thread blew up / content_by_lua\(nginx\.conf:\d+\):4: thread blew up$
--- error_log eval
qr/stream lua user thread aborted: runtime error: content_by_lua\(nginx\.conf:\d+\):4: thread blew up/



=== TEST 4: waiting twice on the same thread
--- stream_server_config
    content_by_lua_block {
        local t = ngx.thread.spawn(function() return "once" end)
        ngx.say(coroutine.status(t))
        ngx.say(ngx.thread.wait(t))
        ngx.say(ngx.thread.wait(t))
    }
--- stream_response
zombie
trueonce
nilalready waited or killed
--- no_error_log
[error]



=== TEST 5: killing a thread that sleeps, then killing it again
--- stream_server_config
    content_by_lua_block {
        local t = ngx.thread.spawn(function()
            ngx.sleep(0.05)
            ngx.say("must not print")
        end)
        ngx.say("kill: ", ngx.thread.kill(t))
        ngx.say("again: ", ngx.thread.kill(t))
        ngx.sleep(0.1)
        ngx.say("done")
    }
--- stream_response
kill: 1
again: nilalready waited or killed
done
--- no_error_log
[error]



=== TEST 6: the session lasts until its threads end, after the entry thread returns
--- stream_server_config
    content_by_lua_block {
        ngx.thread.spawn(function()
            ngx.sleep(0.05)
            ngx.say("late thread")
        end)
        ngx.say("entry returns")
    }
--- stream_response
entry returns
late thread
--- no_error_log
[error]



=== TEST 7: ngx.exit in a thread ends every thread
--- stream_server_config
    content_by_lua_block {
        ngx.thread.spawn(function()
            ngx.sleep(0.01)
            ngx.say("thread exits")
            ngx.exit(ngx.OK)
        end)
        ngx.sleep(0.5)
        ngx.say("entry must not get here")
    }
--- stream_response
thread exits
--- no_error_log
[error]



=== TEST 8: a thread reads the client while the entry thread sleeps
--- stream_server_config
    content_by_lua_block {
        local sock = assert(ngx.req.socket())
        local reader = ngx.thread.spawn(function()
            return sock:receive()
        end)
        ngx.sleep(0.01)
        ngx.say("read: ", select(2, ngx.thread.wait(reader)))
    }
--- stream_request
hello there
--- stream_response
read: hello there
--- no_error_log
[error]



=== TEST 9: bad arguments
--- stream_server_config
    content_by_lua_block {
        ngx.say(pcall(ngx.thread.spawn, "not a function"))
        ngx.say(pcall(ngx.thread.wait, 42))
        ngx.say(pcall(ngx.thread.kill, coroutine.create(function() end)))
    }
--- stream_response
falsebad argument #1 to '?' (function expected, got string)
falsebad argument #1 to '?' (lua thread expected, got number)
truenilnot user thread
--- no_error_log
[alert]



=== TEST 10: only the parent may wait on or kill a thread
--- stream_server_config
    content_by_lua_block {
        local child
        local a = ngx.thread.spawn(function()
            child = ngx.thread.spawn(function() ngx.sleep(0.05) end)
            ngx.sleep(0.1)
        end)
        -- the entry thread runs on before `a` gets its child back from spawn
        ngx.say(child == nil)
        ngx.sleep(0.01)
        ngx.say(ngx.thread.kill(child))
        ngx.say(pcall(ngx.thread.wait, child))
        ngx.thread.kill(a)
    }
--- stream_response_like
^true
nilkiller not parent
false.*only the parent coroutine can wait on the thread
--- no_error_log
[alert]



=== TEST 11: spawning in the log phase is refused
--- stream_server_config
    content_by_lua_block { ngx.say("ok") }
    log_by_lua_block {
        local ok, err = pcall(ngx.thread.spawn, function() end)
        ngx.log(ngx.WARN, "spawn in log: ", ok, " ", err)
    }
--- stream_response
ok
--- error_log
spawn in log: false API disabled in the context of log_by_lua*



=== TEST 12: coroutine.yield in a thread lets the other ready threads run first (manual time slicing)
--- stream_server_config
    content_by_lua_block {
        local trace = {}
        local function note(what)
            trace[#trace + 1] = what
        end
        -- the entry thread alone: its yield comes straight back
        coroutine.yield()
        note("m0")
        local t = ngx.thread.spawn(function()
            for i = 1, 3 do
                note("t" .. i)
                if i < 3 then
                    coroutine.yield()
                end
            end
        end)
        for i = 1, 3 do
            note("m" .. i)
            if i < 3 then
                coroutine.yield()
            end
        end
        ngx.say(table.concat(trace, " "), " / ", coroutine.status(t))
    }
--- stream_response
m0 t1 m1 t2 m2 t3 m3 / zombie
--- no_error_log
[error]



=== TEST 13: threads that ended long ago still answer wait, kill and status as upstream
--- stream_server_config
    content_by_lua_block {
        local spawn, wait, kill = ngx.thread.spawn, ngx.thread.wait, ngx.thread.kill
        local function nap() ngx.sleep(0.001) end
        local early = spawn(function() return "early" end)
        ngx.say("wait: ", select(2, wait(early)))
        local killed = spawn(function() ngx.sleep(10) end)
        ngx.say("kill: ", kill(killed))
        local co = coroutine.create(function() return 1 end)
        ngx.say("resume: ", coroutine.resume(co))
        -- a child that tries to wait on one of its parent's threads
        local sibling = spawn(nap)
        local nosy = spawn(function()
            ngx.sleep(0.05)
            return pcall(wait, sibling)
        end)
        wait(sibling)
        -- enough threads and coroutines made and ended after them that the session's list
        -- drops the ended ones
        for _ = 1, 100 do
            wait(spawn(nap))
            coroutine.resume(coroutine.create(nap))
        end
        ngx.say("wait again: ", wait(early))
        ngx.say("kill ended: ", kill(early))
        ngx.say("status: ", coroutine.status(early), " ", coroutine.status(killed), " ",
                coroutine.status(co))
        ngx.say("wait killed: ", wait(killed))
        ngx.say("kill killed: ", kill(killed))
        ngx.say("resume again: ", coroutine.resume(co))
        ngx.say("wait coroutine: ", select(2, pcall(wait, co)))
        ngx.say("kill coroutine: ", kill(co))
        ngx.say("child's wait: ", select(2, wait(nosy)))
    }
--- stream_response
wait: early
kill: 1
resume: true1
wait again: nilalready waited or killed
kill ended: nilalready waited or killed
status: dead dead dead
wait killed: nilalready waited or killed
kill killed: nilalready waited or killed
resume again: falsecannot resume dead coroutine
wait coroutine: attempt to wait on a coroutine that is not a user thread
kill coroutine: nilnot user thread
child's wait: falseonly the parent coroutine can wait on the thread
--- no_error_log
[error]



=== TEST 14: a session that spawns and waits for threads all its life does not grow
--- stream_server_config
    content_by_lua_block {
        local function noop() end
        local function rss()
            local f = assert(io.open("/proc/self/status"))
            local s = f:read("*a")
            f:close()
            return tonumber(s:match("VmRSS:%s+(%d+)"))
        end
        -- warm up, then 50,000 of each
        for _ = 1, 1000 do
            ngx.thread.wait(ngx.thread.spawn(noop))
            coroutine.resume(coroutine.create(noop))
        end
        collectgarbage()
        local kb, r0 = collectgarbage("count"), rss()
        for _ = 1, 50000 do
            ngx.thread.wait(ngx.thread.spawn(noop))
            coroutine.resume(coroutine.create(noop))
        end
        collectgarbage()
        local lua_growth, rss_growth = collectgarbage("count") - kb, rss() - r0
        ngx.say("Lua heap grew under 200 KB: ", lua_growth < 200)
        ngx.say("RSS grew under 2 MB: ", rss_growth < 2048)
        if lua_growth >= 200 or rss_growth >= 2048 then
            ngx.say(lua_growth, " KB, ", rss_growth, " KB")
        end
    }
--- stream_response
Lua heap grew under 200 KB: true
RSS grew under 2 MB: true
--- no_error_log
[error]
