# require "ngx.ssl" outside a handshake: PEM -> DER conversion and parsed certificate chains
# and private keys. Names, results and error texts follow lua-resty-core v0.1.31's
# lib/ngx/ssl.lua (stream subsystem) over stream-lua v0.0.16's ngx_stream_lua_ssl_certby.c;
# a non-string argument is a "bad argument" error of ours. Certificates are t/cert's.

use Test::Nginx::Socket::Lua::Stream;

# nginx reads a relative path from servroot/conf (see t/034-socket-tcp.t); `read_cert` below
# resolves it the same way from Lua.
$ENV{TEST_NGINX_CERT_DIR} ||= '../../../../../t/cert';

repeat_each(2);

plan tests => repeat_each() * (blocks() * 2);

no_long_string();

add_block_preprocessor(sub {
    my $block = shift;
    # every test here also asserts a clean error log
    $block->set_value("no_error_log", "[error]") unless defined $block->no_error_log;
    if (!defined $block->stream_config) {
        $block->set_value("stream_config", <<'_EOC_');
    init_by_lua_block {
        function read_cert(name)
            local dir = "$TEST_NGINX_CERT_DIR"
            if dir:sub(1, 1) ~= "/" then
                dir = ngx.config.prefix() .. "conf/" .. dir
            end
            local f = assert(io.open(dir .. "/" .. name, "rb"))
            local s = f:read("*a")
            f:close()
            return s
        end
        -- the DER of a one-certificate PEM is its base64 body
        function pem_body(pem)
            local b64 = pem:match("%-%-%-%-%-BEGIN [^-]+%-%-%-%-%-(.-)%-%-%-%-%-END")
            return ngx.decode_base64((b64:gsub("%s", "")))
        end
        local ssl = require "ngx.ssl"
        init_der = ssl.cert_pem_to_der(read_cert("test.crt"))
        init_obj = type(ssl.parse_pem_cert(read_cert("test.crt")))
    }
_EOC_
    }
});

run_tests();

__DATA__

