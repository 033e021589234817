# ngx.sleep: behaviour follows stream-lua v0.0.16 (see upstream t/077-sleep.t,
# t/023-preread/sleep.t, src/ngx_stream_lua_sleep.c). The delay is truncated to whole
# milliseconds, a sleep yields to nginx's event loop, and the API is refused where the
# code cannot yield (log_by_lua*).

use Test::Nginx::Socket::Lua::Stream;

log_level('debug');

repeat_each(1);

plan tests => repeat_each() * (blocks() * 2);

run_tests();

__DATA__

=== TEST 1: a sleep takes about as long as asked
--- stream_server_config
    content_by_lua_block {
        ngx.update_time()
        local t0 = ngx.now()
        ngx.sleep(0.25)
        local spent = ngx.now() - t0
        ngx.say(spent >= 0.24 and spent < 0.6, " ", spent >= 0.24 and "long enough" or spent)
    }
--- stream_response
true long enough
--- error_log
lua ready to sleep for 250 ms
stream lua sleep timer expired
--- no_error_log
[error]



=== TEST 2: consecutive sleeps add up, output in between reaches the client
--- stream_server_config
    content_by_lua_block {
        ngx.update_time()
        local t0 = ngx.now()
        for i = 1, 3 do
            ngx.sleep(0.1)
            ngx.say("nap ", i)
        end
        local spent = ngx.now() - t0
        ngx.say("total ok: ", spent >= 0.29 and spent < 0.8)
    }
--- stream_response
nap 1
nap 2
nap 3
total ok: true
--- grep_error_log eval: qr/lua ready to sleep for \d+ ms/
--- grep_error_log_out
lua ready to sleep for 100 ms
lua ready to sleep for 100 ms
lua ready to sleep for 100 ms



=== TEST 3: the handler may end right after a sleep
--- stream_server_config
    content_by_lua_block {
        ngx.say("before")
        ngx.sleep(0.05)
    }
--- stream_response
before
--- error_log
stream lua sleep timer expired
--- no_error_log
[error]



=== TEST 4: sub-millisecond parts are dropped
--- stream_server_config
    content_by_lua_block {
        ngx.sleep(0.0129)
        ngx.sleep(0.0009)
        ngx.say("awake")
    }
--- stream_response
awake
--- grep_error_log eval: qr/lua ready to sleep for \d+ ms/
--- grep_error_log_out
lua ready to sleep for 12 ms
lua ready to sleep for 0 ms



=== TEST 5: sleep(0) yields and comes back
--- stream_server_config
    content_by_lua_block {
        ngx.update_time()
        local t0 = ngx.now()
        ngx.sleep(0)
        ngx.say("back after ", ngx.now() - t0 < 0.1 and "almost no time" or "too long")
    }
--- stream_response
back after almost no time
--- error_log
lua ready to sleep for 0 ms
stream lua sleep timer expired



=== TEST 6: sleep(0) on a stock nginx warns about the missing delayed events patch
--- stream_server_config
    content_by_lua_block {
        ngx.sleep(0)
        ngx.say("ok")
    }
--- stream_response
ok
--- error_log eval
qr/\[warn\] .*ngx\.sleep\(0\) called without delayed events patch, this will hurt performance/



=== TEST 7: a numeric string is accepted as the duration
--- stream_server_config
    content_by_lua_block {
        ngx.sleep("0.02")
        ngx.say("slept on a string")
    }
--- stream_response
slept on a string
--- error_log
lua ready to sleep for 20 ms
--- no_error_log
[error]



=== TEST 8: a non-numeric string is a bad argument
--- stream_server_config
    content_by_lua_block {
        ngx.say("going to sleep")
        ngx.sleep("forever")
        ngx.say("never printed")
    }
--- stream_response
going to sleep
--- error_log eval
qr/lua entry thread aborted: runtime error: content_by_lua\(nginx\.conf:\d+\):3: bad argument #1 to 'sleep' \(number expected, got string\)/



=== TEST 9: argument type and count errors, caught with pcall
--- stream_server_config
    content_by_lua_block {
        ngx.say(pcall(ngx.sleep))
        ngx.say(pcall(ngx.sleep, 0.01, 0.02))
        ngx.say(pcall(ngx.sleep, 1, 2, 3))
        ngx.say(pcall(ngx.sleep, nil))
        ngx.say(pcall(ngx.sleep, {}))
    }
