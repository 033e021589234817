# Idle connections in a cosocket pool (setkeepalive): one whose keepalive timeout passes, or
# whose peer sends something or closes while it idles, is closed and dropped from its pool, so
# the next connect opens a new connection. Behaviour follows stream-lua v0.0.16 (see upstream
# t/068-socket-keepalive.t).

use Test::Nginx::Socket::Lua::Stream;

repeat_each(1);
plan tests => repeat_each() * (blocks() * 3);
no_long_string();
run_tests();

__DATA__

=== TEST 1: the keepalive timeout closes an idle connection; without one it stays
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
        local function cycle(pool, timeout)
            local sock = ngx.socket.tcp()
            assert(sock:connect("127.0.0.1", $TEST_NGINX_RAND_PORT_1, { pool = pool }))
            local reused = sock:getreusedtimes()
            sock:send("ping\n")
            assert(sock:receive())
            assert(sock:setkeepalive(timeout))
            return reused
        end
        cycle("short", 20)
        cycle("long", 0)
        ngx.sleep(0.1)
        ngx.say("short: ", cycle("short", 20))
        ngx.say("long: ", cycle("long", 0))
    }
--- stream_response
short: 0
long: 1
--- error_log
stream lua tcp socket keepalive max idle timeout



=== TEST 2: a peer that sends something while its connection idles gets it closed; a peer that closes too
--- stream_config
    server {
        listen 127.0.0.1:$TEST_NGINX_RAND_PORT_1;
        content_by_lua_block {
            local sock = ngx.req.socket()
            local line = sock:receive()
            ngx.say("pong")
            ngx.flush(true)
            ngx.sleep(0.02)
            if line == "chatty" then
                ngx.say("unexpected")
                ngx.sleep(0.2)
            end
        }
    }
--- stream_server_config
    content_by_lua_block {
        local function cycle(pool, line)
            local sock = ngx.socket.tcp()
            assert(sock:connect("127.0.0.1", $TEST_NGINX_RAND_PORT_1, { pool = pool }))
            local reused = sock:getreusedtimes()
            sock:send(line .. "\n")
            assert(sock:receive())
            assert(sock:setkeepalive())
            return reused
        end
        cycle("chatty", "chatty")
        cycle("closing", "bye")
        ngx.sleep(0.1)
        ngx.say("chatty: ", cycle("chatty", "again"))
        ngx.say("closing: ", cycle("closing", "again"))
    }
--- stream_response
chatty: 0
closing: 0
--- error_log
stream lua tcp socket keepalive close handler check stale events
