# Timeouts and early close on the downstream socket. Behaviour follows stream-lua v0.0.16
# (see upstream t/116-raw-req-socket.t, t/117-raw-req-socket-timeout.t,
# t/023-preread/tcp-socket-timeout.t, src/ngx_stream_lua_socket_tcp.c): a read timeout gives
# nil, "timeout", partial data and keeps the socket usable; a client close gives
# nil, "closed", partial data and closes the reading side for good.

use Test::Nginx::Socket::Lua::Stream;

repeat_each(1);

plan tests => repeat_each() * (blocks() * 2);

no_long_string();

run_tests();

__DATA__

=== TEST 1: a read timeout returns what arrived so far
--- stream_server_config
    content_by_lua_block {
        local sock = assert(ngx.req.socket())
        sock:settimeout(100)
        local data, err, partial = sock:receive(10)
        ngx.say(data, " ", err, " [", partial, "]")
    }
--- stream_request chomp
abc
--- stream_response
nil timeout [abc]
--- error_log eval
qr/\[error\] .*stream lua tcp socket read timed out/



=== TEST 2: the socket stays usable after a timeout, the next partial is empty
--- stream_server_config
    content_by_lua_block {
        local sock = assert(ngx.req.socket())
        sock:settimeout(80)
        local _, err1, p1 = sock:receive()
        local _, err2, p2 = sock:receive(1)
        local _, err3, p3 = sock:receiveany(5)
        ngx.say(err1, " [", p1, "]")
        ngx.say(err2, " [", p2, "]")
        ngx.say(err3, " [", p3, "]")
    }
--- stream_request chomp
no newline
--- stream_response
timeout [no newline]
timeout []
timeout []
--- grep_error_log eval: qr/stream lua tcp socket read timed out/
--- grep_error_log_out
stream lua tcp socket read timed out
stream lua tcp socket read timed out
stream lua tcp socket read timed out



=== TEST 3: "*a" times out with everything received as the partial
--- stream_server_config
    content_by_lua_block {
        local sock = assert(ngx.req.socket())
        sock:settimeout(100)
        local data, err, partial = sock:receive("*a")
        ngx.say(data, " ", err, " [", partial, "]")
    }
--- stream_request
line 1
line 2
--- stream_response
nil timeout [line 1
line 2
]



=== TEST 4: lua_socket_log_errors off keeps read timeouts out of the log
--- stream_server_config
    lua_socket_log_errors off;
    content_by_lua_block {
        local sock = assert(ngx.req.socket())
        sock:settimeout(50)
        local data, err = sock:receive(5)
        ngx.say("quiet ", err)
    }
--- stream_request chomp
ab
--- stream_response
quiet timeout
--- no_error_log
read timed out
[error]



=== TEST 5: lua_socket_read_timeout is the default read timeout
--- stream_server_config
    lua_socket_read_timeout 150ms;
    content_by_lua_block {
        local sock = assert(ngx.req.socket())
        ngx.update_time()
        local t0 = ngx.now()
        local data, err = sock:receive(3)
        local spent = ngx.now() - t0
        ngx.say(err, " after ", spent >= 0.14 and spent < 1 and "about 150ms" or spent)
    }
--- stream_request chomp
z
--- stream_response
timeout after about 150ms
--- error_log
stream lua tcp socket read timeout: 150



=== TEST 6: settimeout overrides the directive
--- stream_server_config
    lua_socket_read_timeout 20s;
    content_by_lua_block {
        local sock = assert(ngx.req.socket())
        sock:settimeout(60)
        ngx.update_time()
        local t0 = ngx.now()
        local data, err = sock:receive(3)
        ngx.say(err, " quickly: ", ngx.now() - t0 < 1)
    }
--- stream_request chomp
z
--- stream_response
timeout quickly: true
--- error_log
stream lua tcp socket read timeout: 60



=== TEST 7: settimeout(0) goes back to the directive's value
--- stream_server_config
    lua_socket_read_timeout 120ms;
    content_by_lua_block {
        local sock = assert(ngx.req.socket())
        sock:settimeout(10000)
        sock:settimeout(0)
        ngx.update_time()
        local t0 = ngx.now()
        local data, err = sock:receive(3)
        ngx.say(err, " quickly: ", ngx.now() - t0 < 1)
    }
