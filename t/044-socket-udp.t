# ngx.socket.udp(): the UDP client cosocket. Behaviour follows stream-lua v0.0.16
# (upstream t/087-udp-socket.t and src/ngx_stream_lua_socket_udp.c). Peers are the runner's
# udp_listen mock or an nginx UDP server of the same configuration that echoes datagrams.
use Test::Nginx::Socket::Lua::Stream;

repeat_each(2);

plan tests => repeat_each() * (blocks() * 3);

no_long_string();
run_tests();

__DATA__

=== TEST 1: sanity: setpeername, send, receive one datagram, close
--- stream_server_config
    content_by_lua_block {
        local udp = ngx.socket.udp()
        udp:settimeout(5000)
        local ok, err = udp:setpeername("127.0.0.1", $TEST_NGINX_RAND_PORT_1)
        ngx.say("setpeername: ", ok, " ", err)
        ngx.say("send: ", udp:send("hello, server"))
        local data, err = udp:receive()
        ngx.say("received ", #data, " bytes: ", data)
        ngx.say("close: ", udp:close())
        ngx.say("close again: ", udp:close())
    }
--- udp_listen: $TEST_NGINX_RAND_PORT_1
--- udp_reply: hello, client
--- udp_query: hello, server
--- stream_response
setpeername: 1 nil
send: 1
received 13 bytes: hello, client
close: 1
close again: nilclosed
--- log_level: debug
--- error_log
lua udp socket receive buffer size: 8192
--- no_error_log
[error]



=== TEST 2: an nginx UDP server as the peer; receive sizes are capped at 8192
--- stream_config
    server {
        listen 127.0.0.1:$TEST_NGINX_RAND_PORT_1 udp;
        content_by_lua_block {
            local sock = ngx.req.socket()
            local data = sock:receive()
            sock:send(data)
        }
    }
--- stream_server_config
    content_by_lua_block {
        local udp = ngx.socket.udp()
        udp:settimeout(5000)
        assert(udp:setpeername("127.0.0.1", $TEST_NGINX_RAND_PORT_1))
        local function query(data, size)
            assert(udp:send(data))
            local got, err = udp:receive(size)
            if not got then
                return "failed: " .. err
            end
            return #got .. " " .. got:sub(1, 12)
        end
        ngx.say(query("hello world", 5))
        ngx.say(query(string.rep("a", 8000)))
        ngx.say(query(string.rep("b", 10000)))
        ngx.say(query(string.rep("c", 10000), 20000))
        ngx.say(query("xy", 0))
        ngx.say(query("neg", -1))
    }
--- stream_response
5 hello
8000 aaaaaaaaaaaa
8192 bbbbbbbbbbbb
8192 cccccccccccc
0 
3 neg
--- log_level: debug
--- error_log
lua udp socket receive buffer size: 5
lua udp socket receive buffer size: 0
--- no_error_log
[error]



=== TEST 3: send takes strings, numbers, booleans, nil and nested array tables
--- stream_config
    server {
        listen 127.0.0.1:$TEST_NGINX_RAND_PORT_1 udp;
        content_by_lua_block {
            local sock = ngx.req.socket()
            local data = sock:receive()
            sock:send("[" .. data .. "]")
        }
    }
--- stream_server_config
    content_by_lua_block {
        local udp = ngx.socket.udp()
        udp:settimeout(5000)
        assert(udp:setpeername("127.0.0.1", $TEST_NGINX_RAND_PORT_1))
        for _, v in ipairs({"str", 3.5, true, false, {"a", {"b", 1}, 2}}) do
            assert(udp:send(v))
            ngx.say(udp:receive())
        end
        assert(udp:send(nil))
        ngx.say(udp:receive())
    }
--- stream_response
[str]
[3.5]
[true]
[false]
[ab12]
[nil]
--- log_level: debug
--- grep_error_log eval
qr/sendto: fd:\d+ \d+ of \d+ to ""/
--- grep_error_log_out eval
qr/sendto: fd:\d+ 3 of 3 to ""
sendto: fd:\d+ 3 of 3 to ""
sendto: fd:\d+ 4 of 4 to ""
sendto: fd:\d+ 5 of 5 to ""
sendto: fd:\d+ 4 of 4 to ""
sendto: fd:\d+ 3 of 3 to ""
/



=== TEST 4: bad arguments
--- stream_server_config
    content_by_lua_block {
        local udp = ngx.socket.udp()
        local function try(f, ...)
            local ok, err = pcall(f, ...)
            ngx.say(err)
        end
        try(ngx.socket.udp, 1)
        try(udp.setpeername, udp)
        try(udp.setpeername, udp, "127.0.0.1", 1, 2)
        try(udp.setpeername, udp, nil, 80)
        try(udp.setpeername, udp, "127.0.0.1", "abc")
        try(udp.setpeername, udp, {}, 80)
        ngx.say(udp:setpeername("127.0.0.1", 65536))
        ngx.say(udp:setpeername("127.0.0.1", -1))
        ngx.say(udp:setpeername("[::1", 80))
        ngx.say(udp:setpeername("localhost", 80))
        assert(udp:setpeername("127.0.0.1", "1234"))
        try(udp.send, udp)
        try(udp.send, udp, function() end)
        try(udp.send, udp, {"a", true})
        try(udp.receive, udp, "abc")
        try(udp.receive, udp, 1, 2)
        try(udp.receive)
        try(udp.settimeout, udp)
        try(udp.close, udp, 1)
        try(udp.close, 1)
    }
--- stream_response
expecting zero arguments, but got 1
ngx.socket.udp setpeername: expecting 2 or 3 arguments (including the object), but seen 1
ngx.socket.udp setpeername: expecting 2 or 3 arguments (including the object), but seen 4
bad argument #2 to '?' (string expected, got nil)
bad argument #3 to '?' (number expected, got string)
bad argument #2 to '?' (string expected, got table)
nilbad port number: 65536
nilbad port number: -1
nilfailed to parse host name "[::1": invalid host
nilno resolver defined to resolve "localhost"
expecting 2 arguments (including the object), but got 1
bad argument #2 to '?' (string, number, boolean, nil, or array table expected, got function)
bad argument #2 to '?' (bad data type boolean found)
bad argument #2 to '?' (number expected, got string)
expecting 1 or 2 arguments (including the object), but got 3
expecting 1 or 2 arguments (including the object), but got 0
ngx.socket settimout: expecting at least 2 arguments (including the object) but seen 1
expecting 1 argument (including the object) but seen 2
bad argument #1 to '?' (table expected, got number)
--- no_error_log
[error]



=== TEST 5: a bad self, named as the caller wrote it
--- stream_server_config
    content_by_lua_block {
        local udp = ngx.socket.udp()
        local ok, err = pcall(function() local r = udp.send("x", "data") return r end)
        ngx.say(err)
        ok, err = pcall(function() local r = udp.receive(42) return r end)
        ngx.say(err)
        ok, err = pcall(function() local r = udp:setpeername(true, 1) return r end)
        ngx.say(err)
        -- a table that is no UDP socket counts as a closed one
        ngx.say(udp.send({}, "x"))
    }
--- stream_response_like
^content_by_lua\(nginx\.conf:\d+\):3: bad argument #1 to 'send' \(table expected, got string\)
content_by_lua\(nginx\.conf:\d+\):5: bad argument #1 to 'receive' \(table expected, got number\)
content_by_lua\(nginx\.conf:\d+\):7: bad argument #1 to 'setpeername' \(string expected, got boolean\)
nilclosed
--- error_log
attempt to send data on a closed socket: u:0000000000000000, c:0000000000000000



=== TEST 6: calls on a socket that is not connected, or closed, fail with "closed" and a log line
--- stream_server_config
    content_by_lua_block {
        local udp = ngx.socket.udp()
        ngx.say("send: ", udp:send("a"))
        ngx.say("receive: ", udp:receive())
        ngx.say("close: ", udp:close())
        assert(udp:setpeername("127.0.0.1", 12345))
        assert(udp:close())
        ngx.say("send: ", udp:send("a"))
        ngx.say("receive: ", udp:receive())
        ngx.say("close: ", udp:close())
    }
--- stream_response
send: nilclosed
receive: nilclosed
close: nilclosed
send: nilclosed
receive: nilclosed
close: nilclosed
--- grep_error_log eval
qr/attempt to \w+ data on a closed socket: u:0+, c:0+|attempt to \w+ data on a closed socket: u:[0-9A-F]*[1-9A-F][0-9A-F]*, c:0+/
--- grep_error_log_out eval
qr/^attempt to send data on a closed socket: u:0+, c:0+
attempt to receive data on a closed socket: u:0+, c:0+
attempt to send data on a closed socket: u:[0-9A-F]+, c:0+
attempt to receive data on a closed socket: u:[0-9A-F]+, c:0+
$/



=== TEST 7: lua_socket_log_errors off silences the closed-socket and timeout lines
--- stream_server_config
    lua_socket_log_errors off;
    content_by_lua_block {
        local udp = ngx.socket.udp()
        ngx.say("send: ", udp:send("a"))
        ngx.say("receive: ", udp:receive())
        udp:settimeout(10)
        assert(udp:setpeername("127.0.0.1", $TEST_NGINX_RAND_PORT_1))
        ngx.say("receive: ", udp:receive())
    }
--- stream_response
send: nilclosed
receive: nilclosed
receive: niltimeout
--- no_error_log
attempt to
lua udp socket read timed out
[error]



=== TEST 8: receive times out (nothing sent), then gets a reply; timeouts from settimeout
--- stream_config
    server {
        listen 127.0.0.1:$TEST_NGINX_RAND_PORT_1 udp;
        content_by_lua_block {
            local sock = ngx.req.socket()
            sock:send(sock:receive())
        }
    }
--- stream_server_config
    lua_socket_read_timeout 1234ms;
    content_by_lua_block {
        local udp = ngx.socket.udp()
        udp:settimeout(20)
        assert(udp:setpeername("127.0.0.1", $TEST_NGINX_RAND_PORT_1))
        ngx.say("receive: ", udp:receive())
        ngx.say("receive: ", udp:receive())
        udp:settimeout(0)
        assert(udp:send("ping"))
        ngx.say("receive: ", udp:receive())
    }
--- stream_response
receive: niltimeout
receive: niltimeout
receive: ping
--- log_level: debug
--- error_log
lua udp socket read timeout: 20
lua udp socket read timeout: 1234
lua udp socket read timed out



=== TEST 9: a datagram unix domain socket peer
--- stream_server_config
    content_by_lua_block {
        local udp = ngx.socket.udp()
        udp:settimeout(5000)
        assert(udp:setpeername("unix:t044-udp.sock"))
        assert(udp:send("hello,\nserver"))
        local data, err = udp:receive()
        ngx.say("received ", #data, " bytes: ", data)
    }
--- udp_listen: t044-udp.sock
--- udp_reply: hello, client
--- udp_query eval
"hello,\nserver"
--- stream_response
received 13 bytes: hello, client
--- no_error_log
[error]
[crit]



=== TEST 10: IPv6 literal addresses
--- stream_config
    server {
        listen [::1]:$TEST_NGINX_RAND_PORT_1 udp;
        content_by_lua_block {
            local sock = ngx.req.socket()
            sock:send("v6: " .. sock:receive())
        }
    }
--- stream_server_config
    content_by_lua_block {
        local udp = ngx.socket.udp()
        udp:settimeout(5000)
        ngx.say(udp:setpeername("[::1]", $TEST_NGINX_RAND_PORT_1))
        assert(udp:send("hi"))
        ngx.say(udp:receive())
        ngx.say(udp:setpeername("[::1]:$TEST_NGINX_RAND_PORT_1"))
        assert(udp:send("again"))
        ngx.say(udp:receive())
    }
--- stream_response
1
v6: hi
1
v6: again
--- no_error_log
[error]



=== TEST 11: connection refused is reported by receive, as upstream
--- stream_server_config
    content_by_lua_block {
        local udp = ngx.socket.udp()
        udp:settimeout(5000)
        assert(udp:setpeername("127.0.0.1", $TEST_NGINX_RAND_PORT_1))
        assert(udp:send("anyone?"))
        ngx.say("receive: ", udp:receive())
    }
--- stream_response
receive: nilconnection refused
--- error_log eval
qr/recv\(\) failed \(\d+: Connection refused\)/



=== TEST 12: setpeername again closes the previous connection first
--- stream_config
    server {
        listen 127.0.0.1:$TEST_NGINX_RAND_PORT_1 udp;
        content_by_lua_block {
            local sock = ngx.req.socket()
            sock:send("1: " .. sock:receive())
        }
    }
    server {
        listen 127.0.0.1:$TEST_NGINX_RAND_PORT_2 udp;
        content_by_lua_block {
            local sock = ngx.req.socket()
            sock:send("2: " .. sock:receive())
        }
    }
--- stream_server_config
    content_by_lua_block {
        local udp = ngx.socket.udp()
        udp:settimeout(5000)
        assert(udp:setpeername("127.0.0.1", $TEST_NGINX_RAND_PORT_1))
        assert(udp:send("a"))
        ngx.say(udp:receive())
        assert(udp:setpeername("127.0.0.1", $TEST_NGINX_RAND_PORT_2))
        assert(udp:send("b"))
        ngx.say(udp:receive())
    }
--- stream_response
1: a
2: b
--- log_level: debug
--- error_log
lua udp socket reconnect without shutting down
lua reuse socket upstream ctx
--- no_error_log
[error]



=== TEST 13: other threads of the session find the socket busy while one waits in receive
--- stream_server_config
    content_by_lua_block {
        local udp = ngx.socket.udp()
        udp:settimeout(10000)
        assert(udp:setpeername("127.0.0.1", $TEST_NGINX_RAND_PORT_1))
        local t = ngx.thread.spawn(function() return udp:receive() end)
        ngx.say("send: ", udp:send("x"))
        ngx.say("receive: ", udp:receive())
        ngx.say("close: ", udp:close())
        ngx.say("setpeername: ", udp:setpeername("127.0.0.1", 1))
        ngx.say("kill: ", ngx.thread.kill(t))
        -- the killed receive closed the socket, as upstream's cleanup does
        ngx.say("send after kill: ", udp:send("x"))
    }
--- stream_response
send: nilsocket busy
receive: nilsocket busy
close: nilsocket busy
setpeername: nilsocket busy
kill: 1
send after kill: nilclosed
--- log_level: debug
--- error_log
lua close socket connection
--- no_error_log
lua udp socket read timed out



=== TEST 14: a session that exits while a thread waits in receive frees the socket
--- stream_server_config
    content_by_lua_block {
        local udp = ngx.socket.udp()
        udp:settimeout(10000)
        assert(udp:setpeername("127.0.0.1", $TEST_NGINX_RAND_PORT_1))
        ngx.thread.spawn(function() udp:receive() ngx.log(ngx.ERR, "woke up") end)
        ngx.say("exiting")
        ngx.exit(ngx.OK)
    }
--- stream_response
exiting
--- log_level: debug
--- error_log
lua close socket connection
--- no_error_log
woke up
lua udp socket read timed out



=== TEST 15: use from a timer
--- stream_config
    server {
        listen 127.0.0.1:$TEST_NGINX_RAND_PORT_1 udp;
        content_by_lua_block {
            local sock = ngx.req.socket()
            sock:send("timer got: " .. sock:receive())
        }
    }
--- stream_server_config
    content_by_lua_block {
        local sem = require("ngx.semaphore").new()
        local res
        ngx.timer.at(0, function()
            local udp = ngx.socket.udp()
            udp:settimeout(5000)
            assert(udp:setpeername("127.0.0.1", $TEST_NGINX_RAND_PORT_1))
            assert(udp:send("ping"))
            res = {udp:receive()}
            sem:post()
        end)
        assert(sem:wait(5))
        ngx.say(unpack(res))
    }
--- stream_response
timer got: ping
--- no_error_log
[error]



=== TEST 16: made in preread, used in preread and content of the same session
--- stream_config
    server {
        listen 127.0.0.1:$TEST_NGINX_RAND_PORT_1 udp;
        content_by_lua_block {
            local sock = ngx.req.socket()
            sock:send("echo " .. sock:receive())
        }
    }
--- stream_server_config
    preread_by_lua_block {
        local udp = ngx.socket.udp()
        udp:settimeout(5000)
        assert(udp:setpeername("127.0.0.1", $TEST_NGINX_RAND_PORT_1))
        assert(udp:send("from preread"))
        ngx.ctx.first = udp:receive()
        ngx.ctx.udp = udp
    }
    content_by_lua_block {
        ngx.say(ngx.ctx.first)
        local udp = ngx.ctx.udp
        assert(udp:send("from content"))
        ngx.say(udp:receive())
    }
--- stream_response
echo from preread
echo from content
--- no_error_log
[error]



=== TEST 17: a socket of another session is a "bad request"
--- stream_server_config
    content_by_lua_block {
        local udp = ngx.socket.udp()
        assert(udp:setpeername("127.0.0.1", $TEST_NGINX_RAND_PORT_1))
        local sem = require("ngx.semaphore").new()
        local errs = {}
        ngx.timer.at(0, function()
            local ok, err = pcall(udp.send, udp, "x")
            errs[#errs + 1] = "send: " .. tostring(err)
            ok, err = pcall(udp.receive, udp)
            errs[#errs + 1] = "receive: " .. tostring(err)
            ok, err = pcall(udp.close, udp)
            errs[#errs + 1] = "close: " .. tostring(err)
            local ok, err = pcall(udp.setpeername, udp, "127.0.0.1", 1)
            errs[#errs + 1] = "setpeername: " .. tostring(err)
            sem:post()
        end)
        assert(sem:wait(5))
        ngx.say(table.concat(errs, "\n"))
        ngx.say("owner: ", udp:close())
    }
--- stream_response
send: bad request
receive: bad request
close: bad request
setpeername: bad request
owner: 1
--- no_error_log
[error]



=== TEST 18: not in the log phase
--- stream_server_config
    content_by_lua_block {
        ngx.say("ok")
    }
    log_by_lua_block {
        local ok, err = pcall(ngx.socket.udp)
        ngx.log(ngx.WARN, "udp in log: ", err)
    }
--- stream_response
ok
--- error_log
udp in log: API disabled in the context of log_by_lua*
--- no_error_log
[error]



=== TEST 19: not in init_by_lua nor init_worker_by_lua
--- stream_config
    init_by_lua_block {
        local ok, err = pcall(ngx.socket.udp)
        init_err = err
    }
    init_worker_by_lua_block {
        local ok, err = pcall(ngx.socket.udp)
        init_worker_err = err
    }
--- stream_server_config
    content_by_lua_block {
        ngx.say("init: ", init_err)
        ngx.say("init_worker: ", init_worker_err)
    }
--- stream_response
init: no request found
init_worker: API disabled in the context of init_worker_by_lua*
--- no_error_log
[error]



=== TEST 20: the socket is closed when its object is collected
--- stream_server_config
    content_by_lua_block {
        -- the only reference goes when the function returns
        local function open_and_drop()
            assert(ngx.socket.udp():setpeername("127.0.0.1", $TEST_NGINX_RAND_PORT_1))
        end
        open_and_drop()
        collectgarbage()
        ngx.log(ngx.WARN, "gc done")
        ngx.say("ok")
    }
--- stream_response
ok
--- log_level: debug
--- grep_error_log eval
qr/cleanup lua udp socket upstream request|lua close socket connection|gc done/
--- grep_error_log_out
cleanup lua udp socket upstream request
lua close socket connection
gc done



=== TEST 21: a socket outliving its session is closed; its new owner must be its maker
--- stream_server_config
    content_by_lua_block {
        local udp = ngx.socket.udp()
        assert(udp:setpeername("127.0.0.1", $TEST_NGINX_RAND_PORT_1))
        ngx.timer.at(0, function()
            ngx.log(ngx.WARN, "send: ", select(2, udp:send("x")))
            ngx.log(ngx.WARN, "close: ", select(2, udp:close()))
            local ok, err = pcall(udp.setpeername, udp, "127.0.0.1", 1)
            ngx.log(ngx.WARN, "setpeername: ", err)
        end)
        ngx.say("done")
    }
--- stream_response
done
--- log_level: debug
--- grep_error_log eval
qr/cleanup lua udp socket upstream request|send: closed|close: closed|setpeername: bad request/
--- grep_error_log_out
cleanup lua udp socket upstream request
send: closed
close: closed
setpeername: bad request
--- error_log
attempt to send data on a closed socket



=== TEST 22: lua_code_cache off: the session's own VM goes with its sockets
--- stream_server_config
    lua_code_cache off;
    content_by_lua_block {
        local udp = ngx.socket.udp()
        assert(udp:setpeername("127.0.0.1", $TEST_NGINX_RAND_PORT_1))
        local udp2 = ngx.socket.udp()
        assert(udp2:setpeername("127.0.0.1", $TEST_NGINX_RAND_PORT_1))
        assert(udp2:close())
        ngx.say("done")
    }
--- stream_response
done
--- log_level: debug
--- error_log
cleanup lua udp socket upstream request
--- no_error_log
[error]



=== TEST 23: the object's metatable holds upstream's methods and __index; bind (from the spec, beyond v0.0.16) is found through __index
--- stream_server_config
    content_by_lua_block {
        local mt = getmetatable(ngx.socket.udp())
        local keys = {}
        for k in pairs(mt) do keys[#keys + 1] = k end
        table.sort(keys)
        ngx.say(table.concat(keys, " "), " ", mt.__index.send == mt.send, " ", type(mt.__index.bind))
    }
--- stream_response
__index close receive send setpeername settimeout true function
--- no_error_log
[error]



=== TEST 24: receive inside a user coroutine and a light thread of the same session
--- stream_config
    server {
        listen 127.0.0.1:$TEST_NGINX_RAND_PORT_1 udp;
        content_by_lua_block {
            local sock = ngx.req.socket()
            sock:send("re: " .. sock:receive())
        }
    }
--- stream_server_config
    content_by_lua_block {
        local function ask(what)
            local udp = ngx.socket.udp()
            udp:settimeout(5000)
            assert(udp:setpeername("127.0.0.1", $TEST_NGINX_RAND_PORT_1))
            assert(udp:send(what))
            return udp:receive()
        end
        local co = coroutine.wrap(function() coroutine.yield(ask("co")) end)
        local t = ngx.thread.spawn(ask, "thread")
        ngx.say(co())
        ngx.say(select(2, ngx.thread.wait(t)))
    }
--- stream_response
re: co
re: thread
--- no_error_log
[error]



=== TEST 25: a datagram too large for UDP fails to send
--- stream_server_config
    content_by_lua_block {
        local too_big = string.rep("x", 70000)
        local udp = ngx.socket.udp()
        assert(udp:setpeername("127.0.0.1", $TEST_NGINX_RAND_PORT_1))
        ngx.say(udp:send(too_big))
        ngx.say(udp:send("still usable"))
    }
--- stream_response
nilmessage too long
1
--- error_log eval
qr/sendmsg\(\) failed \(90: Message too long\)/



=== TEST 26: setpeername with a host name goes through the server's resolver
--- stream_config
    server {
        listen 127.0.0.1:$TEST_NGINX_RAND_PORT_2 udp;
        content_by_lua_block {
            local sock = ngx.req.socket()
            local q = sock:receive()
            local question = q:sub(13)
            local qtype = question:byte(-4) * 256 + question:byte(-3)
            local known = question:sub(1, question:find("\0", 1, true)) == "\4peer\4test\0"
            local answers = (known and qtype == 1) and 1 or 0
            local resp = q:sub(1, 2) .. (known and "\129\128" or "\129\131") .. "\0\1\0"
                         .. string.char(answers) .. "\0\0\0\0" .. question
            if answers == 1 then
                resp = resp .. "\192\12\0\1\0\1\0\0\0\60\0\4\127\0\0\1"
            end
            sock:send(resp)
        }
    }
    server {
        listen 127.0.0.1:$TEST_NGINX_RAND_PORT_1 udp;
        content_by_lua_block {
            local sock = ngx.req.socket()
            sock:send("echo: " .. sock:receive())
        }
    }
--- stream_server_config
    resolver 127.0.0.1:$TEST_NGINX_RAND_PORT_2 ipv6=off;
    content_by_lua_block {
        local udp = ngx.socket.udp()
        ngx.say("setpeername: ", udp:setpeername("peer.test", $TEST_NGINX_RAND_PORT_1))
        udp:send("ping")
        ngx.say(udp:receive())
        ngx.say("unknown: ", ngx.socket.udp():setpeername("nowhere.test", 53))
    }
--- stream_response
setpeername: 1
echo: ping
unknown: nilnowhere.test could not be resolved (3: Host not found)
--- no_error_log
[alert]



=== TEST 27: bind picks the local address of the next setpeername (beyond v0.0.16, as in the spec)
--- stream_config
    server {
        listen 127.0.0.1:$TEST_NGINX_RAND_PORT_1 udp;
        content_by_lua_block {
            local sock = ngx.req.socket()
            sock:receive()
            sock:send("from " .. ngx.var.remote_addr)
        }
    }
--- stream_server_config
    content_by_lua_block {
        local udp = ngx.socket.udp()
        ngx.say("bind: ", udp:bind("127.0.0.2"))
        ngx.say("bad: ", ngx.socket.udp():bind("nowhere"))
        ngx.say(pcall(udp.bind, udp, 42))
        assert(udp:setpeername("127.0.0.1", $TEST_NGINX_RAND_PORT_1))
        udp:send("hi")
        ngx.say(udp:receive())
    }
--- stream_response
bind: 1
bad: nilbad address
falsebad argument #2 to '?' (string expected, got number)
from 127.0.0.2
--- no_error_log
[error]



=== TEST 28: the UDP request socket is finalized once: when collected, or when its session ends
--- stream_config
    server {
        listen 127.0.0.1:$TEST_NGINX_RAND_PORT_1 udp;
        content_by_lua_block {
            local data
            do
                local sock = ngx.req.socket()
                data = sock:receive()
                sock:send("got " .. data)
            end
            if data == "collect" then
                collectgarbage()
                ngx.log(ngx.WARN, "GC cycle done")
            else
                ngx.log(ngx.WARN, "handler done")
            end
        }
    }
--- stream_server_config
    content_by_lua_block {
        local udp = ngx.socket.udp()
        assert(udp:setpeername("127.0.0.1", $TEST_NGINX_RAND_PORT_1))
        udp:settimeout(5000)
        for _, data in ipairs({ "collect", "keep" }) do
            assert(udp:send(data))
            ngx.say(udp:receive())
            ngx.sleep(0.01)
        end
        -- (this cosocket is finalized when this session ends: the last line)
    }
--- stream_response
got collect
got keep
--- grep_error_log eval: qr/stream lua finalize socket|GC cycle done|handler done/
--- grep_error_log_out
stream lua finalize socket
GC cycle done
handler done
stream lua finalize socket
stream lua finalize socket



=== TEST 29: a closed UDP cosocket is finalized once (collecting it later finalizes nothing more), and can be set up again in its session
--- stream_config
    server {
        listen 127.0.0.1:$TEST_NGINX_RAND_PORT_1 udp;
        return pong;
    }
--- stream_server_config
    content_by_lua_block {
        local function query(udp, name)
            assert(udp:setpeername("127.0.0.1", $TEST_NGINX_RAND_PORT_1))
            assert(udp:send("ping"))
            ngx.say(name, ": ", udp:receive())
            udp:close()
            ngx.log(ngx.WARN, "closed ", name)
        end
        query(ngx.socket.udp(), "a")
        local again = ngx.socket.udp()
        query(again, "b")
        query(again, "c")
        local udp = ngx.socket.udp()
        assert(udp:setpeername("127.0.0.1", $TEST_NGINX_RAND_PORT_1))
        ngx.log(ngx.WARN, "not closed")
        udp, again = nil, nil
        collectgarbage()
        ngx.log(ngx.WARN, "GC cycle done")
    }
--- stream_response
a: pong
b: pong
c: pong
--- grep_error_log eval: qr/stream lua finalize socket|closed \w|not closed|GC cycle done/
--- grep_error_log_out
stream lua finalize socket
closed a
stream lua finalize socket
closed b
stream lua finalize socket
closed c
not closed
stream lua finalize socket
GC cycle done
