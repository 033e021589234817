# ngx.socket.tcp / ngx.socket.connect: TCP and unix client cosockets, their pools and errors.
# Behaviour follows stream-lua v0.0.16 (see upstream t/058-tcp-socket.t, 068-socket-keepalive.t).
# Peers are nginx stream servers of the same instance, on their own ports.

use Test::Nginx::Socket::Lua::Stream;

# The TLS blocks' certificates (t/cert). nginx reads a relative path from servroot/conf, and the
# default below holds only when servroot is target/tnginx/<file>/servroot: a run with another
# CARGO_TARGET_DIR (scripts/test-debian-nginx.sh) sets the absolute path.
$ENV{TEST_NGINX_CERT_DIR} ||= '../../../../../t/cert';

repeat_each(1);
plan tests => repeat_each() * (blocks() * 3);
no_long_string();
run_tests();

__DATA__

=== TEST 1: connect, send a line, read the echoed line back
--- stream_config
    server {
        listen 127.0.0.1:$TEST_NGINX_RAND_PORT_1;
        content_by_lua_block {
            local sock = ngx.req.socket()
            local line = sock:receive()
            ngx.say("echo: ", line)
        }
    }
--- stream_server_config
    content_by_lua_block {
        local sock = ngx.socket.tcp()
        local ok, err = sock:connect("127.0.0.1", $TEST_NGINX_RAND_PORT_1)
        ngx.say("connect: ", ok, " ", err)
        local bytes, err = sock:send("hello\n")
        ngx.say("sent: ", bytes, " ", err)
        local line, err, partial = sock:receive()
        ngx.say("line: ", line, " ", err, " ", partial)
        line, err, partial = sock:receive()
        ngx.say("then: ", line, " ", err, " [", partial, "]")
        ngx.say("close: ", sock:close())
    }
--- stream_response
connect: 1 nil
sent: 6 nil
line: echo: hello nil nil
then: nil closed []
close: 1
--- error_log
stream lua socket tcp_nodelay
--- no_error_log
[error]



=== TEST 2: receive patterns: size, *a, receiveany, receiveuntil (inclusive; sized, where reaching the pattern gives "" and then nil, as upstream)
--- stream_config
    server {
        listen 127.0.0.1:$TEST_NGINX_RAND_PORT_1;
        content_by_lua_block {
            ngx.print("0123456789--abc--defg--hij--tail")
        }
    }