=== TEST 1: cert_pem_to_der of one certificate is its PEM body, and parses back
--- stream_server_config
    content_by_lua_block {
        local ssl = require "ngx.ssl"
        local pem = read_cert("test.crt")
        local der, err = ssl.cert_pem_to_der(pem)
        ngx.say("der: ", type(der), " ", err)
        ngx.say("same as body: ", der == pem_body(pem), ", ", #der < #pem)
        local c1, e1 = ssl.parse_der_cert(der)
        local c2, e2 = ssl.parse_pem_cert(pem)
        ngx.say("parse_der_cert: ", type(c1), " ", e1)
        ngx.say("parse_pem_cert: ", type(c2), " ", e2)
        ngx.say("ec: ", ssl.cert_pem_to_der(read_cert("ec.crt")) == pem_body(read_cert("ec.crt")))
    }
--- stream_response
der: string nil
same as body: true, true
parse_der_cert: cdata nil
parse_pem_cert: cdata nil
ec: true



=== TEST 2: a PEM chain becomes the DERs back to back, which parse as a chain
--- stream_server_config
    content_by_lua_block {
        local ssl = require "ngx.ssl"
        local leaf, ca = read_cert("test.crt"), read_cert("ca.crt")
        local der = assert(ssl.cert_pem_to_der(leaf .. ca))
        ngx.say("chain der: ", der == pem_body(leaf) .. pem_body(ca))
        -- text around and between the PEM blocks is skipped, as OpenSSL's PEM reader does
        der = assert(ssl.cert_pem_to_der("leaf:\n" .. leaf .. "issuer:\n" .. ca .. "end\n"))
        ngx.say("with text: ", der == pem_body(leaf) .. pem_body(ca))
        ngx.say("parse_der_cert: ", type((ssl.parse_der_cert(der))))
        ngx.say("parse_pem_cert: ", type((ssl.parse_pem_cert(leaf .. ca))))
    }
--- stream_response
chain der: true
with text: true
parse_der_cert: cdata
parse_pem_cert: cdata



=== TEST 3: priv_key_pem_to_der, parse_pem_priv_key and parse_der_priv_key (RSA and EC)
--- stream_server_config
    content_by_lua_block {
        local ssl = require "ngx.ssl"
        for _, name in ipairs{"test.key", "ec.key"} do
            local pem = read_cert(name)
            local der, err = ssl.priv_key_pem_to_der(pem)
            ngx.say(name, ": ", type(der), " ", err, " ", der:byte(1) == 0x30)
            ngx.say("  parse_der_priv_key: ", type((ssl.parse_der_priv_key(der))))
            ngx.say("  parse_pem_priv_key: ", type((ssl.parse_pem_priv_key(pem))))
        end
    }
--- stream_response
test.key: string nil true
  parse_der_priv_key: cdata
  parse_pem_priv_key: cdata
ec.key: string nil true
  parse_der_priv_key: cdata
  parse_pem_priv_key: cdata



=== TEST 4: an encrypted key needs its passphrase (and never prompts for one)
--- stream_server_config
    content_by_lua_block {
        local ssl = require "ngx.ssl"
        local plain = assert(ssl.priv_key_pem_to_der(read_cert("test.key")))
        local enc = read_cert("test-enc.key")
        local der, err = ssl.priv_key_pem_to_der(enc, "stream-lua")
        ngx.say("right passphrase: ", der == plain, " ", err)
        ngx.say("wrong passphrase: ", ssl.priv_key_pem_to_der(enc, "nope"))
        ngx.say("no passphrase: ", ssl.priv_key_pem_to_der(enc))
        ngx.say("parse_pem_priv_key: ", ssl.parse_pem_priv_key(enc))
        ngx.say("plain key, any passphrase: ", ssl.priv_key_pem_to_der(read_cert("test.key"), "x") == plain)
    }
--- stream_response
right passphrase: true nil
wrong passphrase: nilPEM_read_bio_PrivateKey() failed
no passphrase: nilPEM_read_bio_PrivateKey() failed
parse_pem_priv_key: nilPEM_read_bio_PrivateKey() failed
plain key, any passphrase: true



=== TEST 5: malformed PEM certificates
--- stream_server_config
    content_by_lua_block {
        local ssl = require "ngx.ssl"
        local pem = read_cert("test.crt")
        local cases = {
            {"empty", ""},
            {"garbage", "hello world"},
            {"truncated", pem:sub(1, 400)},
            {"bad base64", (pem:gsub("MII", "!!!", 1))},
            {"a key", read_cert("test.key")},
            {"broken second", pem .. read_cert("ca.crt"):sub(1, 300) .. "\n-----END CERTIFICATE-----\n"},
        }
        for _, c in ipairs(cases) do
            local d, e1 = ssl.cert_pem_to_der(c[2])
            local p, e2 = ssl.parse_pem_cert(c[2])
            ngx.say(c[1], ": ", d, " ", e1, " / ", p, " ", e2)
        end
    }
--- stream_response
empty: nil PEM_read_bio_X509_AUX() failed / nil PEM_read_bio_X509_AUX() failed
garbage: nil PEM_read_bio_X509_AUX() failed / nil PEM_read_bio_X509_AUX() failed
truncated: nil PEM_read_bio_X509_AUX() failed / nil PEM_read_bio_X509_AUX() failed
bad base64: nil PEM_read_bio_X509_AUX() failed / nil PEM_read_bio_X509_AUX() failed
a key: nil PEM_read_bio_X509_AUX() failed / nil PEM_read_bio_X509_AUX() failed
broken second: nil PEM_read_bio_X509() failed / nil PEM_read_bio_X509() failed



=== TEST 6: malformed PEM keys
--- stream_server_config
    content_by_lua_block {
        local ssl = require "ngx.ssl"
        local pem = read_cert("test.key")
        local cases = {
            {"empty", ""},
            {"garbage", "hello world"},
            {"truncated", pem:sub(1, 400)},
            {"a certificate", read_cert("test.crt")},
        }
        for _, c in ipairs(cases) do
            local d, e1 = ssl.priv_key_pem_to_der(c[2])
            local p, e2 = ssl.parse_pem_priv_key(c[2])
            ngx.say(c[1], ": ", d, " ", e1, " / ", p, " ", e2)
        end
    }
--- stream_response
empty: nil PEM_read_bio_PrivateKey() failed / nil PEM_read_bio_PrivateKey() failed
garbage: nil PEM_read_bio_PrivateKey() failed / nil PEM_read_bio_PrivateKey() failed
truncated: nil PEM_read_bio_PrivateKey() failed / nil PEM_read_bio_PrivateKey() failed
a certificate: nil PEM_read_bio_PrivateKey() failed / nil PEM_read_bio_PrivateKey() failed



=== TEST 7: malformed DER certificates and keys
--- stream_server_config
    content_by_lua_block {
        local ssl = require "ngx.ssl"
        local der = assert(ssl.cert_pem_to_der(read_cert("test.crt")))
        local kder = assert(ssl.priv_key_pem_to_der(read_cert("test.key")))
        local certs = {
            {"empty", ""},
            {"garbage", "hello world"},
            {"truncated", der:sub(1, #der - 10)},
            {"trailing junk", der .. "junk"},
            {"a key", kder},
        }
        for _, c in ipairs(certs) do
            ngx.say("cert ", c[1], ": ", ssl.parse_der_cert(c[2]))
        end
        local keys = {
            {"empty", ""},
            {"garbage", "hello world"},
            {"truncated", kder:sub(1, 100)},
            {"a certificate", der},
        }
        for _, c in ipairs(keys) do
            ngx.say("key ", c[1], ": ", ssl.parse_der_priv_key(c[2]))
        end
    }
--- stream_response
cert empty: nild2i_X509_bio() failed
cert garbage: nild2i_X509_bio() failed
cert truncated: nild2i_X509_bio() failed
cert trailing junk: nild2i_X509_bio() failed in rest of chain
cert a key: nild2i_X509_bio() failed
key empty: nild2i_PrivateKey_bio() failed
key garbage: nild2i_PrivateKey_bio() failed
key truncated: nild2i_PrivateKey_bio() failed
key a certificate: nild2i_PrivateKey_bio() failed



=== TEST 8: arguments that are not strings
--- stream_server_config
    content_by_lua_block {
        local ssl = require "ngx.ssl"
        local calls = {
            {"cert_pem_to_der", nil},
            {"priv_key_pem_to_der", 42},
            {"parse_pem_cert", {}},
            {"parse_der_cert", true},
            {"parse_pem_priv_key", nil},
            {"parse_der_priv_key", 1.5},
        }
        for _, c in ipairs(calls) do
            local ok, err = pcall(ssl[c[1]], c[2])
            ngx.say(ok, " ", err)
        end
        local ok, err = pcall(ssl.priv_key_pem_to_der, read_cert("test-enc.key"), 123)
        ngx.say(ok, " ", err)
    }
--- stream_response
false bad argument #1 to 'cert_pem_to_der' (string expected, got nil)
false bad argument #1 to 'priv_key_pem_to_der' (string expected, got number)
false bad argument #1 to 'parse_pem_cert' (string expected, got table)
false bad argument #1 to 'parse_der_cert' (string expected, got boolean)
false bad argument #1 to 'parse_pem_priv_key' (string expected, got nil)
false bad argument #1 to 'parse_der_priv_key' (string expected, got number)
false bad argument #2 to 'priv_key_pem_to_der' (string expected, got number)



=== TEST 9: a key that does not match a certificate still parses: only set_priv_key can tell
--- stream_server_config
    content_by_lua_block {
        local ssl = require "ngx.ssl"
        local cert = ssl.parse_pem_cert(read_cert("test.crt"))
        local key = ssl.parse_pem_priv_key(read_cert("client.key"))
        local other = ssl.parse_pem_priv_key(read_cert("ec.key"))
        ngx.say(type(cert), " ", type(key), " ", type(other))
        ngx.say(ssl.priv_key_pem_to_der(read_cert("client.key"))
                ~= ssl.priv_key_pem_to_der(read_cert("test.key")))
    }
--- stream_response
cdata cdata cdata
true



=== TEST 10: ngx.ssl in init_by_lua, timers and content; parsed objects are freed by the GC
--- stream_server_config
    content_by_lua_block {
        local ssl = require "ngx.ssl"
        ngx.say("init: ", init_der == pem_body(read_cert("test.crt")), " ", init_obj)
        local cert_pem, key_pem = read_cert("test.crt"), read_cert("test.key")
        local done = false
        ngx.timer.at(0, function()
            for i = 1, 200 do
                assert(ssl.parse_der_cert(init_der))
            end
            collectgarbage()
            done = true
        end)
        for i = 1, 300 do
            assert(ssl.parse_pem_cert(cert_pem))
            assert(ssl.parse_der_priv_key(assert(ssl.priv_key_pem_to_der(key_pem))))
        end
        collectgarbage()
        while not done do ngx.sleep(0.01) end
        ngx.say("done")
    }
--- stream_response
init: true cdata
done



=== TEST 11: the exports called straight through the FFI, declared by the user before and after require "ngx.ssl"
--- stream_server_config
    content_by_lua_block {
        local ffi = require "ffi"
        ffi.cdef[[
            int ngx_stream_lua_ffi_cert_pem_to_der(const unsigned char *pem,
                size_t pem_len, unsigned char *der, char **err);
            void *ngx_stream_lua_ffi_parse_der_priv_key(const unsigned char *der,
                size_t der_len, char **err);
        ]]
        local ssl = require "ngx.ssl"
        ffi.cdef[[
            void ngx_stream_lua_ffi_free_priv_key(void *cdata);
        ]]
        local pem = read_cert("test.crt")
        local buf = ffi.new("unsigned char[?]", #pem)
        local err = ffi.new("char *[1]")
        local n = ffi.C.ngx_stream_lua_ffi_cert_pem_to_der(pem, #pem, buf, err)
        ngx.say("der: ", ffi.string(buf, n) == ssl.cert_pem_to_der(pem))
        local p = ffi.C.ngx_stream_lua_ffi_parse_der_priv_key("junk", 4, err)
        ngx.say("key: ", p == nil, " ", ffi.string(err[0]))
        local kder = assert(ssl.priv_key_pem_to_der(read_cert("test.key")))
        local k = ffi.C.ngx_stream_lua_ffi_parse_der_priv_key(kder, #kder, err)
        ngx.say("parsed: ", k ~= nil)
        ngx.say("freed: ", ffi.C.ngx_stream_lua_ffi_free_priv_key(k) == nil)
        ffi.C.ngx_stream_lua_ffi_free_priv_key(nil)
    }
--- stream_response
der: true
key: true d2i_PrivateKey_bio() failed
parsed: true
freed: true



=== TEST 12: the public fields of ngx.ssl and ngx.ssl.clienthello, and their kinds
(a real lua-resty-core's modules, when on the path, have more)
--- skip_eval: 2: $ENV{TEST_NGINX_RESTY_CORE}
--- stream_server_config
    content_by_lua_block {
        for _, mod in ipairs { "ngx.ssl", "ngx.ssl.clienthello" } do
            local names = {}
            for k, v in pairs(require(mod)) do
                names[#names + 1] = k .. "=" .. type(v):sub(1, 1)
            end
            table.sort(names)
            ngx.say(mod, ": ", table.concat(names, " "))
        end
    }
--- stream_response
ngx.ssl: SSL3_VERSION=n TLS1_1_VERSION=n TLS1_2_VERSION=n TLS1_3_VERSION=n TLS1_VERSION=n cert_pem_to_der=f clear_certs=f get_client_random=f get_tls1_version=f get_tls1_version_str=f parse_der_cert=f parse_der_priv_key=f parse_pem_cert=f parse_pem_priv_key=f priv_key_pem_to_der=f raw_client_addr=f raw_server_addr=f server_name=f server_port=f set_cert=f set_der_cert=f set_der_priv_key=f set_priv_key=f verify_client=f version=s
ngx.ssl.clienthello: get_client_hello_ext=f get_client_hello_server_name=f get_supported_versions=f set_protocols=f version=s
