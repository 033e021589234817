# balancer_by_lua_block / balancer_by_lua_file and ngx.balancer. Behaviour follows stream-lua
# v0.0.16 with lua-resty-core 0.1.31 on stock nginx (see upstream t/138-balancer.t and
# src/ngx_stream_lua_balancer.c): the code runs for every connect attempt of an upstream
# block, synchronously; it picks the peer with set_current_peer (IP addresses only) or lets
# round robin pick; set_timeouts needs OpenResty's nginx patch and says so.

use Test::Nginx::Socket::Lua::Stream;

repeat_each(2);

plan tests => repeat_each() * (blocks() * 3);

no_long_string();

run_tests();

__DATA__

=== TEST 1: pick one of two backends from ngx.ctx (set in preread)
--- stream_config
    server {
        listen 127.0.0.1:$TEST_NGINX_RAND_PORT_1;
        content_by_lua_block { ngx.say("backend A") }
    }
    server {
        listen 127.0.0.1:$TEST_NGINX_RAND_PORT_2;
        content_by_lua_block { ngx.say("backend B") }
    }
    upstream backend {
        server 127.0.0.1:$TEST_NGINX_RAND_PORT_1;
        balancer_by_lua_block {
            local b = require "ngx.balancer"
            local port = ngx.ctx.pick == "B" and $TEST_NGINX_RAND_PORT_2 or $TEST_NGINX_RAND_PORT_1
            ngx.log(ngx.WARN, "balancer picks ", ngx.ctx.pick, " for ", ngx.var.remote_addr)
            assert(b.set_current_peer("127.0.0.1", port))
        }
    }
--- stream_server_config
    preread_by_lua_block { ngx.ctx.pick = "B" }
    proxy_pass backend;
--- stream_response
backend B
--- error_log
balancer picks B for 127.0.0.1
--- no_error_log
[error]



=== TEST 2: round robin of our own over three connections (a shared counter)
--- stream_config
    lua_shared_dict rr 1m;
    server {
        listen 127.0.0.1:$TEST_NGINX_RAND_PORT_1;
        content_by_lua_block { ngx.say("A") }
    }
    server {
        listen 127.0.0.1:$TEST_NGINX_RAND_PORT_2;
        content_by_lua_block { ngx.say("B") }
    }
    upstream backend {
        server 0.0.0.1:1234;
        balancer_by_lua_block {
            local b = require "ngx.balancer"
            local n = ngx.shared.rr:incr("n", 1, 0)
            local ports = { $TEST_NGINX_RAND_PORT_1, $TEST_NGINX_RAND_PORT_2 }
            assert(b.set_current_peer("127.0.0.1", ports[(n - 1) % 2 + 1]))
        }
    }
    server {
        listen 127.0.0.1:$TEST_NGINX_RAND_PORT_3;
        proxy_pass backend;
    }
