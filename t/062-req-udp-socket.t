# ngx.req.socket() in a UDP server: receive hands out the session's one datagram in pieces of
# at most the size asked for, then nil, "no more data"; each send is a datagram back;
# settimeout takes its argument and changes nothing (reads never wait).
use Test::Nginx::Socket::Lua::Stream;

repeat_each(2);

plan tests => repeat_each() * (blocks() * 2);

no_long_string();
run_tests();

__DATA__

=== TEST 1: pieces of the datagram, then no more data; sends go back one datagram each
--- stream_config
    server {
        listen 127.0.0.1:$TEST_NGINX_RAND_PORT_1 udp;
        content_by_lua_block {
            local sock = ngx.req.socket()
            local none = select("#", sock:settimeout(100))
            local ok, terr = pcall(sock.settimeout, sock)
            local a = sock:receive(4)
            local b = sock:receive()
            local c, err = sock:receive()
            local n = sock:send(a)
            sock:send(b)
            sock:send({ tostring(c), " ", err, " ", n, " ", none })
            sock:send(terr)
        }
    }
--- stream_server_config
    content_by_lua_block {
        local udp = ngx.socket.udp()
        udp:settimeout(5000)
        assert(udp:setpeername("127.0.0.1", $TEST_NGINX_RAND_PORT_1))
        assert(udp:send("hello world"))
        for _ = 1, 4 do
            ngx.say(udp:receive())
        end
    }
--- stream_response
hell
o world
nil no more data 1 0
ngx.socket settimout: expecting 2 arguments (including the object) but seen 1
--- no_error_log
[error]
