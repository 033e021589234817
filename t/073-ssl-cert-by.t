# ssl_certificate_by_lua*: Lua code run inside OpenSSL's certificate callback of a TLS stream
# server (stream-lua v0.0.16's src/ngx_stream_lua_ssl_certby.c and t/139-ssl-cert-by.t facts):
# the phase name, ngx.ctx carried into the session's later phases, certificates chosen per SNI
# name, ngx.exit codes and Lua errors and what they do to the handshake, and upstream's log
# lines. The TLS client is a cosocket of the same nginx.

use Test::Nginx::Socket::Lua::Stream;

$ENV{TEST_NGINX_CERT_DIR} ||= '../../../../../t/cert';

repeat_each(2);

plan tests => repeat_each() * (blocks() * 3);

log_level('debug');

no_long_string();

run_tests();

__DATA__

=== TEST 1: the hook runs in phase ssl_cert; ngx.ctx reaches preread, content and log
--- stream_config
    server {
        listen 127.0.0.1:$TEST_NGINX_RAND_PORT_1 ssl;
        ssl_certificate $TEST_NGINX_CERT_DIR/test.crt;
        ssl_certificate_key $TEST_NGINX_CERT_DIR/test.key;
        ssl_certificate_by_lua_block {
            print("ssl cert by lua is running! phase: ", ngx.get_phase())
            ngx.ctx.from_cert = require("ngx.ssl").server_name()
        }
        preread_by_lua_block { ngx.ctx.preread = ngx.ctx.from_cert }
        content_by_lua_block {
            ngx.say("ctx: ", ngx.ctx.from_cert, " ", ngx.ctx.preread, " ", ngx.get_phase())
        }
        log_by_lua_block { ngx.log(ngx.INFO, "log phase ctx: ", ngx.ctx.from_cert) }
    }
--- stream_server_config
    lua_ssl_trusted_certificate $TEST_NGINX_CERT_DIR/ca.crt;
    content_by_lua_block {
        local sock = ngx.socket.tcp()
        assert(sock:connect("127.0.0.1", $TEST_NGINX_RAND_PORT_1))
        local sess, err = sock:sslhandshake(nil, "test.com", true)
        ngx.say("handshake: ", type(sess), " ", err)
        ngx.print(sock:receive("*a"))
    }
--- stream_response
handshake: userdata nil
ctx: test.com test.com content
--- error_log eval
[
qr/ssl_certificate_by_lua:2: ssl cert by lua is running! phase: ssl_cert, context: ssl_certificate_by_lua\*, client: 127\.0\.0\.1, server: 127\.0\.0\.1:\d+/,
qr/stream ssl cert: connection reusable: [01]/,
qr/stream lua_certificate_by_lua: handler return value: 0, cert cb exit code: 1/,
'log phase ctx: test.com',
]
--- no_error_log
[error]



=== TEST 2: certificate and key chosen per SNI name from a shared dict
--- stream_config
    lua_shared_dict certs 1m;
    init_by_lua_block {
        local function slurp(name)
            local f = assert(io.open((("$TEST_NGINX_CERT_DIR"):sub(1, 1) == "/" and "" or ngx.config.prefix() .. "conf/")
                .. "$TEST_NGINX_CERT_DIR/" .. name))
            local s = f:read("*a")
            f:close()
            return s
        end
        local ssl = require "ngx.ssl"
        local certs = ngx.shared.certs
        certs:set("test.com:cert", assert(ssl.cert_pem_to_der(slurp("test.crt"))))
        certs:set("test.com:key", assert(ssl.priv_key_pem_to_der(slurp("test.key"))))
        certs:set("ec.test.com:cert", assert(ssl.cert_pem_to_der(slurp("ec.crt"))))
        certs:set("ec.test.com:key", assert(ssl.priv_key_pem_to_der(slurp("ec.key"))))
    }
    server {
        listen 127.0.0.1:$TEST_NGINX_RAND_PORT_1 ssl;
        ssl_certificate $TEST_NGINX_CERT_DIR/test.crt;
        ssl_certificate_key $TEST_NGINX_CERT_DIR/test.key;
        ssl_certificate_by_lua_block {
            local ssl = require "ngx.ssl"
            local name = ssl.server_name()
            local certs = ngx.shared.certs
            local cert, key = certs:get(name .. ":cert"), certs:get(name .. ":key")
            if not cert then
                ngx.log(ngx.ERR, "no certificate for ", name)
                return ngx.exit(ngx.ERROR)
            end
            assert(ssl.clear_certs())
            assert(ssl.set_der_cert(cert))
            assert(ssl.set_der_priv_key(key))
        }
        content_by_lua_block { ngx.say("served ", require("ngx.ssl").server_name()) }
    }
