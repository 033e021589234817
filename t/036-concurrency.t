# Many sessions at once.

use Test::Nginx::Socket::Lua::Stream;

repeat_each(1);
worker_connections(4096);
plan tests => repeat_each() * (blocks() * 3);
no_long_string();
run_tests();

__DATA__

=== TEST 1: a thousand concurrent connections that each sleep are all answered
--- stream_config
    server {
        listen 127.0.0.1:$TEST_NGINX_RAND_PORT_1;
        content_by_lua_block {
            ngx.sleep(0.5)
            ngx.say("slept")
        }
    }
--- stream_server_config
    content_by_lua_block {
        local threads = {}
        for i = 1, 1000 do
            threads[i] = ngx.thread.spawn(function()
                local sock = ngx.socket.tcp()
                sock:settimeout(10000)
                local ok, err = sock:connect("127.0.0.1", $TEST_NGINX_RAND_PORT_1)
                if not ok then return "connect: " .. err end
                return sock:receive()
            end)
        end
        local answers = {}
        for i = 1, 1000 do
            local _, res = ngx.thread.wait(threads[i])
            answers[res] = (answers[res] or 0) + 1
        end
        for k, n in pairs(answers) do ngx.say(k, ": ", n) end
    }
--- stream_response
slept: 1000
--- timeout: 20
--- no_error_log
[error]
[alert]

