# init_worker_by_lua_block / init_worker_by_lua_file. Behaviour follows stream-lua v0.0.16
# (see upstream t/124-init-worker.t, t/089-phase.t, src/ngx_stream_lua_initworkerby.c): the
# code runs once in every worker when it starts, with the global environment, may create
# timers, cannot use the output or yielding APIs, and its errors are only logged
# ("init_worker_by_lua error: ...") - the worker keeps serving.

use Test::Nginx::Socket::Lua::Stream;

repeat_each(1);

plan tests => repeat_each() * (blocks() * 2);

no_long_string();

run_tests();

__DATA__

=== TEST 1: ngx.get_phase() is "init_worker" and globals are shared
--- stream_config
    init_worker_by_lua_block {
        worker_phase = ngx.get_phase()
    }
--- stream_server_config
    content_by_lua_block {
        ngx.say(worker_phase)
    }
--- stream_response
init_worker
--- no_error_log
[error]



=== TEST 2: init_worker_by_lua_file
--- stream_config
    init_worker_by_lua_file html/worker.lua;
--- stream_server_config
    content_by_lua_block {
        ngx.say("worker file says: ", worker_note)
    }
--- user_files
>>> worker.lua
worker_note = "loaded in " .. ngx.get_phase()
--- stream_response
worker file says: loaded in init_worker
--- no_error_log
[error]



=== TEST 3: a timer created in init_worker runs
--- stream_config
    init_worker_by_lua_block {
        worker_timer_ran = false
        local ok, err = ngx.timer.at(0, function(premature, tag)
            _G.worker_timer_ran = tag
            ngx.log(ngx.WARN, "worker timer: premature=", premature, " phase=", ngx.get_phase())
        end, "yes, with an argument")
        ngx.log(ngx.WARN, "worker timer created: ", ok, " ", err)
    }
--- stream_server_config
    content_by_lua_block {
        for _ = 1, 50 do
            if worker_timer_ran then break end
            ngx.sleep(0.01)
        end
        ngx.say("timer ran: ", worker_timer_ran)
    }
--- stream_response
timer ran: yes, with an argument
--- error_log
worker timer created: 1 nil
worker timer: premature=false phase=timer
--- no_error_log
[error]



=== TEST 4: a recurring timer created in init_worker
--- stream_config
    init_worker_by_lua_block {
        ticks = 0
        assert(ngx.timer.every(0.02, function()
            _G.ticks = _G.ticks + 1
        end))
    }
--- stream_server_config
    content_by_lua_block {
        ngx.sleep(0.15)
        ngx.say("ticked enough: ", ticks >= 3)
    }
--- stream_response
ticked enough: true
--- no_error_log
[error]



=== TEST 5: ngx.say in init_worker_by_lua is an error, the worker keeps serving
--- stream_config
    init_worker_by_lua_block {
        before_say = true
        ngx.say("nobody listens")
        after_say = true
    }
--- stream_server_config
    content_by_lua_block {
        ngx.say("before: ", before_say, ", after: ", after_say)
    }
--- stream_response
before: true, after: nil
--- error_log eval
qr/\[error\] .*init_worker_by_lua error: \S+:3: API disabled in the context of init_worker_by_lua\*/



=== TEST 6: the chunk name of an init_worker_by_lua_block
--- stream_config
    init_worker_by_lua_block {
        error("worker boot failed")
    }
--- stream_server_config
    content_by_lua_block {
        ngx.say("still serving")
    }
--- stream_response
still serving
--- error_log
init_worker_by_lua error: init_worker_by_lua:2: worker boot failed



=== TEST 7: an error in init_worker_by_lua_file is logged with the file name
--- stream_config
    init_worker_by_lua_file html/bad-worker.lua;
--- stream_server_config
    content_by_lua_block {
        ngx.say("still serving")
    }
--- user_files
>>> bad-worker.lua
local x
x()
--- stream_response
still serving
--- error_log eval
qr/init_worker_by_lua_file error: \S*bad-worker\.lua:2: attempt to call local 'x' \(a nil value\)/



=== TEST 8: yielding and request APIs are refused in init_worker
--- stream_config
    init_worker_by_lua_block {
        local r = {}
        for _, name in ipairs({ "sleep", "flush", "eof", "exit" }) do
            local f = ngx[name]
            local ok, err
            if name == "sleep" then
                ok, err = pcall(f, 0.01)
            elseif name == "exit" then
                ok, err = pcall(f, 0)
            else
                ok, err = pcall(f)
            end
            r[#r + 1] = name .. ": " .. tostring(ok) .. " " .. tostring(err)
        end
        local ok, err = pcall(ngx.req.socket)
        r[#r + 1] = "socket: " .. tostring(ok) .. " " .. tostring(err)
        worker_api = table.concat(r, "\n")
    }
--- stream_server_config
    content_by_lua_block {
        ngx.say(worker_api)
    }
--- stream_response
sleep: false API disabled in the context of init_worker_by_lua*
flush: false API disabled in the context of init_worker_by_lua*
eof: false API disabled in the context of init_worker_by_lua*
exit: false API disabled in the context of init_worker_by_lua*
socket: false API disabled in the context of init_worker_by_lua*
--- no_error_log
[error]



=== TEST 9: ngx.ctx works in init_worker and is not the session's
--- stream_config
    init_worker_by_lua_block {
        ngx.ctx.mark = "worker ctx"
        worker_ctx_mark = ngx.ctx.mark
    }
--- stream_server_config
    content_by_lua_block {
        ngx.say(worker_ctx_mark, " / session ctx: ", ngx.ctx.mark)
    }
--- stream_response
worker ctx / session ctx: nil
--- no_error_log
[error]



=== TEST 10: print and ngx.log in init_worker
--- stream_config
    init_worker_by_lua_block {
        print("worker print")
        ngx.log(ngx.WARN, "worker pid is a ", type(ngx.worker.pid()))
    }
--- stream_server_config
    content_by_lua_block {
        ngx.say("ok")
    }
--- stream_response
ok
--- error_log eval
[
qr/\[notice\] .*worker print/,
qr/\[warn\] .*worker pid is a number/,
]



=== TEST 11: time functions work in init_worker
--- stream_config
    init_worker_by_lua_block {
        local t = ngx.time()
        worker_time_ok = type(t) == "number" and math.abs(t - os.time()) <= 1
            and ngx.now() >= t and #ngx.today() == 10
    }
--- stream_server_config
    content_by_lua_block {
        ngx.say("time in init_worker ok: ", worker_time_ok)
    }
--- stream_response
time in init_worker ok: true
--- no_error_log
[error]



=== TEST 12: init_worker_by_lua_block belongs to the stream level only
--- stream_server_config
    init_worker_by_lua_block {
        ngx.log(ngx.WARN, "misplaced")
    }
    content_by_lua_block {
        ngx.say("unreachable")
    }
--- must_die
--- error_log eval
qr/\[emerg\] .*"init_worker_by_lua_block" directive is not allowed here/



=== TEST 13: log lines written by init_worker_by_lua name their context
--- stream_config
    init_worker_by_lua_block {
        local function warn(...)
            ngx.log(ngx.WARN, ...)
        end
        warn("booting")
    }
--- stream_server_config
    content_by_lua_block {
        ngx.say("ok")
    }
--- stream_response
ok
--- error_log eval
qr/\[warn\] .*init_worker_by_lua:3: warn\(\): booting, context: init_worker_by_lua\*$/
