# The downstream TCP socket: ngx.req.socket(). Behaviour follows stream-lua v0.0.16 (see
# upstream t/067-req-socket.t, t/116-raw-req-socket.t, src/ngx_stream_lua_socket_tcp.c):
# receive(size / "*l" / "*a"), receiveany(max), send(), close(), shutdown("send"), and the
# exact error values and argument errors of each method.

use Test::Nginx::Socket::Lua::Stream;

repeat_each(2);

plan tests => repeat_each() * (blocks() * 2);

no_long_string();

run_tests();

__DATA__

=== TEST 1: fixed-size reads split the stream exactly
--- stream_server_config
    content_by_lua_block {
        local sock, err = ngx.req.socket()
        ngx.say("socket: ", type(sock), " ", err)
        for _, n in ipairs({3, 1, 6, 2}) do
            local data, err, partial = sock:receive(n)
            ngx.say(n, " -> [", data, "] ", err, " ", partial)
        end
    }
--- stream_request chomp
abcdefghijkl
--- stream_response
socket: table nil
3 -> [abc] nil nil
1 -> [d] nil nil
6 -> [efghij] nil nil
2 -> [kl] nil nil
--- no_error_log
[error]



=== TEST 2: line reads drop every carriage return and the newline
--- stream_server_config
    content_by_lua_block {
        local sock = assert(ngx.req.socket())
        for i = 1, 4 do
            local line, err = sock:receive("*l")
            ngx.say(i, ": [", line, "] ", err)
        end
    }
--- stream_request eval
"first\r\nsec\rond\n\nlast\r\n"
--- stream_response
1: [first] nil
2: [second] nil
3: [] nil
4: [last] nil
--- no_error_log
[error]



=== TEST 3: receive() without a pattern reads a line
--- stream_server_config
    content_by_lua_block {
        local sock = assert(ngx.req.socket())
        ngx.say("[", sock:receive(), "]")
        ngx.say("[", sock:receive(), "]")
    }
--- stream_request
one line
another line
--- stream_response
[one line]
[another line]
--- no_error_log
[error]



=== TEST 4: receive(0) returns an empty string at once
--- stream_server_config
    content_by_lua_block {
        local sock = assert(ngx.req.socket())
        local data, err = sock:receive(0)
        ngx.say(type(data), " [", data, "] ", err)
        ngx.say("then: ", sock:receive(4))
    }
--- stream_request chomp
rest
--- stream_response
string [] nil
then: rest
--- no_error_log
[error]



=== TEST 5: a numeric string is a size
--- stream_server_config
    content_by_lua_block {
        local sock = assert(ngx.req.socket())
        ngx.say("[", sock:receive("4"), "]")
        ngx.say("[", sock:receive(2.9), "]")
        ngx.say("[", sock:receive("2"), "]")
    }
--- stream_request chomp
12345678
--- stream_response
[1234]
[56]
[78]
--- no_error_log
[error]



=== TEST 6: "*a" reads until the client closes
--- stream_server_config
    content_by_lua_block {
        local sock = assert(ngx.req.socket())
        local line = sock:receive()
        local rest, err = sock:receive("*a")
        ngx.say("line: ", line)
        ngx.say("rest: [", rest, "] ", err)
        ngx.say("again: [", sock:receive("*a"), "]")
    }
--- stream_request eval
"header\nbody 1\nbody 2\n"
--- shutdown
--- stream_response
line: header
rest: [body 1
body 2
] nil
again: []
--- no_error_log
[error]



=== TEST 7: bad receive patterns
--- stream_server_config
    content_by_lua_block {
        local sock = assert(ngx.req.socket())
        local function try(...)
            local ok, err = pcall(sock.receive, sock, ...)
            ngx.say(ok, ": ", err)
        end
        try("*x")
        try("*L")
        try("line")
        try("")
        try(-1)
        try({})
        try(true)
        ngx.say("still readable: ", sock:receive(2))
    }
--- stream_request chomp
ok
--- stream_response
false: bad argument #2 to '?' (bad pattern argument)
false: bad argument #2 to '?' (bad pattern argument)
false: bad argument #2 to '?' (bad pattern argument: line)
false: bad argument #2 to '?' (bad pattern argument: )
false: bad argument #2 to '?' (bad pattern argument)
false: bad argument #2 to '?' (bad pattern argument)
false: bad argument #2 to '?' (bad pattern argument)
still readable: ok
--- no_error_log
[alert]



