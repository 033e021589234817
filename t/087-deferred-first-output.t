# The session's first ngx.say/ngx.print (up to 16 KB) is deferred until the Lua code waits,
# flushes, writes again or ends; when the session ends with it, it leaves with the close (TCP_CORK:
# one segment with the FIN). What the client receives, in what order, and every return value stay
# the C module's: these blocks check both (the debug line tells whether the cork was used).

=== TEST 1: one line, then the end: it leaves with the close
--- stream_server_config
    content_by_lua_block {
        ngx.say("hello")
    }
--- stream_response
hello
--- error_log
stream lua tcp_nopush: the first output leaves with the close
--- no_error_log
[error]



=== TEST 2: a line, a wait, the end: the line left when the thread waited (nothing to cork at the end)
--- stream_server_config
    content_by_lua_block {
        ngx.say("before")
        ngx.sleep(0.01)
    }
--- stream_response
before
--- no_error_log
tcp_nopush
[error]



=== TEST 3: several writes in one run arrive whole and in order; only the first was deferred
--- stream_server_config
    content_by_lua_block {
        ngx.print("a")
        ngx.say("b", 1)
        ngx.print({ "c", { "d" } }, "\n")
        ngx.say(ngx.print("e"))
    }
--- stream_response
ab1
cd
e1
--- no_error_log
tcp_nopush
[error]



=== TEST 4: the request socket's send goes after the deferred ngx.say
--- stream_server_config
    content_by_lua_block {
        local sock = ngx.req.socket()
        ngx.say("one")
        assert(sock:send("two\n"))
        ngx.say("three")
    }
--- stream_response
one
two
three
--- no_error_log
[error]



=== TEST 5: preread output goes before what the next phases write
--- stream_server_config
    preread_by_lua_block {
        ngx.say("from preread")
    }
    return "from return\n";
--- stream_response
from preread
from return
--- no_error_log
tcp_nopush
[error]



=== TEST 6: a Lua error after the first ngx.say: the line still reaches the client
--- stream_server_config
    content_by_lua_block {
        ngx.say("partial")
        error("boom")
    }
--- stream_response
partial
--- error_log
boom



=== TEST 7: ngx.exit after the first ngx.say: it leaves with the close
--- stream_server_config
    content_by_lua_block {
        ngx.say("bye")
        ngx.exit(ngx.OK)
        ngx.say("never")
    }
--- stream_response
bye
--- error_log
stream lua tcp_nopush: the first output leaves with the close
--- no_error_log
never
[error]



=== TEST 8: a first output above 16 KB leaves at once (nothing to cork at the end)
--- stream_server_config
    content_by_lua_block {
        ngx.print(string.rep("x", 16 * 1024 + 1))
    }
--- stream_response_like eval
qr/\Ax{16385}\z/
--- no_error_log
tcp_nopush
[error]



=== TEST 9: $bytes_sent counts the deferred output in the log phase
--- stream_server_config
    content_by_lua_block {
        ngx.say("12345")
    }
    log_by_lua_block {
        ngx.log(ngx.WARN, "bytes_sent=", ngx.var.bytes_sent)
    }
--- stream_response
12345
--- error_log
bytes_sent=6



=== TEST 10: ngx.flush sends the deferred output; flush(true) returns 1
--- stream_server_config
    content_by_lua_block {
        ngx.say("flushed")
        ngx.log(ngx.WARN, "flush: ", ngx.flush(true))
        ngx.say("after")
    }
--- stream_response
flushed
after
--- error_log
flush: 1
--- no_error_log
tcp_nopush



=== TEST 11: a unix socket client gets the answer too (no cork there)
--- stream_config
    server {
        listen unix:$TEST_NGINX_HTML_DIR/first-output.sock;
        content_by_lua_block {
            ngx.say("over unix")
        }
    }
--- stream_server_config
    content_by_lua_block {
        local sock = ngx.socket.tcp()
        assert(sock:connect("unix:$TEST_NGINX_HTML_DIR/first-output.sock"))
        ngx.say(sock:receive())
        ngx.say(sock:receive())
    }
--- stream_response
over unix
nilclosed
--- no_error_log
tcp_nopush
[error]



=== TEST 12: ngx.req.socket(true) after a first ngx.say that nginx sent whole: no pending data
--- stream_server_config
    content_by_lua_block {
        ngx.say("hello")
        local sock, err = ngx.req.socket(true)
        ngx.log(ngx.WARN, "raw socket: ", sock ~= nil, " ", err)
    }
--- stream_response
hello
--- error_log
raw socket: true nil



=== TEST 13: a client gone before the output: the second ngx.say fails, as for the C module
(The first write draws the peer's reset on loopback: the deferred line is written before the second.)
--- stream_server_config
    content_by_lua_block {
        ngx.sleep(0.2)
        for i = 1, 2 do
            local ok, err = ngx.say("hello")
            if not ok then
                ngx.log(ngx.WARN, "say ", i, " failed: ", err)
                return
            end
        end
    }
--- timeout: 0.1
--- abort
--- wait: 0.2
--- stream_response
receive stream response error: timeout
--- error_log
say 2 failed: nginx output filter error
--- no_error_log
[alert]
