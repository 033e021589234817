# ssl_client_hello_by_lua*: Lua code run inside OpenSSL's ClientHello callback of a TLS
# stream server (stream-lua v0.0.16's src/ngx_stream_lua_ssl_client_helloby.c and
# t/162-ssl-client-hello-by.t facts): ngx.ssl.clienthello reads the hello and sets the
# protocols, the phase name, ngx.ctx carried into the later phases, ngx.exit codes and Lua
# errors and the handshake's outcome. The TLS client is a cosocket of the same nginx.

use Test::Nginx::Socket::Lua::Stream;

$ENV{TEST_NGINX_CERT_DIR} ||= '../../../../../t/cert';

repeat_each(2);

plan tests => repeat_each() * (blocks() * 3);

log_level('debug');

no_long_string();

run_tests();

__DATA__

=== TEST 1: the hook reads the ClientHello; ngx.ctx reaches the cert hook and content
--- stream_config
    server {
        listen 127.0.0.1:$TEST_NGINX_RAND_PORT_1 ssl;
        ssl_certificate $TEST_NGINX_CERT_DIR/test.crt;
        ssl_certificate_key $TEST_NGINX_CERT_DIR/test.key;
        ssl_client_hello_by_lua_block {
            local ch = require "ngx.ssl.clienthello"
            print("client hello by lua is running! phase: ", ngx.get_phase())
            local ext = ch.get_client_hello_ext(0)
            ngx.ctx.hello = { name = ch.get_client_hello_server_name(), ext = #ext,
                              none = tostring(ch.get_client_hello_ext(65000)),
                              versions = table.concat(ch.get_supported_versions(), ",") }
        }
        ssl_certificate_by_lua_block {
            ngx.ctx.cert = "cert saw " .. ngx.ctx.hello.name
        }
        content_by_lua_block {
            local h = ngx.ctx.hello
            ngx.say(h.name, " ", h.ext, " ", h.none, " ", h.versions, "; ", ngx.ctx.cert)
        }
    }
--- stream_server_config
    lua_ssl_protocols TLSv1.2 TLSv1.3;
    content_by_lua_block {
        local sock = ngx.socket.tcp()
        assert(sock:connect("127.0.0.1", $TEST_NGINX_RAND_PORT_1))
        assert(sock:sslhandshake(false, "test.com", false))
        ngx.print(sock:receive("*a"))
    }
--- stream_response
test.com 13 nil TLSv1.2,TLSv1.3; cert saw test.com
--- error_log eval
[
qr/ssl_client_hello_by_lua:3: client hello by lua is running! phase: ssl_client_hello, context: ssl_client_hello_by_lua\*, client: 127\.0\.0\.1, server: 127\.0\.0\.1:\d+/,
qr/stream ssl client hello: connection reusable: [01]/,
'stream lua_client_hello_by_lua: handler return value: 0, client hello cb exit code: 1',
]
--- no_error_log
[error]



=== TEST 2: set_protocols limits the session to TLS 1.2
--- stream_config
    server {
        listen 127.0.0.1:$TEST_NGINX_RAND_PORT_1 ssl;
        ssl_certificate $TEST_NGINX_CERT_DIR/test.crt;
        ssl_certificate_key $TEST_NGINX_CERT_DIR/test.key;
        ssl_protocols TLSv1.2 TLSv1.3;
        ssl_client_hello_by_lua_block {
            local ch = require "ngx.ssl.clienthello"
            if ch.get_client_hello_server_name() == "old.test.com" then
                assert(ch.set_protocols({"TLSv1.2"}))
            end
            ngx.log(ngx.WARN, "bad protocol: ", select(2, ch.set_protocols({"TLSv9"})))
        }
        content_by_lua_block { ngx.say(require("ngx.ssl").get_tls1_version_str()) }
    }
--- stream_server_config
    content_by_lua_block {
        for _, name in ipairs{"old.test.com", "new.test.com"} do
            local sock = ngx.socket.tcp()
            assert(sock:connect("127.0.0.1", $TEST_NGINX_RAND_PORT_1))
            assert(sock:sslhandshake(false, name, false))
            ngx.print(name, ": ", sock:receive("*a"))
        end
    }
--- stream_response
old.test.com: TLSv1.2
new.test.com: TLSv1.3
--- error_log
bad protocol: invalid protocols failed
--- no_error_log
[error]



=== TEST 3: ngx.exit(ngx.ERROR) fails the handshake
--- stream_config
    server {
        listen 127.0.0.1:$TEST_NGINX_RAND_PORT_1 ssl;
        ssl_certificate $TEST_NGINX_CERT_DIR/test.crt;
        ssl_certificate_key $TEST_NGINX_CERT_DIR/test.key;
        ssl_client_hello_by_lua_block {
            ngx.exit(ngx.ERROR)
            ngx.log(ngx.ERR, "should never reached here...")
        }
        return "it works!\n";
    }
