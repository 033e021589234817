# require "ngx.process" without a master process (nginx runs as a single process here).
# Behaviour follows lua-resty-core v0.1.31's lib/ngx/process.lua over stream-lua v0.0.16's
# src/ngx_stream_lua_worker.c: type() names nginx's process kind; enable_privileged_agent()
# works only in init_by_lua* and, on a stock nginx (no OpenResty core patch), fails with
# upstream's message; get_master_pid() is this process's pid in single-process mode.
# The single-process blocks skip in HUP mode, which runs a master (as lua-nginx-module's
# t/163-signal.t, about single-process behaviour too, skips there).

use Test::Nginx::Socket::Lua::Stream;

repeat_each(2);

plan tests => repeat_each() * (blocks() * 2);

no_long_string();

run_tests();

__DATA__

=== TEST 1: type() in a single nginx process
--- skip_eval: 2: $ENV{TEST_NGINX_USE_HUP}
--- stream_server_config
    content_by_lua_block {
        local process = require "ngx.process"
        ngx.say("type: ", process.type())
    }
--- stream_response
type: single
--- no_error_log
[error]



=== TEST 2: type() in init_by_lua and init_worker_by_lua
--- skip_eval: 2: $ENV{TEST_NGINX_USE_HUP}
--- stream_config
    init_by_lua_block {
        init_type = require("ngx.process").type()
    }
    init_worker_by_lua_block {
        worker_type = require("ngx.process").type()
    }
--- stream_server_config
    content_by_lua_block {
        ngx.say("init: ", init_type, ", init_worker: ", worker_type)
    }
--- stream_response
init: single, init_worker: single
--- no_error_log
[error]



=== TEST 3: type() in a timer, preread and log phases
--- skip_eval: 2: $ENV{TEST_NGINX_USE_HUP}
--- stream_server_config
    preread_by_lua_block {
        ngx.ctx.preread = require("ngx.process").type()
    }
    content_by_lua_block {
        ngx.timer.at(0, function()
            ngx.log(ngx.WARN, "timer sees type ", require("ngx.process").type())
        end)
        ngx.say("preread: ", ngx.ctx.preread)
    }
    log_by_lua_block {
        ngx.log(ngx.WARN, "log phase sees type ", require("ngx.process").type())
    }
--- stream_response
preread: single
--- error_log
timer sees type single
log phase sees type single



=== TEST 4: get_master_pid() is this process in single-process mode
--- skip_eval: 2: $ENV{TEST_NGINX_USE_HUP}
--- stream_server_config
    content_by_lua_block {
        local process = require "ngx.process"
        local pid = process.get_master_pid()
        ngx.say(type(pid), " ", pid == ngx.worker.pid())
    }
--- stream_response
number true
--- no_error_log
[error]



=== TEST 5: enable_privileged_agent() outside init_by_lua
--- stream_server_config
    content_by_lua_block {
        local process = require "ngx.process"
        local ok, err = process.enable_privileged_agent()
        ngx.say(ok, " ", err)
    }
--- stream_response
nil API disabled in the current context
--- no_error_log
[error]



=== TEST 6: enable_privileged_agent() in init_worker_by_lua
--- stream_config
    init_worker_by_lua_block {
        local ok, err = require("ngx.process").enable_privileged_agent(10)
        agent_result = tostring(ok) .. " " .. tostring(err)
    }
--- stream_server_config
    content_by_lua_block {
        ngx.say(agent_result)
    }
--- stream_response
nil API disabled in the current context
--- no_error_log
[error]



=== TEST 7: enable_privileged_agent() in init_by_lua: stock nginx has no privileged agent
--- stream_config
    init_by_lua_block {
        local ok, err = require("ngx.process").enable_privileged_agent()
        agent_result = tostring(ok) .. " " .. tostring(err)
    }
--- stream_server_config
    content_by_lua_block {
        ngx.say(agent_result)
    }
--- stream_response
nil missing privileged agent process patch in the nginx core
--- no_error_log
[error]



=== TEST 8: enable_privileged_agent() with a bad connections argument
--- stream_config
    init_by_lua_block {
        local process = require "ngx.process"
        results = {}
        for _, arg in ipairs({ -1, "many", true }) do
            local ok, err = process.enable_privileged_agent(arg)
            results[#results + 1] = tostring(ok) .. " " .. tostring(err)
        end
        local ok, err = process.enable_privileged_agent(0)
        results[#results + 1] = "0: " .. tostring(ok) .. " " .. tostring(err)
    }
--- stream_server_config
    content_by_lua_block {
        ngx.say(table.concat(results, "\n"))
    }
--- stream_response
nil bad 'connections' argument: number expected and greater than 0
nil bad 'connections' argument: number expected and greater than 0
nil bad 'connections' argument: number expected and greater than 0
0: nil missing privileged agent process patch in the nginx core
--- no_error_log
[error]



=== TEST 9: the module's fields
--- stream_server_config
    content_by_lua_block {
        local process = require("ngx.process")
        local names = {}
        for k, v in pairs(process) do
            names[#names + 1] = k .. ":" .. type(v)
        end
        table.sort(names)
        ngx.say(table.concat(names, " "))
    }
--- stream_response
enable_privileged_agent:function get_master_pid:function signal_graceful_exit:function type:function version:string
--- no_error_log
[error]



=== TEST 10: type() in a hot loop compiles (traces, no aborts)
--- skip_eval: 2: $ENV{TEST_NGINX_USE_HUP}
--- stream_server_config
    content_by_lua_block {
        local stops, aborts = 0, 0
        local function on_trace(what)
            if what == "stop" then
                stops = stops + 1
            elseif what == "abort" then
                aborts = aborts + 1
            end
        end
        jit.flush()
        jit.attach(on_trace, "trace")
        local typ = require("ngx.process").type
        local v
        for i = 1, 300 do
            v = typ()
        end
        jit.attach(on_trace)
        ngx.say(v, ", traced: ", stops > 0, ", aborts: ", aborts)
    }
--- stream_response
single, traced: true, aborts: 0
--- no_error_log
[error]
