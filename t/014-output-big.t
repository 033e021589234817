# Behaviour follows stream-lua v0.0.16 (see upstream t/002-content.t, t/056-flush.t,
# src/ngx_stream_lua_output.c, src/ngx_stream_lua_request.c): output that does not fit in
# the socket buffer is kept and sent as the client reads; a handler that ends normally or
# through ngx.exit(code >= 0) waits for it before the session is finalized.

use Test::Nginx::Socket::Lua::Stream;

repeat_each(1);

plan tests => repeat_each() * (blocks() * 2);

run_tests();

__DATA__

=== TEST 1: a 4 MB single write followed by a short line
--- timeout: 30
--- stream_server_config
    content_by_lua_block {
        ngx.print(string.rep("a", 4194304))
        ngx.say("END")
    }
--- stream_response eval
("a" x 4194304) . "END\n"
--- no_error_log
[error]



=== TEST 2: a 16 MB response
--- timeout: 60
--- stream_server_config
    content_by_lua_block {
        local chunk = string.rep("0123456789abcdef", 65536)
        for i = 1, 16 do
            ngx.print(chunk)
        end
        ngx.say("DONE")
    }
--- stream_response eval
("0123456789abcdef" x 1048576) . "DONE\n"
--- no_error_log
[error]



=== TEST 3: a 16 MB string in one ngx.say call
--- timeout: 60
--- stream_server_config
    content_by_lua_block {
        ngx.say(string.rep("Z", 16777216))
    }
--- stream_response eval
("Z" x 16777216) . "\n"
--- no_error_log
[error]



=== TEST 4: half a million small writes keep their order
--- timeout: 60
--- stream_server_config
    content_by_lua_block {
        for i = 1, 250000 do
            ngx.print("left")
            ngx.print("right!")
        end
        ngx.say()
    }
--- stream_response eval
("leftright!" x 250000) . "\n"
--- no_error_log
[error]



=== TEST 5: distinct large pieces arrive in order
--- timeout: 30
--- stream_server_config
    content_by_lua_block {
        ngx.print(string.rep("a", 3000000))
        ngx.print(string.rep("b", 1048583))
        ngx.print(string.rep("c", 7))
        ngx.say("|")
    }
--- stream_response eval
("a" x 3000000) . ("b" x 1048583) . "ccccccc|\n"
--- no_error_log
[error]



=== TEST 6: a large array table written in one call
--- timeout: 30
--- stream_server_config
    content_by_lua_block {
        local parts = {}
        for i = 1, 64 do
            parts[i] = {string.rep("x", 32768), string.rep("y", 32768)}
        end
        ngx.say(parts)
    }
--- stream_response eval
((("x" x 32768) . ("y" x 32768)) x 64) . "\n"
--- no_error_log
[error]



=== TEST 7: ngx.exit(ngx.OK) after a large write still delivers everything
--- timeout: 30
--- stream_server_config
    content_by_lua_block {
        ngx.print(string.rep("q", 4194304))
        ngx.print("tail\n")
        ngx.exit(ngx.OK)
        ngx.say("not sent")
    }
--- stream_response eval
("q" x 4194304) . "tail\n"
--- no_error_log
[error]



=== TEST 8: ngx.exit(444) after a large write still delivers everything
--- timeout: 30
--- stream_server_config
    content_by_lua_block {
        ngx.print(string.rep("w", 4194304))
        ngx.print("tail\n")
        return ngx.exit(444)
    }
--- stream_response eval
("w" x 4194304) . "tail\n"
--- no_error_log
[error]



=== TEST 9: ngx.flush(true) waits until a large write is sent
--- timeout: 30
--- stream_server_config
    content_by_lua_block {
        ngx.print(string.rep("f", 4194304))
        local ok, err = ngx.flush(true)
        ngx.say("flushed: ", ok, " ", err)
    }
--- stream_response eval
("f" x 4194304) . "flushed: 1 nil\n"
--- no_error_log
[error]



=== TEST 10: ngx.eof after a large write
--- timeout: 30
--- stream_server_config
    content_by_lua_block {
        ngx.print(string.rep("e", 2097152))
        ngx.say("last line")
        local ok = ngx.eof()
        ngx.log(ngx.WARN, "eof returned ", ok)
    }
--- stream_response eval
("e" x 2097152) . "last line\n"
--- error_log
eof returned 1
--- no_error_log
[error]



=== TEST 11: a runtime error in the middle of a response closes the connection
--- timeout: 30
--- stream_server_config
    content_by_lua_block {
        ngx.say("first part")
        ngx.print(string.rep("m", 65536))
        error("failed halfway")
        ngx.say("second part")
    }
--- stream_response_like eval
qr/\Afirst part\nm*\z/
--- error_log eval
qr/lua entry thread aborted: runtime error: content_by_lua\(nginx\.conf:\d+\):4: failed halfway/



=== TEST 12: 32 MB written with a waiting flush every 8 MB
--- timeout: 60
--- stream_server_config
    content_by_lua_block {
        local piece = string.rep("r", 1048576)
        for i = 1, 32 do
            ngx.print(piece)
            if i % 8 == 0 then
                ngx.flush(true)
            end
        end
        ngx.say("|done")
    }
--- stream_response eval
("r" x 33554432) . "|done\n"
--- no_error_log
[error]



=== TEST 13: a client that closes before reading the whole response
The client gives up after 0.3 s while the handler still writes (with waiting flushes and
short sleeps): the next write or flush fails with an error value, nothing crashes.
--- stream_server_config
    content_by_lua_block {
        for i = 1, 200 do
            local ok, err = ngx.print(string.rep("d", 65536))
            if ok then
                ok, err = ngx.flush(true)
            end
            if not ok then
                ngx.log(ngx.WARN, "write failed after ", i, " chunks: ", err)
                return
            end
            ngx.sleep(0.01)
        end
        ngx.log(ngx.WARN, "wrote everything")
    }
--- timeout: 0.3
--- abort
--- wait: 0.5
--- stream_response
receive stream response error: timeout
--- error_log eval
qr/write failed after \d+ chunks: (?:nginx output filter error|closed|timeout)/
--- no_error_log
[alert]
wrote everything
