# TCP cosockets against real servers: redis-server and memcached from Debian's packages,
# started by scripts/test-servers.sh (called by scripts/test.sh) on their own ports.

use Test::Nginx::Socket::Lua::Stream;

repeat_each(1);
plan tests => repeat_each() * (blocks() * 3);
$ENV{TEST_NGINX_REDIS_PORT} ||= 16379;
$ENV{TEST_NGINX_MEMCACHED_PORT} ||= 11212;
no_long_string();
run_tests();

__DATA__

=== TEST 1: redis: commands, an error reply, a pipeline, a 1 MB value, pooled connections
--- stream_server_config
    content_by_lua_block {
        local function cmd(...)
            local args = { ... }
            local req = { "*", #args, "\r\n" }
            for _, a in ipairs(args) do
                a = tostring(a)
                req[#req + 1] = { "$", #a, "\r\n", a, "\r\n" }
            end
            return req
        end
        local function reply(sock)
            local line, err = sock:receive()
            if not line then return nil, err end
            local kind, rest = line:sub(1, 1), line:sub(2)
            if kind == "$" then
                local n = tonumber(rest)
                if n < 0 then return ngx.null end
                local data = sock:receive(n + 2)
                return data:sub(1, n)
            end
            return kind .. rest
        end
        for round = 1, 2 do
            local sock = ngx.socket.tcp()
            assert(sock:connect("127.0.0.1", $TEST_NGINX_REDIS_PORT))
            ngx.say("reused: ", sock:getreusedtimes())
            sock:send(cmd("SET", "stream-lua-rs:k", "value " .. round))
            ngx.say(reply(sock), " ", reply(sock, sock:send(cmd("GET", "stream-lua-rs:k"))))
            sock:send(cmd("NOSUCHCOMMAND"))
            ngx.say(reply(sock):sub(1, 25))
            sock:send(cmd("DEL", "stream-lua-rs:n"))
            reply(sock)
            local pipeline = {}
            for i = 1, 100 do pipeline[i] = cmd("INCR", "stream-lua-rs:n") end
            sock:send(pipeline)
            local last
            for i = 1, 100 do last = reply(sock) end
            ngx.say("pipelined: ", last)
            local big = string.rep("r", 1024 * 1024)
            sock:send(cmd("SET", "stream-lua-rs:big", big))
            reply(sock)
            sock:send(cmd("GET", "stream-lua-rs:big"))
            ngx.say("big: ", reply(sock) == big)
            assert(sock:setkeepalive())
        end
    }
--- stream_response
reused: 0
+OK value 1
-ERR unknown command 'NOS
pipelined: :100
big: true
reused: 1
+OK value 2
-ERR unknown command 'NOS
pipelined: :100
big: true
--- no_error_log
[error]



=== TEST 2: memcached: set, get, a missing key, a 512 KB value
--- stream_server_config
    content_by_lua_block {
        local sock = ngx.socket.tcp()
        assert(sock:connect("127.0.0.1", $TEST_NGINX_MEMCACHED_PORT))
        local value = "hello, memcached"
        sock:send({ "set stream-lua-rs 0 0 ", #value, "\r\n", value, "\r\n" })
        ngx.say(sock:receive())
        sock:send("get stream-lua-rs\r\n")
        local header = sock:receive()
        local len = tonumber(header:match("(%d+)$"))
        local data = sock:receive(len + 2)
        ngx.say(header, " / ", data:sub(1, len), " / ", sock:receive())
        sock:send("get stream-lua-rs-missing\r\n")
        ngx.say(sock:receive())
        local big = string.rep("m", 512 * 1024)
        sock:send({ "set stream-lua-rs-big 0 0 ", #big, "\r\n", big, "\r\n" })
        ngx.say(sock:receive())
        sock:send("get stream-lua-rs-big\r\n")
        local reader = sock:receiveuntil("\r\nEND\r\n")
        local got = reader()
        ngx.say("big: ", got:sub(-#big) == big)
        sock:send("quit\r\n")
        ngx.say(sock:receive())
    }
--- stream_response
STORED
VALUE stream-lua-rs 0 16 / hello, memcached / END
END
STORED
big: true
nilclosed
--- no_error_log
[error]
