# Abusive clients (issue 15), part 1: slowloris, half-close, lines longer than the socket
# buffer. The runner's `--- stream_request_trickle` sends the first conversation's request one
# byte at a time (crates/tnginx/src/abuse.rs); a second server's request, where a block has
# one, is a well-behaved client in the same run whose answer shows the worker still serves.
# Each block checks what is logged, that the worker survives (the runner fails any block whose
# log shows a worker exiting on a signal), and that no byte is lost where the client stays.

use Test::Nginx::Socket::Lua::Stream;

repeat_each(1);
master_on();
workers(1);

plan tests => repeat_each() * (blocks() * 3);

run_tests();

__DATA__

=== TEST 1: slowloris: receive("*l") times out between bytes, keeps the partial data, and the line arrives whole
Bytes come 0.25 s apart, the read timeout is 100 ms: every byte costs a timeout, and each
timeout hands back what was read so far.
--- stream_server_config
    lua_socket_read_timeout 100ms;
    content_by_lua_block {
        local sock = assert(ngx.req.socket())
        local parts, timeouts = {}, 0
        while true do
            local line, err, partial = sock:receive("*l")
            if line then
                parts[#parts + 1] = line
                break
            end
            if err ~= "timeout" then
                ngx.say("unexpected error: ", err)
                return
            end
            timeouts = timeouts + 1
            parts[#parts + 1] = partial
            if timeouts > 40 then break end
        end
        ngx.say("line: ", table.concat(parts), ", timeouts >= 5: ", timeouts >= 5)
    }
--- stream_request_trickle: 0.25
--- stream_request
hello, slow
--- stream_response
line: hello, slow, timeouts >= 5: true
--- error_log
stream lua tcp socket read timed out
--- timeout: 10



=== TEST 2: slowloris: a server that gives up at the first timeout closes, and the next client is served
--- stream_server_config
    lua_socket_read_timeout 100ms;
    content_by_lua_block {
        local sock = assert(ngx.req.socket())
        local line, err, partial = sock:receive("*l")
        ngx.log(ngx.WARN, "slow client: ", err, ", partial: ", partial)
        ngx.say("too slow")
    }
--- stream_request_trickle: 0.3
--- stream_request
abcdef
--- stream_server_config2
    content_by_lua_block {
        local sock = assert(ngx.req.socket())
        ngx.say("second client: ", sock:receive("*l"))
    }
--- stream_request2
on time
--- stream_response
too slow
second client: on time
--- error_log
slow client: timeout, partial: a
--- timeout: 10



=== TEST 3: half-close: the client shuts its write side, the server reads a line then the rest to EOF, and answers whole
--- stream_server_config
    content_by_lua_block {
        local sock = assert(ngx.req.socket())
        local line = sock:receive("*l")
        local rest, err = sock:receive("*a")
        local after, err2 = sock:receive(1)
        ngx.say("line: ", line, ", rest: ", rest, ", then: ", after, " ", err2)
        ngx.say(string.rep("z", 100000))
        ngx.say("end")
    }
--- shutdown: 1
--- stream_request eval
"first line\nno newline at the end"
--- stream_response eval
"line: first line, rest: no newline at the end, then: nil closed\n" . ("z" x 100000) . "\nend\n"
--- no_error_log
[alert]



=== TEST 4: half-close in the middle of a line: receive("*l") gives the partial line with "closed"
--- stream_server_config
    content_by_lua_block {
        local sock = assert(ngx.req.socket())
        local line, err, partial = sock:receive("*l")
        ngx.say("line: ", line, ", err: ", err, ", partial: ", partial)
    }
--- shutdown: 1
--- stream_request eval
"cut in the midd"
--- stream_response
line: nil, err: closed, partial: cut in the midd
--- no_error_log
[alert]



=== TEST 5: a line 40 times longer than lua_socket_buffer_size arrives whole through receive("*l")
--- stream_server_config
    lua_socket_buffer_size 1k;
    content_by_lua_block {
        local sock = assert(ngx.req.socket())
        local line, err = sock:receive("*l")
        if not line then
            ngx.say("failed: ", err)
            return
        end
        ngx.say("len: ", #line, ", md5: ", ngx.md5(line))
        ngx.say("next: ", sock:receive("*l"))
    }
--- stream_request eval
("abcdefghijklmnopqrstuvwxyz" x 1600) . "\nshort\n"
--- stream_response
len: 41600, md5: 87648b2f29fb8c126ed0d5bee1d6ab4d
next: short
--- no_error_log
[alert]



=== TEST 6: a receiveuntil delimiter spread over many 1k buffers: every chunk of the iterator adds up to the whole body
--- stream_server_config
    lua_socket_buffer_size 1k;
    content_by_lua_block {
        local sock = assert(ngx.req.socket())
        local reader = sock:receiveuntil("--END--")
        local total, chunks, md5 = 0, 0, ngx.md5
        local all = {}
        while true do
            local data, err, partial = reader(700)
            if err then
                ngx.say("failed: ", err)
                return
            end
            if not data then break end
            chunks = chunks + 1
            all[#all + 1] = data
        end
        local body = table.concat(all)
        ngx.say("len: ", #body, ", chunks > 50: ", chunks > 50, ", tail: ", sock:receive("*l"))
        ngx.say("ends with x: ", body:sub(-3) == "xyz")
    }
--- stream_request eval
("-" x 6 . "abcdefghijklmnopqrstuvwxyz" x 1500) . "--END--tail\n"
--- stream_response
len: 39006, chunks > 50: true, tail: tail
ends with x: true
--- no_error_log
[alert]
