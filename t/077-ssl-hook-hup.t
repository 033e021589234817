# A reload (HUP) while TLS sessions with hooks are live: the old worker finishes a handshake
# whose ssl_certificate_by_lua* hook waits (the hook took the connection out of nginx's
# reusable list, so the exiting worker does not close it as idle), then serves the session.

use Test::Nginx::Socket::Lua::Stream;

$ENV{TEST_NGINX_CERT_DIR} ||= '../../../../../t/cert';

repeat_each(1);
master_on();
workers(1);
plan tests => repeat_each() * (blocks() * 3);
no_long_string();
run_tests();

__DATA__

=== TEST 1: HUP while the cert hook waits: the handshake and the session complete in the old worker
--- stream_config
    server {
        listen 127.0.0.1:$TEST_NGINX_RAND_PORT_1 ssl;
        ssl_certificate $TEST_NGINX_CERT_DIR/test.crt;
        ssl_certificate_key $TEST_NGINX_CERT_DIR/test.key;
        ssl_certificate_by_lua_block {
            local f = assert(io.open(ngx.config.prefix() .. "logs/nginx.pid"))
            local master = f:read("*l")
            f:close()
            os.execute("kill -HUP " .. master)
            for i = 1, 100 do
                if ngx.worker.exiting() then break end
                ngx.sleep(0.05)
            end
            ngx.ctx.exiting_in_hook = ngx.worker.exiting()
        }
        content_by_lua_block {
            ngx.sleep(0.1)
            ngx.say("hook saw exiting: ", ngx.ctx.exiting_in_hook, ", name: ",
                    require("ngx.ssl").server_name())
        }
    }
--- stream_server_config
    lua_ssl_trusted_certificate $TEST_NGINX_CERT_DIR/ca.crt;
    content_by_lua_block {
        local sock = ngx.socket.tcp()
        sock:settimeout(6000)
        assert(sock:connect("127.0.0.1", $TEST_NGINX_RAND_PORT_1))
        local sess, err = sock:sslhandshake(nil, "test.com", true)
        ngx.say("handshake: ", type(sess), " ", err)
        ngx.print(sock:receive("*a"))
    }
--- stream_response
handshake: userdata nil
hook saw exiting: true, name: test.com
--- wait: 0.3
--- error_log
stream lua_certificate_by_lua: cert cb exit code: 1
--- no_error_log
[alert]
