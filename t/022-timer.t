# ngx.timer.at / ngx.timer.every and the timer counters. Behaviour follows stream-lua v0.0.16
# (see upstream t/106-timer.t, t/107-timer-errors.t, t/136-timer-counts.t, t/089-phase.t,
# src/ngx_stream_lua_timer.c): callbacks run in their own light session after the delay with
# `premature` first and the user arguments after it, their log lines carry
# ", context: ngx.timer", and the output and downstream APIs are refused there.

use Test::Nginx::Socket::Lua::Stream;

repeat_each(1);

plan tests => repeat_each() * (blocks() * 2);

no_long_string();

run_tests();

__DATA__

=== TEST 1: a timer fires after its delay, premature is false
--- stream_server_config
    content_by_lua_block {
        ngx.update_time()
        local start = ngx.now()
        local ok, err = ngx.timer.at(0.1, function(premature)
            ngx.update_time()
            local late = ngx.now() - start
            ngx.log(ngx.WARN, "fired: premature=", premature,
                    " on time=", late >= 0.09 and late < 1)
        end)
        ngx.say("at returned ", ok, " ", err)
    }
--- stream_response
at returned 1 nil
--- wait: 0.3
--- error_log eval
qr/\[warn\] .*fired: premature=false on time=true, context: ngx\.timer/
--- no_error_log
[error]



=== TEST 2: user arguments follow premature
--- stream_server_config
    content_by_lua_block {
        ngx.timer.at(0, function(...)
            local n = select("#", ...)
            local args = { ... }
            for i = 1, n do args[i] = tostring(args[i]) end
            ngx.log(ngx.WARN, "timer args (", n, "): ", table.concat(args, ","))
        end, "str", 42, nil, true, { 1 } ~= nil)
        ngx.say("registered")
    }
--- stream_response
registered
--- wait: 0.1
--- error_log
timer args (6): false,str,42,nil,true,true



=== TEST 3: ngx.get_phase() in a timer is "timer"
--- stream_server_config
    content_by_lua_block {
        ngx.timer.at(0, function()
            ngx.log(ngx.WARN, "phase in timer: ", ngx.get_phase())
        end)
        ngx.say("ok")
    }
--- stream_response
ok
--- wait: 0.1
--- error_log
phase in timer: timer



=== TEST 4: the timer keeps running after the session that created it is gone
--- stream_server_config
    content_by_lua_block {
        local conn = ngx.var.connection
        ngx.timer.at(0.1, function()
            ngx.log(ngx.WARN, "created by connection ", conn, ", still alive")
        end)
        ngx.say("session over")
    }
--- stream_response
session over
--- wait: 0.3
--- error_log eval
qr/created by connection \d+, still alive/



=== TEST 5: upvalues are shared between the session and its timer
--- stream_server_config
    content_by_lua_block {
        local box = { value = "before" }
        ngx.timer.at(0.02, function()
            box.value = "changed by timer"
        end)
        ngx.sleep(0.1)
        ngx.say(box.value)
    }
--- stream_response
changed by timer
--- no_error_log
[error]