--- stream_server_config
    lua_ssl_trusted_certificate $TEST_NGINX_CERT_DIR/trusted-bundle.crt;
    content_by_lua_block {
        for _, name in ipairs{"test.com", "ec.test.com", "unknown.test.com"} do
            local sock = ngx.socket.tcp()
            assert(sock:connect("127.0.0.1", $TEST_NGINX_RAND_PORT_1))
            local sess, err = sock:sslhandshake(nil, name, true)
            if sess then
                ngx.print(sock:receive("*a"))
            else
                ngx.say(name, ": ", err)
            end
            sock:close()
        end
    }
--- stream_response
served test.com
served ec.test.com
unknown.test.com: handshake failed
--- error_log
no certificate for unknown.test.com
--- no_error_log
[alert]



=== TEST 3: ngx.exit(ngx.ERROR) fails the handshake; code after it does not run
--- stream_config
    server {
        listen 127.0.0.1:$TEST_NGINX_RAND_PORT_1 ssl;
        ssl_certificate $TEST_NGINX_CERT_DIR/test.crt;
        ssl_certificate_key $TEST_NGINX_CERT_DIR/test.key;
        ssl_certificate_by_lua_block {
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
'stream lua_certificate_by_lua: handler return value: -1, cert cb exit code: 0',
qr/\[info\] .*? SSL_do_handshake\(\) failed .*?cert cb error/,
]
--- no_error_log
should never reached here



=== TEST 4: ngx.exit(ngx.OK) goes on with the handshake
--- stream_config
    server {
        listen 127.0.0.1:$TEST_NGINX_RAND_PORT_1 ssl;
        ssl_certificate $TEST_NGINX_CERT_DIR/test.crt;
        ssl_certificate_key $TEST_NGINX_CERT_DIR/test.key;
        ssl_certificate_by_lua_block {
            ngx.exit(ngx.OK)
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
        ngx.print(sock:receive("*a"))
    }
--- stream_response
handshake: true nil
it works!
--- error_log
lua exit with code 0
--- no_error_log
should never reached here



=== TEST 5: a Lua error fails the handshake, logged with the hook's context
--- stream_config
    server {
        listen 127.0.0.1:$TEST_NGINX_RAND_PORT_1 ssl;
        ssl_certificate $TEST_NGINX_CERT_DIR/test.crt;
        ssl_certificate_key $TEST_NGINX_CERT_DIR/test.key;
        ssl_certificate_by_lua_block {
            error("bad bad bad")
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
'runtime error: ssl_certificate_by_lua:2: bad bad bad',
qr/context: ssl_certificate_by_lua\*, client: 127\.0\.0\.1, server: 127\.0\.0\.1:\d+/,
'stream lua_certificate_by_lua: handler return value: 500, cert cb exit code: 0',
qr/\[info\] .*? SSL_do_handshake\(\) failed .*?cert cb error/,
]
--- no_error_log
[alert]



=== TEST 6: a key that does not match the certificate is refused; the old pair still serves
--- stream_config
    server {
        listen 127.0.0.1:$TEST_NGINX_RAND_PORT_1 ssl;
        ssl_certificate $TEST_NGINX_CERT_DIR/test.crt;
        ssl_certificate_key $TEST_NGINX_CERT_DIR/test.key;
        ssl_certificate_by_lua_block {
            local ssl = require "ngx.ssl"
            local f = assert(io.open((("$TEST_NGINX_CERT_DIR"):sub(1, 1) == "/" and "" or ngx.config.prefix() .. "conf/")
                .. "$TEST_NGINX_CERT_DIR/other.key"))
            local key = assert(ssl.parse_pem_priv_key(f:read("*a")))
            f:close()
            local ok, err = ssl.set_priv_key(key)
            ngx.log(ngx.WARN, "set_priv_key: ", ok, " ", err)
        }
        return "it works!\n";
    }
--- stream_server_config
    lua_ssl_trusted_certificate $TEST_NGINX_CERT_DIR/ca.crt;
    content_by_lua_block {
        local sock = ngx.socket.tcp()
        assert(sock:connect("127.0.0.1", $TEST_NGINX_RAND_PORT_1))
        local sess, err = sock:sslhandshake(nil, "test.com", true)
        ngx.say("handshake: ", type(sess), " ", err)
        ngx.print(sock:receive("*a"))
    }
--- stream_response
handshake: userdata nil
it works!
--- error_log
set_priv_key: nil SSL_use_PrivateKey() failed
--- no_error_log
[error]



=== TEST 7: APIs not allowed in the hook fail with upstream's texts
--- stream_config
    server {
        listen 127.0.0.1:$TEST_NGINX_RAND_PORT_1 ssl;
        ssl_certificate $TEST_NGINX_CERT_DIR/test.crt;
        ssl_certificate_key $TEST_NGINX_CERT_DIR/test.key;
        ssl_certificate_by_lua_block {
            local ch = require "ngx.ssl.clienthello"
            ngx.log(ngx.WARN, "say: ", select(2, pcall(ngx.say, "hi")))
            ngx.log(ngx.WARN, "client hello: ", select(2, pcall(ch.get_client_hello_server_name)))
            ngx.log(ngx.WARN, "req socket: ", select(2, pcall(ngx.req.socket)))
        }
        return "it works!\n";
    }
--- stream_server_config
    content_by_lua_block {
        local sock = ngx.socket.tcp()
        assert(sock:connect("127.0.0.1", $TEST_NGINX_RAND_PORT_1))
        assert(sock:sslhandshake(false, nil, false))
        ngx.print(sock:receive("*a"))
    }
--- stream_response
it works!
--- error_log
say: API disabled in the context of ssl_certificate_by_lua*
client hello: API disabled in the current context
req socket: API disabled in the context of ssl_certificate_by_lua*
--- no_error_log
[error]



=== TEST 8: a hook of stream {} runs for TLS servers, not for others; a server's own wins
--- stream_config
    ssl_certificate_by_lua_block { print("stream level hook") }
    server {
        listen 127.0.0.1:$TEST_NGINX_RAND_PORT_1 ssl;
        ssl_certificate $TEST_NGINX_CERT_DIR/test.crt;
        ssl_certificate_key $TEST_NGINX_CERT_DIR/test.key;
        return "tls inherits\n";
    }
    server {
        listen 127.0.0.1:$TEST_NGINX_RAND_PORT_2 ssl;
        ssl_certificate $TEST_NGINX_CERT_DIR/test.crt;
        ssl_certificate_key $TEST_NGINX_CERT_DIR/test.key;
        ssl_certificate_by_lua_block { print("server level hook") }
        return "tls own\n";
    }
    server {
        listen 127.0.0.1:$TEST_NGINX_RAND_PORT_3;
        ssl_certificate_by_lua_block { print("plain server hook") }
        return "plain\n";
    }
--- stream_server_config
    content_by_lua_block {
        for _, p in ipairs{$TEST_NGINX_RAND_PORT_1, $TEST_NGINX_RAND_PORT_2} do
            local sock = ngx.socket.tcp()
            assert(sock:connect("127.0.0.1", p))
            assert(sock:sslhandshake(false, nil, false))
            ngx.print(sock:receive("*a"))
        end
        local sock = ngx.socket.tcp()
        assert(sock:connect("127.0.0.1", $TEST_NGINX_RAND_PORT_3))
        ngx.print(sock:receive("*a"))
    }
--- stream_response
tls inherits
tls own
plain
--- grep_error_log eval: qr/(?:stream|server|plain server) level hook|plain server hook/
--- grep_error_log_out
stream level hook
server level hook
--- no_error_log
[error]



=== TEST 9: ssl_certificate_by_lua_file, also with lua_code_cache off (a VM per session)
--- stream_config
    lua_code_cache off;
    server {
        listen 127.0.0.1:$TEST_NGINX_RAND_PORT_1 ssl;
        ssl_certificate $TEST_NGINX_CERT_DIR/test.crt;
        ssl_certificate_key $TEST_NGINX_CERT_DIR/test.key;
        ssl_certificate_by_lua_file html/cert.lua;
        content_by_lua_block { ngx.say("from file: ", ngx.ctx.from_file, ", counter: ", counter) }
    }
--- user_files
>>> cert.lua
counter = (counter or 0) + 1
ngx.ctx.from_file = ngx.get_phase()
print("cert hook from a file")
--- stream_server_config
    content_by_lua_block {
        for i = 1, 2 do
            local sock = ngx.socket.tcp()
            assert(sock:connect("127.0.0.1", $TEST_NGINX_RAND_PORT_1))
            assert(sock:sslhandshake(false, nil, false))
            ngx.print(sock:receive("*a"))
        end
    }
--- stream_response
from file: ssl_cert, counter: 1
from file: ssl_cert, counter: 1
--- error_log eval
qr/cert\.lua:3: cert hook from a file, context: ssl_certificate_by_lua\*/
--- no_error_log
[error]
