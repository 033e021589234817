-- stream-lua-rs built-in `ngx.ssl` (require "ngx.ssl"): certificates and private keys as
-- PEM, DER and parsed objects, and the TLS state of the session's connection, over the
-- module's exported functions (src/api/ssl/; declared in ngx_ffi_decls.lua). The public
-- names, results and error texts are those lua-resty-core 0.1.31 gives in stream.
--
-- Each API function is one export call and one of ngx_ssl_reply.lua's result shapes.
local ffi = require "ffi"
local base = require "resty.core.base"
local reply = require "ngx.ssl.rs_reply"
local to_str, new = ffi.string, ffi.new
local error, type, ipairs, pairs, tonumber = error, type, ipairs, pairs, tonumber

-- the exports, looked up once
local X = reply.exports("ngx.ssl", "ngx_stream_lua_ffi_", {
    cert_pem_to_der = "cert_pem_to_der",
    key_pem_to_der = "priv_key_pem_to_der",
    pem_cert = "parse_pem_cert",
    der_cert = "parse_der_cert",
    pem_key = "parse_pem_priv_key",
    der_key = "parse_der_priv_key",
    free_cert = "free_cert",
    free_key = "free_priv_key",
    sni = "ssl_server_name",
    version = "ssl_get_tls1_version",
    server_addr = "ssl_raw_server_addr",
    client_addr = "ssl_raw_client_addr",
    port = "ssl_server_port",
    clear = "ssl_clear_certs",
    der_cert_in = "ssl_set_der_certificate",
    der_key_in = "ssl_set_der_private_key",
    cert_in = "set_cert",
    key_in = "set_priv_key",
    verify = "ssl_verify_client",
    random = "ssl_client_random",
})

local OK = base.FFI_OK
local err_slot = reply.slot
local scratch, size_cell, current = base.get_string_buf, base.get_size_ptr, base.get_request
local ptr_cell, int_cell, port_cell = new("char *[1]"), new("int[1]"), new("unsigned short[1]")

local yes = reply.yes

local function session()
    local r = current()
    if r == nil then
        error("no request found", 3)
    end
    return r
end

local function want(kind, fname, pos, v)
    local got = type(v)
    if got ~= kind then
        error("bad argument #" .. pos .. " to '" .. fname .. "' (" .. kind .. " expected, got "
              .. got .. ")", 3)
    end
end

local _M = { version = base.version }

-- the protocol versions get_tls1_version reports: constant name, wire value, display name
local known_versions = {
    { "SSL3_VERSION", 0x0300, "SSLv3" },
    { "TLS1_VERSION", 0x0301, "TLSv1" },
    { "TLS1_1_VERSION", 0x0302, "TLSv1.1" },
    { "TLS1_2_VERSION", 0x0303, "TLSv1.2" },
    { "TLS1_3_VERSION", 0x0304, "TLSv1.3" },
}
local display_name = {}
for _, v in ipairs(known_versions) do
    _M[v[1]] = v[2]
    display_name[v[2]] = v[3]
end

-- conversions and parsers that need no connection; DER is never longer than its PEM, so a
-- scratch buffer of #pem bytes holds the result

function _M.cert_pem_to_der(pem)
    want("string", "cert_pem_to_der", 1, pem)
    local out = scratch(#pem)
    return reply.bytes(X.cert_pem_to_der(pem, #pem, out, err_slot), out)
end

function _M.priv_key_pem_to_der(pem, passphrase)
    want("string", "priv_key_pem_to_der", 1, pem)
    if passphrase ~= nil then
        want("string", "priv_key_pem_to_der", 2, passphrase)
    end
    local out = scratch(#pem)
    return reply.bytes(X.key_pem_to_der(pem, #pem, passphrase, out, err_slot), out)
end

for fname, how in pairs {
    parse_pem_cert = { X.pem_cert, X.free_cert },
    parse_der_cert = { X.der_cert, X.free_cert },
    parse_pem_priv_key = { X.pem_key, X.free_key },
    parse_der_priv_key = { X.der_key, X.free_key },
} do
    local parse, free = how[1], how[2]
    _M[fname] = function(text)
        want("string", fname, 1, text)
        return reply.object(parse(text, #text, err_slot), free)
    end
end

-- the session's TLS connection (any phase, once nginx has set TLS up)

function _M.server_name()
    local len = size_cell()
    local status = X.sni(session(), ptr_cell, len, err_slot)
    return reply.maybe(status, to_str, ptr_cell[0], len[0])
end

local family = { [0] = "unix", [1] = "inet", [2] = "inet6" }

-- one of the raw address exports: the address bytes and their family, or nil, nil, err
local function address_from(fetch)
    local len = size_cell()
    if fetch(session(), ptr_cell, len, int_cell, err_slot) ~= OK then
        return nil, nil, reply.err()
    end
    local kind = family[int_cell[0]]
    if kind == nil then
        return nil, nil, "unknown address type: " .. int_cell[0]
    end
    return to_str(ptr_cell[0], len[0]), kind
end

function _M.raw_server_addr()
    return address_from(X.server_addr)
end

function _M.raw_client_addr()
    return address_from(X.client_addr)
end

function _M.server_port()
    return reply.ok(X.port(session(), port_cell, err_slot), tonumber, port_cell[0])
end

function _M.get_tls1_version()
    local v = tonumber(X.version(session(), err_slot))
    if v < 0 then
        return reply.failed()
    end
    return v
end

function _M.get_tls1_version_str()
    local v, err = _M.get_tls1_version()
    if v == nil then
        return nil, err
    end
    local shown = display_name[v]
    if shown == nil then
        return nil, "unknown version"
    end
    return shown
end

-- what the connection presents (meant for ssl_certificate_by_lua*; on an established
-- connection they change nothing the client sees)

function _M.clear_certs()
    return reply.ok(X.clear(session(), err_slot), yes)
end

-- setters taking DER bytes (string) or a parsed object (cdata); the session is looked up
-- before the argument is checked
for fname, how in pairs {
    set_der_cert = { "string", X.der_cert_in },
    set_der_priv_key = { "string", X.der_key_in },
    set_cert = { "cdata", X.cert_in },
    set_priv_key = { "cdata", X.key_in },
} do
    local kind, install = how[1], how[2]
    if kind == "string" then
        _M[fname] = function(der)
            local r = session()
            want(kind, fname, 1, der)
            return reply.ok(install(r, der, #der, err_slot), yes)
        end
    else
        _M[fname] = function(obj)
            local r = session()
            want(kind, fname, 1, obj)
            return reply.ok(install(r, obj, err_slot), yes)
        end
    end
end

-- asks the client for a certificate, checked against `client_certs` (a parsed chain whose
-- subjects are the CAs the server names) and `trusted_certs` (the CAs it trusts), up to
-- `depth` (-1: OpenSSL's default); only in ssl_certificate_by_lua*
function _M.verify_client(client_certs, depth, trusted_certs)
    local status = X.verify(session(), client_certs, trusted_certs, depth or -1, err_slot)
    return reply.ok(status, yes)
end

-- size 0 asks how long the random is
function _M.get_client_random(size)
    local r = session()
    size = size or 32
    local out, len = scratch(size), size_cell()
    len[0] = size
    if X.random(r, out, len, err_slot) ~= OK then
        return reply.failed()
    end
    if size == 0 then
        return tonumber(len[0])
    end
    return to_str(out, len[0])
end

return _M
