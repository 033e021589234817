# ngx.socket.udp() edge cases: a datagram longer than the receive size is cut and its rest
# is gone (one receive, one datagram, as recv(2) on a datagram socket), and a receive that
# timed out leaves no timer behind to end a later receive early.

use Test::Nginx::Socket::Lua::Stream;

repeat_each(1);

plan tests => repeat_each() * (blocks() * 2);

no_long_string();
run_tests();

__DATA__

=== TEST 1: a datagram longer than the receive size is cut; the next receive gets the next datagram
--- stream_config
    server {
        listen 127.0.0.1:$TEST_NGINX_RAND_PORT_1 udp;
        content_by_lua_block {
            local sock = ngx.req.socket()
            sock:send(sock:receive())
        }
    }
--- stream_server_config
    content_by_lua_block {
        local udp = ngx.socket.udp()
        udp:settimeout(5000)
        assert(udp:setpeername("127.0.0.1", $TEST_NGINX_RAND_PORT_1))
        assert(udp:send("0123456789abcdefghij"))
        ngx.say("first: ", udp:receive(5))
        assert(udp:send("next"))
        ngx.say("second: ", udp:receive())
        ngx.say("close: ", udp:close())
    }
--- stream_response
first: 01234
second: next
close: 1
--- no_error_log
[error]



=== TEST 2: after a receive timeout, a later receive waits its own full timeout
--- stream_config
    server {
        listen 127.0.0.1:$TEST_NGINX_RAND_PORT_1 udp;
        content_by_lua_block {
            -- takes the datagram and answers nothing
            ngx.req.socket():receive()
        }
    }
--- stream_server_config
    content_by_lua_block {
        local udp = ngx.socket.udp()
        udp:settimeout(50)
        assert(udp:setpeername("127.0.0.1", $TEST_NGINX_RAND_PORT_1))
        assert(udp:send("ping"))
        ngx.say("first: ", udp:receive())
        udp:settimeout(400)
        ngx.update_time()
        local start = ngx.now()
        local data, err = udp:receive()
        ngx.update_time()
        ngx.say("second: ", data, " ", err, " full wait: ", ngx.now() - start >= 0.35)
    }
--- stream_response
first: niltimeout
second: nil timeout full wait: true
--- error_log eval
qr/\[error\] .*lua udp socket read timed out/