--- stream_server_config
    content_by_lua_block {
        local sock = ngx.socket.tcp()
        assert(sock:connect("127.0.0.1", $TEST_NGINX_RAND_PORT_1))
        local sess, err = sock:sslhandshake(false, nil, false)
        ngx.say("handshake: ", sess, " ", err)
    }
--- stream_response
handshake: nil handshake failed
--- error_log eval
[
'lua exit with code -1',
'stream lua_client_hello_by_lua: handler return value: -1, client hello cb exit code: 0',
qr/\[info\] .*? SSL_do_handshake\(\) failed .*?callback failed/,
]
--- no_error_log
should never reached here



=== TEST 4: a Lua error fails the handshake; ngx.exit(ngx.OK) goes on
--- stream_config
    server {
        listen 127.0.0.1:$TEST_NGINX_RAND_PORT_1 ssl;
        ssl_certificate $TEST_NGINX_CERT_DIR/test.crt;
        ssl_certificate_key $TEST_NGINX_CERT_DIR/test.key;
        ssl_client_hello_by_lua_block {
            local ch = require "ngx.ssl.clienthello"
            if ch.get_client_hello_server_name() == "bad.test.com" then
                error("bad bad bad")
            end
            ngx.exit(ngx.OK)
        }
        return "it works!\n";
    }
--- stream_server_config
    content_by_lua_block {
        for _, name in ipairs{"bad.test.com", "good.test.com"} do
            local sock = ngx.socket.tcp()
            assert(sock:connect("127.0.0.1", $TEST_NGINX_RAND_PORT_1))
            local sess, err = sock:sslhandshake(false, name, false)
            ngx.say(name, ": ", sess, " ", err, " ", sess and sock:receive() or "")
        end
    }
--- stream_response
bad.test.com: nil handshake failed 
good.test.com: true nil it works!
--- error_log eval
[
'runtime error: ssl_client_hello_by_lua:4: bad bad bad',
'stream lua_client_hello_by_lua: handler return value: 500, client hello cb exit code: 0',
'lua exit with code 0',
]
--- no_error_log
[alert]



=== TEST 5: a hook of stream {} runs for TLS servers only
--- stream_config
    ssl_client_hello_by_lua_block { print("stream level hello hook") }
    server {
        listen 127.0.0.1:$TEST_NGINX_RAND_PORT_1 ssl;
        ssl_certificate $TEST_NGINX_CERT_DIR/test.crt;
        ssl_certificate_key $TEST_NGINX_CERT_DIR/test.key;
        return "tls\n";
    }
    server {
        listen 127.0.0.1:$TEST_NGINX_RAND_PORT_2;
        return "plain\n";
    }
--- stream_server_config
    content_by_lua_block {
        local sock = ngx.socket.tcp()
        assert(sock:connect("127.0.0.1", $TEST_NGINX_RAND_PORT_1))
        assert(sock:sslhandshake(false, nil, false))
        ngx.print(sock:receive("*a"))
        sock = ngx.socket.tcp()
        assert(sock:connect("127.0.0.1", $TEST_NGINX_RAND_PORT_2))
        ngx.print(sock:receive("*a"))
    }
--- stream_response
tls
plain
--- grep_error_log eval: qr/stream level hello hook/
--- grep_error_log_out
stream level hello hook
--- no_error_log
[error]



=== TEST 6: a HelloRetryRequest (the server wants another key share) runs the hook once
--- stream_config
    lua_shared_dict hooks 1m;
    server {
        listen 127.0.0.1:$TEST_NGINX_RAND_PORT_1 ssl;
        ssl_certificate $TEST_NGINX_CERT_DIR/test.crt;
        ssl_certificate_key $TEST_NGINX_CERT_DIR/test.key;
        ssl_protocols TLSv1.3;
        ssl_ecdh_curve secp384r1;
        ssl_client_hello_by_lua_block {
            ngx.shared.hooks:incr("hello", 1, 0)
            ngx.sleep(0.001)
        }
        content_by_lua_block { ngx.say("hook runs: ", ngx.shared.hooks:get("hello")) }
    }
--- stream_server_config
    content_by_lua_block {
        ngx.shared.hooks:set("hello", 0)
        local sock = ngx.socket.tcp()
        assert(sock:connect("127.0.0.1", $TEST_NGINX_RAND_PORT_1))
        assert(sock:sslhandshake(false, "test.com", false))
        ngx.print(sock:receive("*a"))
    }
--- stream_response
hook runs: 1
--- error_log
stream lua_client_hello_by_lua: client hello cb exit code: 1
--- no_error_log
[error]
