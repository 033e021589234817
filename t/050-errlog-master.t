# lua_capture_error_log with a master process: each worker keeps its own messages, and a
# reload (HUP) gives the new workers a fresh buffer of the new configuration.

use Test::Nginx::Socket::Lua::Stream;

repeat_each(1);
master_on();
workers(1);
log_level('debug');

plan tests => repeat_each() * (blocks() * 2);

no_long_string();

run_tests();

__DATA__

=== TEST 1: a worker captures its own messages; debug lines pass through the hook
--- stream_config
    lua_capture_error_log 64k;
--- stream_server_config
    content_by_lua_block {
        local errlog = require "ngx.errlog"
        assert(errlog.set_filter_level(ngx.WARN))
        ngx.log(ngx.WARN, "worker ", ngx.worker.pid(), " speaking")
        local res = assert(errlog.get_logs(100))
        local mine = 0
        for i = 3, #res, 3 do
            if res[i]:find("worker " .. ngx.worker.pid() .. " speaking", 1, true) then
                mine = mine + 1
            end
        end
        ngx.say("captured: ", mine)
    }
--- stream_response
captured: 1
--- no_error_log
[alert]



=== TEST 2: after a reload the old worker still captures, the new worker too
--- stream_config
    lua_capture_error_log 8k;
    server {
        listen 127.0.0.1:$TEST_NGINX_RAND_PORT_1;
        content_by_lua_block {
            ngx.log(ngx.ERR, "new worker capturing")
            local res = assert(require("ngx.errlog").get_logs(1000))
            local found = false
            for i = 3, #res, 3 do
                found = found or res[i]:find("new worker capturing", 1, true) ~= nil
            end
            ngx.say(ngx.worker.pid(), " ", found)
        }
    }
--- stream_server_config
    content_by_lua_block {
        local f = assert(io.open(ngx.config.prefix() .. "logs/nginx.pid"))
        local master = f:read("*l")
        f:close()
        os.execute("kill -HUP " .. master)
        -- this worker is told to quit; it still captures until it exits
        for i = 1, 100 do
            if ngx.worker.exiting() then break end
            ngx.sleep(0.02)
        end
        ngx.log(ngx.ERR, "old worker still capturing")
        local res = assert(require("ngx.errlog").get_logs(1000))
        local found = false
        for i = 3, #res, 3 do
            found = found or res[i]:find("old worker still capturing", 1, true) ~= nil
        end
        ngx.say("exiting: ", ngx.worker.exiting(), ", captured: ", found)

        -- the new worker answers the other server
        local sock = ngx.socket.tcp()
        assert(sock:connect("127.0.0.1", $TEST_NGINX_RAND_PORT_1))
        local line = assert(sock:receive())
        local pid, captured = line:match("(%d+) (%a+)")
        ngx.say("new worker: ", tonumber(pid) ~= ngx.worker.pid(), ", captured: ", captured)
    }
--- stream_response
exiting: true, captured: true
new worker: true, captured: true
--- wait: 0.3
--- no_error_log
[alert]
