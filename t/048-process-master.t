# require "ngx.process" with a master process and one worker (lua-resty-core v0.1.31's
# lib/ngx/process.lua over stream-lua v0.0.16's src/ngx_stream_lua_worker.c).

use Test::Nginx::Socket::Lua::Stream;

repeat_each(1);
master_on();
workers(1);

plan tests => repeat_each() * (blocks() * 2);

no_long_string();

run_tests();

__DATA__

=== TEST 1: the master runs init_by_lua, the worker the rest
--- stream_config
    init_by_lua_block {
        init_type = require("ngx.process").type()
    }
    init_worker_by_lua_block {
        worker_type = require("ngx.process").type()
    }
--- stream_server_config
    content_by_lua_block {
        ngx.say("init: ", init_type, ", init_worker: ", worker_type,
                ", content: ", require("ngx.process").type())
    }
--- stream_response
init: master, init_worker: worker, content: worker
--- no_error_log
[error]



=== TEST 2: get_master_pid() is the master's pid (as in the pid file)
--- stream_server_config
    content_by_lua_block {
        local f = assert(io.open(ngx.config.prefix() .. "logs/nginx.pid"))
        local from_file = tonumber(f:read("*l"))
        f:close()
        local pid = require("ngx.process").get_master_pid()
        ngx.say(pid == from_file, " ", pid ~= ngx.worker.pid())
    }
--- stream_response
true true
--- no_error_log
[error]



=== TEST 3: signal_graceful_exit() makes the worker exit gracefully (the master starts another)
--- stream_server_config
    content_by_lua_block {
        require("ngx.process").signal_graceful_exit()
        for i = 1, 100 do
            if ngx.worker.exiting() then
                break
            end
            ngx.sleep(0.01)
        end
        ngx.say("exiting: ", ngx.worker.exiting())
    }
--- stream_response
exiting: true
--- wait: 0.3
--- error_log eval
[qr/\[notice\] \d+#\d+: gracefully shutting down/,
qr/\[notice\] \d+#\d+: worker process \d+ exited with code 0/]
--- grep_error_log eval
qr/start worker process \d+/
--- grep_error_log_out eval
qr/\Astart worker process \d+\nstart worker process \d+\n\z/