=== TEST 8: a bad pattern in a method call names the method
--- stream_server_config
    content_by_lua_block {
        local sock = assert(ngx.req.socket())
        ngx.say("before ", sock:receive())
        sock:receive("*z")
        ngx.say("after")
    }
--- stream_request
whatever
--- stream_response
before whatever
--- error_log eval
qr/lua entry thread aborted: runtime error: content_by_lua\(nginx\.conf:\d+\):4: bad argument #1 to 'receive' \(bad pattern argument\)/



=== TEST 9: receive with too many arguments
--- stream_server_config
    content_by_lua_block {
        local sock = assert(ngx.req.socket())
        local ok, err = pcall(sock.receive, sock, 1, 2)
        ngx.say(ok, " ", err)
        ok, err = pcall(sock.receive)
        ngx.say(ok, " ", err)
        sock:receive(1)
    }
--- stream_request chomp
x
--- stream_response_like chomp
^false .*expecting 1 or 2 arguments \(including the object\), but got 3
false .*expecting 1 or 2 arguments \(including the object\), but got 0$



=== TEST 10: receiveany returns what has arrived, at most max bytes
--- stream_server_config
    content_by_lua_block {
        local sock = assert(ngx.req.socket())
        local first = assert(sock:receive(3))
        local data, err = sock:receiveany(100)
        ngx.say("first: ", first)
        ngx.say("any: [", data, "] ", err)
    }
--- stream_request chomp
abcdefgh
--- stream_response
first: abc
any: [defgh] nil
--- no_error_log
[error]



