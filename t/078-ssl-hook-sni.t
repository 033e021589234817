# TLS hooks and stream virtual servers (`server_name`, nginx 1.25.5+): the ClientHello hook
# runs for the default server of the address (before the SNI name picks a server), the
# certificate hook for the server the SNI name picked (nginx switches the session's server
# and SSL_CTX first), as in stream-lua v0.0.16. (The client-side [crit] of a rejected handshake
# is the cosocket's, as nginx logs an unknown alert reason.)

use Test::Nginx::Socket::Lua::Stream;

$ENV{TEST_NGINX_CERT_DIR} ||= '../../../../../t/cert';

repeat_each(2);

plan tests => repeat_each() * (blocks() * 3);

no_long_string();

run_tests();

__DATA__

=== TEST 1: the cert hook of the server the SNI name picks; the hello hook of the default
--- stream_config
    server {
        listen 127.0.0.1:$TEST_NGINX_RAND_PORT_1 ssl;
        server_name a.test.com;
        ssl_certificate $TEST_NGINX_CERT_DIR/test.crt;
        ssl_certificate_key $TEST_NGINX_CERT_DIR/test.key;
        ssl_client_hello_by_lua_block { ngx.log(ngx.WARN, "hello hook of a") }
        ssl_certificate_by_lua_block { ngx.log(ngx.WARN, "cert hook of a") }
        return "served by a\n";
    }
    server {
        listen 127.0.0.1:$TEST_NGINX_RAND_PORT_1 ssl;
        server_name b.test.com;
        ssl_certificate $TEST_NGINX_CERT_DIR/test.crt;
        ssl_certificate_key $TEST_NGINX_CERT_DIR/test.key;
        ssl_client_hello_by_lua_block { ngx.log(ngx.WARN, "hello hook of b") }
        ssl_certificate_by_lua_block {
            ngx.sleep(0.01)
            ngx.log(ngx.WARN, "cert hook of b")
        }
        return "served by b\n";
    }
--- stream_server_config
    content_by_lua_block {
        local sock = ngx.socket.tcp()
        assert(sock:connect("127.0.0.1", $TEST_NGINX_RAND_PORT_1))
        assert(sock:sslhandshake(false, "b.test.com", false))
        ngx.print(sock:receive("*a"))
    }
--- stream_response
served by b
--- grep_error_log eval: qr/(?:hello|cert) hook of \w/
--- grep_error_log_out
hello hook of a
cert hook of b
--- no_error_log
[error]



=== TEST 2: ssl_reject_handshake for a name, on a handshake our driver runs: nginx's log line
--- stream_config
    server {
        listen 127.0.0.1:$TEST_NGINX_RAND_PORT_1 ssl;
        server_name a.test.com;
        ssl_certificate $TEST_NGINX_CERT_DIR/test.crt;
        ssl_certificate_key $TEST_NGINX_CERT_DIR/test.key;
        ssl_client_hello_by_lua_block { ngx.sleep(0.001) }
        return "served by a\n";
    }
    server {
        listen 127.0.0.1:$TEST_NGINX_RAND_PORT_1 ssl;
        server_name rejected.test.com;
        ssl_reject_handshake on;
        return "unreachable\n";
    }
--- stream_server_config
    content_by_lua_block {
        for _, name in ipairs{"rejected.test.com", "a.test.com"} do
            local sock = ngx.socket.tcp()
            assert(sock:connect("127.0.0.1", $TEST_NGINX_RAND_PORT_1))
            local sess, err = sock:sslhandshake(false, name, false)
            ngx.print(name, ": ", sess and sock:receive("*a") or err .. "\n")
        end
    }
--- stream_response
rejected.test.com: handshake failed
a.test.com: served by a
--- error_log eval
qr/\[info\] .*handshake rejected while SSL handshaking/
--- no_error_log
[alert]