--- stream_server_config
    content_by_lua_block {
        local sock = ngx.socket.tcp()
        assert(sock:connect("127.0.0.1", $TEST_NGINX_RAND_PORT_1))
        ngx.say("size: ", sock:receive(4))
        ngx.say("any: ", sock:receiveany(6))
        local it = sock:receiveuntil("--")
        ngx.say("until: [", it(), "]")
        local it2 = sock:receiveuntil("--", { inclusive = true })
        ngx.say("inclusive: [", it2(), "]")
        local r = {}
        while true do
            local d, err = it(2)
            if not d then break end
            r[#r + 1] = d
        end
        ngx.say("sized: ", table.concat(r, "|"))
        ngx.say("all: ", sock:receive("*a"))
        sock:close()
    }
--- stream_response
size: 0123
any: 456789
until: []
inclusive: [abc--]
sized: de|fg|
all: hij--tail
--- no_error_log
[error]



=== TEST 3: ngx.socket.connect and ngx.socket.stream
--- stream_config
    server {
        listen 127.0.0.1:$TEST_NGINX_RAND_PORT_1;
        content_by_lua_block { ngx.say("hi") }
    }
--- stream_server_config
    content_by_lua_block {
        local sock, err = ngx.socket.connect("127.0.0.1", $TEST_NGINX_RAND_PORT_1)
        ngx.say(sock ~= nil, " ", err, " ", sock:receive())
        local s2 = ngx.socket.stream()
        ngx.say(s2:connect("127.0.0.1", $TEST_NGINX_RAND_PORT_1), " ", s2:receive())
        local s3, err = ngx.socket.connect("127.0.0.1", $TEST_NGINX_RAND_PORT_2)
        ngx.say(s3, " ", err)
    }
--- stream_response
true nil hi
1 hi
nil connection refused
--- error_log eval
qr/connect\(\) failed \(111: Connection refused\)/



=== TEST 4: a unix domain socket peer
--- stream_config
    server {
        listen unix:$TEST_NGINX_HTML_DIR/peer.sock;
        content_by_lua_block { ngx.say("over unix") }
    }
--- stream_server_config
    content_by_lua_block {
        local sock = ngx.socket.tcp()
        ngx.say(sock:connect("unix:$TEST_NGINX_HTML_DIR/peer.sock"))
        ngx.say(sock:receive())
        local s2 = ngx.socket.tcp()
        ngx.say(s2:connect("unix:$TEST_NGINX_HTML_DIR/nonexistent.sock"))
    }
--- stream_response
1
over unix
nilno such file or directory
--- error_log
failed (2: No such file or directory)



=== TEST 5: the read timeout
--- stream_config
    server {
        listen 127.0.0.1:$TEST_NGINX_RAND_PORT_1;
        content_by_lua_block { ngx.sleep(1) ngx.say("late") }
    }
--- stream_server_config
    content_by_lua_block {
        local sock = ngx.socket.tcp()
        assert(sock:connect("127.0.0.1", $TEST_NGINX_RAND_PORT_1))
        sock:settimeout(100)
        ngx.say(sock:receive())
        -- a timeout leaves the socket usable
        sock:settimeout(3000)
        ngx.say(sock:receive())
    }
--- stream_response
niltimeout
late
--- error_log
stream lua tcp socket read timed out



=== TEST 6: the send timeout, with a peer that does not read
--- stream_config
    server {
        listen 127.0.0.1:$TEST_NGINX_RAND_PORT_1;
        content_by_lua_block { ngx.sleep(2) }
    }
--- stream_server_config
    content_by_lua_block {
        local sock = ngx.socket.tcp()
        assert(sock:connect("127.0.0.1", $TEST_NGINX_RAND_PORT_1))
        sock:settimeouts(1000, 100, 1000)
        local big = string.rep("x", 1024 * 1024)
        local res, err
        for i = 1, 64 do
            res, err = sock:send(big)
            if not res then break end
        end
        ngx.say("send: ", res, " ", err)
        ngx.say("again: ", sock:send("x"))
    }
--- stream_response
send: nil timeout
again: nilclosed
--- error_log
stream lua tcp socket write timed out



=== TEST 7: the peer closes in the middle of a read: partial data
--- stream_config
    server {
        listen 127.0.0.1:$TEST_NGINX_RAND_PORT_1;
        content_by_lua_block { ngx.print("short") }
    }
--- stream_server_config
    content_by_lua_block {
        local sock = ngx.socket.tcp()
        assert(sock:connect("127.0.0.1", $TEST_NGINX_RAND_PORT_1))
        ngx.say(sock:receive(100))
        ngx.say(sock:receive(1))
    }
--- stream_response
nilclosedshort
nilclosed
--- error_log
attempt to receive data on a closed socket



=== TEST 8: operations on a socket that is not connected, or closed
--- stream_server_config
    content_by_lua_block {
        local sock = ngx.socket.tcp()
        ngx.say("send: ", sock:send("x"))
        ngx.say("receive: ", sock:receive())
        ngx.say("close: ", sock:close())
        ngx.say("setkeepalive: ", sock:setkeepalive())
        ngx.say("getreusedtimes: ", sock:getreusedtimes())
    }
--- stream_response
send: nilclosed
receive: nilclosed
close: nilclosed
setkeepalive: nilclosed
getreusedtimes: nilclosed
--- error_log
attempt to send data on a closed socket



=== TEST 9: bad arguments (method calls number arguments without self, as luaL_argerror does)
--- stream_server_config
    content_by_lua_block {
        local sock = ngx.socket.tcp()
        local function try(f)
            local ok, err = pcall(f)
            ngx.say(ok, " ", err)
        end
        ngx.say(sock:connect("127.0.0.1", 70000))
        try(function() local a, b = sock:connect(); return a, b end)
        try(function() local a, b = sock:connect("127.0.0.1", 80, { pool = {} }); return a, b end)
        try(function() local a, b = sock:connect("127.0.0.1", 80, { pool_size = 0 }); return a, b end)
        try(function() local a, b = sock:connect("127.0.0.1", 80, { pool_size = "x" }); return a, b end)
        try(function() local a, b = sock:receive("*x"); return a, b end)
        try(function() local a, b = sock.send("not a socket", "x"); return a, b end)
        try(function() local a, b = ngx.socket.tcp(1); return a, b end)
        ngx.say(sock:receiveuntil(""))
        ngx.say(sock:connect("/tmp/x.sock"))
    }
--- stream_response
nilbad port number: 70000
false content_by_lua(nginx.conf:37):8: ngx.socket connect: expecting 2, 3, or 4 arguments (including the object), but seen 1
false content_by_lua(nginx.conf:37):9: bad argument #3 to 'connect' (bad "pool" option type: table)
false content_by_lua(nginx.conf:37):10: bad argument #3 to 'connect' (bad "pool_size" option value: 0)
false content_by_lua(nginx.conf:37):11: bad argument #3 to 'connect' (bad "pool_size" option type: string)
false content_by_lua(nginx.conf:37):12: bad argument #1 to 'receive' (bad pattern argument)
false content_by_lua(nginx.conf:37):13: bad argument #1 to 'send' (table expected, got string)
false content_by_lua(nginx.conf:37):14: expecting zero arguments, but got 1
nilpattern is empty
nilfailed to parse host name "/tmp/x.sock": invalid host
--- no_error_log
[error]



=== TEST 10: setkeepalive puts the connection into a pool; the next connect reuses it
--- stream_config
    server {
        listen 127.0.0.1:$TEST_NGINX_RAND_PORT_1;
        content_by_lua_block {
            local sock = ngx.req.socket()
            while true do
                local line = sock:receive()
                if not line then return end
                ngx.say("got ", line)
            end
        }
    }
--- stream_server_config
    content_by_lua_block {
        for i = 1, 3 do
            local sock = ngx.socket.tcp()
            assert(sock:connect("127.0.0.1", $TEST_NGINX_RAND_PORT_1))
            ngx.say("reused: ", sock:getreusedtimes())
            sock:send("round " .. i .. "\n")
            ngx.say(sock:receive())
            ngx.say("keepalive: ", sock:setkeepalive())
            ngx.say("after: ", sock:send("x"))
        end
        -- a named pool is another pool
        local sock = ngx.socket.tcp()
        assert(sock:connect("127.0.0.1", $TEST_NGINX_RAND_PORT_1, { pool = "other" }))
        ngx.say("named pool reused: ", sock:getreusedtimes())
        sock:close()
    }
--- stream_response
reused: 0
got round 1
keepalive: 1
after: nilclosed
reused: 1
got round 2
keepalive: 1
after: nilclosed
reused: 2
got round 3
keepalive: 1
after: nilclosed
named pool reused: 0
--- error_log
attempt to send data on a closed socket



=== TEST 11: setkeepalive refuses a connection with unread data, and a pooled connection the peer closed is dropped
--- stream_config
    server {
        listen 127.0.0.1:$TEST_NGINX_RAND_PORT_1;
        content_by_lua_block { ngx.print("one\ntwo\n") }
    }
--- stream_server_config
    content_by_lua_block {
        local sock = ngx.socket.tcp()
        assert(sock:connect("127.0.0.1", $TEST_NGINX_RAND_PORT_1))
        ngx.say(sock:receive())
        ngx.say("keepalive: ", sock:setkeepalive())
        ngx.say(sock:receive())
        ngx.sleep(0.1)
        local res, err = sock:setkeepalive()
        ngx.say("keepalive after the peer closed: ", res, " ", err)
        local s2 = ngx.socket.tcp()
        assert(s2:connect("127.0.0.1", $TEST_NGINX_RAND_PORT_1))
        ngx.say("reused: ", s2:getreusedtimes())
        ngx.say(s2:receive())
    }
--- stream_response_like
^one
keepalive: nilunread data in buffer
two
keepalive after the peer closed: (1 nil|nil connection in dubious state|nil invalid connection)
reused: 0
one
--- no_error_log
[error]



=== TEST 12: a host name without a resolver
--- stream_server_config
    content_by_lua_block {
        local sock = ngx.socket.tcp()
        ngx.say(sock:connect("localhost", 1234))
    }
--- stream_response
nilno resolver defined to resolve "localhost"
--- no_error_log
[error]



=== TEST 13: cosockets are refused in the log phase and in init_worker
--- stream_config
    init_worker_by_lua_block {
        local ok, err = pcall(ngx.socket.tcp)
        ngx.log(ngx.WARN, "init_worker: ", err)
    }
--- stream_server_config
    content_by_lua_block { ngx.say("ok") }
    log_by_lua_block {
        local ok, err = pcall(ngx.socket.tcp)
        ngx.log(ngx.WARN, "log: ", err)
    }
--- stream_response
ok
--- error_log
init_worker: API disabled in the context of init_worker_by_lua*
log: API disabled in the context of log_by_lua*



=== TEST 14: a cosocket in a timer
--- stream_config
    server {
        listen 127.0.0.1:$TEST_NGINX_RAND_PORT_1;
        content_by_lua_block { ngx.say("to the timer") }
    }
--- stream_server_config
    content_by_lua_block {
        local done
        ngx.timer.at(0, function()
            local sock = ngx.socket.tcp()
            assert(sock:connect("127.0.0.1", $TEST_NGINX_RAND_PORT_1))
            done = sock:receive()
        end)
        for i = 1, 50 do
            if done then break end
            ngx.sleep(0.02)
        end
        ngx.say("timer read: ", done)
    }
--- stream_response
timer read: to the timer
--- no_error_log
[error]



=== TEST 15: full duplex: one thread reads while another writes; two readers are refused
--- stream_config
    server {
        listen 127.0.0.1:$TEST_NGINX_RAND_PORT_1;
        content_by_lua_block {
            local sock = ngx.req.socket()
            for i = 1, 3 do
                local line = sock:receive()
                ngx.say("echo ", line)
            end
        }
    }
--- stream_server_config
    content_by_lua_block {
        local sock = ngx.socket.tcp()
        assert(sock:connect("127.0.0.1", $TEST_NGINX_RAND_PORT_1))
        local reader = ngx.thread.spawn(function()
            local r = {}
            for i = 1, 3 do r[#r + 1] = sock:receive() end
            return table.concat(r, ",")
        end)
        ngx.say("second reader: ", sock:receive())
        for i = 1, 3 do
            sock:send("msg" .. i .. "\n")
            ngx.sleep(0.01)
        end
        ngx.say("reader: ", select(2, ngx.thread.wait(reader)))
    }
--- stream_response
second reader: nilsocket busy reading
reader: echo msg1,echo msg2,echo msg3
--- no_error_log
[error]



=== TEST 16: killing a thread that waits in receive closes the socket
--- stream_config
    server {
        listen 127.0.0.1:$TEST_NGINX_RAND_PORT_1;
        content_by_lua_block { ngx.sleep(1) }
    }
--- stream_server_config
    content_by_lua_block {
        local sock = ngx.socket.tcp()
        assert(sock:connect("127.0.0.1", $TEST_NGINX_RAND_PORT_1))
        local t = ngx.thread.spawn(function() return sock:receive() end)
        ngx.sleep(0.01)
        ngx.say("kill: ", ngx.thread.kill(t))
        ngx.say("receive: ", sock:receive())
    }
--- stream_response
kill: 1
receive: nilclosed
--- error_log
stream attempt to receive data on a closed socket



=== TEST 17: tens of megabytes both ways, nothing lost
--- stream_config
    server {
        listen 127.0.0.1:$TEST_NGINX_RAND_PORT_1;
        content_by_lua_block {
            local sock = ngx.req.socket()
            local total = 0
            while true do
                local data, err = sock:receiveany(65536)
                if not data then break end
                total = total + #data
                if total >= 20 * 1024 * 1024 then break end
            end
            ngx.say("peer got ", total)
            local chunk = string.rep("y", 1024 * 1024)
            for i = 1, 20 do ngx.print(chunk) end
        }
    }
--- stream_server_config
    content_by_lua_block {
        local sock = ngx.socket.tcp()
        assert(sock:connect("127.0.0.1", $TEST_NGINX_RAND_PORT_1))
        local chunk = string.rep("x", 1024 * 1024)
        local sent = 0
        for i = 1, 20 do sent = sent + assert(sock:send(chunk)) end
        ngx.say("sent ", sent)
        ngx.say(sock:receive())
        local data = assert(sock:receive("*a"))
        ngx.say("received ", #data, " ", data:find("[^y]") == nil)
    }
--- stream_response
sent 20971520
peer got 20971520
received 20971520 true
--- no_error_log
[error]



=== TEST 18: setoption
--- stream_config
    server {
        listen 127.0.0.1:$TEST_NGINX_RAND_PORT_1;
        content_by_lua_block { ngx.say("x") }
    }
--- stream_server_config
    content_by_lua_block {
        local sock = ngx.socket.tcp()
        ngx.say("before connect: ", sock:setoption("tcp-nodelay", true))
        assert(sock:connect("127.0.0.1", $TEST_NGINX_RAND_PORT_1))
        ngx.say(sock:setoption("tcp-nodelay", true))
        ngx.say(sock:setoption("keepalive", true))
        ngx.say(sock:setoption("sndbuf", 65536))
        ngx.say(pcall(function() local a = sock:setoption("bogus", 1); return a end))
        sock:close()
    }
--- stream_response
before connect: nilclosed
true
true
true
falsecontent_by_lua(nginx.conf:34):8: bad argument #1 to 'setoption' (unsupported option bogus)
--- no_error_log
[error]



=== TEST 19: the session ends while a connect or a receive waits
--- stream_config
    server {
        listen 127.0.0.1:$TEST_NGINX_RAND_PORT_1;
        content_by_lua_block { ngx.sleep(1) }
    }
--- stream_server_config
    content_by_lua_block {
        local sock = ngx.socket.tcp()
        assert(sock:connect("127.0.0.1", $TEST_NGINX_RAND_PORT_1))
        ngx.thread.spawn(function() sock:receive() end)
        ngx.say("leaving")
        ngx.exit(ngx.OK)
    }
--- stream_response
leaving
--- no_error_log
[error]
[alert]



=== TEST 20: a socket kept in a global is closed with its session; later sessions may reconnect it
--- stream_config
    server {
        listen 127.0.0.1:$TEST_NGINX_RAND_PORT_1;
        content_by_lua_block { ngx.say("peer") }
    }
--- stream_server_config
    content_by_lua_block {
        if not kept then
            kept = ngx.socket.tcp()
            assert(kept:connect("127.0.0.1", $TEST_NGINX_RAND_PORT_1))
            ngx.say("first: ", kept:receive())
            return
        end
    }
--- stream_response
first: peer
--- no_error_log
[error]



=== TEST 21: a full pool closes its oldest idle connection; an unused pool goes away
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
        local function open()
            local sock = ngx.socket.tcp()
            assert(sock:connect("127.0.0.1", $TEST_NGINX_RAND_PORT_1, { pool = "p1" }))
            sock:send("ping\n")
            assert(sock:receive())
            return sock
        end
        local a, b = open(), open()
        ngx.say(a:setkeepalive(0, 1), " ", b:setkeepalive(0, 1))
        local c, d = open(), open()
        ngx.say("reused: ", c:getreusedtimes(), " ", d:getreusedtimes())
        c:close()
        d:close()
    }
--- stream_response
1 1
reused: 1 0
--- error_log
stream lua tcp socket connection pool size: 1, backlog: -1
stream lua tcp socket keepalive create connection pool for key "p1"
stream lua tcp socket keepalive: free connection pool for "p1"
--- no_error_log
[error]



=== TEST 22: TLS: handshake with SNI and verification against lua_ssl_trusted_certificate, session reuse
--- stream_config
    server {
        listen 127.0.0.1:$TEST_NGINX_RAND_PORT_1 ssl;
        ssl_certificate $TEST_NGINX_CERT_DIR/test.crt;
        ssl_certificate_key $TEST_NGINX_CERT_DIR/test.key;
        content_by_lua_block {
            local sock = ngx.req.socket()
            local line = sock:receive()
            ngx.say("tls echo: ", line)
        }
    }
--- stream_server_config
    lua_ssl_trusted_certificate $TEST_NGINX_CERT_DIR/ca.crt;
    lua_ssl_verify_depth 2;
    content_by_lua_block {
        local session
        for i = 1, 2 do
            local sock = ngx.socket.tcp()
            assert(sock:connect("127.0.0.1", $TEST_NGINX_RAND_PORT_1))
            local sess, err = sock:sslhandshake(session, "test.com", true)
            ngx.say("handshake: ", type(sess), " ", err)
            session = sess
            sock:send("over tls " .. i .. "\n")
            ngx.say(sock:receive())
            sock:close()
        end
        local sock = ngx.socket.tcp()
        assert(sock:connect("127.0.0.1", $TEST_NGINX_RAND_PORT_1))
        ngx.say("no session wanted: ", sock:sslhandshake(false, "test.com", true))
        sock:close()
    }
--- stream_response
handshake: userdata nil
tls echo: over tls 1
handshake: userdata nil
tls echo: over tls 2
no session wanted: true
--- no_error_log
[error]



=== TEST 23: TLS: verification failures (unknown issuer, wrong host name)
--- stream_config
    server {
        listen 127.0.0.1:$TEST_NGINX_RAND_PORT_1 ssl;
        ssl_certificate $TEST_NGINX_CERT_DIR/test.crt;
        ssl_certificate_key $TEST_NGINX_CERT_DIR/test.key;
        content_by_lua_block { ngx.say("hi") }
    }
    server {
        listen 127.0.0.1:$TEST_NGINX_RAND_PORT_2;
        lua_ssl_trusted_certificate $TEST_NGINX_CERT_DIR/ca.crt;
        content_by_lua_block {
            local sock = ngx.socket.tcp()
            assert(sock:connect("127.0.0.1", $TEST_NGINX_RAND_PORT_1))
            ngx.say("wrong name: ", sock:sslhandshake(nil, "other.com", true))
            ngx.say("after failure: ", sock:send("x"))
        }
    }
--- stream_server_config
    content_by_lua_block {
        local sock = ngx.socket.tcp()
        assert(sock:connect("127.0.0.1", $TEST_NGINX_RAND_PORT_1))
        ngx.say("no trusted CA: ", sock:sslhandshake(nil, "test.com", true))
        local s2 = ngx.socket.tcp()
        assert(s2:connect("127.0.0.1", $TEST_NGINX_RAND_PORT_1))
        ngx.say("unverified: ", type(s2:sslhandshake(nil, "test.com", false)))
        ngx.say(s2:receive())
        local s3 = ngx.socket.tcp()
        assert(s3:connect("127.0.0.1", $TEST_NGINX_RAND_PORT_2))
        ngx.print(s3:receive("*a"))
    }
--- stream_response
no trusted CA: nil20: unable to get local issuer certificate
unverified: userdata
hi
wrong name: nilcertificate host mismatch
after failure: nilclosed
--- error_log
stream lua ssl certificate verify error: (20: unable to get local issuer certificate)
stream lua ssl certificate does not match host "other.com"



=== TEST 24: TLS: a handshake with a peer that does not speak TLS, and bad arguments
--- stream_config
    server {
        listen 127.0.0.1:$TEST_NGINX_RAND_PORT_1;
        content_by_lua_block { ngx.say("plain text, not a server hello") }
    }
--- stream_server_config
    content_by_lua_block {
        local sock = ngx.socket.tcp()
        ngx.say("unconnected: ", sock:sslhandshake())
        assert(sock:connect("127.0.0.1", $TEST_NGINX_RAND_PORT_1))
        ngx.say("plain peer: ", sock:sslhandshake(nil, "test.com"))
        ngx.say(pcall(sock.sslhandshake, sock, 1, 2, 3, 4, 5))
    }
--- stream_response
unconnected: nilclosed
plain peer: nilhandshake failed
falsengx.socket sslhandshake: expecting 1 ~ 5 arguments (including the object), but seen 6
--- no_error_log
[alert]



=== TEST 25: a pooled TLS connection (TLS 1.3, session tickets left unread) is reused without a new handshake
--- stream_config
    server {
        listen 127.0.0.1:$TEST_NGINX_RAND_PORT_1 ssl;
        ssl_certificate $TEST_NGINX_CERT_DIR/test.crt;
        ssl_certificate_key $TEST_NGINX_CERT_DIR/test.key;
        ssl_protocols TLSv1.3;
        content_by_lua_block {
            local sock = ngx.req.socket()
            while sock:receive() do end
        }
    }
--- stream_server_config
    lua_ssl_protocols TLSv1.3;
    content_by_lua_block {
        for i = 1, 2 do
            local sock = ngx.socket.tcp()
            assert(sock:connect("127.0.0.1", $TEST_NGINX_RAND_PORT_1))
            ngx.say("reused: ", sock:getreusedtimes())
            ngx.say("handshake: ", type(sock:sslhandshake(nil, "test.com")))
            sock:send("round " .. i .. "\n")
            -- the session tickets the server sent after the handshake are not unread data
            ngx.sleep(0.05)
            ngx.say("keepalive: ", sock:setkeepalive())
        end
    }
--- stream_response
reused: 0
handshake: userdata
keepalive: 1
reused: 1
handshake: userdata
keepalive: 1
--- no_error_log
[error]



=== TEST 26: shutdown("send") lets the peer see the end of the data; bind picks the local address
--- stream_config
    server {
        listen 127.0.0.1:$TEST_NGINX_RAND_PORT_1;
        content_by_lua_block {
            local sock = ngx.req.socket()
            local data = sock:receive("*a")
            ngx.say("peer got [", data, "] from ", ngx.var.remote_addr)
        }
    }
--- stream_server_config
    content_by_lua_block {
        local sock = ngx.socket.tcp()
        ngx.say("not connected: ", sock:shutdown("send"))
        ngx.say("bind: ", sock:bind("127.0.0.2"))
        ngx.say("bad bind: ", ngx.socket.tcp():bind("not an address"))
        assert(sock:connect("127.0.0.1", $TEST_NGINX_RAND_PORT_1))
        sock:send("all of it")
        ngx.say("shutdown: ", sock:shutdown("send"))
        ngx.say("again: ", sock:shutdown("send"))
        ngx.say("send: ", sock:send("more"))
        ngx.say(sock:receive())
        local s2 = ngx.socket.tcp()
        assert(s2:connect("127.0.0.1", $TEST_NGINX_RAND_PORT_1))
        ngx.say(pcall(function() local a = s2:shutdown("recv"); return a end))
        s2:close()
    }
--- stream_response
not connected: nilclosed
bind: 1
bad bind: nilbad address
shutdown: 1
again: nilalready shutdown
send: nilclosed
peer got [all of it] from 127.0.0.2
falsecontent_by_lua(nginx.conf:44):14: bad argument #1 to 'shutdown' (bad shutdown argument: recv)
--- error_log
attempt to send data on a closed socket



=== TEST 27: host names go through the server's resolver (a tiny DNS server written in Lua)
--- stream_config
    server {
        listen 127.0.0.1:$TEST_NGINX_RAND_PORT_2 udp;
        content_by_lua_block {
            local sock = ngx.req.socket()
            local q = sock:receive()
            local id, question = q:sub(1, 2), q:sub(13)
            local qtype = question:byte(-4) * 256 + question:byte(-3)
            local name_end = question:find("\0", 1, true)
            local qname = question:sub(1, name_end)
            local known = qname == "\4peer\4test\0"
            local answers = (known and qtype == 1) and 1 or 0
            local flags = known and "\129\128" or "\129\131"
            local resp = id .. flags .. "\0\1\0" .. string.char(answers) .. "\0\0\0\0" .. question
            if answers == 1 then
                resp = resp .. "\192\12\0\1\0\1\0\0\0\60\0\4\127\0\0\1"
            end
            sock:send(resp)
        }
    }
    server {
        listen 127.0.0.1:$TEST_NGINX_RAND_PORT_1;
        content_by_lua_block { ngx.say("reached by name") }
    }
--- stream_server_config
    resolver 127.0.0.1:$TEST_NGINX_RAND_PORT_2 ipv6=off;
    resolver_timeout 2s;
    content_by_lua_block {
        local sock = ngx.socket.tcp()
        ngx.say("connect: ", sock:connect("peer.test", $TEST_NGINX_RAND_PORT_1))
        ngx.say(sock:receive())
        local s2 = ngx.socket.tcp()
        ngx.say("unknown: ", s2:connect("nowhere.test", $TEST_NGINX_RAND_PORT_1))
    }
--- stream_response
connect: 1
reached by name
unknown: nilnowhere.test could not be resolved (3: Host not found)
--- error_log
stream lua tcp socket resolver error: nowhere.test could not be resolved (3: Host not found)
--- no_error_log
[error]



=== TEST 28: a resolver that does not answer: the timeout, and a thread killed while it waits
--- stream_config
    server {
        listen 127.0.0.1:$TEST_NGINX_RAND_PORT_2 udp;
        content_by_lua_block { ngx.req.socket():receive() ngx.sleep(1) }
    }
--- stream_server_config
    resolver 127.0.0.1:$TEST_NGINX_RAND_PORT_2 ipv6=off;
    resolver_timeout 100ms;
    content_by_lua_block {
        local t = ngx.thread.spawn(function()
            return ngx.socket.tcp():connect("killed.test", 80)
        end)
        ngx.say("kill: ", ngx.thread.kill(t))
        local sock = ngx.socket.tcp()
        ngx.say(sock:connect("slow.test", 80))
    }
--- stream_response
kill: 1
nilslow.test could not be resolved (110: Operation timed out)
--- error_log
stream lua tcp socket abort resolver
--- no_error_log
[alert]
--- no_error_log
[alert]



=== TEST 29: backlog: connects beyond pool_size wait for a slot, beyond the backlog they fail, a wait can time out
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
        local opts = { pool = "bl", pool_size = 1, backlog = 1 }
        local first = ngx.socket.tcp()
        ngx.say("first: ", first:connect("127.0.0.1", $TEST_NGINX_RAND_PORT_1, opts))
        local waiter = ngx.thread.spawn(function()
            local sock = ngx.socket.tcp()
            local ok, err = sock:connect("127.0.0.1", $TEST_NGINX_RAND_PORT_1, opts)
            return ok, err, sock:getreusedtimes(), sock
        end)
        local third = ngx.socket.tcp()
        ngx.say("third: ", third:connect("127.0.0.1", $TEST_NGINX_RAND_PORT_1, opts))
        ngx.sleep(0.05)
        first:send("ping\n")
        first:receive()
        ngx.say("keepalive: ", first:setkeepalive())
        local _, ok, err, reused, kept = ngx.thread.wait(waiter)
        ngx.say("waiter: ", ok, " ", err, " ", reused)

        -- the slot is taken by the waiter's socket now: a new connect waits and times out
        local late = ngx.socket.tcp()
        late:settimeout(100)
        ngx.say("late: ", late:connect("127.0.0.1", $TEST_NGINX_RAND_PORT_1, opts))
        kept:close()
    }
--- stream_response
first: 1
third: niltoo many waiting connect operations
keepalive: 1
waiter: 1 nil 1
late: niltimeout
--- error_log
stream lua tcp socket queue connect operation for connection pool "bl", connections: 2
stream lua tcp socket queued connect timed out, when trying to connect to 127.0.0.1:



=== TEST 30: a thousand connect/setkeepalive cycles stay on one pooled connection
--- stream_config
    server {
        listen 127.0.0.1:$TEST_NGINX_RAND_PORT_1;
        content_by_lua_block {
            local sock = ngx.req.socket()
            local n = 0
            while sock:receive() do
                n = n + 1
                ngx.say(n)
            end
        }
    }
--- stream_server_config
    content_by_lua_block {
        local last, reused
        for i = 1, 1000 do
            local sock = ngx.socket.tcp()
            assert(sock:connect("127.0.0.1", $TEST_NGINX_RAND_PORT_1))
            reused = sock:getreusedtimes()
            assert(sock:send("x\n"))
            last = assert(sock:receive())
            assert(sock:setkeepalive(10000, 4))
        end
        ngx.say("requests on the last connection: ", last, ", reused: ", reused)
    }
--- stream_response
requests on the last connection: 1000, reused: 999
--- no_error_log
[error]



=== TEST 31: a slow peer: data trickling in is gathered by the patterns
--- stream_config
    server {
        listen 127.0.0.1:$TEST_NGINX_RAND_PORT_1;
        content_by_lua_block {
            -- one piece every 10 ms, each flushed before the next
            local text = "he|llo wo|rld\nsec|ond li|ne\r\n|--bound|ary--|tail"
            for piece in text:gmatch("[^|]+") do
                assert(ngx.print(piece) and ngx.flush(true))
                ngx.sleep(0.01)
            end
        }
    }
--- stream_server_config
    content_by_lua_block {
        local sock = assert(ngx.socket.connect("127.0.0.1", $TEST_NGINX_RAND_PORT_1))
        ngx.say(sock:receive())
        ngx.say(sock:receive())
        ngx.say(sock:receive(2))
        ngx.say(sock:receiveuntil("ary--")())
        ngx.say(sock:receive("*a"))
    }
--- stream_response
hello world
second line
--
bound
tail
--- no_error_log
[error]



=== TEST 32: receiveuntil with a pattern that overlaps itself, sized and unsized
--- stream_config
    server {
        listen 127.0.0.1:$TEST_NGINX_RAND_PORT_1;
        content_by_lua_block { ngx.print("hello, world ----abc\nxx-a--abd--abc--abcyy") }
    }
--- stream_server_config
    content_by_lua_block {
        local sock = ngx.socket.tcp()
        assert(sock:connect("127.0.0.1", $TEST_NGINX_RAND_PORT_1))
        local sized = sock:receiveuntil("--abc")
        for i = 1, 6 do
            local data, err = sized(4)
            ngx.say("sized: [", data, "] ", err)
        end
        local whole = sock:receiveuntil("--abc")
        for i = 1, 3 do
            local data, err, partial = whole()
            ngx.say("whole: [", data, "] ", err, " [", partial, "]")
        end
    }
--- stream_response
sized: [hell] nil
sized: [o, w] nil
sized: [orld] nil
sized: [ --] nil
sized: [] nil
sized: [nil] nil
whole: [
xx-a--abd] nil [nil]
whole: [] nil [nil]
whole: [nil] closed [yy]
--- no_error_log
[error]



=== TEST 33: TLS client certificates (lua_ssl_certificate), and the other lua_ssl_* settings
--- stream_config
    server {
        listen 127.0.0.1:$TEST_NGINX_RAND_PORT_1 ssl;
        ssl_certificate $TEST_NGINX_CERT_DIR/test.crt;
        ssl_certificate_key $TEST_NGINX_CERT_DIR/test.key;
        ssl_client_certificate $TEST_NGINX_CERT_DIR/client-ca.crt;
        ssl_verify_client on;
        content_by_lua_block { ngx.say("client: ", ngx.var.ssl_client_s_dn) }
    }
    server {
        listen 127.0.0.1:$TEST_NGINX_RAND_PORT_2;
        content_by_lua_block {
            local sock = ngx.socket.tcp()
            assert(sock:connect("127.0.0.1", $TEST_NGINX_RAND_PORT_1))
            assert(sock:sslhandshake(nil, "test.com"))
            ngx.print("without a certificate: ", sock:receive("*a"))
        }
    }
--- stream_server_config
    lua_ssl_certificate $TEST_NGINX_CERT_DIR/client.crt;
    lua_ssl_certificate_key $TEST_NGINX_CERT_DIR/client.key;
    lua_ssl_trusted_certificate $TEST_NGINX_CERT_DIR/ca.crt;
    lua_ssl_verify_depth 1;
    lua_ssl_protocols TLSv1.2 TLSv1.3;
    lua_ssl_ciphers HIGH:!aNULL:!MD5;
    lua_ssl_conf_command Options -SessionTicket;
    content_by_lua_block {
        local sock = ngx.socket.tcp()
        assert(sock:connect("127.0.0.1", $TEST_NGINX_RAND_PORT_1))
        ngx.say("handshake: ", type(sock:sslhandshake(nil, "test.com", true)))
        ngx.say(sock:receive())
        local other = ngx.socket.tcp()
        assert(other:connect("127.0.0.1", $TEST_NGINX_RAND_PORT_2))
        ngx.say(other:receive("*a"))
    }
--- stream_response_like
^handshake: userdata
client: CN=test client
without a certificate: (nil|)
--- no_error_log
[alert]



=== TEST 34: lua_ssl_certificate without a key fails the configuration
--- stream_server_config
    lua_ssl_certificate $TEST_NGINX_CERT_DIR/client.crt;
    content_by_lua_block { ngx.say("unreachable") }
--- must_die
--- error_log
no "lua_ssl_certificate_key" is defined for certificate



=== TEST 35: a peer that resets the connection in the middle of a read
--- stream_config
    server {
        listen 127.0.0.1:$TEST_NGINX_RAND_PORT_1;
        content_by_lua_block {
            -- leaving with the client's bytes unread makes the kernel send a reset
            ngx.sleep(0.05)
        }
    }
--- stream_server_config
    content_by_lua_block {
        local sock = ngx.socket.tcp()
        assert(sock:connect("127.0.0.1", $TEST_NGINX_RAND_PORT_1))
        assert(sock:send("unread by the peer"))
        local data, err, partial = sock:receive(100)
        ngx.say(data, " ", err, " [", partial, "]")
        ngx.say(sock:receive())
        ngx.say("close: ", sock:close())
    }
--- stream_response
nil connection reset by peer []
nilclosed
close: 1
--- error_log
recv() failed (104: Connection reset by peer)



=== TEST 36: a socket of a session that is still running is a "bad request" in another session
--- stream_config
    lua_package_path '$prefix/html/?.lua;;';
    server {
        listen 127.0.0.1:$TEST_NGINX_RAND_PORT_1;
        content_by_lua_block {
            local shared = require "shared_sock"
            if shared.sock then
                local ok, err = pcall(shared.sock.send, shared.sock, "x")
                ngx.say("other session: ", ok, " ", err)
                return
            end
            ngx.sleep(0.5)
        }
    }
--- user_files
>>> shared_sock.lua
return {}
--- stream_server_config
    content_by_lua_block {
        local shared = require "shared_sock"
        local sock = ngx.socket.tcp()
        assert(sock:connect("127.0.0.1", $TEST_NGINX_RAND_PORT_1))
        shared.sock = sock
        -- a second session, while this one still owns the socket
        local other = ngx.socket.tcp()
        assert(other:connect("127.0.0.1", $TEST_NGINX_RAND_PORT_1))
        ngx.say(other:receive())
        shared.sock = nil
        sock:close()
    }
--- stream_response
other session: false bad request
--- no_error_log
[alert]



=== TEST 37: lua_socket_buffer_size sets how much each read asks for
--- stream_config
    server {
        listen 127.0.0.1:$TEST_NGINX_RAND_PORT_1;
        content_by_lua_block { ngx.say("hello, small buffers") }
    }
--- stream_server_config
    lua_socket_buffer_size 3;
    content_by_lua_block {
        local sock = ngx.socket.tcp()
        assert(sock:connect("127.0.0.1", $TEST_NGINX_RAND_PORT_1))
        ngx.say(sock:receiveuntil(", ")())
        ngx.say(sock:receive())
    }
--- stream_response
hello
small buffers
--- error_log eval
qr/recv: fd:\d+ 3 of 3/
--- no_error_log
[error]



=== TEST 38: a socket only its waiting light thread refers to (a tail call, 'return sock:receive()') survives a garbage collection
--- stream_config
    server {
        listen 127.0.0.1:$TEST_NGINX_RAND_PORT_1;
        content_by_lua_block {
            ngx.sleep(0.2)
            ngx.say("slept")
        }
    }
--- stream_server_config
    content_by_lua_block {
        ngx.timer.at(0.05, function() collectgarbage() collectgarbage() end)
        local t = ngx.thread.spawn(function()
            local sock = ngx.socket.tcp()
            assert(sock:connect("127.0.0.1", $TEST_NGINX_RAND_PORT_1))
            return sock:receive()
        end)
        ngx.say(select(2, ngx.thread.wait(t)))
    }
--- stream_response
slept
--- error_log
stream lua tcp socket connected
--- no_error_log
[error]



=== TEST 39: threads resolving one name at once: the first woken kills the others while the resolver still hands out the answer
The resolver answers all queries for one name in a loop; killing a thread whose query is
still in that loop must not free the query under it (upstream lua-nginx-module issue 1915).
--- stream_config
    server {
        listen 127.0.0.1:$TEST_NGINX_RAND_PORT_2 udp;
        content_by_lua_block {
            local sock = ngx.req.socket()
            local q = sock:receive()
            -- NXDOMAIN for everything
            sock:send(q:sub(1, 2) .. "\129\131\0\1\0\0\0\0\0\0" .. q:sub(13))
        }
    }
--- stream_server_config
    resolver 127.0.0.1:$TEST_NGINX_RAND_PORT_2 ipv6=off;
    resolver_timeout 2s;
    content_by_lua_block {
        local function tcp()
            local sock = ngx.socket.tcp()
            local ok, err = sock:connect("nowhere.test", 80)
            return ok or err
        end
        local function udp()
            local sock = ngx.socket.udp()
            local ok, err = sock:setpeername("nowhere.test", 80)
            return ok or err
        end
        for _, f in ipairs{tcp, udp} do
            local threads = {}
            for i = 1, 3 do
                threads[i] = ngx.thread.spawn(f)
            end
            local ok, res = ngx.thread.wait(threads[1], threads[2], threads[3])
            ngx.say(ok, " ", res)
            for i = 1, 3 do
                ngx.thread.kill(threads[i])
            end
        end
        ngx.sleep(0.1)
        ngx.say("still alive")
    }
--- stream_response
true nowhere.test could not be resolved (3: Host not found)
true nowhere.test could not be resolved (3: Host not found)
still alive
--- error_log
stream lua tcp socket abort resolver
--- no_error_log
[alert]



=== TEST 40: a socket collected during the session gives back its cleanup slot; the next socket reuses it
--- stream_config
    server {
        listen 127.0.0.1:$TEST_NGINX_RAND_PORT_1;
        content_by_lua_block { ngx.say("hi") }
    }
--- stream_server_config
    content_by_lua_block {
        local function once()
            local sock = ngx.socket.tcp()
            assert(sock:connect("127.0.0.1", $TEST_NGINX_RAND_PORT_1))
            local line = sock:receive()
            sock:close()
            return line
        end
        ngx.say(once())
        collectgarbage()
        collectgarbage()
        ngx.say(once())
    }
--- stream_response
hi
hi
--- error_log
lua stream cleanup reuse
--- no_error_log
[error]



=== TEST 41: a timer's sockets follow the lua_socket_* settings of the stream {} level (lua_socket_log_errors off)
--- stream_config
    lua_socket_log_errors off;
    lua_socket_connect_timeout 1234ms;
    init_worker_by_lua_block {
        ngx.timer.at(0, function()
            local sock = ngx.socket.tcp()
            local ok, err = sock:connect("127.0.0.1", 1)
            ngx.log(ngx.WARN, "timer connect: ", ok, " ", err)
        end)
    }
--- stream_server_config
    content_by_lua_block {
        ngx.sleep(0.05)
        ngx.say("done")
    }
--- stream_response
done
--- error_log
stream lua tcp socket connect timeout: 1234
--- no_error_log
[error]



=== TEST 42: sends reuse the session's free output buffers (shared with ngx.say), as upstream (but for the first ngx.say's: deferred until the thread waits, it is not free for the second send, as it is for the C module's)
--- stream_config
    server {
        listen 127.0.0.1:$TEST_NGINX_RAND_PORT_1;
        content_by_lua_block {
            local sock = ngx.req.socket()
            while true do
                local line = sock:receive()
                if not line then break end
                ngx.say(#line)
            end
        }
    }
--- stream_server_config
    content_by_lua_block {
        local sock = ngx.socket.tcp()
        assert(sock:connect("127.0.0.1", $TEST_NGINX_RAND_PORT_1))
        for _, data in ipairs({ "a longer line\n", "short\n", "a line too long for it\n" }) do
            assert(sock:send(data))
            ngx.say("sent ", #data, ", peer got ", sock:receive())
        end
        sock:close()
    }
--- stream_response
sent 14, peer got 13
sent 6, peer got 5
sent 23, peer got 22
--- grep_error_log eval: qr/lua reuse free buf (memory \d+ >= \d+|chain, but reallocate memory because \d+ >= \d+)/
--- grep_error_log_out
lua reuse free buf chain, but reallocate memory because 21 >= 14
lua reuse free buf memory 3 >= 2
lua reuse free buf memory 21 >= 19
lua reuse free buf chain, but reallocate memory because 23 >= 21
lua reuse free buf memory 3 >= 3
lua reuse free buf memory 23 >= 21
--- no_error_log
[error]



=== TEST 43: close and setkeepalive give back the session's cleanup slot; the next connect takes it again (also in a timer)
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
        local port = $TEST_NGINX_RAND_PORT_1
        local function twice(finish)
            local sock = ngx.socket.tcp()
            for i = 1, 2 do
                assert(sock:connect("127.0.0.1", port))
                assert(sock:send("ping\n"))
                assert(sock:receive())
                assert(finish(sock))
            end
        end
        local done = false
        ngx.timer.at(0, function()
            twice(function(s) return s:close() end)
            done = true
        end)
        twice(function(s) return s:close() end)
        twice(function(s) return s:setkeepalive() end)
        while not done do ngx.sleep(0.01) end
        ngx.say("done")
    }
--- stream_response
done
--- grep_error_log eval: qr/lua stream cleanup reuse/
--- grep_error_log_out
lua stream cleanup reuse
lua stream cleanup reuse
lua stream cleanup reuse
lua stream cleanup reuse
--- no_error_log
[error]
