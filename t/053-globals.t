# Globals, as stream-lua v0.0.16 on OpenResty's LuaJIT has them (upstream t/158-global-var.t,
# t/106-timer.t TEST 2, t/075-logby.t TEST 9): every handler of a VM (sessions, light threads,
# timers, init code) shares one _G. A session, thread or timer that creates a global keeps it
# but gets a [warn] with a traceback; init_by_lua and init_worker_by_lua do not.

use Test::Nginx::Socket::Lua::Stream;

repeat_each(2);

plan tests => repeat_each() * (blocks() * 3);

run_tests();

__DATA__

=== TEST 1: a global created by one connection is seen by the next one
--- stream_server_config
    content_by_lua_block {
        if visits == nil then
            visits = 1
        else
            ngx.log(ngx.WARN, "visits before: ", visits)
            visits = visits + 1
        end
        ngx.say("ok")
    }
--- stream_response
ok
--- grep_error_log eval: qr/visits before: \d+|writing a global Lua variable \('\w+'\)/
--- grep_error_log_out eval
["writing a global Lua variable ('visits')\n", "visits before: 1\n"]



=== TEST 2: the warning's words, level and traceback (the handler's main chunk)
--- stream_server_config
    content_by_lua_block {
        local x = 1
        created_here = x
        ngx.say(created_here)
    }
--- stream_response
1
--- grep_error_log eval: qr/\[warn\] .*? writing a global .*|^stack traceback:$|^\t.*?, client: /
--- grep_error_log_out eval
[qr/\A\[warn\] .*? writing a global Lua variable \('created_here'\) which may lead to race conditions between concurrent requests, so prefer the use of 'local' variables
stack traceback:
\tcontent_by_lua\(nginx\.conf:\d+\):3: in main chunk, client: \n\z/, ""]



=== TEST 3: only new globals warn: changing one that exists or rawset does not
--- stream_config
    init_by_lua_block {
        counter = 0
    }
--- stream_server_config
    content_by_lua_block {
        counter = counter + 1
        rawset(_G, "quiet_one", 1)
        ngx.say(type(counter), " ", quiet_one)
    }
--- stream_response
number 1
--- no_error_log
writing a global Lua variable
[error]



=== TEST 4: init_by_lua and init_worker_by_lua create globals silently, seen everywhere
--- stream_config
    init_by_lua_block {
        from_init = "init"
    }
    init_worker_by_lua_block {
        from_worker = "init_worker"
    }
--- stream_server_config
    content_by_lua_block {
        ngx.say(from_init, " ", from_worker, " ", _G.from_init, " ", rawget(_G, "from_worker"))
    }
--- stream_response
init init_worker init init_worker
--- no_error_log
writing a global Lua variable
[error]



=== TEST 5: a timer sees the session's globals and the session sees the timer's
--- stream_server_config
    content_by_lua_block {
        shared_by_session = "from the session"
        local function cb()
            shared_by_timer = "timer saw: " .. tostring(shared_by_session)
        end
        assert(ngx.timer.at(0, cb))
        ngx.sleep(0.05)
        ngx.say(shared_by_timer)
    }
--- stream_response
timer saw: from the session
--- grep_error_log eval: qr/writing a global Lua variable \('\w+'\)/
--- grep_error_log_out eval
["writing a global Lua variable ('shared_by_session')\nwriting a global Lua variable ('shared_by_timer')\n", ""]



=== TEST 6: a timer's warning has the timer's context and the callback in its traceback
--- stream_server_config
    content_by_lua_block {
        local function cb()
            set_by_timer = ngx.get_phase()
        end
        assert(ngx.timer.at(0, cb))
        ngx.sleep(0.05)
        ngx.say(set_by_timer)
    }
--- stream_response
timer
--- grep_error_log eval: qr/\[warn\] .*? writing a global .*|^stack traceback:$|^\t.*?, context: ngx\.timer/
--- grep_error_log_out eval
[qr/\A\[warn\] .*? writing a global Lua variable \('set_by_timer'\) which may lead to race conditions between concurrent requests, so prefer the use of 'local' variables
stack traceback:
\tcontent_by_lua\(nginx\.conf:\d+\):3: in function <content_by_lua\(nginx\.conf:\d+\):2>, context: ngx\.timer\n\z/, ""]



=== TEST 7: light threads, preread and log handlers share the globals and warn too
--- stream_server_config
    preread_by_lua_block {
        in_preread = "preread"
    }
    content_by_lua_block {
        local t = ngx.thread.spawn(function() in_thread = "thread" end)
        ngx.thread.wait(t)
        ngx.say(in_preread, " ", in_thread)
    }
    log_by_lua_block {
        in_log = "log"
    }
--- stream_response
preread thread
--- grep_error_log eval: qr/writing a global Lua variable \('\w+'\)/
--- grep_error_log_out eval
["writing a global Lua variable ('in_preread')\nwriting a global Lua variable ('in_thread')\nwriting a global Lua variable ('in_log')\n", ""]



=== TEST 8: a numeric key written through _G is named in the warning
--- stream_server_config
    content_by_lua_block {
        if _G[1] == nil then
            _G[1] = 2
        end
        ngx.say(_G[1])
    }
--- stream_response
2
--- grep_error_log eval: qr/writing a global Lua variable \('\w+'\)/
--- grep_error_log_out eval
["writing a global Lua variable ('1')\n", ""]



=== TEST 9: with lua_code_cache off each session has its own VM, so its own globals
--- stream_server_config
    lua_code_cache off;
    content_by_lua_block {
        ngx.say("before: ", tostring(per_vm))
        per_vm = 1
    }
--- stream_response
before: nil
--- grep_error_log eval: qr/writing a global Lua variable \('\w+'\)/
--- grep_error_log_out eval
["writing a global Lua variable ('per_vm')\n", "writing a global Lua variable ('per_vm')\n"]



=== TEST 10: a global function defined by one connection is callable by the next
--- stream_server_config
    content_by_lua_block {
        if helper then
            ngx.say(helper())
        else
            function helper() return "defined earlier" end
            ngx.say("defined now")
        end
    }
--- stream_response_like chomp
^defined (now|earlier)$
--- grep_error_log eval: qr/writing a global Lua variable \('\w+'\)/
--- grep_error_log_out eval
["writing a global Lua variable ('helper')\n", ""]
