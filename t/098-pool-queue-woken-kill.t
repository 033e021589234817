# ngx.socket.tcp connects queued in a pool (backlog) whose waiter was already told to go on
# (the pool's waker posted its event) when it is killed: the posted resume finds nothing, and
# the connection kept for it goes to the next connect.

use Test::Nginx::Socket::Lua::Stream;

repeat_each(1);
plan tests => repeat_each() * (blocks() * 3);
no_long_string();
run_tests();

__DATA__

=== TEST 1: a queued connect killed after a put-back woke it (before its posted resume ran): the connection goes to the next connect
--- stream_config
    server {
        listen 127.0.0.1:$TEST_NGINX_RAND_PORT_1;
        content_by_lua_block {
            local sock = ngx.req.socket()
            while sock:receive() do ngx.say("pong") end
        }
    }
--- stream_server_config
    content_by_lua_block {
        local opts = { pool = "wk", pool_size = 1, backlog = 2 }
        local first = ngx.socket.tcp()
        ngx.say("first: ", first:connect("127.0.0.1", $TEST_NGINX_RAND_PORT_1, opts))
        local waiter = ngx.thread.spawn(function()
            local sock = ngx.socket.tcp()
            return sock:connect("127.0.0.1", $TEST_NGINX_RAND_PORT_1, opts)
        end)
        ngx.sleep(0.01)
        first:send("ping\n")
        ngx.say("first: ", first:receive())
        -- wakes the waiter (its resume is posted), which is killed before that runs
        ngx.say("keepalive: ", first:setkeepalive())
        ngx.say("kill: ", ngx.thread.kill(waiter))
        ngx.sleep(0.01)
        local other = ngx.socket.tcp()
        ngx.say("other: ", other:connect("127.0.0.1", $TEST_NGINX_RAND_PORT_1, opts))
        ngx.say("reused: ", other:getreusedtimes())
        other:send("ping\n")
        ngx.say("other: ", other:receive())
        other:close()
    }
--- stream_response
first: 1
first: pong
keepalive: 1
kill: 1
other: 1
reused: 1
other: pong
--- error_log
stream lua tcp socket abort queueing
