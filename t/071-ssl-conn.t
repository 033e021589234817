# require "ngx.ssl" on a TLS connection after the handshake: server_name, get_tls1_version,
# get_tls1_version_str, get_client_random, raw_server_addr, raw_client_addr and server_port
# read the downstream connection's TLS state in
# any phase (lua-resty-core v0.1.31's lib/ngx/ssl.lua over stream-lua v0.0.16's
# ngx_stream_lua_ssl_certby.c: "bad request" on a connection without TLS). The TLS client is
# a cosocket of the same nginx.

use Test::Nginx::Socket::Lua::Stream;

$ENV{TEST_NGINX_CERT_DIR} ||= '../../../../../t/cert';

repeat_each(2);

plan tests => repeat_each() * (blocks() * 2);

no_long_string();

run_tests();

__DATA__

=== TEST 1: server name, version and client random of a TLS connection, in preread and content
--- stream_config
    server {
        listen 127.0.0.1:$TEST_NGINX_RAND_PORT_1 ssl;
        ssl_certificate $TEST_NGINX_CERT_DIR/test.crt;
        ssl_certificate_key $TEST_NGINX_CERT_DIR/test.key;
        ssl_protocols TLSv1.2 TLSv1.3;
        preread_by_lua_block {
            ngx.ctx.preread_name = require("ngx.ssl").server_name()
        }
        content_by_lua_block {
            local ssl = require "ngx.ssl"
            ngx.say("preread name: ", ngx.ctx.preread_name)
            ngx.say("name: ", ssl.server_name())
            local v = ssl.get_tls1_version()
            ngx.say("version: ", v == ssl.TLS1_3_VERSION, " ", ssl.get_tls1_version_str())
            local rnd = ssl.get_client_random()
            ngx.say("random: ", #rnd, " ", ssl.get_client_random(0), " ",
                    #ssl.get_client_random(8), " ", ssl.get_client_random(8) == rnd:sub(1, 8))
        }
    }
--- stream_server_config
    content_by_lua_block {
        for _, name in ipairs{"test.com", "other.example"} do
            local sock = ngx.socket.tcp()
            assert(sock:connect("127.0.0.1", $TEST_NGINX_RAND_PORT_1))
            assert(sock:sslhandshake(false, name, false))
            ngx.print(sock:receive("*a"))
            sock:close()
        end
    }
--- stream_response
preread name: test.com
name: test.com
version: true TLSv1.3
random: 32 32 8 true
preread name: other.example
name: other.example
version: true TLSv1.3
random: 32 32 8 true
--- no_error_log
[error]



=== TEST 2: no SNI: server_name() is nil; TLS 1.2
--- stream_config
    server {
        listen 127.0.0.1:$TEST_NGINX_RAND_PORT_1 ssl;
        ssl_certificate $TEST_NGINX_CERT_DIR/test.crt;
        ssl_certificate_key $TEST_NGINX_CERT_DIR/test.key;
        ssl_protocols TLSv1.2;
        content_by_lua_block {
            local ssl = require "ngx.ssl"
            ngx.say("name: ", ssl.server_name())
            ngx.say("version: ", ssl.get_tls1_version() == ssl.TLS1_2_VERSION, " ",
                    ssl.get_tls1_version_str())
        }
    }
--- stream_server_config
    content_by_lua_block {
        local sock = ngx.socket.tcp()
        assert(sock:connect("127.0.0.1", $TEST_NGINX_RAND_PORT_1))
        assert(sock:sslhandshake(false, nil, false))
        ngx.print(sock:receive("*a"))
    }
--- stream_response
name: nil
version: true TLSv1.2
--- no_error_log
[error]



=== TEST 3: a connection without TLS, and init_worker_by_lua (no connection): "bad request"
--- stream_config
    init_worker_by_lua_block {
        local ok, name, err = pcall(require("ngx.ssl").server_name)
        init_worker_result = tostring(ok) .. " " .. tostring(name) .. " " .. tostring(err)
    }
--- stream_server_config
    content_by_lua_block {
        local ssl = require "ngx.ssl"
        ngx.say("server_name: ", ssl.server_name())
        ngx.say("get_tls1_version: ", ssl.get_tls1_version())
        ngx.say("get_tls1_version_str: ", ssl.get_tls1_version_str())
        ngx.say("get_client_random: ", ssl.get_client_random())
        ngx.say("raw_server_addr: ", ssl.raw_server_addr())
        ngx.say("raw_client_addr: ", ssl.raw_client_addr())
        ngx.say("server_port: ", ssl.server_port())
        ngx.say("init_worker: ", init_worker_result)
    }
--- stream_response
server_name: nilbad request
get_tls1_version: nilbad request
get_tls1_version_str: nilbad request
get_client_random: nilbad request
raw_server_addr: nilnilbad request
raw_client_addr: nilnilbad request
server_port: nilbad request
init_worker: true nil bad request
--- no_error_log
[error]



=== TEST 4: raw server and client addresses and the server port, over TCP and a unix socket
--- stream_config
    server {
        listen 127.0.0.1:$TEST_NGINX_RAND_PORT_1 ssl;
        listen unix:$TEST_NGINX_HTML_DIR/tls.sock ssl;
        ssl_certificate $TEST_NGINX_CERT_DIR/test.crt;
        ssl_certificate_key $TEST_NGINX_CERT_DIR/test.key;
        content_by_lua_block {
            local ssl = require "ngx.ssl"
            local function show(a, kind, err)
                if kind == "inet" then
                    return table.concat({a:byte(1, -1)}, ".") .. " " .. kind
                end
                return tostring(a) .. " " .. tostring(kind) .. " " .. tostring(err)
            end
            ngx.say("server: ", show(ssl.raw_server_addr()))
            ngx.say("client: ", show(ssl.raw_client_addr()))
            local port, err = ssl.server_port()
            ngx.say("port: ", port == $TEST_NGINX_RAND_PORT_1, " ", type(port), " ", err)
        }
    }
--- stream_server_config
    content_by_lua_block {
        for _, addr in ipairs{"127.0.0.1", "unix:$TEST_NGINX_HTML_DIR/tls.sock"} do
            local sock = ngx.socket.tcp()
            if addr:find("^unix:") then
                assert(sock:connect(addr))
            else
                assert(sock:connect(addr, $TEST_NGINX_RAND_PORT_1))
            end
            assert(sock:sslhandshake(false, "test.com", false))
            local out = sock:receive("*a")
            local dir = "$TEST_NGINX_HTML_DIR"
            local at = out:find(dir, 1, true)
            if at then
                out = out:sub(1, at - 1) .. "HTML" .. out:sub(at + #dir)
            end
            ngx.print(out)
            sock:close()
        end
    }
--- stream_response
server: 127.0.0.1 inet
client: 127.0.0.1 inet
port: true number nil
server: HTML/tls.sock unix nil
client:  unix nil
port: false nil unix domain has no port
--- no_error_log
[error]



=== TEST 5: set_cert/set_priv_key/set_der_cert/set_der_priv_key/clear_certs on the connection: a key that does not match the certificate is refused
--- stream_config
    server {
        listen 127.0.0.1:$TEST_NGINX_RAND_PORT_1 ssl;
        ssl_certificate $TEST_NGINX_CERT_DIR/test.crt;
        ssl_certificate_key $TEST_NGINX_CERT_DIR/test.key;
        content_by_lua_block {
            local ssl = require "ngx.ssl"
            local function read(name)
                local dir = "$TEST_NGINX_CERT_DIR"
                if dir:sub(1, 1) ~= "/" then
                    dir = ngx.config.prefix() .. "conf/" .. dir
                end
                local f = assert(io.open(dir .. "/" .. name, "rb"))
                local s = f:read("*a")
                f:close()
                return s
            end
            local cert = assert(ssl.parse_pem_cert(read("test.crt") .. read("ca.crt")))
            local key = assert(ssl.parse_pem_priv_key(read("test.key")))
            local other_key = assert(ssl.parse_pem_priv_key(read("client.key")))
            local ec_key = assert(ssl.parse_pem_priv_key(read("ec.key")))
            ngx.say("set_cert: ", ssl.set_cert(cert))
            ngx.say("set_priv_key: ", ssl.set_priv_key(key))
            ngx.say("other key: ", ssl.set_priv_key(other_key))
            -- an EC key goes to the EC slot, which has no certificate to check it against
            ngx.say("ec key: ", ssl.set_priv_key(ec_key))
            local der = assert(ssl.cert_pem_to_der(read("test.crt") .. read("ca.crt")))
            local kder = assert(ssl.priv_key_pem_to_der(read("test.key")))
            ngx.say("clear_certs: ", ssl.clear_certs())
            ngx.say("set_der_cert: ", ssl.set_der_cert(der))
            ngx.say("set_der_priv_key: ", ssl.set_der_priv_key(kder))
            ngx.say("other der key: ", ssl.set_der_priv_key(
                assert(ssl.priv_key_pem_to_der(read("client.key")))))
            ngx.say("bad der cert: ", ssl.set_der_cert("junk"))
            ngx.say("bad der chain: ", ssl.set_der_cert(der .. "junk"))
            ngx.say("bad der key: ", ssl.set_der_priv_key("junk"))
            ngx.say("set_cert(nil): ", pcall(ssl.set_cert, nil))
            ngx.say("set_priv_key(str): ", pcall(ssl.set_priv_key, "x"))
            ngx.say("set_der_cert(nil): ", pcall(ssl.set_der_cert, nil))
        }
    }
--- stream_server_config
    content_by_lua_block {
        local sock = ngx.socket.tcp()
        assert(sock:connect("127.0.0.1", $TEST_NGINX_RAND_PORT_1))
        assert(sock:sslhandshake(false, "test.com", false))
        ngx.print(sock:receive("*a"))
        local ssl = require "ngx.ssl"
        ngx.say("no TLS: ", ssl.clear_certs())
        ngx.say("no TLS: ", ssl.set_der_cert("x"))
        ngx.say("no TLS: ", ssl.set_der_priv_key("x"))
    }
--- stream_response
set_cert: true
set_priv_key: true
other key: nilSSL_use_PrivateKey() failed
ec key: true
clear_certs: true
set_der_cert: true
set_der_priv_key: true
other der key: nilSSL_use_PrivateKey() failed
bad der cert: nild2i_X509_bio() failed
bad der chain: nild2i_X509_bio() failed
bad der key: nild2i_PrivateKey_bio() failed
set_cert(nil): falsebad argument #1 to 'set_cert' (cdata expected, got nil)
set_priv_key(str): falsebad argument #1 to 'set_priv_key' (cdata expected, got string)
set_der_cert(nil): falsebad argument #1 to 'set_der_cert' (string expected, got nil)
no TLS: nilbad request
no TLS: nilbad request
no TLS: nilbad request
--- no_error_log
[error]



=== TEST 6: verify_client outside ssl_certificate_by_lua*
--- stream_config
    server {
        listen 127.0.0.1:$TEST_NGINX_RAND_PORT_1 ssl;
        ssl_certificate $TEST_NGINX_CERT_DIR/test.crt;
        ssl_certificate_key $TEST_NGINX_CERT_DIR/test.key;
        content_by_lua_block {
            ngx.say("tls: ", require("ngx.ssl").verify_client(nil, 1))
        }
    }
--- stream_server_config
    content_by_lua_block {
        ngx.say("plain: ", require("ngx.ssl").verify_client())
        local sock = ngx.socket.tcp()
        assert(sock:connect("127.0.0.1", $TEST_NGINX_RAND_PORT_1))
        assert(sock:sslhandshake(false, "test.com", false))
        ngx.print(sock:receive("*a"))
    }
--- stream_response
plain: nilAPI disabled in the current context
tls: nilAPI disabled in the current context
--- no_error_log
[error]
