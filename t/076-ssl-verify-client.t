# Client certificates with TLS hooks: ngx.ssl.verify_client inside ssl_certificate_by_lua*
# (stream-lua v0.0.16's ngx_stream_lua_ffi_ssl_verify_client facts: the handshake never fails
# on a bad certificate, $ssl_client_verify tells), and nginx's own ssl_verify_client on a server
# whose handshake our driver runs (nginx's SSL phase handler still checks after hand-over).
# The TLS client is a cosocket of the same nginx, with lua_ssl_certificate.

use Test::Nginx::Socket::Lua::Stream;

$ENV{TEST_NGINX_CERT_DIR} ||= '../../../../../t/cert';

repeat_each(2);

plan tests => repeat_each() * (blocks() * 2);

no_long_string();

run_tests();

__DATA__

=== TEST 1: verify_client with the client's CA: SUCCESS; without a certificate: NONE
--- stream_config
    server {
        listen 127.0.0.1:$TEST_NGINX_RAND_PORT_1 ssl;
        ssl_certificate $TEST_NGINX_CERT_DIR/test.crt;
        ssl_certificate_key $TEST_NGINX_CERT_DIR/test.key;
        ssl_certificate_by_lua_block {
            local ssl = require "ngx.ssl"
            local f = assert(io.open((("$TEST_NGINX_CERT_DIR"):sub(1, 1) == "/" and "" or ngx.config.prefix() .. "conf/")
                .. "$TEST_NGINX_CERT_DIR/client-ca.crt"))
            local ca = assert(ssl.parse_pem_cert(f:read("*a")))
            f:close()
            assert(ssl.verify_client(ca, 2))
        }
        content_by_lua_block {
            ngx.say(ngx.var.ssl_client_verify, " ", ngx.var.ssl_client_s_dn)
        }
    }
    server {
        listen 127.0.0.1:$TEST_NGINX_RAND_PORT_2;
        lua_ssl_certificate $TEST_NGINX_CERT_DIR/client.crt;
        lua_ssl_certificate_key $TEST_NGINX_CERT_DIR/client.key;
        content_by_lua_block {
            local sock = ngx.socket.tcp()
            assert(sock:connect("127.0.0.1", $TEST_NGINX_RAND_PORT_1))
            assert(sock:sslhandshake(false, "test.com", false))
            ngx.print("with certificate: ", sock:receive("*a"))
        }
    }
--- stream_server_config
    content_by_lua_block {
        local sock = ngx.socket.tcp()
        assert(sock:connect("127.0.0.1", $TEST_NGINX_RAND_PORT_2))
        ngx.print(sock:receive("*a"))
        sock = ngx.socket.tcp()
        assert(sock:connect("127.0.0.1", $TEST_NGINX_RAND_PORT_1))
        assert(sock:sslhandshake(false, "test.com", false))
        ngx.print("without: ", sock:receive("*a"))
    }
--- stream_response
with certificate: SUCCESS CN=test client
without: NONE nil
--- no_error_log
[error]



=== TEST 2: a client certificate from another CA fails verification, not the handshake
--- stream_config
    server {
        listen 127.0.0.1:$TEST_NGINX_RAND_PORT_1 ssl;
        ssl_certificate $TEST_NGINX_CERT_DIR/test.crt;
        ssl_certificate_key $TEST_NGINX_CERT_DIR/test.key;
        ssl_certificate_by_lua_block {
            local ssl = require "ngx.ssl"
            local f = assert(io.open((("$TEST_NGINX_CERT_DIR"):sub(1, 1) == "/" and "" or ngx.config.prefix() .. "conf/")
                .. "$TEST_NGINX_CERT_DIR/ca.crt"))
            local ca = assert(ssl.parse_pem_cert(f:read("*a")))
            f:close()
            assert(ssl.verify_client(nil, nil, ca))
        }
        content_by_lua_block { ngx.say(ngx.var.ssl_client_verify) }
    }
--- stream_server_config
    lua_ssl_certificate $TEST_NGINX_CERT_DIR/client.crt;
    lua_ssl_certificate_key $TEST_NGINX_CERT_DIR/client.key;
    content_by_lua_block {
        local sock = ngx.socket.tcp()
        assert(sock:connect("127.0.0.1", $TEST_NGINX_RAND_PORT_1))
        assert(sock:sslhandshake(false, "test.com", false))
        ngx.print(sock:receive("*a"))
    }
--- stream_response_like
^FAILED:unable to (?:get local issuer certificate|verify the first certificate)
--- no_error_log
[error]



=== TEST 3: verify_client outside the cert hook is refused
--- stream_config
    server {
        listen 127.0.0.1:$TEST_NGINX_RAND_PORT_1 ssl;
        ssl_certificate $TEST_NGINX_CERT_DIR/test.crt;
        ssl_certificate_key $TEST_NGINX_CERT_DIR/test.key;
        ssl_client_hello_by_lua_block {
            ngx.log(ngx.WARN, "in client hello: ", select(2, require("ngx.ssl").verify_client()))
        }
        content_by_lua_block { ngx.say(select(2, require("ngx.ssl").verify_client())) }
    }
--- stream_server_config
    content_by_lua_block {
        local sock = ngx.socket.tcp()
        assert(sock:connect("127.0.0.1", $TEST_NGINX_RAND_PORT_1))
        assert(sock:sslhandshake(false, "test.com", false))
        ngx.print(sock:receive("*a"))
    }
--- stream_response
API disabled in the current context
--- error_log
in client hello: API disabled in the current context



=== TEST 4: nginx's ssl_verify_client still checks a handshake our driver ran
--- stream_config
    server {
        listen 127.0.0.1:$TEST_NGINX_RAND_PORT_1 ssl;
        ssl_certificate $TEST_NGINX_CERT_DIR/test.crt;
        ssl_certificate_key $TEST_NGINX_CERT_DIR/test.key;
        ssl_verify_client on;
        ssl_client_certificate $TEST_NGINX_CERT_DIR/client-ca.crt;
        ssl_certificate_by_lua_block { ngx.sleep(0.001) }
        content_by_lua_block { ngx.say("verified: ", ngx.var.ssl_client_verify) }
    }
    server {
        listen 127.0.0.1:$TEST_NGINX_RAND_PORT_2;
        lua_ssl_certificate $TEST_NGINX_CERT_DIR/client.crt;
        lua_ssl_certificate_key $TEST_NGINX_CERT_DIR/client.key;
        content_by_lua_block {
            local sock = ngx.socket.tcp()
            assert(sock:connect("127.0.0.1", $TEST_NGINX_RAND_PORT_1))
            assert(sock:sslhandshake(false, "test.com", false))
            ngx.print(sock:receive("*a"))
        }
    }
--- stream_server_config
    content_by_lua_block {
        local sock = ngx.socket.tcp()
        assert(sock:connect("127.0.0.1", $TEST_NGINX_RAND_PORT_2))
        ngx.print(sock:receive("*a"))
        sock = ngx.socket.tcp()
        assert(sock:connect("127.0.0.1", $TEST_NGINX_RAND_PORT_1))
        local ok, err = sock:sslhandshake(false, "test.com", false)
        local data, rerr = sock:receive("*a")
        ngx.say("no certificate: ", data, " ", rerr)
    }
--- stream_response
verified: SUCCESS
no certificate:  nil
--- error_log eval
qr/\[info\] .*client sent no required SSL certificate/
