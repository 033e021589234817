# ngx.socket.udp's setpeername by host name: the socket owns its resolver query (dropped with
# the waiting thread's cancel, the socket's close or its session's end), and a socket whose
# thread waits for the resolver is busy for other setpeername calls (as upstream's `waiting`).

use Test::Nginx::Socket::Lua::Stream;

repeat_each(1);

plan tests => repeat_each() * (blocks() * 3);

our $DNS = <<'_EOC_';
    server {
        listen 127.0.0.1:$TEST_NGINX_RAND_PORT_2 udp;
        content_by_lua_block {
            local sock = ngx.req.socket()
            local q = sock:receive()
            local question = q:sub(13)
            local name = question:sub(1, question:find("\0", 1, true))
            if name == "\5never\4test\0" then
                return
            end
            if name == "\4slow\4test\0" then
                ngx.sleep(0.3)
            else
                ngx.sleep(0.1)
            end
            local qtype = question:byte(-4) * 256 + question:byte(-3)
            local answers = qtype == 1 and 1 or 0
            local resp = q:sub(1, 2) .. "\129\128\0\1\0" .. string.char(answers) .. "\0\0\0\0" .. question
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
_EOC_

run_tests();

__DATA__

=== TEST 1: a second setpeername while another thread's setpeername waits for the resolver: socket busy
--- stream_config eval: $::DNS
--- stream_server_config
    resolver 127.0.0.1:$TEST_NGINX_RAND_PORT_2 ipv6=off;
    content_by_lua_block {
        local udp = ngx.socket.udp()
        local t = ngx.thread.spawn(function()
            return udp:setpeername("peer.test", $TEST_NGINX_RAND_PORT_1)
        end)
        ngx.say("by name: ", udp:setpeername("peer.test", $TEST_NGINX_RAND_PORT_1))
        ngx.say("by address: ", udp:setpeername("127.0.0.1", $TEST_NGINX_RAND_PORT_1))
        ngx.say("first: ", select(2, ngx.thread.wait(t)))
        udp:send("ping")
        ngx.say(udp:receive())
        ngx.say("again: ", udp:setpeername("127.0.0.1", $TEST_NGINX_RAND_PORT_1))
    }
--- stream_response
by name: nilsocket busy
by address: nilsocket busy
first: 1
echo: ping
again: 1
--- error_log eval
qr/connect to , fd:/
--- no_error_log
[alert]



=== TEST 2: a thread killed while its setpeername waits for the resolver abandons the query; the socket goes on
--- stream_config eval: $::DNS
--- stream_server_config
    resolver 127.0.0.1:$TEST_NGINX_RAND_PORT_2 ipv6=off;
    resolver_timeout 5s;
    content_by_lua_block {
        local udp = ngx.socket.udp()
        local t = ngx.thread.spawn(function()
            return udp:setpeername("never.test", $TEST_NGINX_RAND_PORT_1)
        end)
        ngx.sleep(0.05)
        ngx.say("kill: ", ngx.thread.kill(t))
        ngx.say("setpeername: ", udp:setpeername("127.0.0.1", $TEST_NGINX_RAND_PORT_1))
        udp:send("ping")
        ngx.say(udp:receive())
    }
--- stream_response
kill: 1
setpeername: 1
echo: ping
--- error_log
stream lua tcp socket abort resolver
--- no_error_log
[alert]



=== TEST 3: the session ends while a setpeername waits for the resolver: the late answer connects nothing
--- stream_config eval: $::DNS
--- stream_server_config
    resolver 127.0.0.1:$TEST_NGINX_RAND_PORT_2 ipv6=off;
    content_by_lua_block {
        local udp = ngx.socket.udp()
        ngx.thread.spawn(function()
            return udp:setpeername("slow.test", $TEST_NGINX_RAND_PORT_1)
        end)
        ngx.say("bye")
        ngx.exit(ngx.OK)
    }
--- wait: 0.6
--- stream_response
bye
--- no_error_log eval
[qr/connect to , fd:/, qr/\[alert\]/]



=== TEST 4: a socket collected after its resolving thread was killed gives back its session cleanup slot; the next socket reuses it
--- stream_config eval: $::DNS
--- stream_server_config
    resolver 127.0.0.1:$TEST_NGINX_RAND_PORT_2 ipv6=off;
    resolver_timeout 5s;
    content_by_lua_block {
        local t = ngx.thread.spawn(function()
            local udp = ngx.socket.udp()
            return udp:setpeername("never.test", $TEST_NGINX_RAND_PORT_1)
        end)
        ngx.sleep(0.05)
        ngx.say("kill: ", ngx.thread.kill(t))
        t = nil
        collectgarbage()
        collectgarbage()
        local udp = ngx.socket.udp()
        ngx.say("setpeername: ", udp:setpeername("127.0.0.1", $TEST_NGINX_RAND_PORT_1))
        udp:send("ping")
        ngx.say(udp:receive())
    }
--- stream_response
kill: 1
setpeername: 1
echo: ping
--- error_log
lua stream cleanup reuse
