-- stream-lua-rs built-in `ngx.ssl.clienthello` (require "ngx.ssl.clienthello"): the client's
-- ClientHello, read while ssl_client_hello_by_lua* runs, over the module's exported
-- ngx_stream_lua_ffi_ssl_* functions (src/api/ssl/clienthello.rs). Names, results and error
-- texts are lua-resty-core 0.1.31's in the stream subsystem.
local ffi = require "ffi"
local bit = require "bit"
local base = require "resty.core.base"
local C = ffi.C
local ffi_string = ffi.string
local get_request = base.get_request
local get_size_ptr = base.get_size_ptr
local errmsg = base.get_errmsg_ptr()
local FFI_OK, FFI_DECLINED = base.FFI_OK, base.FFI_DECLINED
local error, ipairs, pairs, pcall, byte = error, ipairs, pairs, pcall, string.byte
local bor = bit.bor

local decls = {
    ngx_stream_lua_ffi_ssl_get_client_hello_server_name = [[
int ngx_stream_lua_ffi_ssl_get_client_hello_server_name(
    ngx_stream_lua_request_t *r, const char **name, size_t *namelen,
    char **err);]],
    ngx_stream_lua_ffi_ssl_get_client_hello_ext = [[
int ngx_stream_lua_ffi_ssl_get_client_hello_ext(
    ngx_stream_lua_request_t *r, unsigned int type,
    const unsigned char **out, size_t *outlen, char **err);]],
    ngx_stream_lua_ffi_ssl_set_protocols = [[
int ngx_stream_lua_ffi_ssl_set_protocols(ngx_stream_lua_request_t *r,
    int protocols, char **err);]],
}
for name, decl in pairs(decls) do
    if not pcall(function() return C[name] end) then
        pcall(ffi.cdef, decl)
        if not pcall(function() return C[name] end) then
            error("ngx.ssl.clienthello needs an nginx built with the stream SSL module", 2)
        end
    end
end

local name_out = ffi.new("const char *[1]")
local bytes_out = ffi.new("const unsigned char *[1]")

-- the running session, in the ClientHello phase only
local function hello_request()
    local r = get_request()
    if not r then
        error("no request found", 3)
    end
    if ngx.get_phase() ~= "ssl_client_hello" then
        error("API disabled in the current context", 3)
    end
    return r
end

-- a lookup's result: the bytes, nil when absent, or nil, err
local function found(rc, p, len)
    if rc == FFI_OK then
        return ffi_string(p, len)
    end
    if rc == FFI_DECLINED then
        return nil
    end
    return nil, ffi_string(errmsg[0])
end

local _M = { version = base.version }

function _M.get_client_hello_server_name()
    local len = get_size_ptr()
    local rc = C.ngx_stream_lua_ffi_ssl_get_client_hello_server_name(hello_request(), name_out,
                                                                     len, errmsg)
    return found(rc, name_out[0], len[0])
end

local function client_hello_ext(r, ext_type)
    local len = get_size_ptr()
    local rc = C.ngx_stream_lua_ffi_ssl_get_client_hello_ext(r, ext_type, bytes_out, len,
                                                             errmsg)
    return found(rc, bytes_out[0], len[0])
end

function _M.get_client_hello_ext(ext_type)
    return client_hello_ext(hello_request(), ext_type)
end

-- the supported_versions extension (type 43): a length byte, then 2-byte versions
local version_names = {
    [0x0002] = "SSLv2", [0x0300] = "SSLv3", [0x0301] = "TLSv1",
    [0x0302] = "TLSv1.1", [0x0303] = "TLSv1.2", [0x0304] = "TLSv1.3",
}

function _M.get_supported_versions()
    local body, err = client_hello_ext(hello_request(), 43)
    if not body then
        return nil, err
    end
    if #body == 0 or byte(body, 1) ~= #body - 1 then
        return nil
    end
    -- listed last first, as lua-resty-core gives them
    local names = {}
    for i = #body - 1, 2, -2 do
        local name = version_names[byte(body, i) * 256 + byte(body, i + 1)]
        if name then
            names[#names + 1] = name
        end
    end
    return names
end

-- nginx's NGX_SSL_* bits
local protocol_bits = {
    ["SSLv2"] = 0x0002, ["SSLv3"] = 0x0004, ["TLSv1"] = 0x0008,
    ["TLSv1.1"] = 0x0010, ["TLSv1.2"] = 0x0020, ["TLSv1.3"] = 0x0040,
}

function _M.set_protocols(protocols)
    local r = hello_request()
    local bits = 0
    for _, name in ipairs(protocols) do
        local b = protocol_bits[name]
        if not b then
            return nil, "invalid protocols failed"
        end
        bits = bor(bits, b)
    end
    if C.ngx_stream_lua_ffi_ssl_set_protocols(r, bits, errmsg) ~= FFI_OK then
        return nil, ffi_string(errmsg[0])
    end
    return true
end

return _M
