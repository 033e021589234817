# ngx.flush and ngx.eof. Behaviour follows stream-lua v0.0.16 (see upstream t/056-flush.t,
# t/116-raw-req-socket.t, t/023-preread/sanity.t, src/ngx_stream_lua_output.c): flush returns 1
# (waiting for the data to be written with flush(true)); eof marks the output as finished,
# after which ngx.say/print/flush/eof return nil, "seen eof". ngx.eof() does not close the
# connection in the stream subsystem: the session goes on until the handler ends.

use Test::Nginx::Socket::Lua::Stream;

repeat_each(2);

plan tests => repeat_each() * (blocks() * 2);

run_tests();

__DATA__

=== TEST 1: flush(true) and flush() return 1
--- stream_server_config
    content_by_lua_block {
        ngx.say("part one")
        local a = ngx.flush(true)
        ngx.say("part two")
        local b = ngx.flush()
        local c = ngx.flush(false)
        ngx.say("flush results: ", a, " ", b, " ", c)
    }
--- stream_response
part one
part two
flush results: 1 1 1
--- no_error_log
[error]



=== TEST 2: flush(true) with a large pending output
--- stream_server_config
    content_by_lua_block {
        ngx.print(string.rep("z", 300000))
        local ok, err = ngx.flush(true)
        ngx.say("\nflushed: ", ok, " ", err)
    }
--- stream_response eval
("z" x 300000) . "\nflushed: 1 nil\n"
--- timeout: 10
--- no_error_log
[error]



=== TEST 3: flush argument errors
--- stream_server_config
    content_by_lua_block {
        ngx.say(pcall(ngx.flush, 1))
        ngx.say(pcall(ngx.flush, "yes"))
        ngx.say(pcall(ngx.flush, true, true))
    }
--- stream_response
falsebad argument #1 to '?' (boolean expected, got number)
falsebad argument #1 to '?' (boolean expected, got string)
falseattempt to pass 2 arguments, but accepted 0 or 1
--- no_error_log
[error]



