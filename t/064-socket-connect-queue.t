# ngx.socket.tcp connect waiting in a pool's queue (backlog): a waiter that is killed, or
# whose session ends, gives its place and its slot back, and nothing wakes it afterwards.
# Behaviour follows stream-lua v0.0.16 (see upstream t/068-socket-keepalive.t's backlog tests).

use Test::Nginx::Socket::Lua::Stream;

repeat_each(1);
plan tests => repeat_each() * (blocks() * 3);
no_long_string();
run_tests();

__DATA__

=== TEST 1: a thread killed while its connect waits in the queue gives its slot back; the connection put back goes to the next connect
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
        local opts = { pool = "kq", pool_size = 1, backlog = 1 }
        local first = ngx.socket.tcp()
        ngx.say("first: ", first:connect("127.0.0.1", $TEST_NGINX_RAND_PORT_1, opts))
        local waiter = ngx.thread.spawn(function()
            local sock = ngx.socket.tcp()
            return sock:connect("127.0.0.1", $TEST_NGINX_RAND_PORT_1, opts)
        end)
        ngx.sleep(0.01)
        ngx.say("kill: ", ngx.thread.kill(waiter))
        -- the killed waiter's place in the backlog is free again
        local other = ngx.thread.spawn(function()
            local sock = ngx.socket.tcp()
            local ok, err = sock:connect("127.0.0.1", $TEST_NGINX_RAND_PORT_1, opts)
            local reused = sock:getreusedtimes()
            sock:close()
            return ok, err, reused
        end)
        ngx.sleep(0.01)
        first:send("ping\n")
        ngx.say("first: ", first:receive())
        ngx.say("keepalive: ", first:setkeepalive())
        local _, ok, err, reused = ngx.thread.wait(other)
        ngx.say("other: ", ok, " ", err, " ", reused)
        local again = ngx.socket.tcp()
        ngx.say("again: ", again:connect("127.0.0.1", $TEST_NGINX_RAND_PORT_1, opts))
        again:close()
    }
--- stream_response
first: 1
kill: 1
first: pong
keepalive: 1
other: 1 nil 1
again: 1
--- error_log
stream lua tcp socket abort queueing



=== TEST 2: the session ends while a connect waits in the queue: the wait goes with it, and a later connect (a timer's) finds the pool empty
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
        local opts = { pool = "sq", pool_size = 1, backlog = 2 }
        local first = ngx.socket.tcp()
        assert(first:connect("127.0.0.1", $TEST_NGINX_RAND_PORT_1, opts))
        for i = 1, 2 do
            ngx.thread.spawn(function()
                local sock = ngx.socket.tcp()
                sock:connect("127.0.0.1", $TEST_NGINX_RAND_PORT_1, opts)
                ngx.log(ngx.ERR, "a queued connect was resumed")
            end)
        end
        ngx.timer.at(0.05, function()
            local out = {}
            for i = 1, 3 do
                local sock = ngx.socket.tcp()
                sock:settimeout(200)
                local ok, err = sock:connect("127.0.0.1", $TEST_NGINX_RAND_PORT_1, opts)
                out[#out + 1] = tostring(ok) .. " " .. tostring(err) .. " " .. tostring(sock:getreusedtimes())
                sock:setkeepalive()
            end
            ngx.log(ngx.WARN, "later: ", table.concat(out, ", "))
        end)
        ngx.say("leaving")
        ngx.exit(ngx.OK)
    }
--- stream_response
leaving
--- wait: 0.2
--- error_log
later: 1 nil 0, 1 nil 1, 1 nil 2
--- no_error_log
a queued connect was resumed



=== TEST 3: a connect by name that cannot yield (inside string.gsub's callback) fails and, as upstream, keeps its pool count until its socket goes
--- stream_config
    server {
        listen 127.0.0.1:$TEST_NGINX_RAND_PORT_1;
        content_by_lua_block { ngx.say("hi") }
    }
--- stream_server_config
    content_by_lua_block {
        local opts = { pool = "ny", pool_size = 1, backlog = 0 }
        local sock = ngx.socket.tcp()
        local ok, err = pcall(string.gsub, "x", "x", function()
            sock:connect("localhost", $TEST_NGINX_RAND_PORT_1, opts)
        end)
        ngx.say(ok, " ", err)
        local s2 = ngx.socket.tcp()
        ngx.say("next: ", s2:connect("127.0.0.1", $TEST_NGINX_RAND_PORT_1, opts))
        sock = nil
        collectgarbage()
        collectgarbage()
        ngx.say("after gc: ", s2:connect("127.0.0.1", $TEST_NGINX_RAND_PORT_1, opts))
        ngx.say(s2:receive())
    }
--- stream_response
false attempt to yield across C-call boundary
next: niltoo many waiting connect operations
after gc: 1
hi
--- no_error_log
[error]
