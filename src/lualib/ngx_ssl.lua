-- stream-lua-rs built-in `ngx.ssl` (require "ngx.ssl"): certificates and private keys as
-- PEM, DER and parsed objects, and the TLS state of the session's connection (server name,
-- addresses, version, client random, the certificate and key it presents), over the
-- module's exported ngx_stream_lua_ffi_* functions (src/api/ssl/). Names, results and error
-- texts are those of lua-resty-core 0.1.31's module in the stream subsystem; an argument of
-- the wrong type is refused with a "bad argument" error.
local ffi = require "ffi"
local base = require "resty.core.base"
local C = ffi.C
local ffi_string = ffi.string
local ffi_gc = ffi.gc
local error, type, pairs, pcall, tonumber = error, type, pairs, pcall, tonumber

-- each declared unless the user's code already did (a second ffi.cdef of it would fail)
local decls = {
    ngx_stream_lua_ffi_cert_pem_to_der = [[
int ngx_stream_lua_ffi_cert_pem_to_der(const unsigned char *pem,
    size_t pem_len, unsigned char *der, char **err);]],
    ngx_stream_lua_ffi_priv_key_pem_to_der = [[
int ngx_stream_lua_ffi_priv_key_pem_to_der(const unsigned char *pem,
    size_t pem_len, const unsigned char *passphrase,
    unsigned char *der, char **err);]],
    ngx_stream_lua_ffi_parse_pem_cert = [[
void *ngx_stream_lua_ffi_parse_pem_cert(const unsigned char *pem,
    size_t pem_len, char **err);]],
    ngx_stream_lua_ffi_parse_der_cert = [[
void *ngx_stream_lua_ffi_parse_der_cert(const unsigned char *der,
    size_t der_len, char **err);]],
    ngx_stream_lua_ffi_parse_pem_priv_key = [[
void *ngx_stream_lua_ffi_parse_pem_priv_key(const unsigned char *pem,
    size_t pem_len, char **err);]],
    ngx_stream_lua_ffi_parse_der_priv_key = [[
void *ngx_stream_lua_ffi_parse_der_priv_key(const unsigned char *der,
    size_t der_len, char **err);]],
    ngx_stream_lua_ffi_free_cert = [[
void ngx_stream_lua_ffi_free_cert(void *cdata);]],
    ngx_stream_lua_ffi_free_priv_key = [[
void ngx_stream_lua_ffi_free_priv_key(void *cdata);]],
    ngx_stream_lua_ffi_ssl_server_name = [[
int ngx_stream_lua_ffi_ssl_server_name(ngx_stream_lua_request_t *r,
    char **name, size_t *namelen, char **err);]],
    ngx_stream_lua_ffi_ssl_get_tls1_version = [[
int ngx_stream_lua_ffi_ssl_get_tls1_version(ngx_stream_lua_request_t *r,
    char **err);]],
    ngx_stream_lua_ffi_ssl_raw_server_addr = [[
int ngx_stream_lua_ffi_ssl_raw_server_addr(ngx_stream_lua_request_t *r,
    char **addr, size_t *addrlen, int *addrtype, char **err);]],
    ngx_stream_lua_ffi_ssl_raw_client_addr = [[
int ngx_stream_lua_ffi_ssl_raw_client_addr(ngx_stream_lua_request_t *r,
    char **addr, size_t *addrlen, int *addrtype, char **err);]],
    ngx_stream_lua_ffi_ssl_server_port = [[
int ngx_stream_lua_ffi_ssl_server_port(ngx_stream_lua_request_t *r,
    unsigned short *server_port, char **err);]],
    ngx_stream_lua_ffi_ssl_clear_certs = [[
int ngx_stream_lua_ffi_ssl_clear_certs(ngx_stream_lua_request_t *r,
    char **err);]],
    ngx_stream_lua_ffi_ssl_set_der_certificate = [[
int ngx_stream_lua_ffi_ssl_set_der_certificate(ngx_stream_lua_request_t *r,
    const char *data, size_t len, char **err);]],
    ngx_stream_lua_ffi_ssl_set_der_private_key = [[
int ngx_stream_lua_ffi_ssl_set_der_private_key(ngx_stream_lua_request_t *r,
    const char *data, size_t len, char **err);]],
    ngx_stream_lua_ffi_set_cert = [[
int ngx_stream_lua_ffi_set_cert(void *r, void *cdata, char **err);]],
    ngx_stream_lua_ffi_set_priv_key = [[
int ngx_stream_lua_ffi_set_priv_key(void *r, void *cdata, char **err);]],
    ngx_stream_lua_ffi_ssl_verify_client = [[
int ngx_stream_lua_ffi_ssl_verify_client(void *r,
    void *client_certs, void *trusted_certs, int depth, char **err);]],
    ngx_stream_lua_ffi_ssl_client_random = [[
int ngx_stream_lua_ffi_ssl_client_random(ngx_stream_lua_request_t *r,
    unsigned char *out, size_t *outlen, char **err);]],
}
for name, decl in pairs(decls) do
    if not pcall(function() return C[name] end) then
        pcall(ffi.cdef, decl)
        if not pcall(function() return C[name] end) then
            error("ngx.ssl needs an nginx built with the stream SSL module", 2)
        end
    end