--- stream_response
falseattempt to pass 0 arguments, but accepted 1
falseattempt to pass 2 arguments, but accepted 1
falseattempt to pass 3 arguments, but accepted 1
falsebad argument #1 to '?' (number expected, got nil)
falsebad argument #1 to '?' (number expected, got table)
--- no_error_log
lua ready to sleep



=== TEST 10: a negative duration is refused with its value in milliseconds
--- stream_server_config
    content_by_lua_block {
        ngx.say(pcall(ngx.sleep, -1))
        ngx.say(pcall(ngx.sleep, -0.25))
        ngx.sleep(-2)
        ngx.say("unreachable")
    }
--- stream_response
falseinvalid sleep duration "-1000"
falseinvalid sleep duration "-250"
--- error_log eval
qr/runtime error: content_by_lua\(nginx\.conf:\d+\):4: invalid sleep duration "-2000"/



=== TEST 11: a tiny negative duration truncates to 0 ms and is fine
--- stream_server_config
    content_by_lua_block {
        ngx.sleep(-0.0004)
        ngx.say("no complaint")
    }
--- stream_response
no complaint
--- error_log
lua ready to sleep for 0 ms
--- no_error_log
[error]



=== TEST 12: sleeping in preread_by_lua, then the content phase runs
--- stream_server_config
    preread_by_lua_block {
        ngx.update_time()
        local t0 = ngx.now()
        ngx.sleep(0.1)
        ngx.ctx.napped = ngx.now() - t0 >= 0.09
    }
    content_by_lua_block {
        ngx.say("preread napped: ", ngx.ctx.napped)
    }
--- stream_response
preread napped: true
--- error_log
lua ready to sleep for 100 ms
stream lua sleep timer expired
--- no_error_log
[error]



=== TEST 13: sleeping several times in preread with output between
--- stream_server_config
    preread_by_lua_block {
        ngx.sleep(0.03)
        ngx.say("pre 1")
        ngx.sleep(0.03)
        ngx.say("pre 2")
    }
    content_by_lua_block {
        ngx.sleep(0.03)
        ngx.say("content")
    }
--- stream_response
pre 1
pre 2
content
--- no_error_log
[error]



=== TEST 14: a bad sleep argument in preread ends the session
--- stream_server_config
    preread_by_lua_block {
        ngx.sleep(true)
    }
    content_by_lua_block {
        ngx.say("content must not run")
    }
--- stream_response
--- error_log eval
qr/runtime error: preread_by_lua\(nginx\.conf:\d+\):2: bad argument #1 to 'sleep' \(number expected, got boolean\)/



=== TEST 15: sleeping inside a timer callback
--- stream_server_config
    content_by_lua_block {
        local function cb(premature)
            ngx.update_time()
            local t0 = ngx.now()
            ngx.sleep(0.05)
            ngx.log(ngx.WARN, "timer slept enough: ", ngx.now() - t0 >= 0.045)
        end
        assert(ngx.timer.at(0, cb))
        ngx.say("timer set")
    }
--- stream_response
timer set
--- wait: 0.3
--- error_log
timer slept enough: true
lua ready to sleep for 50 ms
--- no_error_log
[error]



=== TEST 16: ngx.sleep is refused in log_by_lua
--- stream_server_config
    content_by_lua_block {
        ngx.say("served")
    }
    log_by_lua_block {
        ngx.sleep(0.01)
    }
--- stream_response
served
--- error_log eval
qr/failed to run log_by_lua\*: log_by_lua\(nginx\.conf:\d+\):2: API disabled in the context of log_by_lua\*/
--- no_error_log
lua ready to sleep



=== TEST 17: a sleep in log_by_lua caught by pcall
--- stream_server_config
    content_by_lua_block {
        ngx.say("served")
    }
    log_by_lua_block {
        local ok, err = pcall(ngx.sleep, 1)
        ngx.log(ngx.WARN, "log phase sleep: ", ok, " ", err)
    }
--- stream_response
served
--- error_log
log phase sleep: false API disabled in the context of log_by_lua*



