# Waits on the downstream socket that end early: a thread killed while it waits in receive or
# peek gives the socket back (no "socket busy reading" afterwards, no stale timer ending a
# later read early), as upstream cleans up a killed thread's socket wait.

use Test::Nginx::Socket::Lua::Stream;

repeat_each(1);

plan tests => repeat_each() * (blocks() * 2);

no_long_string();

run_tests();

__DATA__

=== TEST 1: a thread killed while it waits in receive lets another thread read what arrived
--- stream_server_config
    content_by_lua_block {
        local sock = assert(ngx.req.socket())
        sock:settimeout(5000)
        local t = ngx.thread.spawn(function()
            local line, err = sock:receive("*l")
            ngx.say("reader woke: ", line, " ", err)
        end)
        ngx.sleep(0.05)
        ngx.say("busy: ", select(2, sock:receive(1)))
        ngx.say("kill: ", ngx.thread.kill(t))
        ngx.say("read: ", sock:receive(3))
    }
--- stream_request chomp
abc
--- stream_response
busy: socket busy reading
kill: 1
read: abc
--- no_error_log
[error]



=== TEST 2: the killed reader's read timeout does not end a later read early
--- stream_server_config
    content_by_lua_block {
        local sock = assert(ngx.req.socket())
        sock:settimeout(100)
        local t = ngx.thread.spawn(function()
            sock:receive("*l")
            ngx.say("reader woke")
        end)
        ngx.sleep(0.02)
        ngx.thread.kill(t)
        sock:settimeout(400)
        ngx.update_time()
        local start = ngx.now()
        local data, err, partial = sock:receive(10)
        ngx.update_time()
        local waited = ngx.now() - start
        ngx.say(data, " ", err, " [", partial, "] full wait: ", waited >= 0.35)
    }
--- stream_request chomp
abc
--- stream_response
nil timeout [abc] full wait: true
--- error_log eval
qr/\[error\] .*stream lua tcp socket read timed out/



=== TEST 3: a thread killed while it waits in peek lets the entry thread peek and read
--- stream_server_config
    preread_by_lua_block {
        local sock = assert(ngx.req.socket())
        local t = ngx.thread.spawn(function()
            local data, err = sock:peek(100)
            ngx.say("peeker woke: ", data, " ", err)
        end)
        ngx.sleep(0.05)
        ngx.say("busy: ", select(2, sock:peek(1)))
        ngx.say("kill: ", ngx.thread.kill(t))
        ngx.say("peek: ", sock:peek(5))
        ngx.say("receive: ", sock:receive(5))
        ngx.exit(ngx.OK)
    }
    content_by_lua_block { ngx.say("content") }
--- stream_request chomp
hello
--- stream_response
busy: socket busy reading
kill: 1
peek: hello
receive: hello
content
--- no_error_log
[error]




=== TEST 4: bytes received in preread are not received again later (nginx's preread may only peek at them)
--- stream_server_config
    preread_by_lua_block {
        local sock = assert(ngx.req.socket())
        ngx.ctx.sock = sock
        -- the peek waits for the bytes; the receive then finds them in nginx's preread buffer
        ngx.say("peek: ", sock:peek(1))
        ngx.say("preread: ", sock:receive(5))
    }
    content_by_lua_block {
        local sock = ngx.ctx.sock
        sock:settimeout(100)
        ngx.say("content: ", sock:receive(1))
        ngx.say("then: ", sock:receive(3))
    }
--- stream_request chomp
hello
--- stream_response
peek: h
preread: hello
content: niltimeout
then: niltimeout
--- error_log eval
qr/\[error\] .*stream lua tcp socket read timed out/



=== TEST 5: preread code that ends after a wait, while nginx's preread phase waits for client data, goes on at once
--- stream_server_config
    preread_by_lua_block {
        local sock = assert(ngx.req.socket())
        local t = ngx.thread.spawn(function() sock:peek(1) end)
        ngx.sleep(0.05)
        ngx.thread.kill(t)
        ngx.say("preread done")
        ngx.exit(ngx.OK)
    }
    content_by_lua_block { ngx.say("content") }
--- stream_request
--- stream_response
preread done
content
--- no_error_log
[error]