--- stream_request chomp
z
--- stream_response
timeout quickly: true
--- error_log
stream lua tcp socket read timeout: 120



=== TEST 8: settimeouts sets the read timeout from its third value
--- stream_server_config
    content_by_lua_block {
        local sock = assert(ngx.req.socket())
        sock:settimeouts(5000, 5000, 70)
        ngx.update_time()
        local t0 = ngx.now()
        local data, err, partial = sock:receive(4)
        ngx.say(err, " [", partial, "] quickly: ", ngx.now() - t0 < 1)
    }
--- stream_request chomp
xy
--- stream_response
timeout [xy] quickly: true
--- error_log
stream lua tcp socket read timeout: 70



=== TEST 9: settimeouts with zero or nil read value keeps the directive's value
--- stream_server_config
    lua_socket_read_timeout 90ms;
    content_by_lua_block {
        local sock = assert(ngx.req.socket())
        sock:settimeouts(100, 100, 100)
        sock:settimeouts(nil, 0, nil)
        local data, err = sock:receive(2)
        ngx.say(err)
    }
--- stream_request chomp
.
--- stream_response
timeout
--- error_log
stream lua tcp socket read timeout: 90



=== TEST 10: settimeout and settimeouts return nothing
--- stream_server_config
    content_by_lua_block {
        local sock = assert(ngx.req.socket())
        ngx.say(select("#", sock:settimeout(1000)))
        ngx.say(select("#", sock:settimeouts(1000, 1000, 1000)))
        ngx.say(sock:receive())
    }
--- stream_request
fine
--- stream_response
0
0
fine
--- no_error_log
[error]



=== TEST 11: bad timeout values and argument counts
--- stream_server_config
    content_by_lua_block {
        local sock = assert(ngx.req.socket())
        local function try(f, ...)
            local ok, err = pcall(f, sock, ...)
            ngx.say(ok, ": ", err)
        end
        try(sock.settimeout, -1)
        try(sock.settimeout, 2^31)
        try(sock.settimeouts, 1, -1, 1)
        try(sock.settimeouts, 1, 1, 2^32)
        try(sock.settimeout)
        try(sock.settimeout, 1, 2)
        try(sock.settimeouts, 1, 2)
        ngx.say(sock:receive())
    }
--- stream_request
still fine
--- stream_response_like chomp
^false: .*bad timeout value
false: .*bad timeout value
false: .*bad timeout value
false: .*bad timeout value
false: .*ngx\.socket settimout: expecting 2 arguments \(including the object\) but seen 1
false: .*ngx\.socket settimout: expecting 2 arguments \(including the object\) but seen 3
false: .*ngx\.socket settimout: expecting 4 arguments \(including the object\) but seen 3
still fine$



=== TEST 12: the client closes before a fixed-size read completes
--- stream_server_config
    content_by_lua_block {
        local sock = assert(ngx.req.socket())
        local data, err, partial = sock:receive(100)
        ngx.say(data, " ", err, " [", partial, "]")
    }
--- stream_request chomp
short
--- shutdown
--- stream_response
nil closed [short]
--- no_error_log
[error]



=== TEST 13: the client closes in the middle of a line
--- stream_server_config
    content_by_lua_block {
        local sock = assert(ngx.req.socket())
        ngx.say("1: ", sock:receive())
        local line, err, partial = sock:receive()
        ngx.say("2: ", line, " ", err, " [", partial, "]")
    }
--- stream_request eval
"complete\r\nunterminated"
--- shutdown
--- stream_response
1: complete
2: nil closed [unterminated]
--- no_error_log
[error]



=== TEST 14: after "closed" the reading side stays closed
--- stream_server_config
    content_by_lua_block {
        local sock = assert(ngx.req.socket())
        local _, err1, p1 = sock:receive(10)
        local d2, err2, p2 = sock:receive(1)
        local d3, err3 = sock:receiveany(1)
        ngx.say(err1, " [", p1, "]")
        ngx.say(d2, " ", err2, " ", p2)
        ngx.say(d3, " ", err3)
    }
--- stream_request chomp
abc
--- shutdown
--- stream_response
closed [abc]
nil closed nil
nil closed
--- error_log
attempt to receive data on a closed socket