=== TEST 11: receiveany in small pieces, then closed
--- stream_server_config
    content_by_lua_block {
        local sock = assert(ngx.req.socket())
        local pieces = {}
        while true do
            local data, err = sock:receiveany(4)
            if not data then
                pieces[#pieces + 1] = "<" .. err .. ">"
                break
            end
            pieces[#pieces + 1] = data
        end
        ngx.say(table.concat(pieces, "|"))
    }
--- stream_request chomp
0123456789
--- shutdown
--- stream_response
0123|4567|89|<closed>
--- no_error_log
[error]



=== TEST 12: bad receiveany arguments
--- stream_server_config
    content_by_lua_block {
        local sock = assert(ngx.req.socket())
        local function try(...)
            local ok, err = pcall(sock.receiveany, sock, ...)
            ngx.say(ok, ": ", err)
        end
        try(0)
        try(-5)
        try("many")
        try(nil)
        try({})
        try(1, 2)
        local ok, err = pcall(sock.receiveany, sock)
        ngx.say(ok, ": ", err)
        ngx.say("a numeric string works: ", sock:receiveany("2"))
    }
--- stream_request chomp
xy
--- stream_response
false: bad argument #2 to '?' (bad max argument)
false: bad argument #2 to '?' (bad max argument)
false: bad argument #2 to '?' (bad max argument)
false: bad argument #2 to '?' (bad max argument)
false: bad argument #2 to '?' (bad max argument)
false: expecting 2 arguments (including the object), but got 3
false: expecting 2 arguments (including the object), but got 1
a numeric string works: xy



=== TEST 13: send returns the number of bytes for strings, numbers and tables
--- stream_server_config
    content_by_lua_block {
        local sock = assert(ngx.req.socket())
        local n1 = sock:send("plain\n")
        local n2 = sock:send(42.5)
        local n3 = sock:send({"\n", {"nested", {" ", 7}}, "\n"})
        local n4 = sock:send("")
        local n5 = sock:send({})
        sock:send(n1 .. "," .. n2 .. "," .. n3 .. "," .. n4 .. "," .. n5 .. "\n")
    }
--- stream_response
plain
42.5
nested 7
6,4,10,0,0
--- no_error_log
[error]



=== TEST 14: send writes nil and booleans as words
--- stream_server_config
    content_by_lua_block {
        local sock = assert(ngx.req.socket())
        local a = sock:send(nil)
        local b = sock:send(true)
        local c = sock:send(false)
        sock:send("\n" .. a .. " " .. b .. " " .. c .. "\n")
    }
--- stream_response
niltruefalse
3 4 5
--- no_error_log
[error]



=== TEST 15: send refuses functions and other types
--- stream_server_config
    content_by_lua_block {
        local sock = assert(ngx.req.socket())
        local ok, err = pcall(sock.send, sock, print)
        ngx.say(ok, ": ", err)
        ok, err = pcall(sock.send, sock, coroutine.create(function() end))
        ngx.say(ok, ": ", err)
        ok, err = pcall(sock.send, sock)
        ngx.say(ok, ": ", err)
    }
--- stream_response
false: bad argument #2 to '?' (string, number, boolean, nil, or array table expected, got function)
false: bad argument #2 to '?' (string, number, boolean, nil, or array table expected, got thread)
false: expecting 2 arguments (including the object), but got 1



=== TEST 16: ngx.say and sock:send share one ordered output
--- stream_server_config
    content_by_lua_block {
        local sock = assert(ngx.req.socket())
        ngx.say("from say 1")
        sock:send("from send 1\n")
        ngx.print("from print\n")
        sock:send("from send 2\n")
    }
--- stream_response
from say 1
from send 1
from print
from send 2
--- no_error_log
[error]



=== TEST 17: an echo loop
--- stream_server_config
    content_by_lua_block {
        local sock = assert(ngx.req.socket())
        while true do
            local line, err = sock:receive()
            if not line then
                sock:send("end: " .. err .. "\n")
                return
            end
            if line == "quit" then
                sock:send("bye\n")
                return
            end
            sock:send(line:upper() .. "\n")
        end
    }
--- stream_request
alpha
beta
quit
gamma
--- stream_response
ALPHA
BETA
bye
--- no_error_log
[error]



=== TEST 18: a second ngx.req.socket() is a duplicate call
--- stream_server_config
    content_by_lua_block {
        local s1, e1 = ngx.req.socket()
        local s2, e2 = ngx.req.socket()
        local s3, e3 = ngx.req.socket(true)
        ngx.say(type(s1), " ", e1)
        ngx.say(s2, " ", e2)
        ngx.say(s3, " ", e3)
        ngx.say("first still works: ", s1:receive(3))
    }
--- stream_request chomp
abc
--- stream_response
table nil
nil duplicate call
nil duplicate call
first still works: abc
--- no_error_log
[error]



=== TEST 19: the optional argument is accepted, more are refused
--- stream_server_config
    content_by_lua_block {
        local ok, err = pcall(ngx.req.socket, true, false)
        ngx.say(ok, " ", err)
        local sock = ngx.req.socket(true)
        ngx.say("raw: ", type(sock), " ", sock:receive())
    }
--- stream_request
raw data
--- stream_response_like chomp
^false .*expecting zero arguments, but got 2
raw: table raw data$



=== TEST 20: a request socket has no close method, as upstream's; it stays usable
--- stream_server_config
    content_by_lua_block {
        local sock = assert(ngx.req.socket())
        local ok, err = pcall(function() return sock:close() end)
        ngx.say(ok, " ", err)
        ngx.say("can still read: ", sock:receive(4))
        ngx.say("can still send: ", sock:send("x"))
    }
--- stream_request chomp
data
--- stream_response_like
^false .*attempt to call method 'close' \(a nil value\)
can still read: data
xcan still send: 1
--- no_error_log
[error]



=== TEST 21: shutdown("send") closes the write side once
--- log_level: debug
--- stream_server_config
    content_by_lua_block {
        local sock = assert(ngx.req.socket())
        local line = sock:receive()
        sock:send("got " .. line .. "\n")
        local ok, err = sock:shutdown("send")
        ngx.log(ngx.WARN, "shutdown 1: ", ok, " ", err)
        ok, err = sock:shutdown("send")
        ngx.log(ngx.WARN, "shutdown 2: ", ok, " ", err)
        ok, err = ngx.say("too late")
        ngx.log(ngx.WARN, "say after shutdown: ", ok, " ", err)
        ok, err = sock:send("too late")
        ngx.log(ngx.WARN, "send after shutdown: ", ok, " ", err)
    }
--- stream_request
ping
--- stream_response
got ping
--- error_log
shutdown 1: 1 nil
shutdown 2: nil already shutdown
say after shutdown: nil seen eof
send after shutdown: nil closed
attempt to send data on a closed socket
stream lua shutdown socket write direction



=== TEST 22: reading goes on after shutdown("send")
--- stream_server_config
    content_by_lua_block {
        local sock = assert(ngx.req.socket())
        local first = sock:receive()
        sock:send("ack " .. first .. "\n")
        assert(sock:shutdown("send"))
        local second, err = sock:receive()
        ngx.log(ngx.WARN, "read after shutdown: ", second, " ", err)
    }
--- stream_request
one
two
--- stream_response
ack one
--- error_log
read after shutdown: two nil
--- no_error_log
[error]



=== TEST 23: bad shutdown arguments
--- stream_server_config
    content_by_lua_block {
        local sock = assert(ngx.req.socket())
        sock:send("start\n")
        local ok, err = pcall(sock.shutdown, sock, "recv")
        sock:send(tostring(ok) .. ": " .. err .. "\n")
        ok, err = pcall(sock.shutdown, sock)
        sock:send(tostring(ok) .. ": " .. err .. "\n")
        ok, err = pcall(sock.shutdown, sock, "send", "more")
        sock:send(tostring(ok) .. ": " .. err .. "\n")
    }
--- stream_response_like chomp
^start
false: bad argument #2 to '\?' \(bad shutdown argument: recv\)
false: .*expecting 2 arguments \(including the object\) but seen 1
false: .*expecting 2 arguments \(including the object\) but seen 3$



=== TEST 24: an empty shutdown direction
--- stream_server_config
    content_by_lua_block {
        local sock = assert(ngx.req.socket())
        local ok, err = sock:shutdown("")
        sock:send(tostring(ok) .. " " .. err .. "\n")
    }
--- stream_response
nil pattern is empty
--- no_error_log
[error]



=== TEST 25: shutdown is for the content phase only
--- stream_server_config
    preread_by_lua_block {
        local sock = assert(ngx.req.socket())
        local ok, err = pcall(sock.shutdown, sock, "send")
        ngx.say(ok, " ", err)
    }
    content_by_lua_block {
        ngx.say("content")
    }
--- stream_response_like chomp
^false .*API disabled in the context of preread_by_lua\*
content$



=== TEST 26: data already read by ssl_preread comes first
--- stream_server_config
    ssl_preread on;
    content_by_lua_block {
        local sock = assert(ngx.req.socket())
        ngx.say("[", sock:receive(5), "]")
        ngx.say("[", sock:receive(), "]")
        ngx.say("[", sock:receive("*a"), "]")
    }
--- stream_request
hello world
tail
--- shutdown
--- stream_response
[hello]
[ world]
[tail
]
--- no_error_log
[error]



=== TEST 27: the request socket is refused in log_by_lua and in timers
--- stream_server_config
    content_by_lua_block {
        ngx.timer.at(0, function()
            local ok, err = pcall(ngx.req.socket)
            ngx.log(ngx.WARN, "timer: ", ok, " ", err)
        end)
        ngx.sleep(0.05)
        ngx.say("done")
    }
    log_by_lua_block {
        local ok, err = pcall(ngx.req.socket)
        ngx.log(ngx.WARN, "log: ", ok, " ", err)
    }
--- stream_response
done
--- error_log
timer: false API disabled in the context of ngx.timer
log: false API disabled in the context of log_by_lua*



=== TEST 28: a large body read in one call
--- stream_server_config
    content_by_lua_block {
        local sock = assert(ngx.req.socket())
        local data, err = sock:receive(100000)
        ngx.say(#data, " ", err, " ", data:sub(1, 3), " ", data:sub(-3))
        ngx.say(sock:receive())
    }
--- stream_request eval
"abc" . ("x" x 99994) . "xyz" . "end\n"
--- stream_response
100000 nil abc xyz
end
--- no_error_log
[error]



=== TEST 29: a request socket kept past its session finds itself closed; its collection is logged
--- stream_config
    lua_package_path '$prefix/html/?.lua;;';
--- user_files
>>> keeper.lua
local M = {}
function M.go()
    if not M.sock then
        M.sock = ngx.req.socket()
        M.sock:receive()
        ngx.say("took it")
        -- a second session of this server, from a timer: it finds the kept socket
        local port = ngx.var.server_port
        ngx.timer.at(0.05, function()
            local c = ngx.socket.tcp()
            assert(c:connect("127.0.0.1", port))
            c:send("again\n")
            ngx.log(ngx.WARN, "second session said: ", c:receive("*a"))
        end)
        return
    end
    ngx.req.socket():receive()
    local ok, err = M.sock:receive(5)
    ngx.print("old socket: ", ok, " ", err, "; ")
    M.sock = nil
    collectgarbage()
    collectgarbage()
    ngx.print("GC done")
end
return M
--- stream_server_config
    content_by_lua_block {
        require("keeper").go()
    }
--- stream_request
hello
--- stream_response
took it
--- wait: 0.2
--- error_log
second session said: old socket: nil closed; GC done
stream lua finalize socket
--- no_error_log
[error]



=== TEST 30: the request socket of a session that is still running is a "bad request" in another session
--- stream_config
    lua_package_path '$prefix/html/?.lua;;';
    server {
        listen 127.0.0.1:$TEST_NGINX_RAND_PORT_1;
        content_by_lua_block {
            local kept = require "kept_req_sock"
            local ok, err = pcall(kept.sock.receive, kept.sock, 1)
            ngx.say("other session: ", ok, " ", err)
            ok, err = pcall(kept.sock.send, kept.sock, "x")
            ngx.say("send: ", ok, " ", err)
        }
    }
--- user_files
>>> kept_req_sock.lua
return {}
--- stream_server_config
    content_by_lua_block {
        local kept = require "kept_req_sock"
        kept.sock = assert(ngx.req.socket())
        -- a second session, while this one still owns its request socket
        local other = ngx.socket.tcp()
        assert(other:connect("127.0.0.1", $TEST_NGINX_RAND_PORT_1))
        ngx.print(other:receive("*a"))
        -- the owner still uses it
        ngx.say("owner: ", kept.sock:receive(3))
        kept.sock = nil
    }
--- stream_request
abc
--- stream_response
other session: false bad request
send: false bad request
owner: abc
--- no_error_log
[error]



=== TEST 31: a large send the socket takes in parts: the bytes arrive whole and in order, and send returns the full length
--- stream_config
    server {
        listen 127.0.0.1:$TEST_NGINX_RAND_PORT_1;
        content_by_lua_block {
            local sock = assert(ngx.req.socket(true))
            sock:settimeout(5000)
            local parts = {}
            for i = 0, 250 do parts[#parts + 1] = string.char(i) end
            local block = table.concat(parts)
            local data = string.rep(block, 16000)
            local bytes, err = sock:send(data)
            ngx.log(ngx.WARN, "sent ", bytes, " ", err, " of ", #data, ", md5 ", ngx.md5(data))
            bytes, err = sock:send("tail\n")
            ngx.log(ngx.WARN, "then ", bytes, " ", err)
        }
    }
--- stream_server_config
    content_by_lua_block {
        local sock = ngx.socket.tcp()
        assert(sock:connect("127.0.0.1", $TEST_NGINX_RAND_PORT_1))
        ngx.sleep(0.2)
        sock:settimeout(5000)
        local data = assert(sock:receive(251 * 16000))
        local tail = assert(sock:receive())
        ngx.say(#data, " ", ngx.md5(data), " ", tail)
    }
--- stream_response
4016000 b91c5e461d34e16d2a0d7d835426a5e6 tail
--- error_log
sent 4016000 nil of 4016000, md5 b91c5e461d34e16d2a0d7d835426a5e6
then 5 nil



=== TEST 32: a read of a whole buffer asks for one byte more (the socket shows drained without FIONREAD), and loses nothing
--- stream_server_config
    lua_socket_buffer_size 4k;
    content_by_lua_block {
        local sock = assert(ngx.req.socket())
        local first = assert(sock:receive(4096))
        local second = assert(sock:receive(4096))
        ngx.say(#first, " ", first == string.rep("a", 4096), " ", #second, " ",
                second == string.rep("b", 4095) .. "\n")
    }
--- stream_request eval
"a" x 4096 . "b" x 4095 . "\n"
--- stream_response
4096 true 4096 true
--- error_log eval
qr/recv: fd:\d+ \d+ of 4097/
--- no_error_log
[error]
