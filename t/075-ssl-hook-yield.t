# Beyond upstream: ssl_certificate_by_lua* and ssl_client_hello_by_lua* can wait (ngx.sleep, Redis and
# cosockets, light threads, semaphores) on a stock nginx, through our handshake driver in the
# stream SSL phase (src/phase/ssl_cert.rs has the design). Also: a handshake timeout and a
# client that goes away while a hook waits, and ngx.exit/errors after a wait (upstream's
# facts for them come from t/139-ssl-cert-by.t and t/162-ssl-client-hello-by.t, which need
# OpenResty's patched nginx there).

use Test::Nginx::Socket::Lua::Stream;

$ENV{TEST_NGINX_CERT_DIR} ||= '../../../../../t/cert';
$ENV{TEST_NGINX_REDIS_PORT} ||= 16379;

repeat_each(2);

plan tests => repeat_each() * (blocks() * 3);

log_level('debug');

no_long_string();

run_tests();

__DATA__

=== TEST 1: both hooks sleep; ngx.ctx carries through the waits
--- stream_config
    server {
        listen 127.0.0.1:$TEST_NGINX_RAND_PORT_1 ssl;
        ssl_certificate $TEST_NGINX_CERT_DIR/test.crt;
        ssl_certificate_key $TEST_NGINX_CERT_DIR/test.key;
        ssl_client_hello_by_lua_block {
            local begin = ngx.now()
            ngx.sleep(0.1)
            ngx.ctx.hello = require("ngx.ssl.clienthello").get_client_hello_server_name()
            ngx.log(ngx.INFO, "elapsed in ssl client hello by lua: ", ngx.now() - begin)
        }
        ssl_certificate_by_lua_block {
            local begin = ngx.now()
            ngx.sleep(0.1)
            ngx.ctx.cert = require("ngx.ssl").server_name()
            ngx.log(ngx.INFO, "elapsed in ssl cert by lua: ", ngx.now() - begin)
        }
        content_by_lua_block { ngx.say("hello: ", ngx.ctx.hello, ", cert: ", ngx.ctx.cert) }
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
hello: test.com, cert: test.com
--- error_log eval
[
qr/elapsed in ssl client hello by lua: 0\.(?:09|[12]\d)\d*, context: ssl_client_hello_by_lua\*/,
qr/elapsed in ssl cert by lua: 0\.(?:09|[12]\d)\d*, context: ssl_certificate_by_lua\*/,
'stream lua_client_hello_by_lua: client hello cb exit code: 1',
'stream lua_certificate_by_lua: cert cb exit code: 1',
]
--- no_error_log
[error]



=== TEST 2: the cert hook reads the certificate and key from a cosocket peer
--- stream_config
    server {
        listen 127.0.0.1:$TEST_NGINX_RAND_PORT_2;
        content_by_lua_block {
            local name = ngx.req.socket():receive()
            local dir = (("$TEST_NGINX_CERT_DIR"):sub(1, 1) == "/" and "" or ngx.config.prefix() .. "conf/")
                .. "$TEST_NGINX_CERT_DIR/"
            local prefix = name == "ec.test.com" and "ec" or "test"
            for _, ext in ipairs{".crt", ".key"} do
                local f = assert(io.open(dir .. prefix .. ext))
                local pem = f:read("*a")
                f:close()
                ngx.print(#pem, "\n", pem)
            end
        }
    }
    server {
        listen 127.0.0.1:$TEST_NGINX_RAND_PORT_1 ssl;
        ssl_certificate $TEST_NGINX_CERT_DIR/test.crt;
        ssl_certificate_key $TEST_NGINX_CERT_DIR/test.key;
        ssl_certificate_by_lua_block {
            local ssl = require "ngx.ssl"
            local sock = ngx.socket.tcp()
            assert(sock:connect("127.0.0.1", $TEST_NGINX_RAND_PORT_2))
            assert(sock:send(ssl.server_name() .. "\n"))
            local function item()
                return assert(sock:receive(tonumber(assert(sock:receive()))))
            end
            local cert = assert(ssl.parse_pem_cert(item()))
            local key = assert(ssl.parse_pem_priv_key(item()))
            sock:close()
            assert(ssl.clear_certs())
            assert(ssl.set_cert(cert))
            assert(ssl.set_priv_key(key))
        }
        content_by_lua_block { ngx.say("served ", require("ngx.ssl").server_name()) }
    }
--- stream_server_config
    lua_ssl_trusted_certificate $TEST_NGINX_CERT_DIR/trusted-bundle.crt;
    content_by_lua_block {
        for _, name in ipairs{"ec.test.com", "test.com"} do
            local sock = ngx.socket.tcp()
            assert(sock:connect("127.0.0.1", $TEST_NGINX_RAND_PORT_1))
            local sess, err = sock:sslhandshake(nil, name, true)
            ngx.print(name, ": ", sess and sock:receive("*a") or err .. "\n")
        end
    }
--- stream_response
ec.test.com: served ec.test.com
test.com: served test.com
--- error_log
stream lua_certificate_by_lua: cert cb exit code: 1
--- no_error_log
[error]



=== TEST 3: ngx.exit(ngx.ERROR) and a Lua error after a wait fail the handshake
--- stream_config
    server {
        listen 127.0.0.1:$TEST_NGINX_RAND_PORT_1 ssl;
        ssl_certificate $TEST_NGINX_CERT_DIR/test.crt;
        ssl_certificate_key $TEST_NGINX_CERT_DIR/test.key;
        ssl_client_hello_by_lua_block {
            ngx.sleep(0.001)
            if require("ngx.ssl.clienthello").get_client_hello_server_name() == "exit.test.com" then
                ngx.exit(ngx.ERROR)
            end
        }
        ssl_certificate_by_lua_block {
            ngx.sleep(0.001)
            error("bad bad bad")
        }
        return "unreachable\n";
    }
--- stream_server_config
    content_by_lua_block {
        for _, name in ipairs{"exit.test.com", "error.test.com"} do
            local sock = ngx.socket.tcp()
            assert(sock:connect("127.0.0.1", $TEST_NGINX_RAND_PORT_1))
            local sess, err = sock:sslhandshake(false, name, false)
            ngx.say(name, ": ", sess, " ", err)
        end
    }
--- stream_response
exit.test.com: nil handshake failed
error.test.com: nil handshake failed
--- error_log eval
[
'stream lua_client_hello_by_lua: client hello cb exit code: 0',
qr/\[info\] .*? SSL_do_handshake\(\) failed .*?callback failed/,
'runtime error: ssl_certificate_by_lua:3: bad bad bad',
'stream lua_certificate_by_lua: cert cb exit code: 0',
qr/\[info\] .*? SSL_do_handshake\(\) failed .*?cert cb error/,
]
--- no_error_log
[alert]



=== TEST 4: light threads and a semaphore inside the cert hook
--- stream_config
    server {
        listen 127.0.0.1:$TEST_NGINX_RAND_PORT_1 ssl;
        ssl_certificate $TEST_NGINX_CERT_DIR/test.crt;
        ssl_certificate_key $TEST_NGINX_CERT_DIR/test.key;
        ssl_certificate_by_lua_block {
            local sema = require("ngx.semaphore").new()
            local t = ngx.thread.spawn(function()
                ngx.sleep(0.01)
                sema:post()
                return "from thread"
            end)
            local ok, err = sema:wait(1)
            local _, res = ngx.thread.wait(t)
            ngx.ctx.got = tostring(ok) .. " " .. tostring(err) .. " " .. res
        }
        content_by_lua_block { ngx.say(ngx.ctx.got) }
    }
--- stream_server_config
    content_by_lua_block {
        local sock = ngx.socket.tcp()
        assert(sock:connect("127.0.0.1", $TEST_NGINX_RAND_PORT_1))
        assert(sock:sslhandshake(false, nil, false))
        ngx.print(sock:receive("*a"))
    }
--- stream_response
true nil from thread
--- error_log
stream lua_certificate_by_lua: cert cb exit code: 1
--- no_error_log
[error]



=== TEST 5: the handshake timeout ends a session whose hook still waits
--- stream_config
    server {
        listen 127.0.0.1:$TEST_NGINX_RAND_PORT_1 ssl;
        ssl_certificate $TEST_NGINX_CERT_DIR/test.crt;
        ssl_certificate_key $TEST_NGINX_CERT_DIR/test.key;
        ssl_handshake_timeout 100ms;
        ssl_certificate_by_lua_block {
            ngx.log(ngx.INFO, "hook starts waiting")
            ngx.sleep(0.5)
            ngx.log(ngx.ERR, "hook woke up after the timeout")
        }
        return "unreachable\n";
    }
--- stream_server_config
    content_by_lua_block {
        local sock = ngx.socket.tcp()
        sock:settimeout(2000)
        assert(sock:connect("127.0.0.1", $TEST_NGINX_RAND_PORT_1))
        local sess, err = sock:sslhandshake(false, nil, false)
        ngx.say("handshake: ", sess, " ", err)
        ngx.sleep(0.6)
    }
--- stream_response
handshake: nil handshake failed
--- error_log
hook starts waiting
stream lua ssl: handshake timed out while a hook waits
--- no_error_log
hook woke up after the timeout



=== TEST 6: a client that goes away while the hook waits
--- stream_config
    server {
        listen 127.0.0.1:$TEST_NGINX_RAND_PORT_1 ssl;
        ssl_certificate $TEST_NGINX_CERT_DIR/test.crt;
        ssl_certificate_key $TEST_NGINX_CERT_DIR/test.key;
        ssl_client_hello_by_lua_block {
            ngx.sleep(0.3)
            ngx.log(ngx.INFO, "hook done after the client left")
        }
        return "unreachable\n";
    }
--- stream_server_config
    content_by_lua_block {
        local sock = ngx.socket.tcp()
        sock:settimeout(100)
        assert(sock:connect("127.0.0.1", $TEST_NGINX_RAND_PORT_1))
        local sess, err = sock:sslhandshake(false, nil, false)
        ngx.say("handshake: ", sess, " ", err)
        sock:close()
        ngx.sleep(0.5)
    }
--- stream_response
handshake: nil timeout
--- error_log eval
[
'hook done after the client left',
qr/\[info\] .*(?:peer closed connection in SSL handshake|SSL_do_handshake\(\) failed)/,
]
--- no_error_log
[alert]



=== TEST 7: the cert hook fetches the certificate and key from Redis (scripts/test-servers.sh)
--- stream_config
    init_by_lua_block {
        function redis_cmd(sock, ...)
            local req = {}
            for _, a in ipairs{...} do
                req[#req + 1] = "$" .. #a .. "\r\n" .. a .. "\r\n"
            end
            assert(sock:send("*" .. select("#", ...) .. "\r\n" .. table.concat(req)))
            local line = assert(sock:receive())
            if line:sub(1, 1) == "$" then
                local n = tonumber(line:sub(2))
                if n < 0 then return nil end
                return assert(sock:receive(n + 2)):sub(1, n)
            end
            return line
        end
    }
    server {
        listen 127.0.0.1:$TEST_NGINX_RAND_PORT_1 ssl;
        ssl_certificate $TEST_NGINX_CERT_DIR/test.crt;
        ssl_certificate_key $TEST_NGINX_CERT_DIR/test.key;
        ssl_certificate_by_lua_block {
            local ssl = require "ngx.ssl"
            local name = ssl.server_name()
            local redis = ngx.socket.tcp()
            assert(redis:connect("127.0.0.1", $TEST_NGINX_REDIS_PORT))
            local cert = redis_cmd(redis, "GET", "stream-lua-rs:t075:cert:" .. name)
            local key = redis_cmd(redis, "GET", "stream-lua-rs:t075:key:" .. name)
            redis:setkeepalive()
            if not cert then
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
        local ssl = require "ngx.ssl"
        local function slurp(name)
            local f = assert(io.open((("$TEST_NGINX_CERT_DIR"):sub(1, 1) == "/" and "" or ngx.config.prefix() .. "conf/")
                .. "$TEST_NGINX_CERT_DIR/" .. name))
            local s = f:read("*a")
            f:close()
            return s
        end
        local redis = ngx.socket.tcp()
        assert(redis:connect("127.0.0.1", $TEST_NGINX_REDIS_PORT))
        redis_cmd(redis, "SET", "stream-lua-rs:t075:cert:ec.test.com",
                  assert(ssl.cert_pem_to_der(slurp("ec.crt"))))
        redis_cmd(redis, "SET", "stream-lua-rs:t075:key:ec.test.com",
                  assert(ssl.priv_key_pem_to_der(slurp("ec.key"))))
        redis:close()
        for _, name in ipairs{"ec.test.com", "missing.test.com"} do
            local sock = ngx.socket.tcp()
            assert(sock:connect("127.0.0.1", $TEST_NGINX_RAND_PORT_1))
            local sess, err = sock:sslhandshake(nil, name, true)
            ngx.print(name, ": ", sess and sock:receive("*a") or err .. "\n")
        end
    }
--- stream_response
ec.test.com: served ec.test.com
missing.test.com: handshake failed
--- error_log
stream lua_certificate_by_lua: cert cb exit code: 0
--- no_error_log
[alert]
