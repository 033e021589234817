# Abusive clients (issue 15), part 2: clients that reset the connection (close with
# SO_LINGER 0, an RST) in the middle of the request or of the response
# (`--- stream_request_reset`, `--- stream_response_reset_after: N`, crates/tnginx/src/abuse.rs).
# A second server's client in the same run is well-behaved and must get its whole answer.

use Test::Nginx::Socket::Lua::Stream;

repeat_each(1);
master_on();
workers(1);

plan tests => repeat_each() * (blocks() * 3);

run_tests();

__DATA__

=== TEST 1: a reset in the middle of a line: receive("*l") fails with the partial data, and the next client is served
--- stream_server_config
    content_by_lua_block {
        local sock = assert(ngx.req.socket())
        local line, err, partial = sock:receive("*l")
        ngx.log(ngx.WARN, "reset client: line ", line, ", err ", err, ", partial ", partial)
        local ok, err2 = ngx.say("nobody listens")
        ngx.log(ngx.WARN, "reset client: say ", ok, " ", err2)
    }
--- stream_request_reset
--- stream_request eval
"half a li"
--- stream_server_config2
    content_by_lua_block {
        local sock = assert(ngx.req.socket())
        local line = sock:receive("*l")
        ngx.say("second client: ", line, " ", string.rep("y", 200000):len())
    }
--- stream_request2
whole line
--- stream_response
second client: whole line 200000
--- error_log eval
qr/reset client: line nil, err (?:connection reset by peer|closed), partial (?:half a li)?,/
--- wait: 0.3



=== TEST 2: a reset while the server writes 8 MB: the write fails with an error, the handler ends, the next client gets all its bytes
--- stream_server_config
    lua_socket_send_timeout 2s;
    content_by_lua_block {
        local chunk = string.rep("r", 65536)
        for i = 1, 128 do
            local ok, err = ngx.print(chunk)
            if ok then ok, err = ngx.flush(true) end
            if not ok then
                ngx.log(ngx.WARN, "writer stopped after chunk ", i, ": ", err)
                return
            end
        end
        ngx.log(ngx.WARN, "writer wrote everything")
    }
--- stream_response_reset_after: 1000
--- stream_server_config2
    content_by_lua_block {
        local chunk = string.rep("s", 65536)
        for i = 1, 128 do
            ngx.print(chunk)
        end
        ngx.say("end")
    }
--- stream_response eval
("r" x 1000) . ("s" x 8388608) . "end\n"
--- error_log eval
qr/writer stopped after chunk \d+: (?:nginx output filter error|client aborted|broken pipe|connection reset by peer|closed)/
--- no_error_log
writer wrote everything
--- wait: 0.5
--- timeout: 20



=== TEST 3: a reset while the server's light threads read and write: both end, the session ends, the next client is served
--- stream_server_config
    content_by_lua_block {
        local sock = assert(ngx.req.socket())
        local reader = ngx.thread.spawn(function()
            local data, err = sock:receive(100000)
            ngx.log(ngx.WARN, "reader: ", err)
        end)
        local writer = ngx.thread.spawn(function()
            for i = 1, 1000 do
                local ok, err = ngx.say(string.rep("w", 10000))
                if ok then ok, err = ngx.flush(true) end
                if not ok then
                    ngx.log(ngx.WARN, "writer: ", err)
                    return
                end
                ngx.sleep(0.001)
            end
        end)
        ngx.thread.wait(reader)
        ngx.thread.wait(writer)
        ngx.log(ngx.WARN, "handler done")
    }
--- stream_request eval
"x" x 50
--- stream_response_reset_after: 20000
--- stream_server_config2
    content_by_lua_block { ngx.say("second client served") }
--- stream_response eval
("w" x 10000) . "\n" . ("w" x 9999) . "second client served\n"
--- error_log eval
[qr/reader: (?:connection reset by peer|closed)/, qr/writer: (?:nginx output filter error|client aborted|broken pipe|connection reset by peer|closed)/, "handler done"]
--- wait: 0.5
--- timeout: 20
