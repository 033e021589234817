# require "ngx.ssl.clienthello" outside ssl_client_hello_by_lua*: every function refuses with
# "API disabled in the current context", as lua-resty-core v0.1.31's lib/ngx/ssl/clienthello.lua
# does in the stream subsystem (t/074 tests them inside the hook).

use Test::Nginx::Socket::Lua::Stream;

$ENV{TEST_NGINX_CERT_DIR} ||= '../../../../../t/cert';

repeat_each(2);

plan tests => repeat_each() * (blocks() * 2);

no_long_string();

run_tests();

__DATA__

=== TEST 1: the functions refuse in content, also on a TLS connection
--- stream_config
    server {
        listen 127.0.0.1:$TEST_NGINX_RAND_PORT_1 ssl;
        ssl_certificate $TEST_NGINX_CERT_DIR/test.crt;
        ssl_certificate_key $TEST_NGINX_CERT_DIR/test.key;
        content_by_lua_block {
            local ch = require "ngx.ssl.clienthello"
            ngx.say("tls: ", pcall(ch.get_client_hello_server_name))
        }
    }
--- stream_server_config
    content_by_lua_block {
        local ch = require "ngx.ssl.clienthello"
        ngx.say("version: ", ch.version)
        ngx.say(pcall(ch.get_client_hello_server_name))
        ngx.say(pcall(ch.get_client_hello_ext, 0))
        ngx.say(pcall(ch.get_supported_versions))
        ngx.say(pcall(ch.set_protocols, {"TLSv1.3"}))
        local sock = ngx.socket.tcp()
        assert(sock:connect("127.0.0.1", $TEST_NGINX_RAND_PORT_1))
        assert(sock:sslhandshake(false, "test.com", false))
        ngx.print(sock:receive("*a"))
    }
--- stream_response
version: 0.1.31
falseAPI disabled in the current context
falseAPI disabled in the current context
falseAPI disabled in the current context
falseAPI disabled in the current context
tls: falseAPI disabled in the current context
--- no_error_log
[error]



=== TEST 2: and in preread and timers
--- stream_server_config
    preread_by_lua_block {
        ngx.ctx.preread = select(2, pcall(require("ngx.ssl.clienthello").get_client_hello_ext, 0))
    }
    content_by_lua_block {
        ngx.say("preread: ", ngx.ctx.preread)
        local done
        ngx.timer.at(0, function()
            done = select(2, pcall(require("ngx.ssl.clienthello").set_protocols, {}))
        end)
        while not done do ngx.sleep(0.01) end
        ngx.say("timer: ", done)
    }
--- stream_response
preread: API disabled in the current context
timer: API disabled in the current context
--- no_error_log
[error]