--- stream_server_config
    content_by_lua_block {
        ngx.shared.rr:set("n", 0)
        local out = {}
        for i = 1, 3 do
            local sock = ngx.socket.tcp()
            assert(sock:connect("127.0.0.1", $TEST_NGINX_RAND_PORT_3))
            out[#out + 1] = assert(sock:receive())
            sock:close()
        end
        ngx.say(table.concat(out, " "))
    }
--- stream_response
A B A
--- no_error_log
[error]



=== TEST 3: set_more_tries and get_last_failure after a refused peer
--- stream_config
    server {
        listen 127.0.0.1:$TEST_NGINX_RAND_PORT_1;
        content_by_lua_block { ngx.say("backend A") }
    }
    upstream backend {
        server 0.0.0.1:1234;
        balancer_by_lua_block {
            local b = require "ngx.balancer"
            local state, code = b.get_last_failure()
            ngx.log(ngx.WARN, "last failure: ", tostring(state), " ", tostring(code))
            if not ngx.ctx.tried then
                ngx.ctx.tried = true
                local ok, err = b.set_more_tries(1)
                ngx.log(ngx.WARN, "set_more_tries: ", tostring(ok), " ", tostring(err))
                -- nothing listens there
                assert(b.set_current_peer("127.0.0.1", $TEST_NGINX_RAND_PORT_2))
            else
                assert(b.set_current_peer("127.0.0.1", $TEST_NGINX_RAND_PORT_1))
            end
        }
    }
--- stream_server_config
    proxy_pass backend;
--- stream_response
backend A
--- grep_error_log eval: qr/last failure: \w+ \w+|set_more_tries: \w+ \w+/
--- grep_error_log_out
last failure: nil nil
set_more_tries: true nil
last failure: failed 0
--- error_log eval
qr/connect\(\) failed \(111: Connection refused\) while connecting to upstream/



=== TEST 4: without more tries a refused peer ends the session (no retry)
--- stream_config
    upstream backend {
        server 0.0.0.1:1234;
        balancer_by_lua_block {
            local b = require "ngx.balancer"
            ngx.log(ngx.WARN, "balancer run")
            assert(b.set_current_peer("127.0.0.1", $TEST_NGINX_RAND_PORT_2))
        }
    }
--- stream_server_config
    proxy_pass backend;
--- stream_response
--- grep_error_log: balancer run
--- grep_error_log_out
balancer run
--- error_log eval
qr/connect\(\) failed \(111: Connection refused\) while connecting to upstream/



=== TEST 5: set_timeouts: bad values are refused; stock nginx lacks the patch it needs
--- stream_config
    server {
        listen 127.0.0.1:$TEST_NGINX_RAND_PORT_1;
        content_by_lua_block { ngx.say("backend A") }
    }
    upstream backend {
        server 127.0.0.1:$TEST_NGINX_RAND_PORT_1;
        balancer_by_lua_block {
            local b = require "ngx.balancer"
            local ok, err = b.set_timeouts(1, 2, 3)
            ngx.log(ngx.WARN, "set_timeouts: ", tostring(ok), " ", err)
            for _, args in ipairs({ { -1 }, { 1, 0 }, { 1, 1, "x" } }) do
                local ok, err = pcall(b.set_timeouts, unpack(args))
                ngx.log(ngx.WARN, "bad timeouts: ", err)
            end
        }
    }
--- stream_server_config
    proxy_pass backend;
--- stream_response
backend A
--- grep_error_log eval: qr/set_timeouts: .*? API disabled|bad timeouts: bad \w+ timeout/
--- grep_error_log_out
set_timeouts: false required Nginx patch not present, API disabled
bad timeouts: bad connect timeout
bad timeouts: bad send timeout
bad timeouts: bad read timeout



=== TEST 6: set_current_peer's bad arguments
--- stream_config
    server {
        listen 127.0.0.1:$TEST_NGINX_RAND_PORT_1;
        content_by_lua_block { ngx.say("backend A") }
    }
    upstream backend {
        server 127.0.0.1:$TEST_NGINX_RAND_PORT_1;
        balancer_by_lua_block {
            local b = require "ngx.balancer"
            local function try(...)
                local ok, res, err = pcall(b.set_current_peer, ...)
                if not ok then
                    -- the position differs: resty.core's file or our built-in module
                    res = res:gsub("^.-:%d+: ", "")
                end
                ngx.log(ngx.WARN, "try: ", tostring(ok), " ", tostring(res), " ", tostring(err))
            end
            try("localhost", 80)
            try("example.com", 80)
            try("127.0.0.1:99999")
            try("127.0.0.1", "abc")
            try("127.0.0.1", 80, "example.com")
            try(nil, 80)
            try("")
        }
    }
--- stream_server_config
    proxy_pass backend;
--- stream_response
backend A
--- grep_error_log eval: qr/try: [^\n]*? while connecting/
--- grep_error_log_out
try: true nil no host allowed while connecting
try: true nil no host allowed while connecting
try: true nil invalid port while connecting
try: false bad argument #4 to 'ngx_lua_ffi_balancer_set_current_peer' (cannot convert 'nil' to 'int') nil while connecting
try: false bad argument #3 to 'set_current_peer' ('host' not yet implemented in stream subsystem) nil while connecting
try: false attempt to get length of local 'addr' (a nil value) nil while connecting
try: true nil no host while connecting



=== TEST 7: ngx.balancer outside balancer_by_lua*
--- stream_server_config
    content_by_lua_block {
        local b = require "ngx.balancer"
        ngx.say(b.set_current_peer("127.0.0.1", 80))
        ngx.say(b.set_more_tries(1))
        ngx.say(b.get_last_failure())
        ngx.say(b.bind_to_local_addr("127.0.0.1"))
        ngx.say(pcall(b.enable_keepalive))
        local ok, err = pcall(b.set_more_tries, "x")
        ngx.say(ok, " ", (err:gsub("^.-:%d+: ", "")))
    }
--- stream_response
nilno upstream found
nilno upstream found
nilnilno upstream found
nilno upstream found
false'enable_keepalive' not yet implemented in stream subsystem
false bad argument #2 to 'ngx_lua_ffi_balancer_set_more_tries' (cannot convert 'string' to 'int')
--- no_error_log
[error]



=== TEST 8: ngx.balancer in the log phase of a proxied session
--- stream_config
    server {
        listen 127.0.0.1:$TEST_NGINX_RAND_PORT_1;
        content_by_lua_block { ngx.say("backend A") }
    }
    upstream backend {
        server 127.0.0.1:$TEST_NGINX_RAND_PORT_1;
        balancer_by_lua_block {
            ngx.log(ngx.WARN, "phase: ", ngx.get_phase())
        }
    }
--- stream_server_config
    proxy_pass backend;
    log_by_lua_block {
        local b = require "ngx.balancer"
        ngx.log(ngx.WARN, "in log: ", select(2, b.set_current_peer("127.0.0.1", 80)))
    }
--- stream_response
backend A
--- error_log
phase: balancer
in log: API disabled in the current context



=== TEST 9: ngx.sleep and cosockets are disabled
--- stream_config
    upstream backend {
        server 0.0.0.1:1234;
        balancer_by_lua_block {
            local ok, err = pcall(ngx.socket.tcp)
            ngx.log(ngx.WARN, "tcp: ", err)
            ngx.sleep(0.1)
        }
    }
--- stream_server_config
    proxy_pass backend;
--- stream_response
--- error_log eval
[
qr/tcp: API disabled in the context of balancer_by_lua\*/,
qr/\[error\] .*? failed to run balancer_by_lua\*: balancer_by_lua:4: API disabled in the context of balancer_by_lua\*/,
]
--- no_error_log
connect() to 0.0.0.1:1234



=== TEST 10: a Lua error fails the connection
--- stream_config
    upstream backend {
        server 0.0.0.1:1234;
        balancer_by_lua_block {
            local t = nil
            return t.x
        }
    }
--- stream_server_config
    proxy_pass backend;
--- stream_response
--- error_log eval
qr/\[error\] .*? failed to run balancer_by_lua\*: balancer_by_lua:3: attempt to index local 't' \(a nil value\)/
--- no_error_log
connect() to 0.0.0.1:1234



=== TEST 11: balancer_by_lua_file
--- stream_config
    server {
        listen 127.0.0.1:$TEST_NGINX_RAND_PORT_1;
        content_by_lua_block { ngx.say("backend A") }
    }
    upstream backend {
        server 0.0.0.1:1234;
        balancer_by_lua_file html/a.lua;
    }
--- stream_server_config
    preread_by_lua_block { ngx.ctx.port = $TEST_NGINX_RAND_PORT_1 }
    proxy_pass backend;
--- user_files
>>> a.lua
print("hello from a file, phase ", ngx.get_phase())
assert(require("ngx.balancer").set_current_peer("127.0.0.1", ngx.ctx.port))
--- stream_response
backend A
--- error_log
[lua] a.lua:1: hello from a file, phase balancer while connecting to upstream



=== TEST 12: ngx.exit in the balancer: the code goes on, then the status counts
--- stream_config
    upstream backend {
        server 0.0.0.1:1234;
        balancer_by_lua_block {
            ngx.exit(403)
            ngx.log(ngx.WARN, "after exit")
        }
    }
--- stream_server_config
    proxy_pass backend;
--- stream_response
--- error_log
after exit
--- no_error_log
connect() to 0.0.0.1:1234



=== TEST 13: ngx.exit(ngx.OK) and no peer: round robin picks the configured server
--- stream_config
    server {
        listen 127.0.0.1:$TEST_NGINX_RAND_PORT_1;
        content_by_lua_block { ngx.say("backend A") }
    }
    upstream backend {
        server 127.0.0.1:$TEST_NGINX_RAND_PORT_1;
        balancer_by_lua_block {
            ngx.exit(ngx.OK)
        }
    }
--- stream_server_config
    proxy_pass backend;
--- stream_response
backend A
--- no_error_log
[error]



=== TEST 14: bind_to_local_addr
--- stream_config
    server {
        listen 127.0.0.1:$TEST_NGINX_RAND_PORT_1;
        content_by_lua_block { ngx.say("backend sees ", ngx.var.remote_addr) }
    }
    upstream backend {
        server 127.0.0.1:$TEST_NGINX_RAND_PORT_1;
        balancer_by_lua_block {
            local b = require "ngx.balancer"
            ngx.log(ngx.WARN, "bad bind: ", select(2, b.bind_to_local_addr("not an address")))
            assert(b.bind_to_local_addr("127.0.0.2"))
        }
    }
--- stream_server_config
    proxy_pass backend;
--- stream_response
backend sees 127.0.0.2
--- error_log
bad bind: parse addr port failed



=== TEST 15: coroutines and light threads are disabled (they are for code that may yield)
--- stream_config
    server {
        listen 127.0.0.1:$TEST_NGINX_RAND_PORT_1;
        content_by_lua_block { ngx.say("backend A") }
    }
    upstream backend {
        server 127.0.0.1:$TEST_NGINX_RAND_PORT_1;
        balancer_by_lua_block {
            local ok, err = pcall(coroutine.create, function() end)
            ngx.log(ngx.WARN, "coroutine.create: ", err)
            ok, err = pcall(ngx.thread.spawn, function() end)
            ngx.log(ngx.WARN, "ngx.thread.spawn: ", err)
        }
    }
--- stream_server_config
    proxy_pass backend;
--- stream_response
backend A
--- error_log
coroutine.create: API disabled in the context of balancer_by_lua*
ngx.thread.spawn: API disabled in the context of balancer_by_lua*



=== TEST 16: bind_to_local_addr picks the upstream connection's source address; a bad one is refused
--- stream_config
    server {
        listen 127.0.0.1:$TEST_NGINX_RAND_PORT_1;
        content_by_lua_block { ngx.say("from ", ngx.var.remote_addr) }
    }
    upstream backend {
        server 127.0.0.1:$TEST_NGINX_RAND_PORT_1;
        balancer_by_lua_block {
            local b = require "ngx.balancer"
            ngx.log(ngx.WARN, "bad bind: ", b.bind_to_local_addr("not an address"))
            assert(b.bind_to_local_addr("127.0.0.2"))
            assert(b.set_current_peer("127.0.0.1", $TEST_NGINX_RAND_PORT_1))
        }
    }
--- stream_server_config
    proxy_pass backend;
--- stream_response
from 127.0.0.2
--- error_log
bad bind: nilparse addr port failed
--- no_error_log
[error]