=== TEST 6: timers fire in the order of their delays
--- stream_server_config
    content_by_lua_block {
        local order = {}
        for _, d in ipairs({ 0.06, 0.02, 0.04 }) do
            ngx.timer.at(d, function() order[#order + 1] = d end)
        end
        ngx.sleep(0.15)
        ngx.say(table.concat(order, " "))
    }
--- stream_response
0.02 0.04 0.06
--- no_error_log
[error]



=== TEST 7: a timer can create another timer
--- stream_server_config
    content_by_lua_block {
        local trace = { "main" }
        local function third() trace[#trace + 1] = "third" end
        local function second()
            trace[#trace + 1] = "second"
            assert(ngx.timer.at(0, third))
        end
        local function first()
            trace[#trace + 1] = "first"
            assert(ngx.timer.at(0.01, second))
        end
        assert(ngx.timer.at(0, first))
        ngx.sleep(0.1)
        ngx.say(table.concat(trace, " > "))
    }
--- stream_response
main > first > second > third
--- no_error_log
[error]



=== TEST 8: ngx.timer.every repeats until the worker stops
--- stream_server_config
    content_by_lua_block {
        local count = 0
        local ok, err = ngx.timer.every(0.03, function(premature, step)
            count = count + step
        end, 1)
        ngx.sleep(0.2)
        ngx.say("every returned ", ok, " ", err, ", fired enough: ", count >= 4, ", not too often: ", count <= 7)
    }
--- stream_response
every returned 1 nil, fired enough: true, not too often: true
--- no_error_log
[error]



=== TEST 9: ngx.timer.every needs a positive delay
--- stream_server_config
    content_by_lua_block {
        local ok, err = pcall(ngx.timer.every, 0, function() end)
        ngx.say(ok, " ", err)
        ok, err = pcall(ngx.timer.every, 0.0001, function() end)
        ngx.say(ok, " ", err)
    }
--- stream_response
false delay cannot be zero
false delay cannot be zero
--- no_error_log
[error]



=== TEST 10: not enough arguments
--- stream_server_config
    content_by_lua_block {
        ngx.say(pcall(ngx.timer.at))
        ngx.say(pcall(ngx.timer.at, 1))
        ngx.say(pcall(ngx.timer.every, 1))
    }
--- stream_response
falseexpecting at least 2 arguments but got 0
falseexpecting at least 2 arguments but got 1
falseexpecting at least 2 arguments but got 1
--- no_error_log
[error]



=== TEST 11: the callback must be a Lua function
--- stream_server_config
    content_by_lua_block {
        ngx.say(pcall(ngx.timer.at, 0, "not a function"))
        ngx.say(pcall(ngx.timer.at, 0, print))
        ngx.say(pcall(ngx.timer.every, 1, {}))
    }
--- stream_response
falsebad argument #2 to '?' (Lua function expected)
falsebad argument #2 to '?' (Lua function expected)
falsebad argument #2 to '?' (Lua function expected)
--- no_error_log
[error]



=== TEST 12: the delay must be a number
--- stream_server_config
    content_by_lua_block {
        ngx.say(pcall(ngx.timer.at, "soon", function() end))
        ngx.say("numeric string: ", ngx.timer.at("0.01", function() end))
    }
--- stream_response
falsebad argument #1 to '?' (number expected, got string)
numeric string: 1
--- no_error_log
[error]



=== TEST 13: an error in the callback is logged with the timer context
--- stream_server_config
    content_by_lua_block {
        ngx.timer.at(0, function()
            local t = {}
            error("timer blew up: " .. #t)
        end)
        ngx.say("scheduled")
    }
--- stream_response
scheduled
--- wait: 0.1
--- error_log eval
[
qr/\[error\] .*lua entry thread aborted: runtime error: content_by_lua\(nginx\.conf:\d+\):4: timer blew up: 0/,
qr/, context: ngx\.timer/,
]



=== TEST 14: a failing timer does not stop the other timers
--- stream_server_config
    content_by_lua_block {
        local done = {}
        ngx.timer.at(0, function() error("first fails") end)
        ngx.timer.at(0.01, function() done[#done + 1] = "second ran" end)
        ngx.sleep(0.05)
        ngx.say(done[1])
    }
--- stream_response
second ran
--- error_log
first fails



=== TEST 15: output and downstream APIs are refused in timers
--- stream_server_config
    content_by_lua_block {
        ngx.timer.at(0, function()
            for _, name in ipairs({ "say", "print", "flush", "eof" }) do
                local ok, err = pcall(ngx[name])
                ngx.log(ngx.WARN, "timer ", name, ": ", ok, " ", err)
            end
        end)
        ngx.sleep(0.05)
        ngx.say("checked")
    }
--- stream_response
checked
--- error_log
timer say: false API disabled in the context of ngx.timer
timer print: false API disabled in the context of ngx.timer
timer flush: false API disabled in the context of ngx.timer
timer eof: false API disabled in the context of ngx.timer



=== TEST 16: ngx.say in a timer aborts it with a runtime error
--- stream_server_config
    content_by_lua_block {
        ngx.timer.at(0.01, function()
            ngx.say("to whom?")
        end)
        ngx.say("registered timer")
    }
--- stream_response
registered timer
--- wait: 0.1
--- error_log eval
qr/\[error\] .*runtime error: content_by_lua\(nginx\.conf:\d+\):3: API disabled in the context of ngx\.timer/



=== TEST 17: ngx.exit in a timer ends the callback quietly
--- stream_server_config
    content_by_lua_block {
        ngx.timer.at(0, function()
            ngx.log(ngx.WARN, "before exit in timer")
            ngx.exit(0)
            ngx.log(ngx.WARN, "after exit in timer")
        end)
        ngx.sleep(0.05)
        ngx.say("ok")
    }
--- stream_response
ok
--- error_log
before exit in timer
--- no_error_log
after exit in timer
[error]



=== TEST 18: a timer can sleep, and sleeping timers count as running
--- stream_server_config
    content_by_lua_block {
        for i = 1, 3 do
            ngx.timer.at(0.01 * i, function() ngx.sleep(0.2) end)
        end
        ngx.say("pending: ", ngx.timer.pending_count(), " running: ", ngx.timer.running_count())
        ngx.sleep(0.1)
        ngx.say("pending: ", ngx.timer.pending_count(), " running: ", ngx.timer.running_count())
        ngx.sleep(0.25)
        ngx.say("pending: ", ngx.timer.pending_count(), " running: ", ngx.timer.running_count())
    }
--- stream_response
pending: 3 running: 0
pending: 0 running: 3
pending: 0 running: 0
--- no_error_log
[error]



=== TEST 19: counters start at zero
--- stream_server_config
    content_by_lua_block {
        ngx.say(ngx.timer.pending_count(), " ", ngx.timer.running_count())
    }
--- stream_response
0 0
--- no_error_log
[error]



=== TEST 20: a recurring timer counts as pending between runs
--- stream_server_config
    content_by_lua_block {
        ngx.timer.every(0.05, function() end)
        ngx.say("pending right away: ", ngx.timer.pending_count())
        ngx.sleep(0.12)
        ngx.say("pending later: ", ngx.timer.pending_count())
    }
--- stream_response
pending right away: 1
pending later: 1
--- no_error_log
[error]



=== TEST 21: lua_max_pending_timers
--- stream_config
    lua_max_pending_timers 2;
--- stream_server_config
    content_by_lua_block {
        local f = function() end
        ngx.say(ngx.timer.at(1, f))
        ngx.say(ngx.timer.at(1, f))
        ngx.say(ngx.timer.at(1, f))
        ngx.say(ngx.timer.every(1, f))
        ngx.say("pending: ", ngx.timer.pending_count())
    }
--- stream_response
1
1
niltoo many pending timers
niltoo many pending timers
pending: 2
--- no_error_log
[error]



=== TEST 22: a fired timer frees its pending slot
--- stream_config
    lua_max_pending_timers 1;
--- stream_server_config
    content_by_lua_block {
        local fired = 0
        local function f() fired = fired + 1 end
        ngx.say(ngx.timer.at(0.01, f))
        ngx.say(ngx.timer.at(0.01, f))
        ngx.sleep(0.05)
        ngx.say(ngx.timer.at(0.01, f))
        ngx.sleep(0.05)
        ngx.say("fired: ", fired)
    }
--- stream_response
1
niltoo many pending timers
1
fired: 2
--- no_error_log
[error]



=== TEST 23: lua_max_running_timers
--- stream_config
    lua_max_running_timers 1;
--- stream_server_config
    content_by_lua_block {
        local ran = {}
        local function f(_, name)
            ran[#ran + 1] = name
            ngx.sleep(0.05)
        end
        ngx.timer.at(0, f, "a")
        ngx.timer.at(0, f, "b")
        ngx.sleep(0.1)
        ngx.say("ran: ", table.concat(ran, ","))
    }
--- stream_response
ran: a
--- error_log eval
qr/\[alert\] .*stream lua failed to run timer with function defined at =content_by_lua\(nginx\.conf:\d+\):3: stream lua: 1 lua_max_running_timers are not enough/



=== TEST 24: lua_max_running_timers with enough room
--- stream_config
    lua_max_running_timers 2;
--- stream_server_config
    content_by_lua_block {
        local ran = {}
        local function f(_, name)
            ran[#ran + 1] = name
            ngx.sleep(0.05)
        end
        ngx.timer.at(0, f, "a")
        ngx.timer.at(0, f, "b")
        ngx.sleep(0.1)
        ngx.say("ran: ", table.concat(ran, ","))
    }
--- stream_response
ran: a,b
--- no_error_log
[alert]
[error]



=== TEST 25: bad values for the timer directives
--- stream_config
    lua_max_pending_timers lots;
--- stream_server_config
    content_by_lua_block {
        ngx.say("unreachable")
    }
--- must_die
--- error_log eval
qr/\[emerg\] .*"lua_max_pending_timers" directive invalid number/



=== TEST 26: the timer's log lines name the client of the session that created it
--- stream_server_config
    content_by_lua_block {
        ngx.timer.at(0, function()
            ngx.log(ngx.WARN, "who created me?")
        end)
        ngx.say("ok")
    }
--- stream_response
ok
--- wait: 0.1
--- error_log eval
qr/who created me\?, context: ngx\.timer, client: 127\.0\.0\.1, server: /



=== TEST 27: ngx.ctx in a timer is its own
--- stream_server_config
    content_by_lua_block {
        ngx.ctx.owner = "session"
        ngx.timer.at(0, function()
            local before = ngx.ctx.owner
            ngx.ctx.owner = "timer"
            ngx.log(ngx.WARN, "timer ctx before: ", before, ", after: ", ngx.ctx.owner)
        end)
        ngx.sleep(0.05)
        ngx.say("session ctx: ", ngx.ctx.owner)
    }
--- stream_response
session ctx: session
--- error_log
timer ctx before: nil, after: timer



=== TEST 28: timers created from preread
--- stream_server_config
    preread_by_lua_block {
        assert(ngx.timer.at(0, function(premature, phase)
            ngx.log(ngx.WARN, "timer created in ", phase)
        end, ngx.get_phase()))
    }
    content_by_lua_block {
        ngx.sleep(0.05)
        ngx.say("ok")
    }
--- stream_response
ok
--- error_log
timer created in preread



=== TEST 29: a timer made by a timer logs its creator's client and server
--- stream_server_config
    content_by_lua_block {
        local function second()
            ngx.log(ngx.WARN, "second timer")
        end
        local function first()
            ngx.log(ngx.WARN, "first timer")
            assert(ngx.timer.at(0, second))
        end
        assert(ngx.timer.at(0, first))
        ngx.say("registered")
    }
--- stream_response
registered
--- wait: 0.1
--- error_log eval
[
qr/first timer, context: ngx\.timer, client: 127\.0\.0\.1, server: [\d.]+:\d+$/,
qr/second timer, context: ngx\.timer, client: 127\.0\.0\.1, server: [\d.]+:\d+$/,
]
--- no_error_log
[error]