end

local errmsg = base.get_errmsg_ptr()
local get_string_buf = base.get_string_buf
local get_size_ptr = base.get_size_ptr
local get_request = base.get_request
local FFI_OK, FFI_DECLINED = base.FFI_OK, base.FFI_DECLINED
local name_out = ffi.new("char *[1]")
local int_out = ffi.new("int[1]")
local port_out = ffi.new("unsigned short[1]")

local function request()
    local r = get_request()
    if not r then
        error("no request found", 3)
    end
    return r
end

local function check_string(fname, n, v)
    if type(v) ~= "string" then
        error("bad argument #" .. n .. " to '" .. fname .. "' (string expected, got "
              .. type(v) .. ")", 3)
    end
end

-- a C call that returns a byte count into `buf`, or a negative code with errmsg set
local function bytes_or_err(n, buf)
    if n > 0 then
        return ffi_string(buf, n)
    end
    return nil, ffi_string(errmsg[0])
end

-- a C call that returns a new object (freed by `free` when Lua collects it), or NULL
local function object_or_err(p, free)
    if p == nil then
        return nil, ffi_string(errmsg[0])
    end
    return ffi_gc(p, free)
end

local _M = { version = base.version }

_M.SSL3_VERSION = 0x0300
_M.TLS1_VERSION = 0x0301
_M.TLS1_1_VERSION = 0x0302
_M.TLS1_2_VERSION = 0x0303
_M.TLS1_3_VERSION = 0x0304