=== TEST 15: the write side still works after the client stopped sending
--- stream_server_config
    content_by_lua_block {
        local sock = assert(ngx.req.socket())
        local all = sock:receive("*a")
        local n, err = sock:send("echo: " .. all)
        ngx.say("sent ", n, " ", err)
    }
--- stream_request
payload
--- shutdown
--- stream_response
echo: payload
sent 14 nil
--- no_error_log
[error]



=== TEST 16: a read timeout does not end the session, sending still works
--- stream_server_config
    content_by_lua_block {
        local sock = assert(ngx.req.socket())
        sock:settimeout(50)
        for i = 1, 3 do
            local data, err, partial = sock:receive(8)
            sock:send(i .. ": " .. tostring(data) .. " " .. tostring(err) .. " [" .. tostring(partial) .. "]\n")
        end
    }
--- stream_request chomp
12345
--- stream_response
1: nil timeout [12345]
2: nil timeout []
3: nil timeout []



=== TEST 17: a timeout in the preread phase
--- stream_server_config
    preread_by_lua_block {
        local sock = assert(ngx.req.socket())
        sock:settimeout(60)
        local data, err, partial = sock:receive("*l")
        ngx.ctx.result = tostring(err) .. " [" .. tostring(partial) .. "]"
    }
    content_by_lua_block {
        ngx.say("preread got: ", ngx.ctx.result)
    }
--- stream_request chomp
partial line
--- stream_response
preread got: timeout [partial line]
--- error_log
stream lua tcp socket read timed out