=== TEST 18: a sleep inside pcall yields fine
--- stream_server_config
    content_by_lua_block {
        local ok, v = pcall(function()
            ngx.sleep(0.02)
            return "inner done"
        end)
        ngx.say(ok, " ", v)
    }
--- stream_response
true inner done
--- error_log
stream lua sleep timer expired
--- no_error_log
[error]



=== TEST 19: a sleep that cannot yield (xpcall message handler) leaves no timer behind
--- stream_server_config
    content_by_lua_block {
        local ok = xpcall(function() error("first failure") end,
                          function(e) ngx.sleep(0.01) return e end)
        ngx.say("xpcall ok: ", ok)
    }
--- stream_response
xpcall ok: false
--- wait: 0.1
--- error_log
lua clean up the timer for pending ngx.sleep
--- no_error_log
[alert]
stream lua sleep timer expired



=== TEST 20: killing a thread in ngx.sleep cleans up its timer
--- stream_server_config
    content_by_lua_block {
        local t = ngx.thread.spawn(function() ngx.sleep(10) end)
        ngx.say("kill: ", ngx.thread.kill(t))
    }
--- stream_response
kill: 1
--- error_log
lua clean up the timer for pending ngx.sleep



=== TEST 21: sleepers wake by deadline, those with the same deadline in the order they slept
--- stream_server_config
    content_by_lua_block {
        local order = {}
        local function nap(name, secs)
            ngx.sleep(secs)
            order[#order + 1] = name
        end
        local threads = {}
        for i, secs in ipairs({0.05, 0.02, 0.05, 0.02, 0.03}) do
            threads[i] = ngx.thread.spawn(nap, "t" .. i, secs)
        end
        for _, t in ipairs(threads) do ngx.thread.wait(t) end
        ngx.say(table.concat(order, " "))
    }
--- stream_response
t2 t4 t5 t1 t3
--- no_error_log
[error]



=== TEST 22: killing most of 300 sleepers leaves the others to wake on time, in order
--- stream_server_config
    content_by_lua_block {
        local woke, last, in_order = 0, 0, true
        local function nap(secs)
            ngx.sleep(secs)
            woke = woke + 1
            if secs < last then in_order = false end
            last = secs
        end
        local threads = {}
        for i = 1, 300 do
            threads[i] = ngx.thread.spawn(nap, 0.01 + (i % 7) * 0.005)
        end
        local killed = 0
        for i = 1, 300 do
            if i % 3 ~= 0 then
                assert(ngx.thread.kill(threads[i]))
                killed = killed + 1
            end
        end
        ngx.sleep(0.08)
        ngx.say("killed ", killed, ", woke ", woke, ", in order: ", in_order)
    }
--- stream_response
killed 200, woke 100, in order: true
--- no_error_log
[error]



=== TEST 23: equal deadlines keep the order they slept in, whether they came in order or not, and after most sleepers were killed
--- stream_server_config
    content_by_lua_block {
        -- every sleep here starts at the same cached time: equal lengths, equal deadlines
        local order = {}
        local function nap(name, secs)
            ngx.sleep(secs)
            order[#order + 1] = name
        end
        local threads = {}
        for i, secs in ipairs({0.05, 0.1, 0.05, 0.1, 0.03, 0.05}) do
            threads[i] = ngx.thread.spawn(nap, "t" .. i, secs)
        end
        for _, t in ipairs(threads) do ngx.thread.wait(t) end
        ngx.say(table.concat(order, " "))

        -- 65 later sleepers, then an earlier one; the 65 go, and one more as early comes
        order = {}
        local doomed = {}
        for i = 1, 65 do doomed[i] = ngx.thread.spawn(nap, "d" .. i, 0.1) end
        local first = ngx.thread.spawn(nap, "first", 0.05)
        for _, t in ipairs(doomed) do ngx.thread.kill(t) end
        local second = ngx.thread.spawn(nap, "second", 0.05)
        ngx.thread.wait(first)
        ngx.thread.wait(second)
        ngx.say(table.concat(order, " "))
    }
--- stream_response
t5 t1 t3 t6 t2 t4
first second
--- no_error_log
[error]
