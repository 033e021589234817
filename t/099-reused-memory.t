# Memory a worker reuses (sessions, threads, socket objects, timer events, receive buffers,
# the spare vector of reads and ngx.say): nothing of an earlier owner shows through to the
# next one.

use Test::Nginx::Socket::Lua::Stream;

repeat_each(1);
plan tests => repeat_each() * (blocks() * 3);
no_long_string();
run_tests();

__DATA__

=== TEST 1: a socket closed with bytes still buffered: later sockets (reusing its memory and buffer) read only their own bytes
--- stream_config
    server {
        listen 127.0.0.1:$TEST_NGINX_RAND_PORT_1;
        content_by_lua_block {
            local n = ngx.req.socket():receive()
            ngx.print("line-", n, "\nleft-over-", n, "\n")
        }
    }
--- stream_server_config
    content_by_lua_block {
        local got = {}
        for i = 1, 20 do
            local sock = ngx.socket.tcp()
            assert(sock:connect("127.0.0.1", $TEST_NGINX_RAND_PORT_1))
            assert(sock:send(i .. "\n"))
            local line = assert(sock:receive())
            if line ~= "line-" .. i then
                got[#got + 1] = i .. ": " .. line
            end
            sock:close()
            if i % 5 == 0 then
                collectgarbage()
            end
        end
        ngx.say(#got == 0 and "all own lines" or table.concat(got, ", "))
    }
--- stream_response
all own lines
--- no_error_log
[error]



=== TEST 2: sessions one after another (reusing the memory of the ones before) start afresh: ngx.ctx, threads, a sleep
--- stream_config
    server {
        listen 127.0.0.1:$TEST_NGINX_RAND_PORT_1;
        content_by_lua_block {
            ngx.ctx.n = (ngx.ctx.n or 0) + 1
            local t = ngx.thread.spawn(function() ngx.sleep(0.001) return ngx.ctx.n end)
            local ok, n = ngx.thread.wait(t)
            local line = ngx.req.socket():receive()
            ngx.say(line, " ", n, " ", ngx.ctx.n)
        }
    }
--- stream_server_config
    content_by_lua_block {
        local bad = {}
        for i = 1, 30 do
            local sock = ngx.socket.tcp()
            assert(sock:connect("127.0.0.1", $TEST_NGINX_RAND_PORT_1))
            assert(sock:send("req" .. i .. "\n"))
            local line = assert(sock:receive())
            if line ~= "req" .. i .. " 1 1" then
                bad[#bad + 1] = line
            end
            sock:close()
        end
        ngx.say(#bad == 0 and "30 fresh sessions" or table.concat(bad, ", "))
    }
--- stream_response
30 fresh sessions
--- no_error_log
[error]



=== TEST 3: a sleeping thread killed (its timer cancelled without a closure) never wakes; the next sleeps still do
--- stream_server_config
    content_by_lua_block {
        local woke = 0
        for i = 1, 5 do
            local t = ngx.thread.spawn(function()
                ngx.sleep(0.05)
                woke = woke + 1
            end)
            assert(ngx.thread.kill(t))
        end
        ngx.sleep(0.1)
        local t = ngx.thread.spawn(function() ngx.sleep(0.01) woke = woke + 10 end)
        ngx.thread.wait(t)
        ngx.say("woke: ", woke)
    }
--- stream_response
woke: 10
--- no_error_log
[error]



=== TEST 4: ngx.say and receive results reuse one spare vector: interleaved sizes come out whole
--- stream_config
    server {
        listen 127.0.0.1:$TEST_NGINX_RAND_PORT_1;
        content_by_lua_block {
            local sock = ngx.req.socket()
            while true do
                local n = sock:receive()
                if not n then return end
                sock:send(string.rep(string.char(64 + n % 26), tonumber(n)) .. "\n")
            end
        }
    }
--- stream_server_config
    content_by_lua_block {
        local sock = ngx.socket.tcp()
        assert(sock:connect("127.0.0.1", $TEST_NGINX_RAND_PORT_1))
        local sizes = { 70000, 3, 5000, 1, 100000, 2 }
        for _, n in ipairs(sizes) do
            assert(sock:send(n .. "\n"))
            local line = assert(sock:receive())
            local want = string.rep(string.char(64 + n % 26), n)
            ngx.say(n, ": ", line == want and "ok" or ("bad, " .. #line .. " bytes"))
        end
        sock:close()
    }
--- stream_response
70000: ok
3: ok
5000: ok
1: ok
100000: ok
2: ok
--- no_error_log
[error]