=== TEST 18: a send timeout gives nil, "timeout" and closes the sending side; the session then ends at once
The peer server sends 16 MB to a client (the test server's cosocket) that reads nothing for
0.3 s. Sends bypass nginx's output buffers, so ngx.exit does not wait for them to drain.
--- stream_config
    server {
        listen 127.0.0.1:$TEST_NGINX_RAND_PORT_1;
        content_by_lua_block {
            local sock = assert(ngx.req.socket(true))
            sock:settimeout(100)
            local bytes, err = sock:send(string.rep("s", 16 * 1048576))
            ngx.log(ngx.WARN, "send: ", bytes, " ", err)
            ngx.log(ngx.WARN, "send again: ", select(2, sock:send("more")))
            ngx.exit(444)
        }
    }
--- stream_server_config
    content_by_lua_block {
        local sock = ngx.socket.tcp()
        assert(sock:connect("127.0.0.1", $TEST_NGINX_RAND_PORT_1))
        ngx.sleep(0.3)
        sock:settimeout(2000)
        local data, err, partial = sock:receive("*a")
        ngx.say("receive: ", err, ", got a part: ", #(data or partial) < 16 * 1048576)
    }
--- stream_response
receive: nil, got a part: true
--- error_log
stream lua tcp socket write timed out
send: nil timeout
send again: closed
attempt to send data on a closed socket



=== TEST 19: ngx.exit in a light thread while the entry thread waits in send ends the session at once
--- stream_config
    server {
        listen 127.0.0.1:$TEST_NGINX_RAND_PORT_1;
        content_by_lua_block {
            local function quit_soon()
                ngx.sleep(0.05)
                ngx.log(ngx.WARN, "quitting now")
                ngx.exit(200)
            end
            local sock = assert(ngx.req.socket(true))
            sock:settimeout(10000)
            ngx.thread.spawn(quit_soon)
            local bytes, err = sock:send(string.rep("s", 16 * 1048576))
            ngx.log(ngx.WARN, "send returned: ", bytes, " ", err)
        }
    }
--- stream_server_config
    content_by_lua_block {
        local sock = ngx.socket.tcp()
        assert(sock:connect("127.0.0.1", $TEST_NGINX_RAND_PORT_1))
        ngx.sleep(0.3)
        sock:settimeout(2000)
        local data, err, partial = sock:receive("*a")
        ngx.say("receive: ", err, ", got a part: ", #(data or partial) < 16 * 1048576)
    }
--- stream_response
receive: nil, got a part: true
--- error_log
stream lua tcp socket send timeout: 10000
quitting now
--- no_error_log
send returned
stream lua tcp socket write timed out



=== TEST 20: a send while nginx still holds ngx.print output is refused ("socket busy writing")
--- stream_config
    server {
        listen 127.0.0.1:$TEST_NGINX_RAND_PORT_1;
        lua_socket_send_timeout 100ms;
        content_by_lua_block {
            local sock = assert(ngx.req.socket(true))
            -- the client reads nothing: nginx keeps most of this buffered
            ngx.print(string.rep("p", 16 * 1048576))
            ngx.log(ngx.WARN, "send: ", select(2, sock:send("after")))
            ngx.exit(444)
        }
    }
--- stream_server_config
    content_by_lua_block {
        local sock = ngx.socket.tcp()
        assert(sock:connect("127.0.0.1", $TEST_NGINX_RAND_PORT_1))
        ngx.sleep(0.3)
        sock:close()
        ngx.say("done")
    }
--- stream_response
done
--- error_log
send: socket busy writing



=== TEST 21: a receive's timer stays set after its data came; a later receive still waits its whole timeout
--- stream_config
    server {
        listen 127.0.0.1:$TEST_NGINX_RAND_PORT_1;
        content_by_lua_block {
            local sock = assert(ngx.req.socket())
            sock:settimeout(200)
            local line = assert(sock:receive())  -- waits ~50 ms for the client
            ngx.sleep(0.05)
            ngx.update_time()
            local t0 = ngx.now()
            -- the first receive's timer (due ~100 ms from now) is earlier than this one's
            local data, err = sock:receive()
            ngx.update_time()
            local waited = ngx.now() - t0
            sock:send(line .. " " .. err .. " " .. (waited >= 0.19 and "whole" or "short " .. waited) .. "\n")
        }
    }
--- stream_server_config
    content_by_lua_block {
        local c = ngx.socket.tcp()
        assert(c:connect("127.0.0.1", $TEST_NGINX_RAND_PORT_1))
        ngx.sleep(0.05)
        assert(c:send("hello\n"))
        c:settimeout(3000)
        ngx.say(c:receive())
    }
--- stream_response
hello timeout whole
--- error_log
stream lua tcp socket read timed out



=== TEST 22: a shorter timeout than the timer left set by the last receive comes in time
--- stream_config
    server {
        listen 127.0.0.1:$TEST_NGINX_RAND_PORT_1;
        content_by_lua_block {
            local sock = assert(ngx.req.socket())
            local line = assert(sock:receive())  -- the default 60 s timeout
            sock:settimeout(100)
            ngx.update_time()
            local t0 = ngx.now()
            local data, err = sock:receive()
            ngx.update_time()
            local waited = ngx.now() - t0
            sock:send(line .. " " .. err .. " " .. (waited < 2 and "in time" or "late " .. waited) .. "\n")
        }
    }
--- stream_server_config
    content_by_lua_block {
        local c = ngx.socket.tcp()
        assert(c:connect("127.0.0.1", $TEST_NGINX_RAND_PORT_1))
        ngx.sleep(0.05)
        assert(c:send("hello\n"))
        c:settimeout(5000)
        ngx.say(c:receive())
    }
--- stream_response
hello timeout in time
--- error_log
stream lua tcp socket read timed out



=== TEST 23: the timer of a receive that got its data comes due while nothing reads: nothing happens
--- stream_config
    server {
        listen 127.0.0.1:$TEST_NGINX_RAND_PORT_1;
        content_by_lua_block {
            local sock = assert(ngx.req.socket())
            sock:settimeout(100)
            local first = assert(sock:receive())  -- waits ~50 ms
            ngx.sleep(0.3)                        -- its timer comes due meanwhile
            local second, err = sock:receive()    -- already there
            sock:send(first .. " " .. tostring(second) .. " " .. tostring(err) .. "\n")
        }
    }
--- stream_server_config
    content_by_lua_block {
        local c = ngx.socket.tcp()
        assert(c:connect("127.0.0.1", $TEST_NGINX_RAND_PORT_1))
        ngx.sleep(0.05)
        assert(c:send("first\n"))
        ngx.sleep(0.1)
        assert(c:send("second\n"))
        c:settimeout(3000)
        ngx.say(c:receive())
    }
--- stream_response
first second nil
--- no_error_log
timed out
[error]
