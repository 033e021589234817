# Fixed; was a module bug found by the API argument driver (t/081, scripts/gen-api-driver.py): sslhandshake
# takes any full userdata as its reused_session argument and reads it as an SSL_SESSION
# pointer, so a userdata that is not a session (newproxy(true), a shared dict's zone, another
# socket's ...) makes OpenSSL's SSL_set_session/SSL_SESSION_up_ref read garbage: the worker
# dies with SIGSEGV (core: SSL_SESSION_up_ref <- SSL_set_session <- ngx_ssl_set_session <-
# api/socket/ssl.rs sslhandshake_impl). The C module casts the same way; we claim memory
# safety, so only a session userdata made by sslhandshake should be accepted (anything else:
# what upstream does with a NULL session, or an argument error).

use Test::Nginx::Socket::Lua::Stream;

repeat_each(1);
$ENV{TEST_NGINX_CERT_DIR} ||= '../../../../../t/cert';
master_on();
workers(1);

plan tests => repeat_each() * (blocks() * 2);

run_tests();

__DATA__

=== TEST 1: sslhandshake with a userdata that is not a session does not kill the worker
--- stream_config
    server {
        listen unix:$TEST_NGINX_HTML_DIR/tls.sock ssl;
        ssl_certificate $TEST_NGINX_CERT_DIR/test.crt;
        ssl_certificate_key $TEST_NGINX_CERT_DIR/test.key;
        return "hello\n";
    }
--- stream_server_config
    content_by_lua_block {
        for _, ud in ipairs({ newproxy(true), newproxy(false) }) do
            local s = ngx.socket.tcp()
            s:settimeout(2000)
            assert(s:connect("unix:$TEST_NGINX_HTML_DIR/tls.sock"))
            local ok, a, b = pcall(s.sslhandshake, s, ud)
            ngx.say("handshake returned: ", ok)
            s:close()
        end
        ngx.say("done")
    }
--- stream_response
handshake returned: true
handshake returned: true
done
--- no_error_log
exited on signal