-- DER is shorter than its PEM, so a buffer of #pem bytes holds it
function _M.cert_pem_to_der(pem)
    check_string("cert_pem_to_der", 1, pem)
    local buf = get_string_buf(#pem)
    return bytes_or_err(C.ngx_stream_lua_ffi_cert_pem_to_der(pem, #pem, buf, errmsg), buf)
end

function _M.priv_key_pem_to_der(pem, passphrase)
    check_string("priv_key_pem_to_der", 1, pem)
    if passphrase ~= nil then
        check_string("priv_key_pem_to_der", 2, passphrase)
    end
    local buf = get_string_buf(#pem)
    return bytes_or_err(C.ngx_stream_lua_ffi_priv_key_pem_to_der(pem, #pem, passphrase, buf,
                                                                errmsg), buf)
end

function _M.parse_pem_cert(pem)
    check_string("parse_pem_cert", 1, pem)
    return object_or_err(C.ngx_stream_lua_ffi_parse_pem_cert(pem, #pem, errmsg),
                         C.ngx_stream_lua_ffi_free_cert)
end

function _M.parse_der_cert(der)
    check_string("parse_der_cert", 1, der)
    return object_or_err(C.ngx_stream_lua_ffi_parse_der_cert(der, #der, errmsg),
                         C.ngx_stream_lua_ffi_free_cert)
end

function _M.parse_pem_priv_key(pem)
    check_string("parse_pem_priv_key", 1, pem)
    return object_or_err(C.ngx_stream_lua_ffi_parse_pem_priv_key(pem, #pem, errmsg),
                         C.ngx_stream_lua_ffi_free_priv_key)
end

function _M.parse_der_priv_key(der)
    check_string("parse_der_priv_key", 1, der)
    return object_or_err(C.ngx_stream_lua_ffi_parse_der_priv_key(der, #der, errmsg),
                         C.ngx_stream_lua_ffi_free_priv_key)
end

-- the TLS connection of the session (any phase, once nginx has set TLS up)

function _M.server_name()
    local len = get_size_ptr()
    local rc = C.ngx_stream_lua_ffi_ssl_server_name(request(), name_out, len, errmsg)
    if rc == FFI_OK then
        return ffi_string(name_out[0], len[0])
    end
    if rc == FFI_DECLINED then
        return nil
    end
    return nil, ffi_string(errmsg[0])
end

local addr_kinds = { [0] = "unix", [1] = "inet", [2] = "inet6" }

-- an address export's result: the raw address and its kind, or nil, nil, err
local function raw_addr(f)
    local len = get_size_ptr()
    if f(request(), name_out, len, int_out, errmsg) ~= FFI_OK then
        return nil, nil, ffi_string(errmsg[0])
    end
    local kind = addr_kinds[int_out[0]]
    if not kind then
        return nil, nil, "unknown address type: " .. int_out[0]
    end
    return ffi_string(name_out[0], len[0]), kind
end

function _M.raw_server_addr()
    return raw_addr(C.ngx_stream_lua_ffi_ssl_raw_server_addr)
end

function _M.raw_client_addr()
    return raw_addr(C.ngx_stream_lua_ffi_ssl_raw_client_addr)
end

function _M.server_port()
    if C.ngx_stream_lua_ffi_ssl_server_port(request(), port_out, errmsg) ~= FFI_OK then
        return nil, ffi_string(errmsg[0])
    end
    return port_out[0]
end

function _M.get_tls1_version()
    local v = tonumber(C.ngx_stream_lua_ffi_ssl_get_tls1_version(request(), errmsg))
    if v >= 0 then
        return v
    end
    return nil, ffi_string(errmsg[0])
end

local version_names = {
    [_M.SSL3_VERSION] = "SSLv3",
    [_M.TLS1_VERSION] = "TLSv1",
    [_M.TLS1_1_VERSION] = "TLSv1.1",
    [_M.TLS1_2_VERSION] = "TLSv1.2",
    [_M.TLS1_3_VERSION] = "TLSv1.3",
}

function _M.get_tls1_version_str()
    local v, err = _M.get_tls1_version()
    if not v then
        return nil, err
    end
    local name = version_names[v]
    if not name then
        return nil, "unknown version"
    end
    return name
end

-- the certificate and key the connection presents (meant for ssl_certificate_by_lua*; on an
-- established connection they change nothing the client sees)

local function ok_or_err(rc)
    if rc == FFI_OK then
        return true
    end
    return nil, ffi_string(errmsg[0])
end

local function check_cdata(fname, v)
    if type(v) ~= "cdata" then
        error("bad argument #1 to '" .. fname .. "' (cdata expected, got " .. type(v) .. ")", 3)
    end
end

function _M.clear_certs()
    return ok_or_err(C.ngx_stream_lua_ffi_ssl_clear_certs(request(), errmsg))
end

function _M.set_der_cert(der)
    local r = request()
    check_string("set_der_cert", 1, der)
    return ok_or_err(C.ngx_stream_lua_ffi_ssl_set_der_certificate(r, der, #der, errmsg))
end

function _M.set_der_priv_key(der)
    local r = request()
    check_string("set_der_priv_key", 1, der)
    return ok_or_err(C.ngx_stream_lua_ffi_ssl_set_der_private_key(r, der, #der, errmsg))
end

function _M.set_cert(cert)
    local r = request()
    check_cdata("set_cert", cert)
    return ok_or_err(C.ngx_stream_lua_ffi_set_cert(r, cert, errmsg))
end

function _M.set_priv_key(key)
    local r = request()
    check_cdata("set_priv_key", key)
    return ok_or_err(C.ngx_stream_lua_ffi_set_priv_key(r, key, errmsg))
end

-- asks the client for a certificate, checked against `client_certs` (a parsed chain whose
-- subjects are the CAs the server names) and `trusted_certs` (the CAs it trusts), up to
-- `depth` (-1: OpenSSL's default); only in ssl_certificate_by_lua*
function _M.verify_client(client_certs, depth, trusted_certs)
    return ok_or_err(C.ngx_stream_lua_ffi_ssl_verify_client(request(), client_certs,
                                                           trusted_certs, depth or -1,
                                                           errmsg))
end

-- outlen 0 asks for the random's length
function _M.get_client_random(outlen)
    local r = request()
    outlen = outlen or 32
    local buf = get_string_buf(outlen)
    local len = get_size_ptr()
    len[0] = outlen
    if C.ngx_stream_lua_ffi_ssl_client_random(r, buf, len, errmsg) ~= FFI_OK then
        return nil, ffi_string(errmsg[0])
    end
    if outlen == 0 then
        return tonumber(len[0])
    end
    return ffi_string(buf, len[0])
end

return _M