=== TEST 4: eof returns 1, later output calls return nil, "seen eof"
--- stream_server_config
    content_by_lua_block {
        ngx.say("last words")
        local ok, err = ngx.eof()
        local r = { tostring(ok) .. " " .. tostring(err) }
        for _, name in ipairs({ "say", "print", "flush", "eof" }) do
            local a, b = ngx[name]()
            r[#r + 1] = name .. ": " .. tostring(a) .. " " .. tostring(b)
        end
        ngx.log(ngx.WARN, "after eof: ", table.concat(r, "; "))
    }
--- stream_response
last words
--- error_log
after eof: 1 nil; say: nil seen eof; print: nil seen eof; flush: nil seen eof; eof: nil seen eof



=== TEST 5: eof takes no argument
--- stream_server_config
    content_by_lua_block {
        ngx.say(pcall(ngx.eof, true))
        ngx.say("eof still possible: ", ngx.eof())
    }
--- stream_response
falseno argument is expected
--- no_error_log
[error]



=== TEST 6: output written with sock:send still goes out after ngx.eof
--- stream_server_config
    content_by_lua_block {
        local sock = assert(ngx.req.socket())
        ngx.say("via say")
        ngx.eof()
        local n, err = sock:send("via send after eof\n")
        ngx.log(ngx.WARN, "send after eof: ", n, " ", err)
    }
--- stream_response
via say
via send after eof
--- error_log
send after eof: 19 nil



=== TEST 7: the handler keeps running after ngx.eof
--- stream_server_config
    content_by_lua_block {
        ngx.say("bye early")
        ngx.eof()
        ngx.sleep(0.05)
        ngx.log(ngx.WARN, "still working after eof")
    }
--- stream_response
bye early
--- error_log
still working after eof
--- no_error_log
[error]



=== TEST 8: ngx.eof in preread, the content phase cannot write any more
--- stream_server_config
    preread_by_lua_block {
        ngx.say("preread final")
        ngx.eof()
        ngx.exit(ngx.OK)
    }
    content_by_lua_block {
        local ok, err = ngx.print("content text")
        ngx.log(ngx.WARN, "content print: ", ok, " ", err)
    }
--- stream_response
preread final
--- error_log
content print: nil seen eof



=== TEST 9: say and print return 1
--- stream_server_config
    content_by_lua_block {
        local a = ngx.say("x")
        local b = ngx.print("y\n")
        ngx.say(a, " ", b)
    }
--- stream_response
x
y
1 1
--- no_error_log
[error]



=== TEST 10: flush(true) in preread
--- stream_server_config
    preread_by_lua_block {
        ngx.say("preread flushing")
        ngx.say("result: ", ngx.flush(true))
    }
    content_by_lua_block {
        ngx.say("content")
    }
--- stream_response
preread flushing
result: 1
content
--- no_error_log
[error]



=== TEST 11: flush(true) gives up after lua_socket_send_timeout when the client does not read
The peer server writes 16 MB to a client (the test server's cosocket) that reads nothing for
0.3 s: the flush returns nil, "timeout" (and logs "client timed out" at info level).
--- stream_config
    server {
        listen 127.0.0.1:$TEST_NGINX_RAND_PORT_1;
        lua_socket_send_timeout 100ms;
        content_by_lua_block {
            ngx.print(string.rep("x", 16 * 1048576))
            local ok, err = ngx.flush(true)
            ngx.log(ngx.WARN, "flush: ", ok, " ", err)
        }
    }
--- stream_server_config
    content_by_lua_block {
        local sock = ngx.socket.tcp()
        assert(sock:connect("127.0.0.1", $TEST_NGINX_RAND_PORT_1))
        ngx.sleep(0.3)
        sock:settimeout(2000)
        local data, err, partial = sock:receive("*a")
        data = data or partial
        ngx.say("received a part: ", #data > 0 and #data < 16 * 1048576)
    }
--- stream_response
received a part: true
--- error_log eval
[
qr/client timed out \(\d+: .*?timed out\)/,
"flush: nil timeout",
]



=== TEST 12: output buffers that went out are reused for later output
--- stream_server_config
    content_by_lua_block {
        ngx.say("hello, world")
        ngx.flush(true)
        ngx.say("hi")
        ngx.flush(true)
    }
--- stream_response
hello, world
hi
--- error_log
lua reuse free buf memory 13 >= 3
--- no_error_log
[error]



=== TEST 13: eof logs upstream's debug line
--- stream_server_config
    content_by_lua_block {
        ngx.say("bye")
        ngx.eof()
    }
--- stream_response
bye
--- error_log
lua send eof



=== TEST 14: eof in a UDP server is refused
--- stream_config
    server {
        listen 127.0.0.1:$TEST_NGINX_RAND_PORT_1 udp;
        content_by_lua_block {
            local ok, err = pcall(ngx.eof)
            ngx.log(ngx.WARN, "udp eof: ", ok, " ", err)
        }
    }
--- stream_server_config
    content_by_lua_block {
        local udp = ngx.socket.udp()
        assert(udp:setpeername("127.0.0.1", $TEST_NGINX_RAND_PORT_1))
        assert(udp:send("x"))
        ngx.sleep(0.1)
        ngx.say("sent")
    }
--- stream_response
sent
--- error_log
udp eof: false API disabled in the current context



=== TEST 15: flush(true) waiting in several threads: all of them get nil, "timeout" when the send timeout expires
--- stream_config
    server {
        listen 127.0.0.1:$TEST_NGINX_RAND_PORT_1;
        lua_socket_send_timeout 100ms;
        content_by_lua_block {
            -- the client reads nothing: 16 MB cannot leave
            ngx.print(string.rep("x", 16 * 1048576))
            local function wait(tag)
                local ok, err = ngx.flush(true)
                ngx.log(ngx.WARN, "flush in ", tag, ": ", ok, " ", err)
            end
            ngx.thread.spawn(wait, "A")
            ngx.thread.spawn(wait, "B")
            wait("entry")
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
--- grep_error_log eval: qr/flush in \w+: .*?(?=,)/
--- grep_error_log_out
flush in entry: nil timeout
flush in A: nil timeout
flush in B: nil timeout
